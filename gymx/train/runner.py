"""Running an agent: many seeds in one program, chunked for host-side progress, and greedy evaluation.

An agent (`PPO`, `DQN`) is a static object with pure methods over its state:

- `init(key) -> state` and `train(state, num_iterations) -> (state, IterationLog)`,
- `greedy_action(state, obs) -> action`, the deterministic policy evaluated,
- `env` (its training `VecEnv`), `steps_per_iteration`, `num_iterations`, `config`, `env_id`, `algo`.

`train_seeds` vmaps both over seeds and jits one chunk of iterations: every chunk calls the same
compiled program (compiled once), the host waits only between chunks (progress bar, episode
records), and nothing inside a chunk syncs with the host.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import sys
import time
from collections.abc import Callable, Sequence
from typing import IO, Any, Protocol

import jax
import jax.numpy as jnp
import numpy as np

from gymx.registration import make
from gymx.train.episodes import IterationLog
from gymx.vector import AutoresetMode, VecEnv


class Agent(Protocol):
    algo: str
    env_id: str
    config: Any
    env: VecEnv

    @property
    def steps_per_iteration(self) -> int: ...

    @property
    def num_iterations(self) -> int: ...

    def init(self, key: jax.Array) -> Any: ...

    def train(self, state: Any, num_iterations: int) -> tuple[Any, IterationLog]: ...

    def greedy_action(self, state: Any, obs: jax.Array) -> jax.Array: ...


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One raw PRNG key per seed, (len(seeds), 2) uint32: agent i is the same as a run with seed `seeds[i]` alone."""
    return jnp.stack([jax.random.PRNGKey(seed) for seed in seeds])


@dataclasses.dataclass(frozen=True)
class ChunkReport:
    """What the host learns after each chunk."""

    iterations_done: int
    env_steps: int  # per agent, so far
    wall_s: float  # since `train_seeds` was called, compile included
    logs: IterationLog  # this chunk's logs, leaves (seeds, iterations, ...)
    states: Any  # the agents' states after the chunk (valid during the callback: the next chunk reuses their buffers)

    @property
    def mean_return(self) -> float:
        """Mean return of the episodes that ended in this chunk, over all seeds (nan if none did)."""
        episodes = int(np.sum(self.logs.episodes))
        return float(np.sum(self.logs.return_sum)) / episodes if episodes else float("nan")


def chunk_sizes(num_iterations: int, num_chunks: int) -> tuple[int, int]:
    """(iterations per chunk, chunks): equal chunks, so one program serves them all, covering at least `num_iterations`."""
    num_chunks = max(1, min(num_chunks, num_iterations))
    per_chunk = math.ceil(num_iterations / num_chunks)
    return per_chunk, math.ceil(num_iterations / per_chunk)


def train_seeds(
    agent: Agent,
    seeds: Sequence[int],
    num_chunks: int = 20,
    on_chunk: Callable[[ChunkReport], bool | None] | None = None,
) -> tuple[Any, float]:
    """Trains one agent per seed for `agent.num_iterations` (rounded up to whole chunks) in one program.

    `on_chunk(report)` runs on the host after every chunk; returning True stops training early.
    Returns (the states, batched over seeds; wall seconds, compile included).
    """
    start = time.perf_counter()
    per_chunk, num_chunks = chunk_sizes(agent.num_iterations, num_chunks)
    init = jax.jit(jax.vmap(agent.init))
    train_chunk = jax.jit(jax.vmap(lambda state: agent.train(state, per_chunk)), donate_argnums=0)
    state = init(seed_keys(seeds))
    for chunk in range(num_chunks):
        state, logs = train_chunk(state)
        jax.block_until_ready(logs.return_sum)
        done = (chunk + 1) * per_chunk
        report = ChunkReport(done, done * agent.steps_per_iteration * agent.env.num_envs, time.perf_counter() - start, logs, state)
        if on_chunk is not None and on_chunk(report):
            break
    jax.block_until_ready(state)
    return state, time.perf_counter() - start


def evaluate(agent: Agent, states: Any, num_episodes: int, key: jax.Array, max_steps: int | None = None) -> np.ndarray:
    """Returns (seeds, num_episodes) of the greedy policy of each agent in `states` (batched over seeds).

    Each agent plays `num_episodes` fresh episodes at once, in a batch without auto-reset; an
    episode's return stops accumulating at its first done. Episodes run to the env's time limit
    (or `max_steps`, needed for an env without one).
    """
    env = _evaluation_env(agent.env_id, num_episodes)
    limit = max_steps or (env.spec.max_episode_steps if env.spec is not None else None)
    if limit is None:
        raise ValueError(f"{agent.env_id} has no time limit: pass max_steps")
    return np.asarray(_evaluate(agent, env, int(limit), states, key))


@functools.lru_cache(maxsize=8)
def _evaluation_env(env_id: str, num_episodes: int) -> VecEnv:
    # Cached: the env is a static argument of the compiled evaluation, hashed by identity.
    return VecEnv(make(env_id), num_episodes, AutoresetMode.DISABLED)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _evaluate(agent: Agent, env: VecEnv, num_steps: int, states: Any, key: jax.Array) -> jax.Array:
    # Every agent plays the same episodes (same key), so seeds compare on equal terms.
    return jax.vmap(lambda state: _episode_returns(agent, env, num_steps, state, key))(states)


def _episode_returns(agent: Agent, env: VecEnv, num_steps: int, state: Any, key: jax.Array) -> jax.Array:
    env_state, ts = env.reset(key)

    def step(carry: tuple[Any, jax.Array, jax.Array, jax.Array], _: None) -> tuple[Any, None]:
        env_state, obs, returns, finished = carry
        env_state, ts = env.step(env_state, agent.greedy_action(state, obs))
        returns = returns + jnp.where(finished, 0.0, ts.reward)
        return (env_state, ts.obs, returns, finished | ts.done), None

    zeros = jnp.zeros(env.num_envs, jnp.float32)
    (_, _, returns, _), _ = jax.lax.scan(step, (env_state, ts.obs, zeros, zeros.astype(bool)), None, length=num_steps)
    return returns


class ProgressBar:
    """`[#####-----] 52%  260k/500k steps  return 187.3  12.4 s` on stderr, rewritten in place on a terminal."""

    def __init__(self, total_steps: int, enabled: bool = True, stream: IO[str] | None = None, width: int = 30):
        self.total = total_steps
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.live = enabled and self.stream.isatty()
        self.width = width

    def update(self, steps: int, mean_return: float, wall_s: float) -> None:
        if not self.enabled:
            return
        fraction = min(1.0, steps / self.total)
        filled = int(round(fraction * self.width))
        text = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {fraction:4.0%}  {_human(steps)}/{_human(self.total)} steps"
            f"  return {mean_return:8.2f}  {wall_s:6.1f} s"
        )
        self.stream.write(("\r" + text) if self.live else text + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.live:
            self.stream.write("\n")
            self.stream.flush()


def _human(steps: int) -> str:
    for scale, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if steps >= scale:
            return f"{steps / scale:.3g}{suffix}"
    return str(steps)
