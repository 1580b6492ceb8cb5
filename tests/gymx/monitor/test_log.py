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
    at = (offsets[1] + offsets[2]) // 2 + 3 if inside_a_block else offsets[2]
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
    cut = (offsets[3] + offsets[4]) // 2 + 7
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
    with pytest.raises(
        ValueError, match="format 'gymx-monitor-99': this gymx reads gymx-monitor-4, gymx-monitor-3, gymx-monitor-2"
    ):
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


def _format_3_log(directory: Path, records: np.ndarray, run_id: str = "old3") -> Path:
    """A log as format 3 wrote it, built here from its layout: file header, then blocks of 40-byte records."""
    import json
    import struct
    import zlib

    header = {"format": "gymx-monitor-3", "run_id": run_id, "start_timestamp": 1.0e9, "mode": "training",
              "env_id": "CartPole-v1", "env_version": 1, "num_envs": 4, "record_dtype": log.RECORD_DTYPE.descr,
              "episodes_file": f"gymx.episodes.{run_id}.bin", "episodes": len(records), "blocks": 2, "closed": True}  # fmt: skip
    text = json.dumps(header).encode()
    data = struct.pack("<8sII", b"GYMXLOG3", len(text), zlib.crc32(text)) + text
    for seq, part in enumerate(np.array_split(records, 2), start=1):
        payload = part.tobytes()
        head = struct.pack("<4sIII", b"GXB3", seq, len(part), zlib.crc32(payload))
        data += head + struct.pack("<I", zlib.crc32(head)) + payload
    path = Path(log.episodes_path(str(directory), run_id))
    path.write_bytes(data)
    log.write_json_atomic(log.manifest_path(str(directory), run_id), dict(header, log_bytes=len(data)))
    return path


def _records(count: int, steps: list[int]) -> np.ndarray:
    records = np.zeros(count, log.RECORD_DTYPE)
    records["env_index"], records["env_episode"], records["episode"] = (
        np.arange(count) % 4,
        np.arange(count) // 4,
        np.arange(count),
    )
    records["return"], records["length"] = 0.5 + np.arange(count), 3 + np.arange(count)
    records["steps"], records["time"] = steps, np.asarray(steps) / 100.0
    return records


def test_format_3_logs_still_load_and_a_resumed_one_stays_format_3(tmp_path: Path) -> None:
    from gymx.monitor.runlog import RunLog

    records = _records(6, [4, 4, 8, 8, 8, 12])
    path = _format_3_log(tmp_path, records)
    results = load_results(str(tmp_path))
    assert results.damaged == ()
    np.testing.assert_array_equal(results.returns, records["return"])
    np.testing.assert_array_equal(results.steps, records["steps"])
    np.testing.assert_array_equal(results.env_episode, records["env_episode"])
    # Taken up again after its first block: the next block is format 3's too, so the file stays one format.
    first_block_end = 16 + len(json_text(path)) + 20 + 3 * 40
    resumed = RunLog.reopen(str(tmp_path), "old3", size=first_block_end, blocks=1)
    resumed.append(np.array([1, 2]), np.array([7.0, 8.0]), np.array([9, 10]), np.array([20, 20]), 0.2)
    resumed.close()
    assert path.read_bytes()[first_block_end : first_block_end + 4] == b"GXB3"
    results = load_results(str(tmp_path))
    assert results.damaged == ()
    np.testing.assert_array_equal(results.returns, [0.5, 1.5, 2.5, 7.0, 8.0])
    np.testing.assert_array_equal(results.env_episode, [0, 0, 0, 1, 1])  # envs 1 and 2 had one episode each before
    np.testing.assert_array_equal(results.episode, np.arange(5))


def json_text(path: Path) -> bytes:
    import struct

    data = path.read_bytes()
    (length,) = struct.unpack_from("<I", data, 8)
    return data[16 : 16 + length]


def test_an_episode_block_is_columnar_and_groups_episodes_by_their_step(tmp_path: Path) -> None:
    header = {"record_dtype": log.RECORD_DTYPE.descr}
    episodes = log.EpisodeLog(str(tmp_path / "gymx.episodes.c.bin"), header)
    records = _records(7, [3, 3, 3, 5, 9, 9, 9])
    start = episodes.size
    episodes.append(records)
    # 20-byte block header, 12-byte prefix, 3 groups of 20 bytes, 7 episodes of 16 bytes.
    assert episodes.size - start == 20 + 12 + 3 * 20 + 7 * 16
    # Groups may be empty (a flush's rows in which no episode ended), and are given straight.
    block = episodes.encode_episodes(7, np.array([0, 2, 0, 1]), np.array([10, 11, 12, 13]), np.array([0.1, 0.2, 0.3, 0.4]),
                                     np.array([0, 3, 1]), np.array([1, 1, 2]), np.array([1.0, 2.0, 3.0]), np.array([4, 5, 6]))  # fmt: skip
    episodes.write(block)
    with pytest.raises(ValueError, match="the groups hold 2 episodes, the columns 3"):
        episodes.encode_episodes(10, np.array([2]), np.array([1]), np.array([0.0]), *(np.zeros(3, int),) * 4)
    with pytest.raises(ValueError, match="numbered consecutively"):
        episodes.append(records[[0, 2]])
    episodes.close()
    _, got, _, damaged = log.read_log(episodes.path, "c")
    assert damaged == []
    np.testing.assert_array_equal(got[:7], records)
    np.testing.assert_array_equal(got["episode"][7:], [7, 8, 9])
    np.testing.assert_array_equal(got["steps"][7:], [11, 11, 13])
    np.testing.assert_array_equal(got["time"][7:], [0.2, 0.2, 0.4])
    np.testing.assert_array_equal(got["env_index"][7:], [0, 3, 1])


def test_a_damaged_group_count_is_a_damaged_block(tmp_path: Path, run: tuple) -> None:
    import struct

    path, records, offsets = run
    data = bytearray(path.read_bytes())
    struct.pack_into("<I", data, offsets[1] + 28, 10**6)  # block 2's group count: its payload would run past the file
    path.write_bytes(bytes(data))
    results = load_damaged(tmp_path)
    assert_episodes(results, np.r_[records[:25], records[50:]])
    ((start, end, reason),) = [(d.start, d.end, d.reason) for d in results.damaged]
    assert (start, end) == (offsets[1], offsets[2]) and reason.startswith("block 2 is cut short")
