"""Episode records: what a training iteration reports about finished episodes, and the returns of
a policy's evaluation episodes (`evaluation_episodes`).

On device, every iteration returns an `IterationLog`: the summed return and count of the
episodes that ended in it (always; enough for a progress bar or a learning curve of thousands of
agents), plus, when the run records episodes, the per-step done flags and episode totals of
every env (`StepLog`, shape (steps, num_envs)), from which the host finds the finished episodes
(`episode_records`) and writes them to the run's Monitor logs. Nothing here syncs with the host
inside the compiled loop.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct
from gymx.core import TimeStep
from gymx.vector import VecEnv


class StepLog(struct.PyTree):
    done: jax.Array  # bool (steps, num_envs): an episode ended on this step
    episode_return: jax.Array  # float32 (steps, num_envs): its return (meaningful where done)
    episode_length: jax.Array  # int32 (steps, num_envs): its length (meaningful where done)


class IterationLog(struct.PyTree):
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


@dataclasses.dataclass(frozen=True)
class SeedEpisodes:
    """The episodes one agent finished in a chunk, in the order they ended (steps, then env index)."""

    env_index: np.ndarray  # int64: the env of the agent's batch
    returns: np.ndarray  # float32
    lengths: np.ndarray  # int32
    env_steps: np.ndarray  # int64: the agent's env steps up to and including the episode's last step


def episode_records(logs: IterationLog, first_iteration: int, num_envs: int) -> list[SeedEpisodes]:
    """One `SeedEpisodes` per seed of `logs` (a chunk of iterations: leaves (seeds, iterations, steps, envs))."""
    steps = jax.device_get(logs.steps)
    steps_per_iteration = steps.done.shape[2]
    out = []
    for done, returns, lengths in zip(steps.done, steps.episode_return, steps.episode_length):
        iteration, step, env = np.nonzero(done)
        global_step = (first_iteration + iteration.astype(np.int64)) * steps_per_iteration + step + 1
        out.append(SeedEpisodes(env.astype(np.int64), returns[done], lengths[done], global_step * num_envs))
    return out


class EvaluationEpisodes(NamedTuple):
    returns: jax.Array  # float32 (num_envs,): each episode's return up to its first done
    lengths: jax.Array  # int32 (num_envs,): its steps up to and including that done
    first_obs: jax.Array  # the reset's observations, (num_envs, ...)


def evaluation_episodes(
    env: VecEnv, act: Callable[[Any], jax.Array], num_steps: int, key: jax.Array
) -> EvaluationEpisodes:
    """`env.num_envs` fresh episodes played by `act(obs) -> actions` for at most `num_steps` steps.

    `env` must not auto-reset: an episode's return and length stop accumulating at its first
    done. The loop ends once every episode is done (an Atari episode's limit is 27,000 steps, a
    short one's few hundred), which leaves the returns as they would be after `num_steps` steps.
    """
    env_state, ts = env.reset(key)
    Carry = tuple[jax.Array, Any, Any, jax.Array, jax.Array, jax.Array]

    def unfinished(carry: Carry) -> jax.Array:
        t, _, _, _, _, finished = carry
        return (t < num_steps) & ~jnp.all(finished)

    def step(carry: Carry) -> Carry:
        t, env_state, obs, returns, lengths, finished = carry
        env_state, ts = env.step(env_state, act(obs))
        returns = returns + jnp.where(finished, 0.0, ts.reward)
        lengths = lengths + (~finished).astype(jnp.int32)
        return t + 1, env_state, ts.obs, returns, lengths, finished | ts.done

    zeros = jnp.zeros(env.num_envs, jnp.float32)
    start = (jnp.zeros((), jnp.int32), env_state, ts.obs, zeros, zeros.astype(jnp.int32), zeros.astype(bool))
    _, _, _, returns, lengths, _ = jax.lax.while_loop(unfinished, step, start)
    return EvaluationEpisodes(returns, lengths, ts.obs)


def episode_returns(env: VecEnv, act: Callable[[Any], jax.Array], num_steps: int, key: jax.Array) -> jax.Array:
    """(num_envs,) returns of `evaluation_episodes`."""
    return evaluation_episodes(env, act, num_steps, key).returns
