"""A Monitor run written without JAX: the same files `Monitor` writes, from chosen episodes."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import gymx
from gymx.monitor import log


def write_run(
    directory: Path, returns: np.ndarray, run_id: str = "synthetic.0", blocks: int = 1, closed: bool = True
) -> np.ndarray:
    """A CartPole-v1 run whose episodes (10 steps each) have `returns`, flushed in `blocks` blocks; returns its records."""
    directory.mkdir(exist_ok=True)
    manifest = {
        "format": log.FORMAT, "run_id": run_id, "gymx_version": gymx.__version__, "env_id": "CartPole-v1", "env_version": 1,
        "mode": "training", "env_spec": {"reward_threshold": 475.0}, "start_timestamp": 1.0e9,
        "episodes_file": f"gymx.episodes.{run_id}.bin", "record_dtype": log.RECORD_DTYPE.descr, "episodes": 0, "blocks": 0,
        "closed": False,
    }  # fmt: skip
    episodes = log.EpisodeLog(log.episodes_path(str(directory), run_id), manifest)
    log.write_json_atomic(log.manifest_path(str(directory), run_id), manifest)
    n = len(returns)
    records = np.zeros(n, log.RECORD_DTYPE)
    records["env_episode"] = records["episode"] = np.arange(n)
    records["return"], records["length"] = returns, 10
    records["steps"], records["time"] = 10 * np.arange(1, n + 1), np.arange(1.0, n + 1)
    for block in np.array_split(records, blocks):
        episodes.append(block)
    episodes.close()
    manifest.update(episodes=n, blocks=blocks, closed=closed)
    if closed:
        manifest["log_bytes"] = episodes.size
    log.write_json_atomic(log.manifest_path(str(directory), run_id), manifest)
    return records


def block_offsets(path: Path) -> list[int]:
    """Where each block of an intact episode log starts, and the file's end."""
    data = path.read_bytes()
    at = 16 + struct.unpack_from("<I", data, 8)[0]  # the file header: magic, JSON length, CRC32, JSON
    offsets = []
    while at < len(data):
        offsets.append(at)
        # Block header: magic, seq, episodes, 2 CRC32s; payload: first episode, groups, 20 bytes a group, 16 an episode.
        (episodes,), (groups,) = struct.unpack_from("<I", data, at + 8), struct.unpack_from("<I", data, at + 28)
        at += 20 + 12 + 20 * groups + 16 * episodes
    return [*offsets, at]


@pytest.fixture
def synthetic_run() -> Callable[..., np.ndarray]:
    return write_run


@pytest.fixture
def log_blocks() -> Callable[[Path], list[int]]:
    return block_offsets
