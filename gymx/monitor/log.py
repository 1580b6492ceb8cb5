"""The Monitor's files: an append-only binary episode log and an atomically replaced manifest per run.

A run `RUN` writes, in its directory:

- `gymx.manifest.RUN.json`: gymx version, env id, version and spec, mode, seed, algorithm id,
  command line, start time, the episode log's record layout (`record_dtype`: numpy's `descr` of
  `RECORD_DTYPE`), videos and overflow counts. Every write goes to a temporary file that
  `os.replace` then puts in place, so a reader (or a run killed at any moment) sees the old or
  the new manifest, never half of one.
- `gymx.episodes.RUN.bin`: one fixed-width little-endian record per finished episode
  (`RECORD_DTYPE`), no header. Each flush appends all of its records with one `write` (the
  array's bytes, no per-record encoding), then `fsync`s, so a SIGKILL loses at most the episodes
  since the last completed flush. A kill during that write can leave a torn last record (the
  file's size is then not a multiple of the record size): `load_results` ignores it. The env
  id, version and mode are the same for every episode of a run: they live in the manifest and
  `load_results` broadcasts them.

Several runs in one directory (seeds, restarts) are merged by `load_results`, as the original
Gym's `monitoring.load_results` merged its stats files: episodes sorted by wall-clock end time.
`export_gym_files` writes the original Gym monitor's `openaigym.*` files for tools that read them.
"""

from __future__ import annotations

import dataclasses
import glob
import json
import os
import tempfile
from typing import Any

import numpy as np

MANIFEST_PREFIX = "gymx.manifest."
EPISODES_PREFIX = "gymx.episodes."
# One record of the episode log. env_index: the env in the batch; env_episode: the episode's
# index among that env's episodes; episode: its index in the run's log; steps: env steps of the
# whole batch when it ended; time: wall seconds from the run's start to its end. Every field is
# naturally aligned, so the 40-byte records need no padding.
RECORD_DTYPE = np.dtype([
    ("env_index", "<i4"), ("env_episode", "<i4"), ("episode", "<i8"), ("return", "<f4"),
    ("length", "<i4"), ("steps", "<i8"), ("time", "<f8"),
])  # fmt: skip
MODES = ("training", "evaluation")
_GYM_EPISODE_TYPES = {"training": "t", "evaluation": "e"}


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


class EpisodeLog:
    """The append side of one run's episode log (a file descriptor opened with O_APPEND)."""

    def __init__(self, path: str):
        self.path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._size = os.fstat(self._fd).st_size

    def append(self, records: np.ndarray) -> int:
        """Appends `records` (a `RECORD_DTYPE` array) with one write and an fsync; returns how many."""
        if records.dtype != RECORD_DTYPE:
            raise TypeError(f"episode records must have dtype {RECORD_DTYPE}, got {records.dtype}")
        if len(records) == 0:
            return 0
        data = np.ascontiguousarray(records).view(np.uint8)  # the bytes themselves, not a copy
        try:
            while len(data):  # os.write may write less than asked; the rest follows at once
                data = data[os.write(self._fd, data) :]
            os.fsync(self._fd)
        except BaseException:
            # A failed write (disk full, ...) must not leave a partial record that would shift
            # every later record of this file: cut back to the last complete flush.
            os.ftruncate(self._fd, self._size)
            raise
        self._size += records.nbytes
        return len(records)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


@dataclasses.dataclass(frozen=True)
class Results:
    """Episodes of one or more runs, one array entry per episode, sorted by end time.

    run: index into `manifests` of the run each episode belongs to. env_ids, env_versions, modes:
    the run's (from its manifest). timestamps: Unix time of the episode's end. Other fields as
    `RECORD_DTYPE` (`returns` holds "return", `lengths` "length", `times` "time").
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

    def __len__(self) -> int:
        return len(self.returns)

    @property
    def initial_reset_timestamp(self) -> float | None:
        return min((m["start_timestamp"] for m in self.manifests), default=None)

    def select(self, mask: np.ndarray) -> Results:
        arrays = {f.name: getattr(self, f.name)[mask] for f in dataclasses.fields(self) if f.name != "manifests"}
        return Results(manifests=self.manifests, **arrays)

    def runs(self) -> list[Results]:
        """One `Results` per run (each keeps only its own manifest)."""
        out = []
        for index, manifest in enumerate(self.manifests):
            part = self.select(self.run == index)
            out.append(dataclasses.replace(part, manifests=(manifest,), run=np.zeros(len(part), np.int64)))
        return out


def read_records(path: str, dtype: np.dtype = RECORD_DTYPE) -> np.ndarray:
    """The complete records of an episode log; a torn last record (a write a kill cut short) is ignored."""
    # Reading only whole records also holds while a live run appends: its size only grows.
    return np.fromfile(path, dtype, count=os.path.getsize(path) // dtype.itemsize)


def load_results(directory: str) -> Results:
    """Every run's episodes in `directory`, merged and sorted by end time, with their manifests."""
    manifests, parts = [], []
    for path in sorted(glob.glob(os.path.join(directory, f"{MANIFEST_PREFIX}*.json"))):
        with open(path) as f:
            manifest = json.load(f)
        manifests.append(manifest)
        episodes = os.path.join(directory, manifest["episodes_file"])
        dtype = np.dtype([tuple(field) for field in manifest["record_dtype"]])
        parts.append(read_records(episodes, dtype) if os.path.exists(episodes) else np.zeros(0, dtype))
    if not manifests:
        raise FileNotFoundError(f"no gymx monitor files ({MANIFEST_PREFIX}*.json) in {directory}")

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

