"""Episode records: what a training iteration reports about finished episodes, and the files made from them.

On device, every iteration returns an `IterationLog`: the summed return and count of the
episodes that ended in it (always; enough for a progress bar or a learning curve of thousands of
agents), plus, when the run records episodes, the per-step done flags and episode totals of
every env (`StepLog`, shape (steps, num_envs)), from which the host writes one JSONL record per
finished episode. Nothing here syncs with the host inside the compiled loop.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct
from gymx.core import TimeStep


@struct.dataclass
class StepLog:
    done: jax.Array  # bool (steps, num_envs): an episode ended on this step
    episode_return: jax.Array  # float32 (steps, num_envs): its return (meaningful where done)
    episode_length: jax.Array  # int32 (steps, num_envs): its length (meaningful where done)


@struct.dataclass
class IterationLog:
    return_sum: jax.Array  # float32 (): summed return of the episodes that ended in the iteration
    episodes: jax.Array  # int32 (): how many ended
    steps: StepLog | None  # per-step records, or None when the run does not record episodes


def iteration_log(timesteps: TimeStep, record_episodes: bool) -> IterationLog:
    """The log of an iteration's batched `TimeStep`s (stacked (steps, num_envs), gymx's episode stats in info)."""
    done = timesteps.terminated | timesteps.truncated
    episode_return = timesteps.info["episode_return"]
    steps = StepLog(done, episode_return, timesteps.info["episode_length"]) if record_episodes else None
    return IterationLog(
        return_sum=jnp.sum(jnp.where(done, episode_return, 0.0)),
        episodes=jnp.sum(done, dtype=jnp.int32),
        steps=steps,
    )


def episode_records(
    logs: IterationLog, seeds: list[int], first_iteration: int, num_envs: int, wall_s: float
) -> Iterator[dict[str, Any]]:
    """One dict per finished episode in `logs` (a chunk of iterations: leaves (seeds, iterations, steps, envs)).

    `env_steps` counts the agent's env steps up to and including the episode's last step;
    `wall_s` is the host time at the end of the chunk (the loop does not sync with the host
    inside a chunk, so that is the finest time there is).
    """
    steps = jax.device_get(logs.steps)
    steps_per_iteration = steps.done.shape[2]
    for seed_index, iteration, step, env in zip(*np.nonzero(steps.done)):
        global_step = (first_iteration + int(iteration)) * steps_per_iteration + int(step) + 1
        yield {
            "seed": seeds[seed_index],
            "env": int(env),
            "return": float(steps.episode_return[seed_index, iteration, step, env]),
            "length": int(steps.episode_length[seed_index, iteration, step, env]),
            "env_steps": global_step * num_envs,
            "wall_s": round(wall_s, 3),
        }


def write_jsonl(records: Iterator[dict[str, Any]], file: IO[str]) -> int:
    count = 0
    for record in records:
        file.write(json.dumps(record) + "\n")
        count += 1
    return count


def read_jsonl(path: str | Path) -> list[dict[str, Any]]:
    with open(path) as file:
        return [json.loads(line) for line in file if line.strip()]


def plot_learning_curve(records: list[dict[str, Any]], path: str | Path, title: str, bins: int = 50) -> None:
    """A PNG of episode return against env steps: one line per seed (binned means) and their mean."""
    import matplotlib  # Lazy: only runs that write a plot need matplotlib.

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not records:
        raise ValueError("no finished episodes to plot")
    steps = np.array([r["env_steps"] for r in records], np.float64)
    returns = np.array([r["return"] for r in records], np.float64)
    seeds = np.array([r["seed"] for r in records])
    edges = np.linspace(0.0, steps.max(), bins + 1)
    centres = 0.5 * (edges[1:] + edges[:-1])
    fig, ax = plt.subplots(figsize=(7, 4))
    curves = []
    for seed in np.unique(seeds):
        mine = seeds == seed
        curve = _binned_mean(steps[mine], returns[mine], edges)
        curves.append(curve)
        ax.plot(centres, curve, lw=0.8, alpha=0.35)
    with warnings.catch_warnings():  # Bins where no seed finished an episode stay empty (nan).
        warnings.simplefilter("ignore", RuntimeWarning)
        mean_curve = np.nanmean(np.stack(curves), axis=0)
    ax.plot(centres, mean_curve, color="black", lw=2, label=f"mean of {len(curves)} seeds")
    ax.set(xlabel="env steps per agent", ylabel="episode return", title=title)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def _binned_mean(x: np.ndarray, y: np.ndarray, edges: np.ndarray) -> np.ndarray:
    index = np.clip(np.digitize(x, edges) - 1, 0, len(edges) - 2)
    sums = np.bincount(index, weights=y, minlength=len(edges) - 1)
    counts = np.bincount(index, minlength=len(edges) - 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / counts, np.nan)
