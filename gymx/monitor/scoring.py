"""The original Gym scoreboard's score of a run, and the `gymx monitor summary` table.

`score` follows `gym/scoreboard/scoring.py::score_from_merged`: only training episodes count, in
the order they finished; `means[i]` is the mean return of episodes i .. i + trials - 1, and the
run is solved at the first i where it reaches the spec's `reward_threshold`: i is the
"episodes before solve" of the old leaderboard, `timestep_t_value` the env steps (summed lengths)
before episode i, and `seconds_to_solve` the time from the first reset to the end of episode i
(as the original measured it). `mean` and `error` are those of the best window, with
error = std / (sqrt(trials) - 1).

A run that logged summaries (`Monitor(..., episodes="summary")`) has no per-episode order to
slide a window over: `score_summaries` uses its flushes that hold at least `trials` episodes as
the windows (each with its own episode count in the error), and counts the episodes and their
summed lengths in the flushes before the first that reaches the threshold.
"""

from __future__ import annotations

import dataclasses
import math
import os

import numpy as np

from gymx.monitor.log import EPISODES_PREFIX, Results


@dataclasses.dataclass(frozen=True)
class Score:
    episodes: int  # training episodes
    timesteps: int  # their summed lengths
    steps: int  # env steps of the whole batch when the last episode ended
    seconds_in_total: float | None
    reward_threshold: float | None
    mean: float | None  # of the best `trials`-episode window
    error: float | None
    episode_t_value: int | None  # episodes before solve
    timestep_t_value: int | None
    seconds_to_solve: float | None


def score(results: Results, reward_threshold: float | None, trials: int = 100) -> Score:
    training = results.select(results.modes == "training")
    rewards = training.returns.astype(np.float64)
    lengths = training.lengths
    start = results.initial_reset_timestamp
    seconds_in_total = float(training.timestamps[-1] - start) if len(training) and start is not None else None
    mean = error = episode_t = timestep_t = seconds_to_solve = None
    if len(rewards) >= trials:
        cumulative = np.cumsum(np.insert(rewards, 0, 0.0))
        means = (cumulative[trials:] - cumulative[:-trials]) / trials
        if reward_threshold is not None:
            (above,) = np.nonzero(means >= reward_threshold)
            if len(above):
                episode_t = int(above[0])
                timestep_t = int(np.cumsum(np.insert(lengths, 0, 0))[episode_t])
                seconds_to_solve = float(training.timestamps[episode_t] - start)
        best = int(np.argmax(means))
        window = rewards[best : best + trials]
        mean = float(np.mean(window))
        error = 0.0 if trials == 1 else float(np.std(window) / (math.sqrt(trials) - 1))
    return Score(
        episodes=len(rewards),
        timesteps=int(np.sum(lengths)),
        steps=int(training.steps.max()) if len(training) else 0,
        seconds_in_total=seconds_in_total,
        reward_threshold=reward_threshold,
        mean=mean,
        error=error,
        episode_t_value=episode_t,
        timestep_t_value=timestep_t,
        seconds_to_solve=seconds_to_solve,
    )


def score_summaries(summaries: np.ndarray, reward_threshold: float | None, trials: int = 100) -> Score:
    """`score` of a summary-mode run's summary records (see the module docstring)."""
    counts = summaries["episodes"].astype(np.int64)
    windows = np.flatnonzero(counts >= trials)
    mean = error = episode_t = timestep_t = seconds_to_solve = None
    if len(windows):
        means = summaries["return_mean"][windows]
        best = windows[int(np.argmax(means))]
        mean = float(summaries["return_mean"][best])
        error = 0.0 if counts[best] == 1 else float(summaries["return_std"][best] / (math.sqrt(counts[best]) - 1))
        if reward_threshold is not None:
            (above,) = np.nonzero(means >= reward_threshold)
            if len(above):
                first = windows[above[0]]
                episode_t = int(counts[:first].sum())
                timestep_t = round(float(np.sum(summaries["length_mean"][:first] * counts[:first])))
                seconds_to_solve = float(summaries["time"][first])
    return Score(
        episodes=int(counts.sum()),
        timesteps=round(float(np.sum(summaries["length_mean"] * counts))) if len(counts) else 0,
        steps=int(summaries["steps"].max()) if len(counts) else 0,
        seconds_in_total=float(summaries["time"].max()) if len(counts) else None,
        reward_threshold=reward_threshold,
        mean=mean,
        error=error,
        episode_t_value=episode_t,
        timestep_t_value=timestep_t,
        seconds_to_solve=seconds_to_solve,
    )


def is_summary_run(run: Results) -> bool:
    return run.manifests[0].get("episode_mode") == "summary"


def reward_threshold_of(manifest: dict) -> float | None:
    spec = manifest.get("env_spec") or {}
    return spec.get("reward_threshold")


def summary_table(results: Results, trials: int = 100) -> str:
    """One row per run: episodes, steps, best `trials`-episode mean, whether and when it was solved.

    Notes follow the table where a run did not close, was recovered from its episode log, or
    had damaged regions skipped (its "solved" cell then carries a `*`: its scores leave out the
    episodes that were there).
    """
    header = ("run", "env", "mode", "episodes", "steps", "wall s", f"best {trials}-ep mean", "threshold", "solved", "episodes before solve", "steps before solve", "s to solve", "overflow")  # fmt: skip
    rows, notes = [], []
    for run in results.runs():
        manifest = run.manifests[0]
        threshold = reward_threshold_of(manifest)
        summarised = is_summary_run(run)
        s = score_summaries(run.summaries[0], threshold, trials) if summarised else score(run, threshold, trials)
        solved = s.episode_t_value is not None
        # Only damage to the episode log loses episodes; a recovered manifest loses none.
        damaged = "*" if any(os.path.basename(d.path).startswith(EPISODES_PREFIX) for d in run.damaged) else ""
        if manifest.get("closed") is False:
            notes.append(
                f"run {manifest['run_id']} did not close (still running, or killed): episodes after its last flush are missing"
            )
        notes.extend(f"run {manifest['run_id']}: {damage}" for damage in run.damaged)
        if summarised:
            notes.append(
                f"run {manifest['run_id']} logged summaries: its {trials}-episode windows are its flushes of at least {trials} episodes"
            )
        rows.append((
            manifest["run_id"],
            str(manifest.get("env_id")),
            manifest.get("mode", "training"),
            str(s.episodes),
            str(s.steps if summarised else int(run.steps.max()) if len(run) else 0),
            _fmt(s.seconds_in_total if summarised else None if not len(run) else float(run.times.max())),
            "–" if s.mean is None else f"{s.mean:.2f} ± {s.error:.2f}",
            _fmt(threshold),
            ("yes" if solved else "no") + damaged if threshold is not None else "–",
            _fmt(s.episode_t_value),
            _fmt(s.timestep_t_value),
            _fmt(s.seconds_to_solve),
            "?" if manifest.get("recovered_from_log") else str(manifest.get("overflowed_episodes", 0)),
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in (header, *rows)) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip() for row in (header, *rows)]
    if any(row[8].endswith("*") for row in rows):
        notes.append("* damaged regions of the run's episode log were skipped: its scores leave out the episodes there")
    return "\n".join(lines + (["", *notes] if notes else []))


def _fmt(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.1f}" if isinstance(value, float) else str(value)
