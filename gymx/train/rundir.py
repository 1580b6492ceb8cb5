"""A training run's folder: created fresh, continued (`--resume`) or replaced (`--overwrite`), never clobbered by accident.

A run writes `checkpoint.npz` (the last state, rewritten after every chunk), `best.npz` (each
agent's best state by greedy evaluation), `episodes.jsonl` (one record per finished episode) and
`learning_curve.png`. A folder that holds anything is refused unless the run resumes it or is told
to overwrite it; default folder names carry the time and a random suffix and are created
atomically, so two runs started in the same second get two folders.

Order of writes after each chunk: its episodes are appended to the log and synced, then `best.npz`
(when a best policy changed), then `checkpoint.npz`, whose run bookkeeping records the iterations
done and the log's length. A run stopped anywhere resumes from the last checkpoint: the log is cut
back to that length and the chunks after it are trained again, to the same states and episodes,
so the resumed run's files are the uninterrupted run's (wall times apart).
"""

from __future__ import annotations

import dataclasses
import os
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gymx.train import checkpoint, config

CHECKPOINT = "checkpoint.npz"
BEST = "best.npz"
EPISODES = "episodes.jsonl"
CURVE = "learning_curve.png"
RUN_FILES = (CHECKPOINT, BEST, EPISODES, CURVE, CHECKPOINT + ".partial", BEST + ".partial")


class RunDirError(ValueError):
    """A run folder that cannot be used as asked; the message names the folder and the way out."""


def create_default(algo: str, env_id: str, root: str | Path = "runs", attempts: int = 100) -> Path:
    """A new, empty folder `root/ALGO-ID-YYYYmmdd-HHMMSS-xxxxxx`, unique even among runs started together."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        path = root / f"{algo}-{env_id}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        try:
            path.mkdir()  # Atomic: of two runs that picked the same name, one gets FileExistsError.
            return path
        except FileExistsError:
            continue
    raise RunDirError(f"{root}: no free run folder name after {attempts} attempts")


def prepare_new(out: str | Path, overwrite: bool) -> Path:
    """`out` ready for a new run: created if missing; refused if it holds anything, unless `overwrite`.

    Overwriting deletes the files a run writes (`RUN_FILES`) and leaves any others alone.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise RunDirError(f"{out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()):
        if not overwrite:
            raise RunDirError(
                f"{out} is not empty (an earlier run?); pass --resume to continue its training "
                f"or --overwrite to replace its run files, or choose another --out"
            )
        for name in RUN_FILES:
            (out / name).unlink(missing_ok=True)
    out.mkdir(parents=True, exist_ok=True)
    return out


@dataclasses.dataclass(frozen=True)
class Resumed:
    """A run taken up from its folder: its last state and its best so far, with the run's settings."""

    last: checkpoint.Checkpoint
    best: checkpoint.Checkpoint | None  # None when the run does not choose a best policy or has not yet
    chunks: int
    select_episodes: int
    iterations_done: int
    wall_s: float  # spent by the earlier parts of the run


def resume(out: str | Path, requested: Mapping[str, Any]) -> Resumed:
    """The run in `out`, ready to continue: its episode log cut back to what its checkpoint accounts for.

    `requested` maps a setting's name (as the command line spells it) to the value asked for, None
    where none was; the run continues with its saved settings, so any other value is an error.
    """
    out = Path(out)
    path = out / CHECKPOINT
    if not path.is_file():
        what = "does not exist" if not out.exists() else f"has no {CHECKPOINT}"
        raise RunDirError(f"{out} {what}: nothing to resume (drop --resume to start a new run there)")
    last = checkpoint.read(path)
    if "iterations_done" not in last.run:
        raise RunDirError(f"{path} holds no run bookkeeping to resume from")
    run, agent = last.run, last.agent
    saved = {
        "algo": agent.algo,
        "env id": agent.env_id,
        "--seed": last.seeds[0],
        "--seeds": len(last.seeds),
        "--total-steps": agent.config.total_steps,
        "--chunks": run["chunks"],
        "--select-episodes": run["select_episodes"],
        "--config": config.to_dict(agent.config),
    }
    differ = [name for name, value in requested.items() if value is not None and value != saved[name]]
    if differ:
        shown = ", ".join(f"{name} {requested[name]!r} (saved run: {saved[name]!r})" for name in differ if name != "--config")
        if "--config" in differ:
            shown = ", ".join(filter(None, [shown, "--config (its values differ from the saved run's)"]))
        raise RunDirError(f"{out}: --resume continues the saved run with its own settings; these differ: {shown}")
    best = None
    if run["select_episodes"] and run["iterations_done"]:
        if not (out / BEST).is_file():
            raise RunDirError(f"{out} has no {BEST}, which its checkpoint's run wrote: cannot resume choosing the best policy")
        best = checkpoint.read(out / BEST)
    _cut_episode_log(out / EPISODES, run["episodes_bytes"])
    return Resumed(last, best, run["chunks"], run["select_episodes"], run["iterations_done"], run["wall_s"])


def _cut_episode_log(path: Path, length: int) -> None:
    # Episodes of a chunk logged but not checkpointed are trained, and logged, again.
    size = path.stat().st_size if path.is_file() else 0
    if size < length:
        raise RunDirError(f"{path}: {size} bytes, shorter than the {length} its checkpoint accounts for")
    with open(path, "r+b") as file:
        file.truncate(length)


def sync(file: Any) -> int:
    """Flushes `file` to the disk; returns its size in bytes (what a checkpoint taken now accounts for)."""
    file.flush()
    os.fsync(file.fileno())
    return os.fstat(file.fileno()).st_size
