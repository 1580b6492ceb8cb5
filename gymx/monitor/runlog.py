"""`RunLog`: a Monitor run written from episodes the caller found itself, for loops that step their own envs.

A loop that cannot put `Monitor.step` inside its compiled program (a trainer with its own
vmapped envs) hands `RunLog.append` the episodes that ended since its last call: env index,
return, length, the batch's env steps and the wall time at their end. `RunLog` numbers them
(`episode`, `env_episode`) and appends them as one block of `gymx.monitor.log`'s episode log,
with the manifest a `Monitor` run writes, so `load_results`, `gymx plot`, `gymx monitor summary`
and `export_gym_files` read the directory as any Monitor directory. After every block the
manifest is replaced (atomically) with the blocks and episodes written so far.

`RunLog.reopen` takes a run up again from a point it recorded (the log's size and block count,
e.g. in a checkpoint): the blocks after it are cut off and the numbering goes on from the
episodes before it, so a run stopped and resumed writes the log of the run that was not stopped
(wall times apart).
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

from gymx.monitor import log


class RunLog:
    """One run's episode log and manifest in `directory`, as run `run_id`; see the module docstring.

    vec_env: the batch the episodes come from (its spec, size and auto-reset mode go in the
    manifest). seed, algorithm_id, mode: written to the manifest as given.
    """

    def __init__(
        self,
        directory: str,
        run_id: str,
        vec_env: Any,
        seed: int | None = None,
        algorithm_id: str | None = None,
        mode: str = "training",
    ):
        if mode not in log.MODES:
            raise ValueError(f"mode must be one of {log.MODES}, got {mode!r}")
        os.makedirs(directory, exist_ok=True)
        episodes_file = log.episodes_path(directory, run_id)
        self.directory, self.run_id = directory, run_id
        self.manifest = log.new_manifest(run_id, vec_env, seed, algorithm_id, mode, time.time())
        self._env_episodes = np.zeros(vec_env.num_envs, np.int64)
        self._log = log.EpisodeLog(episodes_file, self.manifest)
        self._write_manifest()

    @classmethod
    def reopen(cls, directory: str, run_id: str, size: int, blocks: int) -> RunLog:
        """Run `run_id` of `directory` cut back to its log's first `size` bytes (`blocks` blocks), open for appending.

        Raises ValueError naming the file, and leaves it as it was, when the log is missing or
        shorter than that, or when those bytes are not its header and `blocks` intact blocks.
        """
        path = log.episodes_path(directory, run_id)
        if not os.path.isfile(path):
            raise ValueError(f"{path}: the episode log to go on from is missing")
        with open(path, "rb") as file:
            data = file.read(size)
        if len(data) < size:
            raise ValueError(f"{path}: {len(data)} bytes, shorter than the {size} to go on from")
        header, records = _kept_part(path, data, blocks)
        self = cls.__new__(cls)
        self.directory, self.run_id = directory, run_id
        self._log = log.EpisodeLog.reopen(path, header, size, blocks)
        try:
            with open(log.manifest_path(directory, run_id)) as file:
                self.manifest = json.load(file)
        except (OSError, ValueError):  # The log's header is the manifest as the run began.
            self.manifest = dict(header)
        self._env_episodes = np.bincount(records["env_index"], minlength=header["num_envs"]).astype(np.int64)
        self.manifest.update(episodes=len(records), blocks=blocks, closed=False)
        self.manifest.pop("log_bytes", None)
        self._write_manifest()
        return self

    @property
    def size(self) -> int:
        """The log's length in bytes: what a point to `reopen` from records, with `blocks`."""
        return self._log.size

    @property
    def blocks(self) -> int:
        return self._log.blocks

    def append(
        self,
        env_index: np.ndarray,
        returns: np.ndarray,
        lengths: np.ndarray,
        steps: np.ndarray,
        times: np.ndarray | float,
    ) -> int:
        """Appends episodes (in the order they ended) as one block and returns how many; none writes nothing.

        steps: env steps of the whole batch when each ended; times: wall seconds from the run's start to its end.
        """
        env_index = np.asarray(env_index, np.int64)
        count = len(env_index)
        if not count:
            return 0
        records = np.empty(count, log.RECORD_DTYPE)
        records["env_index"] = env_index
        # An env's k-th episode of this block is its (episodes before + k)-th in the run.
        order = np.argsort(env_index, kind="stable")
        sorted_index = env_index[order]
        starts = np.searchsorted(sorted_index, sorted_index, side="left")
        rank = np.empty(count, np.int64)
        rank[order] = np.arange(count) - starts
        records["env_episode"] = self._env_episodes[env_index] + rank
        records["episode"] = self.manifest["episodes"] + np.arange(count)
        records["return"] = returns
        records["length"] = lengths
        records["steps"] = steps
        records["time"] = times
        self._log.append(records)
        self._env_episodes += np.bincount(env_index, minlength=len(self._env_episodes))
        self.manifest["episodes"] += count
        self.manifest["blocks"] = self._log.blocks
        self._write_manifest()
        return count

    def close(self) -> None:
        """Marks the manifest closed, with the log's size (so a log cut short later is noticed)."""
        self._log.close()
        self.manifest["closed"] = True
        self.manifest["log_bytes"] = self._log.size
        self._write_manifest()

    def _write_manifest(self) -> None:
        log.write_json_atomic(log.manifest_path(self.directory, self.run_id), self.manifest)


def _kept_part(path: str, data: bytes, blocks: int) -> tuple[dict, np.ndarray]:
    """The header and records of `data`, the start of a log that must be its header and exactly `blocks` intact blocks."""
    header, at = log.read_header(data)
    if header is None:
        raise ValueError(f"{path}: its file header is damaged")
    kinds = log.block_kinds(data[: len(log.FILE_MAGIC)])
    parts = [np.zeros(0, log.RECORD_DTYPE)]
    while at < len(data):
        block = log.parse_block(data, at, kinds)
        if isinstance(block, str):
            raise ValueError(f"{path}: its first {len(data)} bytes do not load whole: at byte {at}, {block}")
        magic, _, count, end = block
        try:
            parts.append(log.decode_block(data, at + log.BLOCK_HEADER_SIZE, count, end, kinds[magic]))
        except ValueError as error:
            raise ValueError(f"{path}: its first {len(data)} bytes do not load whole: at byte {at}, {error}") from None
        at = end
    if len(parts) - 1 != blocks:
        raise ValueError(f"{path}: its first {len(data)} bytes hold {len(parts) - 1} blocks, not {blocks}")
    return header, np.concatenate(parts)
