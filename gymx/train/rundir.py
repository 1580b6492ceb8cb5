"""A training run's folder: created fresh, continued (`--resume`) or replaced (`--overwrite`), never clobbered by accident.

A run writes `checkpoint.safetensors` (the last state, rewritten after every chunk), `best.safetensors` (each
agent's best state by greedy evaluation), one Monitor run per seed (`gymx.episodes.seedS.bin`
and `gymx.manifest.seedS.json`: one record per finished episode, see `gymx.monitor.RunLog`),
so the folder is a Monitor directory that `gymx plot`, `gymx monitor summary` and
`export_gym_files` read, and `learning_curve.png`. A folder that holds anything is refused unless
the run resumes it or is told to overwrite it; default folder names carry the time and a random
suffix and are created atomically, so two runs started in the same second get two folders.

Order of writes after each chunk: its episodes are appended to each seed's log (one block each,
synced), then `best.safetensors` (when a best policy changed), then `checkpoint.safetensors`, whose run
bookkeeping records the iterations done and each log's length and block count. A run stopped
anywhere resumes from the last checkpoint: each log is cut back to that length and the chunks
after it are trained again, to the same states and episodes, so the resumed run's files are the
uninterrupted run's (wall times apart).
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from gymx.monitor import RunLog, log
from gymx.train import checkpoint, config
from gymx.train.runner import Agent

CHECKPOINT = "checkpoint.safetensors"
BEST = "best.safetensors"
CURVE = "learning_curve.png"
# What runs of gymx before safetensors checkpoints wrote in their place: `gymx eval` reads them, --resume does not.
NPZ_CHECKPOINT, NPZ_BEST = "checkpoint.npz", "best.npz"
RUN_FILES = (
    CHECKPOINT,
    BEST,
    CURVE,
    CHECKPOINT + ".partial",
    BEST + ".partial",
    NPZ_CHECKPOINT,
    NPZ_BEST,
    NPZ_CHECKPOINT + ".partial",
    NPZ_BEST + ".partial",
)
MONITOR_FILES = (log.MANIFEST_PREFIX + "*.json", log.EPISODES_PREFIX + "*.bin")


class RunDirError(ValueError):
    """A run folder that cannot be used as asked; the message names the folder and the way out."""


def create_default(algo: str, env_id: str, root: str | Path = "runs", attempts: int = 100) -> Path:
    """A new, empty folder `root/ALGO-ID-YYYYmmdd-HHMMSS-xxxxxx`, unique even among runs started together."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    for _ in range(attempts):
        # A namespaced id's slash would make a subfolder: ALE/Pong-v5 names its runs ppo-ALE-Pong-v5-...
        name = env_id.replace("/", "-")
        path = root / f"{algo}-{name}-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(3)}"
        try:
            path.mkdir()  # Atomic: of two runs that picked the same name, one gets FileExistsError.
            return path
        except FileExistsError:
            continue
    raise RunDirError(f"{root}: no free run folder name after {attempts} attempts")


def prepare_new(out: str | Path, overwrite: bool) -> Path:
    """`out` ready for a new run: created if missing; refused if it holds anything, unless `overwrite`.

    Overwriting deletes the files a run writes (`RUN_FILES` and the Monitor runs) and leaves any others alone.
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
        for pattern in MONITOR_FILES:
            for path in out.glob(pattern):
                path.unlink()
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
    logs: list[RunLog]  # each seed's Monitor run, cut back to the checkpoint and open for appending


def resume(out: str | Path, requested: Mapping[str, Any]) -> Resumed:
    """The run in `out`, ready to continue: its episode logs cut back to what its checkpoint accounts for.

    `requested` maps a setting's name (as the command line spells it) to the value asked for, None
    where none was; the run continues with its saved settings, so any other value is an error.
    """
    out = Path(out)
    path = out / CHECKPOINT
    if not path.is_file() and (out / NPZ_CHECKPOINT).is_file():
        raise RunDirError(
            f"{out} holds a {NPZ_CHECKPOINT} of an earlier gymx, which --resume cannot continue: "
            f"`gymx eval` still scores it; start a new run (another --out, or --overwrite)"
        )
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
        shown = ", ".join(
            f"{name} {requested[name]!r} (saved run: {saved[name]!r})" for name in differ if name != "--config"
        )
        if "--config" in differ:
            shown = ", ".join(filter(None, [shown, "--config (its values differ from the saved run's)"]))
        raise RunDirError(f"{out}: --resume continues the saved run with its own settings; these differ: {shown}")
    best = None
    if run["select_episodes"] and run["iterations_done"]:
        if not (out / BEST).is_file():
            raise RunDirError(
                f"{out} has no {BEST}, which its checkpoint's run wrote: cannot resume choosing the best policy"
            )
        best = checkpoint.read(out / BEST)
    if "episode_logs" not in run:
        raise RunDirError(
            f"{path} was written by a gymx that logged episodes to episodes.jsonl: start a new run (--overwrite)"
        )
    missing = [seed for seed in last.seeds if run_id(seed) not in run["episode_logs"]]
    if missing:
        raise RunDirError(f"{path} accounts for no episode log of seeds {missing}")
    logs = []
    try:
        for seed in last.seeds:
            size, blocks = run["episode_logs"][run_id(seed)]
            # Episodes of a chunk logged but not checkpointed are trained, and logged, again.
            logs.append(RunLog.reopen(str(out), run_id(seed), size, blocks))
    except ValueError as error:
        raise RunDirError(f"{out}: cannot go on with the episode log of its checkpoint: {error}") from None
    return Resumed(last, best, run["chunks"], run["select_episodes"], run["iterations_done"], run["wall_s"], logs)


def run_id(seed: int) -> str:
    """The Monitor run id of a seed's episodes."""
    return f"seed{seed}"


def open_logs(out: str | Path, agent: Agent, seeds: list[int]) -> list[RunLog]:
    """A new Monitor run per seed in `out`, mode "training", with the seed and the algorithm in its manifest."""
    return [RunLog(str(out), run_id(seed), agent.env, seed=seed, algorithm_id=agent.algo) for seed in seeds]


def log_positions(logs: list[RunLog]) -> dict[str, list[int]]:
    """Each log's length and block count, by run id: the checkpoint's record of what it accounts for."""
    return {opened.run_id: [opened.size, opened.blocks] for opened in logs}
