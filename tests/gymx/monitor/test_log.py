"""The episode log's checksums: every kind of damage is reported with its byte range and skipped, and every intact block kept."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from gymx.monitor import Damage, DamagedLogWarning, load_results, log

RUN = "synthetic.0"
EPISODES, BLOCKS = 100, 4  # 25 episodes a block
RETURNS = 100.0 + np.arange(EPISODES)


@pytest.fixture
def run(tmp_path: Path, synthetic_run, log_blocks) -> tuple[Path, np.ndarray, list[int]]:
    records = synthetic_run(tmp_path, RETURNS, RUN, blocks=BLOCKS)
    path = Path(log.episodes_path(str(tmp_path), RUN))
    return path, records, log_blocks(path)


def load_damaged(directory: Path) -> log.Results:
    with pytest.warns(DamagedLogWarning, match="damaged region"):
        return load_results(str(directory))


def assert_episodes(results: log.Results, expected: np.ndarray) -> None:
    """Exactly these records, in order: nothing lost beyond them, nothing made up."""
    np.testing.assert_array_equal(results.returns, expected["return"])
    np.testing.assert_array_equal(results.episode, expected["episode"])
    np.testing.assert_array_equal(results.lengths, expected["length"])
    np.testing.assert_array_equal(results.steps, expected["steps"])


def test_an_intact_log_loads_every_block_without_warnings(tmp_path: Path, run: tuple) -> None:
    path, records, offsets = run
    results = load_results(str(tmp_path))
    assert_episodes(results, records)
    assert results.damaged == () and results.unclosed == [] and len(offsets) == BLOCKS + 1
    assert results.manifests[0]["log_bytes"] == offsets[-1] == path.stat().st_size


def test_random_bytes_over_the_last_record(tmp_path: Path, run: tuple) -> None:
    path, records, offsets = run
    with open(path, "r+b") as f:
        f.seek(offsets[-1] - 40)
        f.write(np.random.default_rng(0).bytes(40))
    results = load_damaged(tmp_path)
    assert_episodes(results, records[:75])
    assert results.damaged == (
        Damage(str(path), offsets[3], offsets[4], "block 4 (25 records): checksum mismatch", RUN),
    )


@pytest.mark.parametrize("where", ["appended", "over the last block"])
def test_a_zero_filled_tail(tmp_path: Path, run: tuple, where: str) -> None:
    path, records, offsets = run
    if where == "appended":  # a power cut after the file grew, before its data was written
        with open(path, "ab") as f:
            f.write(bytes(4096))
        kept, region = records, (offsets[4], offsets[4] + 4096)
    else:
        with open(path, "r+b") as f:
            f.seek(offsets[3])
            f.write(bytes(offsets[4] - offsets[3]))
        kept, region = records[:75], (offsets[3], offsets[4])
    results = load_damaged(tmp_path)
    assert_episodes(results, kept)
    assert [(d.start, d.end) for d in results.damaged] == [region] and "zero bytes" in results.damaged[0].reason
    assert np.all(results.lengths > 0)


@pytest.mark.parametrize("inside_a_block", [True, False])
def test_13_bytes_inserted_mid_file(tmp_path: Path, run: tuple, inside_a_block: bool) -> None:
    path, records, offsets = run
    at = offsets[1] + 20 + 40 * 10 + 3 if inside_a_block else offsets[2]
    data = path.read_bytes()
    path.write_bytes(data[:at] + b"0123456789abc" + data[at:])
    results = load_damaged(tmp_path)
    if inside_a_block:  # block 2 is damaged; the reader finds block 3 where it now starts, 13 bytes on
        assert_episodes(results, np.r_[records[:25], records[50:]])
        assert [(d.start, d.end, d.reason) for d in results.damaged] == [
            (offsets[1], offsets[2] + 13, "block 2 (25 records): checksum mismatch")
        ]
    else:
        assert_episodes(results, records)
        assert [(d.start, d.end, d.reason) for d in results.damaged] == [(at, at + 13, "not a block header")]


@pytest.mark.parametrize("closed", [True, False])
def test_a_file_truncated_mid_block(tmp_path: Path, synthetic_run, log_blocks, closed: bool) -> None:
    records = synthetic_run(tmp_path, RETURNS, RUN, blocks=BLOCKS, closed=closed)
    path = Path(log.episodes_path(str(tmp_path), RUN))
    offsets = log_blocks(path)
    cut = offsets[3] + 20 + 40 * 10 + 7
    os.truncate(path, cut)
    results = load_damaged(tmp_path)
    assert_episodes(results, records[:75])
    (damage,) = results.damaged
    assert (damage.path, damage.start) == (str(path), offsets[3]) and damage.reason.startswith("block 4 is cut short")
    # A closed run's manifest knows the log's full size: the range reaches it.
    assert damage.end == (offsets[4] if closed else cut) and ("truncated" in damage.reason) == closed
    assert results.unclosed == ([] if closed else [RUN])


def test_a_second_copy_of_a_block_is_skipped(tmp_path: Path, run: tuple) -> None:
    path, records, offsets = run
    data = path.read_bytes()
    path.write_bytes(data + data[offsets[1] : offsets[2]])
    results = load_damaged(tmp_path)
    assert_episodes(results, records)
    assert [(d.start, d.end, d.reason) for d in results.damaged] == [
        (offsets[4], offsets[4] + offsets[2] - offsets[1], "a second copy of block 2")
    ]


def test_a_damaged_file_header_is_read_with_the_manifest(tmp_path: Path, run: tuple) -> None:
    path, records, offsets = run
    with open(path, "r+b") as f:
        f.write(b"XXXX")
    results = load_damaged(tmp_path)
    assert_episodes(results, records)
    assert [(d.start, d.end, d.reason) for d in results.damaged] == [(0, offsets[0], "the file header is damaged")]


@pytest.mark.parametrize("manifest", ["truncated", "missing"])
def test_a_run_is_recovered_from_its_log_without_a_manifest(tmp_path: Path, run: tuple, manifest: str) -> None:
    _path, records, _ = run
    manifest_file = Path(log.manifest_path(str(tmp_path), RUN))
    size = manifest_file.stat().st_size // 2
    if manifest == "truncated":
        os.truncate(manifest_file, size)
    else:
        manifest_file.unlink()
    results = load_damaged(tmp_path)
    assert_episodes(results, records)
    (damage,) = results.damaged
    assert (damage.path, damage.start, damage.end) == (str(manifest_file), 0, size if manifest == "truncated" else 0)
    assert damage.reason.endswith("the run was recovered from its episode log")
    assert ("not valid JSON" in damage.reason) == (manifest == "truncated")
    recovered = results.manifests[0]
    assert (recovered["run_id"], recovered["env_id"], recovered["start_timestamp"]) == (RUN, "CartPole-v1", 1.0e9)
    assert recovered["recovered_from_log"] and recovered["closed"] is None and results.unclosed == []


def test_a_killed_run_says_it_did_not_close(tmp_path: Path, synthetic_run) -> None:
    records = synthetic_run(tmp_path, RETURNS, RUN, blocks=BLOCKS, closed=False)
    results = load_results(str(tmp_path))
    assert_episodes(results, records)
    assert results.unclosed == [RUN] and results.damaged == ()


def test_a_missing_log_and_an_unreadable_run(tmp_path: Path, run: tuple) -> None:
    path, _, _ = run
    path.unlink()
    results = load_damaged(tmp_path)
    assert len(results) == 0 and [(d.path, d.reason) for d in results.damaged] == [
        (str(path), "the episode log is missing")
    ]
    Path(log.manifest_path(str(tmp_path), RUN)).write_text("{")
    with (
        pytest.warns(DamagedLogWarning),
        pytest.raises(ValueError, match=r"no readable gymx monitor run in .*not valid JSON"),
    ):
        load_results(str(tmp_path))


def test_the_previous_format_still_loads(tmp_path: Path) -> None:
    records = np.zeros(3, log.RECORD_DTYPE)
    records["return"], records["length"], records["episode"] = [1.0, 2.0, 3.0], 5, np.arange(3)
    episodes_file = "gymx.episodes.old.bin"
    (tmp_path / episodes_file).write_bytes(records.tobytes() + b"\x07" * 17)  # a torn last record, ignored as before
    manifest = {"format": "gymx-monitor-2", "run_id": "old", "start_timestamp": 1.0e9, "mode": "training", "env_id": "CartPole-v1",
                "env_version": 1, "episodes_file": episodes_file, "record_dtype": log.RECORD_DTYPE.descr}  # fmt: skip
    log.write_json_atomic(log.manifest_path(str(tmp_path), "old"), manifest)
    results = load_results(str(tmp_path))
    np.testing.assert_array_equal(results.returns, [1.0, 2.0, 3.0])


def test_an_unknown_format_is_refused(tmp_path: Path, run: tuple) -> None:
    manifest_file = Path(log.manifest_path(str(tmp_path), RUN))
    manifest_file.write_text(manifest_file.read_text().replace(log.FORMAT, "gymx-monitor-99"))
    with pytest.raises(ValueError, match="format 'gymx-monitor-99': this gymx reads gymx-monitor-3 and gymx-monitor-2"):
        load_results(str(tmp_path))


def test_a_failed_append_leaves_no_partial_block(tmp_path: Path, run: tuple, monkeypatch: pytest.MonkeyPatch) -> None:
    _path, records, _offsets = run
    episodes = log.EpisodeLog(str(tmp_path / "gymx.episodes.second.bin"), {"record_dtype": log.RECORD_DTYPE.descr})
    episodes.append(records[:5])
    size = episodes.size

    write = os.write

    def disk_full(fd: int, data: object) -> int:
        write(fd, memoryview(data)[:30])  # part of the block reaches the file
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(log.os, "write", disk_full)
    with pytest.raises(OSError, match="No space"):
        episodes.append(records[5:10])
    monkeypatch.undo()
    assert os.path.getsize(episodes.path) == size
    episodes.append(records[10:12])
    episodes.close()
    header, got, summaries, damaged = log.read_log(episodes.path, "second")
    assert damaged == [] and summaries is None and header == {"record_dtype": [list(f) for f in log.RECORD_DTYPE.descr]}
    np.testing.assert_array_equal(got, np.r_[records[:5], records[10:12]])


def test_summary_blocks_share_the_checks(tmp_path: Path) -> None:
    dtype = log.summary_dtype(num_envs=3, bins=4)
    header = {"format": log.FORMAT, "run_id": "s", "start_timestamp": 1.0e9, "mode": "training", "record_dtype": log.RECORD_DTYPE.descr,
              "summary_dtype": dtype.descr, "episode_mode": "summary", "episodes_file": "gymx.episodes.s.bin"}  # fmt: skip
    episodes = log.EpisodeLog(log.episodes_path(str(tmp_path), "s"), header)
    summaries = np.zeros(3, dtype)
    summaries["episodes"], summaries["return_hist"][:, 1], summaries["last_return"] = [5, 6, 7], [5, 6, 7], [[1, 2, 3]]
    for summary in summaries:
        episodes.append(summary[None])
    with pytest.raises(TypeError, match="log records must have one of the dtypes"):
        episodes.append(np.zeros(1, log.summary_dtype(num_envs=3, bins=5)))
    episodes.close()
    os.truncate(episodes.path, os.path.getsize(episodes.path) - 1)  # the last block cut short, the manifest lost
    results = load_damaged(tmp_path)
    (got,) = results.summaries
    assert len(results) == 0 and results.manifests[0]["recovered_from_log"]
    np.testing.assert_array_equal(got, summaries[:2])
    assert next(d.reason for d in results.damaged).startswith("block 3 is cut short")
