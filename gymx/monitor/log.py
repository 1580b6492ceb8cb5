"""The Monitor's files: a checksummed, append-only episode log and an atomically replaced manifest per run.

A run `RUN` writes, in its directory:

- `gymx.manifest.RUN.json`: the format (`FORMAT`), gymx version, env id, version and spec,
  mode, seed, algorithm id, command line, start time, the episode log's record layout
  (`record_dtype`: numpy's `descr` of `RECORD_DTYPE`), videos, overflow counts, the blocks and
  episodes written by its last write, and `closed`: true once `Monitor.close` ran (which also
  writes `log_bytes`, the episode log's size, so a log cut short later is noticed); a run still
  going, or one that was killed, says false. Every write goes to a temporary file that `os.replace` then puts in
  place, so a reader (or a run killed at any moment) sees the old or the new manifest, never
  half of one.
- `gymx.episodes.RUN.bin`: a file header, then one block per flush. The header (`FILE_MAGIC`,
  the JSON's length and CRC32, then the JSON) holds the run's manifest as it was at the start,
  so the log alone describes its run: a run whose manifest is lost or damaged is recovered from
  it. A block is a 20-byte header (its magic, its sequence number from 1, its count of episodes
  or summary records, the CRC32 of its payload, the CRC32 of those 16 bytes) and a payload. An episode block's payload
  (`EPISODES_MAGIC`) is columnar, 16 bytes per episode plus 20 per group: the first episode's
  index in the run (int64) and the number of groups (uint32); per group (the episodes that
  ended on one batch step, in order) its episode count (uint32), the batch's env steps then
  (int64) and the wall seconds from the run's start (float64), as three arrays; then the
  episodes' `env_index`, `env_episode`, `return` and `length` (`EPISODE_COLUMNS`), one array
  each. `load_results` gives them back as `RECORD_DTYPE` records (the manifest's
  `record_dtype`). A run in summary mode writes summary blocks instead (`SUMMARY_MAGIC`): one
  `summary_dtype` record per flush (its layout is in the file header and manifest as
  `summary_dtype`; its histogram bins as `summary`). Both kinds share the sequence numbers.
  Each block is appended with one `write` and then `fsync`ed, so a SIGKILL loses at most the
  blocks not written yet (see `Monitor` for when that is). A failed write (disk full, ...) is
  cut back to the last complete block.

`load_results` checks every checksum. Bytes that are not a whole, intact block (a block cut
short by a kill, a tail of zeros or garbage left by a power cut, bytes overwritten or inserted)
never become episodes: the reader reports the region with its byte range (`Results.damaged`
and a `DamagedLogWarning`), scans forward for the next intact block and goes on from there.
Every intact block is kept. A manifest that is missing or is not valid JSON is reported too,
and its run recovered from its episode log's header (its videos and overflow counts are lost).
Directories of the earlier formats still load: `gymx-monitor-3` (the same file, with 40-byte
`RECORD_DTYPE` records in each episode block) and `gymx-monitor-2` (bare records, no checksums).

Several runs in one directory (seeds, restarts) are merged by `load_results`, as the original
Gym's `monitoring.load_results` merged its stats files: episodes sorted by wall-clock end time.
`export_gym_files` writes the original Gym monitor's `openaigym.*` files for tools that read them.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import struct
import sys
import tempfile
import warnings
import zlib
from typing import Any

import numpy as np

FORMAT = "gymx-monitor-4"
RECORDS_FORMAT = "gymx-monitor-3"  # the same file with 40-byte records in its episode blocks
PREVIOUS_FORMAT = "gymx-monitor-2"
READABLE_FORMATS = (FORMAT, RECORDS_FORMAT, PREVIOUS_FORMAT)
MANIFEST_PREFIX = "gymx.manifest."
EPISODES_PREFIX = "gymx.episodes."
# One episode as `load_results` gives it (and as format 3 stored it). env_index: the env in the batch; env_episode: the episode's
# index among that env's episodes; episode: its index in the run's log; steps: env steps of the
# whole batch when it ended; time: wall seconds from the run's start to its end. Every field is
# naturally aligned, so the 40-byte records need no padding.
RECORD_DTYPE = np.dtype([
    ("env_index", "<i4"), ("env_episode", "<i4"), ("episode", "<i8"), ("return", "<f4"),
    ("length", "<i4"), ("steps", "<i8"), ("time", "<f8"),
])  # fmt: skip
# What an episode block stores of each episode; the rest is its block's or its group's.
EPISODE_COLUMNS = np.dtype([("env_index", "<i4"), ("env_episode", "<i4"), ("return", "<f4"), ("length", "<i4")])
MODES = ("training", "evaluation")
FILE_MAGIC = b"GYMXLOG4"
EPISODES_MAGIC = b"GXE4"
SUMMARY_MAGIC = b"GXS4"
RECORDS_FILE_MAGIC = b"GYMXLOG3"  # format 3: its blocks' magics follow
RECORDS_MAGIC = b"GXB3"
RECORDS_SUMMARY_MAGIC = b"GXS3"
_EPISODES_HEAD = struct.Struct("<qI")  # first episode's index in the run, groups
_GROUP_BYTES = 4 + 8 + 8  # episodes, steps, time
_FILE_HEADER = struct.Struct("<8sII")  # magic, length of the JSON, its CRC32
_BLOCK_HEADER = struct.Struct("<4sIII")  # magic, sequence number, records, CRC32 of the records
BLOCK_HEADER_SIZE = _BLOCK_HEADER.size + 4  # and the CRC32 of those 16 bytes
_MANIFEST_KEYS = ("run_id", "start_timestamp", "mode", "record_dtype")
_GYM_EPISODE_TYPES = {"training": "t", "evaluation": "e"}


class DamagedLogWarning(UserWarning):
    """`load_results` skipped damaged regions of a Monitor directory (listed in `Results.damaged`)."""


@dataclasses.dataclass(frozen=True)
class Damage:
    """Bytes [start, end) of the file `path`, skipped because of `reason` (start == end: missing data)."""

    path: str
    start: int
    end: int
    reason: str
    run_id: str

    def __str__(self) -> str:
        return f"{os.path.basename(self.path)} bytes [{self.start}, {self.end}): {self.reason}"


def summary_dtype(num_envs: int, bins: int) -> np.dtype:
    """One summary block's record: the episodes that ended between two flushes, aggregated.

    steps, time: as `RECORD_DTYPE`'s, at the flush. episodes: how many ended (every block has
    at least one). *_mean, *_std (population), *_min, *_max: of their returns and lengths.
    *_hist: counts in `bins` equal bins over the manifest's `summary` ranges; values below a
    range count in its first bin, values at or above its end in its last. last_return: each
    env's latest finished episode's return so far in the run (NaN before its first).
    """
    return np.dtype([
        ("steps", "<i8"), ("time", "<f8"), ("episodes", "<i8"),
        ("return_mean", "<f8"), ("return_std", "<f8"), ("return_min", "<f4"), ("return_max", "<f4"),
        ("length_mean", "<f8"), ("length_std", "<f8"), ("length_min", "<i4"), ("length_max", "<i4"),
        ("return_hist", "<i8", (bins,)), ("length_hist", "<i8", (bins,)), ("last_return", "<f4", (num_envs,)),
    ])  # fmt: skip


def new_manifest(
    run_id: str,
    vec_env: Any,
    seed: int | None,
    algorithm_id: str | None,
    mode: str,
    start_timestamp: float,
    **extra: Any,
) -> dict:
    """The manifest of a run that has written nothing yet: what `Monitor` and `RunLog` start from.

    vec_env: the batch the episodes come from (its spec, size and auto-reset mode are recorded);
    extra: fields of the writer's own (e.g. the Monitor's `capacity_steps`, summary settings).
    """
    import jax  # here, not at the top: reading logs needs numpy alone

    from gymx import __version__

    spec = vec_env.spec
    spec_fields = None
    if spec is not None:
        spec_fields = dataclasses.asdict(spec)
        spec_fields["entry_point"] = spec.entry_point if isinstance(spec.entry_point, str) else repr(spec.entry_point)
    return {
        "format": FORMAT,
        "run_id": run_id,
        "gymx_version": __version__,
        "jax_version": jax.__version__,
        "env_id": None if spec is None else spec.id,
        "env_version": None if spec is None else spec.version,
        "env_spec": spec_fields,
        "num_envs": vec_env.num_envs,
        "autoreset_mode": vec_env.autoreset_mode.name,
        "seed": seed,
        "algorithm_id": algorithm_id,
        "mode": mode,
        "command_line": list(sys.argv),
        "pid": os.getpid(),
        "start_timestamp": start_timestamp,
        "episodes_file": os.path.basename(episodes_path("", run_id)),
        "record_dtype": RECORD_DTYPE.descr,
        "episode_mode": "records",
        "summary_dtype": None,
        "summary": None,
        **extra,
        "episodes": 0,
        "blocks": 0,
        "overflowed_steps": 0,
        "overflowed_episodes": 0,
        "dropped_frames": 0,
        "videos": [],
        "closed": False,
    }


def manifest_path(directory: str, run_id: str) -> str:
    return os.path.join(directory, f"{MANIFEST_PREFIX}{run_id}.json")


def episodes_path(directory: str, run_id: str) -> str:
    return os.path.join(directory, f"{EPISODES_PREFIX}{run_id}.bin")


def write_json_atomic(path: str, payload: Any) -> None:
    """Writes `path` so that it holds either its old content or all of the new, whatever happens."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            json.dump(payload, f, indent=1, default=repr)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def _write_all(fd: int, data: Any) -> None:
    view = memoryview(data).cast("B")
    while len(view):  # os.write may write less than asked; the rest follows at once
        view = view[os.write(fd, view) :]


class EpisodeLog:
    """The append side of one run's episode log: creates the file with its header, then appends blocks.

    A header with a `summary_dtype` lets `append` take summary records too.
    """

    def __init__(self, path: str, header: dict):
        self.path = path
        self.blocks = 0
        self._kinds = block_kinds(FILE_MAGIC, header.get("summary_dtype"))
        text = json.dumps(header, default=repr).encode()
        data = _FILE_HEADER.pack(FILE_MAGIC, len(text), zlib.crc32(text)) + text
        # O_EXCL: a log holds one run; appending to another run's file would mix two runs.
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        try:
            _write_all(self._fd, data)
            os.fsync(self._fd)
        except BaseException:
            os.close(self._fd)
            os.unlink(path)
            raise
        self.size = len(data)

    @classmethod
    def reopen(cls, path: str, header: dict, size: int, blocks: int) -> EpisodeLog:
        """The log at `path` (written with `header`) cut back to its first `size` bytes, which hold `blocks` blocks; appends go on from there.

        For a run taken up again from a point it recorded (`size`, `blocks`): the blocks written
        after that point are dropped, and the next block is numbered `blocks + 1`. A log of
        format 3 goes on in format 3, so that one file holds one format.
        """
        actual = os.path.getsize(path)
        if actual < size:
            raise ValueError(f"{path}: {actual} bytes, shorter than the {size} to go on from")
        with open(path, "rb") as file:
            file_magic = file.read(len(FILE_MAGIC))
        if file_magic not in (FILE_MAGIC, RECORDS_FILE_MAGIC):
            raise ValueError(f"{path}: not a gymx episode log (file magic {file_magic!r})")
        self = cls.__new__(cls)
        self.path, self.blocks, self.size = path, blocks, size
        self._kinds = block_kinds(file_magic, header.get("summary_dtype"))
        self._fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        os.ftruncate(self._fd, size)
        os.fsync(self._fd)
        return self

    def append(self, records: np.ndarray) -> int:
        """Appends `records` (`RECORD_DTYPE`, or the summary dtype) as one block, with one write and an fsync; returns how many."""
        if len(records):
            self.write(self.encode(records))
        return len(records)

    def encode(self, records: np.ndarray) -> np.ndarray:
        """The bytes of `records`' block (header and payload), numbered as the next block `write` puts in the file.

        Episodes (`RECORD_DTYPE`) must be numbered consecutively (`episode`), as a run's log
        numbers them. Encode a block only once the previous one is written (or its write failed
        and is retried).
        """
        kind = next((magic for magic, dtype in self._kinds.items() if dtype == records.dtype), None)
        if kind is None and records.dtype == RECORD_DTYPE and EPISODES_MAGIC in self._kinds:
            if np.any(records["episode"] != records["episode"][0] + np.arange(len(records))):
                raise ValueError("a block's episodes must be numbered consecutively (RECORD_DTYPE's `episode`)")
            # A group per run of episodes that ended on one batch step at one time.
            change = np.flatnonzero((np.diff(records["steps"]) != 0) | (np.diff(records["time"]) != 0)) + 1
            starts = np.concatenate([[0], change])
            return self.encode_episodes(
                int(records["episode"][0]),
                np.diff(np.append(starts, len(records))),
                records["steps"][starts],
                records["time"][starts],
                records["env_index"],
                records["env_episode"],
                records["return"],
                records["length"],
            )
        if kind is None:
            raise TypeError(
                f"log records must have one of the dtypes {[RECORD_DTYPE, *(d for d in self._kinds.values() if d is not None)]}, "
                f"got {records.dtype}"
            )
        return self._block(kind, len(records), [(None, np.ascontiguousarray(records).view(np.uint8))])

    def encode_episodes(
        self,
        first_episode: int,
        group_sizes: np.ndarray,
        group_steps: np.ndarray,
        group_times: np.ndarray,
        env_index: np.ndarray,
        env_episode: np.ndarray,
        returns: np.ndarray,
        lengths: np.ndarray,
    ) -> np.ndarray:
        """The bytes of an episode block (see the module docstring), numbered as `encode`'s.

        The episodes are numbered `first_episode`, `first_episode + 1`, ... in the order given;
        group k holds the next `group_sizes[k]` of them, which ended at `group_steps[k]` env
        steps and `group_times[k]` seconds (groups may be empty).
        """
        count = len(env_index)
        if int(np.sum(group_sizes, dtype=np.int64)) != count:
            raise ValueError(f"the groups hold {int(np.sum(group_sizes))} episodes, the columns {count}")
        if EPISODES_MAGIC not in self._kinds:  # a format-3 log taken up again stays in format 3
            records = np.empty(count, RECORD_DTYPE)
            records["env_index"], records["env_episode"] = env_index, env_episode
            records["episode"] = first_episode + np.arange(count)
            records["return"], records["length"] = returns, lengths
            records["steps"] = np.repeat(group_steps, group_sizes)
            records["time"] = np.repeat(group_times, group_sizes)
            return self.encode(records)
        parts = [
            (None, np.frombuffer(_EPISODES_HEAD.pack(first_episode, len(group_sizes)), np.uint8)),
            ("<u4", group_sizes), ("<i8", group_steps), ("<f8", group_times),
            *((EPISODE_COLUMNS[name], column) for name, column in
              (("env_index", env_index), ("env_episode", env_episode), ("return", returns), ("length", lengths))),
        ]  # fmt: skip
        return self._block(EPISODES_MAGIC, count, parts)

    def _block(self, magic: bytes, count: int, parts: list[tuple[Any, np.ndarray]]) -> np.ndarray:
        """Header and payload in one buffer, so that one write puts the whole block in the file.

        parts: the payload's pieces in order, as (dtype, values), each cast straight into its
        place; dtype None: `values` are the bytes.
        """
        sizes = [part.nbytes if dtype is None else np.dtype(dtype).itemsize * len(part) for dtype, part in parts]
        block = np.empty(BLOCK_HEADER_SIZE + sum(sizes), np.uint8)
        at = BLOCK_HEADER_SIZE
        for (dtype, part), size in zip(parts, sizes):
            if dtype is None:
                block[at : at + size] = part
            else:
                block[at : at + size].view(dtype)[:] = part
            at += size
        head = _BLOCK_HEADER.pack(magic, self.blocks + 1, count, zlib.crc32(block[BLOCK_HEADER_SIZE:].data))
        block[: _BLOCK_HEADER.size] = np.frombuffer(head, np.uint8)
        block[_BLOCK_HEADER.size : BLOCK_HEADER_SIZE] = np.frombuffer(struct.pack("<I", zlib.crc32(head)), np.uint8)
        return block

    def write(self, block: np.ndarray) -> None:
        """Appends an encoded block with one write and an fsync; a failed write leaves the file as it was."""
        try:
            _write_all(self._fd, block)
            os.fsync(self._fd)
        except BaseException:
            # A partial block would be reported as damaged by every reader: cut back to the last
            # complete one.
            os.ftruncate(self._fd, self.size)
            raise
        self.size += len(block)
        self.blocks += 1

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclasses.dataclass(frozen=True)
class Results:
    """Episodes of one or more runs, one array entry per episode, sorted by end time.

    run: index into `manifests` of the run each episode belongs to. env_ids, env_versions, modes:
    the run's (from its manifest). timestamps: Unix time of the episode's end. Other fields as
    `RECORD_DTYPE` (`returns` holds "return", `lengths` "length", `times` "time"). damaged: the
    regions of the directory's files that were skipped (see the module docstring). summaries:
    one array per run (as `manifests`) of its summary blocks' records (`summary_dtype`), in
    the order written; empty for a run that logged episodes. `select` keeps them whole.
    """

    manifests: tuple[dict, ...]
    run: np.ndarray
    env_ids: np.ndarray
    env_versions: np.ndarray
    modes: np.ndarray
    env_index: np.ndarray
    env_episode: np.ndarray
    episode: np.ndarray
    returns: np.ndarray
    lengths: np.ndarray
    steps: np.ndarray
    times: np.ndarray
    timestamps: np.ndarray
    damaged: tuple[Damage, ...] = ()
    summaries: tuple[np.ndarray, ...] = ()

    def __len__(self) -> int:
        return len(self.returns)

    @property
    def initial_reset_timestamp(self) -> float | None:
        return min((m["start_timestamp"] for m in self.manifests), default=None)

    @property
    def unclosed(self) -> list[str]:
        """Run ids whose manifest says the run did not close: still running, or killed."""
        return [m["run_id"] for m in self.manifests if m.get("closed") is False]

    def select(self, mask: np.ndarray) -> Results:
        arrays = {
            f.name: getattr(self, f.name)[mask]
            for f in dataclasses.fields(self)
            if f.name not in ("manifests", "damaged", "summaries")
        }
        return Results(manifests=self.manifests, damaged=self.damaged, summaries=self.summaries, **arrays)

    def runs(self) -> list[Results]:
        """One `Results` per run (each keeps only its own manifest and damaged regions)."""
        out = []
        for index, manifest in enumerate(self.manifests):
            part = self.select(self.run == index)
            damaged = tuple(d for d in self.damaged if d.run_id == manifest["run_id"])
            summaries = self.summaries[index : index + 1]
            out.append(
                dataclasses.replace(
                    part, manifests=(manifest,), run=np.zeros(len(part), np.int64), damaged=damaged, summaries=summaries
                )
            )
        return out


def _record_dtype(descr: Any) -> np.dtype:
    # JSON turns a subarray field's shape tuple into a list.
    return np.dtype([tuple(tuple(part) if isinstance(part, list) else part for part in field) for field in descr])


def block_kinds(file_magic: bytes, summary_descr: Any = None) -> dict[bytes, np.dtype | None]:
    """The block kinds a log whose file starts with `file_magic` may hold: each magic's record dtype (None: columnar episodes).

    summary_descr: the header's (or manifest's) `summary_dtype`, for a run that writes summaries.
    """
    records, summaries = (
        (RECORDS_MAGIC, RECORDS_SUMMARY_MAGIC) if file_magic == RECORDS_FILE_MAGIC else (EPISODES_MAGIC, SUMMARY_MAGIC)
    )
    kinds: dict[bytes, np.dtype | None] = {records: RECORD_DTYPE if file_magic == RECORDS_FILE_MAGIC else None}
    if summary_descr is not None:
        kinds[summaries] = _record_dtype(summary_descr)
    return kinds


def _payload_size(data: bytes, at: int, count: int, dtype: np.dtype | None) -> int | None:
    """Bytes of the payload at `at` of a block of `count` entries (None: the file ends before its group count)."""
    if dtype is not None:
        return count * dtype.itemsize
    if len(data) - at < _EPISODES_HEAD.size:
        return None
    _, groups = _EPISODES_HEAD.unpack_from(data, at)
    return _EPISODES_HEAD.size + groups * _GROUP_BYTES + count * EPISODE_COLUMNS.itemsize


def parse_block(data: bytes, at: int, kinds: dict[bytes, np.dtype | None]) -> tuple[bytes, int, int, int] | str:
    """(magic, sequence number, entries, end offset) of an intact block at `at`, else why there is none.

    kinds: the block kinds (magics) the file may hold, from `block_kinds`.
    """
    if len(data) - at < BLOCK_HEADER_SIZE:
        return "an incomplete block header at the end of the file (a write cut short)"
    magic, seq, count, payload_crc = _BLOCK_HEADER.unpack_from(data, at)
    if magic not in kinds:
        return "not a block header"
    (header_crc,) = struct.unpack_from("<I", data, at + _BLOCK_HEADER.size)
    if header_crc != zlib.crc32(memoryview(data)[at : at + _BLOCK_HEADER.size]):
        return "block header checksum mismatch"
    size = _payload_size(data, at + BLOCK_HEADER_SIZE, count, kinds[magic])
    end = at + BLOCK_HEADER_SIZE + (size or 0)
    if size is None or end > len(data):
        return f"block {seq} is cut short: its {count} records end past the file's end at byte {len(data)} (a write cut short)"
    # The group count that sized an episode block is in the payload: the checksum covers it.
    if payload_crc != zlib.crc32(memoryview(data)[at + BLOCK_HEADER_SIZE : end]):
        return f"block {seq} ({count} records): checksum mismatch"
    return magic, seq, count, end


def decode_block(data: bytes, at: int, count: int, end: int, dtype: np.dtype | None) -> np.ndarray:
    """The entries of the intact block whose payload is `data[at:end]`: `RECORD_DTYPE` records for episodes, else `dtype`'s."""
    if dtype is not None:
        return np.frombuffer(data, dtype, count, at)
    first, groups = _EPISODES_HEAD.unpack_from(data, at)
    at += _EPISODES_HEAD.size
    sizes = np.frombuffer(data, "<u4", groups, at)
    steps = np.frombuffer(data, "<i8", groups, at + 4 * groups)
    times = np.frombuffer(data, "<f8", groups, at + 12 * groups)
    at += groups * _GROUP_BYTES
    records = np.empty(count, RECORD_DTYPE)
    if int(sizes.sum(dtype=np.int64)) != count:
        raise ValueError(f"its groups hold {int(sizes.sum(dtype=np.int64))} episodes, its header says {count}")
    for name in ("env_index", "env_episode", "return", "length"):
        column = EPISODE_COLUMNS[name]
        records[name] = np.frombuffer(data, column, count, at)
        at += count * column.itemsize
    records["episode"] = first + np.arange(count)
    records["steps"] = np.repeat(steps, sizes)
    records["time"] = np.repeat(times, sizes)
    return records


def _find_magic(data: bytes, start: int, kinds: dict[bytes, np.dtype | None]) -> int:
    found = [at for at in (data.find(magic, start) for magic in kinds) if at >= 0]
    return min(found, default=-1)


def _next_block(data: bytes, start: int, kinds: dict[bytes, np.dtype | None]) -> int:
    """The offset of the first intact block after `start`, else the file's size."""
    at = _find_magic(data, start, kinds)
    while at >= 0 and isinstance(parse_block(data, at, kinds), str):
        at = _find_magic(data, at + 1, kinds)
    return len(data) if at < 0 else at


def read_header(data: bytes) -> tuple[dict | None, int]:
    """The log's header JSON and where the blocks begin; (None, 0) if the header is not intact."""
    if len(data) < _FILE_HEADER.size:
        return None, 0
    magic, length, crc = _FILE_HEADER.unpack_from(data)
    end = _FILE_HEADER.size + length
    if (
        magic not in (FILE_MAGIC, RECORDS_FILE_MAGIC)
        or end > len(data)
        or zlib.crc32(data[_FILE_HEADER.size : end]) != crc
    ):
        return None, 0
    return json.loads(data[_FILE_HEADER.size : end]), end


def read_log(
    path: str, run_id: str, fallback: dict | None = None
) -> tuple[dict | None, np.ndarray | None, np.ndarray | None, list[Damage]]:
    """The header, intact episode records (`RECORD_DTYPE`), intact summary records and damaged regions of a log.

    fallback: the run's manifest, whose `format` and `summary_dtype` are used if the file's
    header is damaged; without it no block can be read then (records None).
    """
    with open(path, "rb") as f:
        data = f.read()
    header, at = read_header(data)
    damaged = []
    if header is not None:
        kinds = block_kinds(data[: len(FILE_MAGIC)], header.get("summary_dtype"))
    elif fallback is not None:
        file_magic = RECORDS_FILE_MAGIC if fallback.get("format") == RECORDS_FORMAT else FILE_MAGIC
        kinds = block_kinds(file_magic, fallback.get("summary_dtype"))
    else:
        reason = "the file header is damaged and there is no manifest: the block layout is unknown"
        return None, None, None, [Damage(path, 0, len(data), reason, run_id)]
    parts: dict[bytes, list[np.ndarray]] = {magic: [] for magic in kinds}
    last_seq = 0
    while at < len(data):
        block = parse_block(data, at, kinds)
        decoded = None
        if not isinstance(block, str):
            magic, seq, count, end = block
            try:
                decoded = decode_block(data, at + BLOCK_HEADER_SIZE, count, end, kinds[magic])
            except ValueError as error:
                block = f"block {seq}: {error}"
        if isinstance(block, str) or decoded is None:
            # Resynchronise: whatever lies between here and the next intact block is skipped.
            end = _next_block(data, at + 1, kinds)
            reason = "the file header is damaged" if at == 0 else str(block)
            if data.count(0, at, end) == end - at:
                reason = "zero bytes (data that never reached the disk, as after a power cut)"
            damaged.append(Damage(path, at, end, reason, run_id))
            at = end
            continue
        if seq <= last_seq:
            damaged.append(Damage(path, at, end, f"a second copy of block {seq}", run_id))
        else:
            if seq > last_seq + 1 and not (damaged and damaged[-1].end == at):
                damaged.append(Damage(path, at, at, f"blocks {last_seq + 1} to {seq - 1} are missing", run_id))
            parts[magic].append(decoded)
            last_seq = seq
        at = end
    records, summaries = None, None
    for magic, dtype in kinds.items():
        # Joined as bytes: joining byte arrays is a plain copy, where joining unaligned records is not.
        layout = RECORD_DTYPE if dtype is None else dtype
        joined = np.concatenate([np.zeros(0, np.uint8), *(p.view(np.uint8) for p in parts[magic])]).view(layout)
        if magic in (SUMMARY_MAGIC, RECORDS_SUMMARY_MAGIC):
            summaries = joined
        else:
            records = joined
    return header, records, summaries, damaged


def _read_manifest(path: str, run_id: str) -> tuple[dict | None, Damage | None]:
    """The manifest at `path`, or None and why it cannot be used (None, None: no manifest)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return None, None
    try:
        manifest = json.loads(data)
    except ValueError as error:  # JSONDecodeError and UnicodeDecodeError both
        return None, Damage(path, 0, len(data), f"the manifest is not valid JSON ({error})", run_id)
    missing = (
        [key for key in _MANIFEST_KEYS if key not in manifest] if isinstance(manifest, dict) else list(_MANIFEST_KEYS)
    )
    if missing:
        return None, Damage(path, 0, len(data), f"the manifest lacks {missing}", run_id)
    if manifest.get("format") not in READABLE_FORMATS:
        raise ValueError(f"{path}: format {manifest.get('format')!r}: this gymx reads {', '.join(READABLE_FORMATS)}")
    return manifest, None


def _run_ids(directory: str, prefix: str, suffix: str) -> set[str]:
    paths = glob.glob(os.path.join(glob.escape(directory), f"{prefix}*{suffix}"))
    return {os.path.basename(p)[len(prefix) : -len(suffix)] for p in paths}


_NO_SUMMARIES = np.zeros(0, [("steps", "<i8"), ("time", "<f8"), ("episodes", "<i8")])


def _load_run(directory: str, run_id: str) -> tuple[dict | None, np.ndarray | None, np.ndarray | None, list[Damage]]:
    """A run's manifest, records, summary records and damaged regions (manifest None: nothing of the run is readable)."""
    mpath, epath = manifest_path(directory, run_id), episodes_path(directory, run_id)
    manifest, manifest_damage = _read_manifest(mpath, run_id)
    if manifest is not None and manifest["format"] == PREVIOUS_FORMAT:
        # The previous format: bare records, no checksums; a torn last record is ignored.
        dtype = _record_dtype(manifest["record_dtype"])
        path = os.path.join(directory, manifest["episodes_file"])
        if not os.path.exists(path):
            return manifest, np.zeros(0, dtype), _NO_SUMMARIES, []
        return manifest, np.fromfile(path, dtype, count=os.path.getsize(path) // dtype.itemsize), _NO_SUMMARIES, []
    manifest_summary = (
        None if manifest is None or manifest.get("summary_dtype") is None else _record_dtype(manifest["summary_dtype"])
    )
    if not os.path.exists(epath):
        if manifest is None:
            return None, None, None, [manifest_damage] if manifest_damage else []
        no_summaries = _NO_SUMMARIES if manifest_summary is None else np.zeros(0, manifest_summary)
        return (
            manifest,
            np.zeros(0, _record_dtype(manifest["record_dtype"])),
            no_summaries,
            [Damage(epath, 0, 0, "the episode log is missing", run_id)],
        )
    header, records, summaries, damaged = read_log(epath, run_id, manifest)
    summaries = _NO_SUMMARIES if summaries is None else summaries
    if manifest is None:
        if header is None:
            return None, None, None, damaged + ([manifest_damage] if manifest_damage else [])
        # The header is the manifest as the run began; what came later (videos, overflow counts,
        # whether it closed) is unknown.
        why = "the manifest is missing" if manifest_damage is None else manifest_damage.reason
        end = 0 if manifest_damage is None else manifest_damage.end
        damaged.append(Damage(mpath, 0, end, f"{why}: the run was recovered from its episode log", run_id))
        assert records is not None, "a log with a header has a record layout"
        return dict(header, closed=None, recovered_from_log=True, episodes=len(records)), records, summaries, damaged
    size, closed_size = os.path.getsize(epath), manifest.get("log_bytes", 0) if manifest.get("closed") else 0
    if closed_size > size:
        reason = f"the file ends {closed_size - size} bytes before its size when the run closed (truncated)"
        if damaged and damaged[-1].end == size:  # the scan already found the cut: one region
            last = damaged.pop()
            damaged.append(dataclasses.replace(last, end=closed_size, reason=f"{last.reason}; {reason}"))
        else:
            damaged.append(Damage(epath, size, closed_size, reason, run_id))
    return manifest, records, summaries, damaged


def load_results(directory: str) -> Results:
    """Every run's episodes in `directory`, merged and sorted by end time, with their manifests.

    Damaged regions of its files are skipped, listed in `Results.damaged` and warned about
    (`DamagedLogWarning`); see the module docstring.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(f"{directory} is not a directory")
    run_ids = _run_ids(directory, MANIFEST_PREFIX, ".json") | _run_ids(directory, EPISODES_PREFIX, ".bin")
    if not run_ids:
        raise FileNotFoundError(
            f"no gymx monitor files ({MANIFEST_PREFIX}*.json, {EPISODES_PREFIX}*.bin) in {directory}"
        )
    manifests, parts, summaries, damaged = [], [], [], []
    for run_id in sorted(run_ids):
        manifest, records, run_summaries, run_damage = _load_run(directory, run_id)
        damaged += run_damage
        if manifest is not None:
            assert records is not None and run_summaries is not None, "a readable run has a record layout"
            manifests.append(manifest)
            parts.append(records)
            summaries.append(run_summaries)
    if damaged:
        warnings.warn(
            DamagedLogWarning(
                f"{len(damaged)} damaged region(s) skipped in {directory}: " + "; ".join(map(str, damaged))
            ),
            stacklevel=2,
        )
    if not manifests:
        raise ValueError(f"no readable gymx monitor run in {directory}: " + "; ".join(map(str, damaged)))

    counts = [len(part) for part in parts]
    run = np.repeat(np.arange(len(manifests)), counts)

    def per_run(key: str) -> np.ndarray:
        values = np.empty(len(manifests), dtype=object)
        values[:] = [manifest.get(key) for manifest in manifests]
        return values[run]

    def column(name: str, dtype: Any) -> np.ndarray:
        return np.concatenate([part[name] for part in parts]).astype(dtype)

    times = column("time", np.float64)
    timestamps = np.asarray([m["start_timestamp"] for m in manifests], np.float64)[run] + times
    steps = column("steps", np.int64)
    results = Results(
        manifests=tuple(manifests),
        run=run,
        env_ids=per_run("env_id"),
        env_versions=per_run("env_version"),
        modes=per_run("mode"),
        env_index=column("env_index", np.int64),
        env_episode=column("env_episode", np.int64),
        episode=column("episode", np.int64),
        returns=column("return", np.float32),
        lengths=column("length", np.int64),
        steps=steps,
        times=times,
        timestamps=timestamps,
        damaged=tuple(damaged),
        summaries=tuple(summaries),
    )
    return results.select(np.lexsort((steps, run, timestamps)))  # by end time; ties (one flush) by run, then steps


def export_gym_files(directory: str, out_dir: str | None = None) -> list[str]:
    """Writes the original Gym monitor's files for every run in `directory`; returns their paths.

    Per run (infix `RUN`, the run id): `openaigym.episode_batch.RUN.stats.json` with
    `initial_reset_timestamp`, `timestamps`, `episode_lengths`, `episode_rewards` and
    `episode_types` ('t' training, 'e' evaluation); `openaigym.manifest.RUN.manifest.json` with
    `stats`, `videos` ([video, meta] file names) and `env_info` (`gym_version`: the gymx version
    that wrote the run; `env_id`); and for each video a `.meta.json` beside it.
    """
    out_dir = directory if out_dir is None else out_dir
    os.makedirs(out_dir, exist_ok=True)
    written = []
    for run in load_results(directory).runs():
        manifest = run.manifests[0]
        infix = manifest["run_id"]
        stats_name = f"openaigym.episode_batch.{infix}.stats.json"
        stats = {
            "initial_reset_timestamp": manifest["start_timestamp"],
            "timestamps": run.timestamps.tolist(),
            "episode_lengths": run.lengths.tolist(),
            "episode_rewards": run.returns.astype(np.float64).tolist(),
            "episode_types": [_GYM_EPISODE_TYPES[mode] for mode in run.modes],
        }
        videos = []
        for video in manifest.get("videos", []):
            meta_name = os.path.splitext(video["path"])[0] + ".meta.json"
            meta = {"content_type": "video/mp4", "encoder_version": video.get("encoder", {})}
            write_json_atomic(os.path.join(out_dir, meta_name), meta)
            written.append(os.path.join(out_dir, meta_name))
            videos.append([video["path"], meta_name])
        gym_manifest = {
            "stats": stats_name,
            "videos": videos,
            "env_info": {"gym_version": manifest["gymx_version"], "env_id": manifest["env_id"]},
        }
        for name, payload in ((stats_name, stats), (f"openaigym.manifest.{infix}.manifest.json", gym_manifest)):
            write_json_atomic(os.path.join(out_dir, name), payload)
            written.append(os.path.join(out_dir, name))
    return written
