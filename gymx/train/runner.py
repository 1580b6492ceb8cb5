"""Running an agent: many seeds in one program, chunked for host-side progress, and greedy evaluation.

An agent (`PPO`, `DQN`) is a static object with pure methods over its state:

- `init(key) -> state` and `train(state, num_iterations) -> (state, IterationLog)`,
- `greedy_action(state, obs) -> action`, the deterministic policy evaluated,
- `env` (its training `VecEnv`), `steps_per_iteration`, `num_iterations`, `config`, `env_id`, `algo`;
  the state counts its iterations in `state.iteration`, which seeds trained together share and
  the agent gets unbatched, so that its conds on the count branch (see `CountsIterations`).

`train_seeds` vmaps both over seeds and jits one chunk of iterations: every chunk calls the same
compiled program (compiled once), the host waits only between chunks (progress bar, episode
records, checkpoints, choosing the best policy), and nothing inside a chunk syncs with the host.
Given the states of a checkpoint it continues their run, to the same states bit for bit.

Seeds and reproducibility: agent i of `train_seeds(agent, seeds)` starts from the key,
parameters and envs of a run of `seeds[i]` alone, and its PRNG keys stay the same for the whole
run (they never depend on floats). Its floating-point results agree with the run alone to
rounding, not bit for bit: XLA:CPU contracts `a * b + c` into one fused multiply-add in some
loops and not in others, and which loop a small per-agent array (a size-1 bias, Adam's step
count) goes through depends on how many agents the batch holds. Measured for PPO on CartPole-v1
(packaged config, seed 0 alone against seed 0 among seeds 0-3, on an AVX-512 CPU): parameters
6e-8 apart after the first iteration and 3e-7 after 10, with identical env streams; by iteration
20 a sampled action has flipped and the runs go their own ways (parameters 0.07 apart), and
after the run the greedy policies score 394.5 and 500. A different number of seeds is therefore
a different, equally valid draw. `XLA_FLAGS=--xla_cpu_max_isa=AVX` (no FMA instructions) made
agent i equal the run alone bit for bit on the AVX-512 CPU where it was measured (see
benchmarks/RESULTS.md), but not on an AMD EPYC with AVX2 (a short PPO run: 18 parameter and
optimizer arrays 1e-9 apart), so no bit-for-bit claim is made on any device.

Devices and processes: the agent's `env.devices` (one device, several, or the devices of several
processes) hold its envs split into equal blocks, and the whole program runs over them as one
(gymx/train/distributed.py); a run over N devices equals the one-device run to rounding, as
above. Over several processes every process calls `train_seeds` alike, and the states and logs
the host sees (`ChunkReport`, the result) are copies replicated on every device.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any, Generic, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np

from gymx.core import Env
from gymx.cpu import inline_lapack_batches
from gymx.progress import StatusLine, si_number
from gymx.registration import make, spec
from gymx.train import distributed
from gymx.train.episodes import IterationLog, episode_returns
from gymx.vector import AutoresetMode, VecEnv

if TYPE_CHECKING:
    from typing_extensions import Self  # typing has it from Python 3.11


class CountsIterations(Protocol):
    """An agent's state: it counts the iterations done (int32, one per seed when batched).

    Seeds trained together share their count, so `seeds_chunk` gives it to the agents unbatched
    (`replace(iteration=...)`): a `lax.cond` whose predicate is a function of the count alone
    stays a branch under the vmap over seeds, where a batched predicate would turn it into a
    select that runs both branches for every seed.
    """

    @property
    def iteration(self) -> jax.Array: ...

    def replace(self, **changes: Any) -> Self: ...


# An agent's state (`PPOState`, ...); a policy's state is whatever its `greedy_action` reads.
AgentState = TypeVar("AgentState", bound=CountsIterations)
PolicyState = TypeVar("PolicyState")
T = TypeVar("T")
# The variances a protocol's checker requires: a policy's state is only taken, a config only returned.
_PolicyState_contra = TypeVar("_PolicyState_contra", contravariant=True)
_Config_co = TypeVar("_Config_co", covariant=True)


class Player(Protocol[_PolicyState_contra]):
    """What evaluation needs of an agent: its env's id and its greedy action."""

    env_id: str

    def greedy_action(self, state: _PolicyState_contra, obs: jax.Array) -> jax.Array: ...


class Agent(Player[AgentState], Protocol[AgentState, _Config_co]):
    algo: str
    env: VecEnv

    @property
    def config(self) -> _Config_co: ...

    @property
    def steps_per_iteration(self) -> int: ...

    @property
    def num_iterations(self) -> int: ...

    def init(self, key: jax.Array) -> AgentState: ...

    def train(self, state: AgentState, num_iterations: int) -> tuple[AgentState, IterationLog]: ...


def seed_keys(seeds: Sequence[int]) -> jax.Array:
    """One raw PRNG key per seed, (len(seeds), 2) uint32: agent i gets the key of a run with seed `seeds[i]` alone.

    What that makes equal (keys and streams, not every rounding): see the module docstring.
    """
    return jnp.stack([jax.random.PRNGKey(seed) for seed in seeds])


@dataclasses.dataclass(frozen=True)
class ChunkReport(Generic[AgentState]):
    """What the host learns after each chunk."""

    iterations_done: int
    env_steps: int  # per agent, so far
    wall_s: float  # since `train_seeds` was called, compile included
    logs: IterationLog  # this chunk's logs, leaves (seeds, iterations, ...)
    states: AgentState  # the agents' states after the chunk (valid during the callback: the next chunk reuses their buffers)

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
    agent: Agent[AgentState, object],
    seeds: Sequence[int],
    num_chunks: int = 20,
    on_chunk: Callable[[ChunkReport[AgentState]], bool | None] | None = None,
    states: AgentState | None = None,
) -> tuple[AgentState, float]:
    """Trains one agent per seed for `agent.num_iterations` (rounded up to whole chunks) in one program.

    `on_chunk(report)` runs on the host after every chunk; returning True stops training early.
    `states` (batched over seeds, e.g. from a checkpoint saved after a chunk of a run with the
    same `num_chunks`) continues that run from their iteration count instead of starting anew;
    the result is the uninterrupted run's, bit for bit (on the same machine and JAX).
    Returns (the states, batched over seeds; wall seconds, compile included).
    """
    start = time.perf_counter()
    # The networks' orthogonal initialisation is a QR per layer, batched over seeds: see gymx/cpu.py.
    inline_lapack_batches()
    per_chunk, num_chunks = chunk_sizes(agent.num_iterations, num_chunks)
    devices = agent.env.devices
    # Host values, the same in every process of a multi-process run; the compiled init also says
    # how the states lie on the devices (the env batch split, the rest replicated).
    keys = np.asarray(seed_keys(seeds))
    init, train_chunk = _compile_programs(agent, keys, per_chunk)
    if states is None:
        state, first_chunk = init(keys), 0
    else:
        done = np.unique(np.asarray(states.iteration))
        if len(done) != 1 or int(done[0]) % per_chunk:
            raise ValueError(
                f"the states are at iterations {done.tolist()}, not at one boundary of {per_chunk}-iteration chunks"
            )
        state, first_chunk = jax.device_put(states, init.output_shardings), int(done[0]) // per_chunk
    for chunk in range(first_chunk, num_chunks):
        state, logs = train_chunk(state)
        jax.block_until_ready(logs.return_sum)
        iterations = (chunk + 1) * per_chunk
        host_state, host_logs = distributed.host_view((state, logs), devices)
        report = ChunkReport(
            iterations,
            iterations * agent.steps_per_iteration * agent.env.num_envs,
            time.perf_counter() - start,
            host_logs,
            host_state,
        )
        if on_chunk is not None and on_chunk(report):
            break
    state = distributed.host_view(state, devices)
    jax.block_until_ready(state)
    return state, time.perf_counter() - start


# The init program runs once: compiled without LLVM's optimisations it compiles in about half the
# time (PPO on CartPole-v1: 1.6 s of CPU against 3.3 s) and runs in milliseconds all the same.
INIT_COMPILER_OPTIONS: dict[str, str | bool] = {"xla_backend_optimization_level": "0"}


def seeds_chunk(
    agent: Agent[AgentState, object], per_chunk: int
) -> Callable[[AgentState], tuple[AgentState, IterationLog]]:
    """`per_chunk` iterations of `agent.train` vmapped over the seeds of batched states, which share one iteration count.

    The count goes in unbatched (see `CountsIterations`) and comes out one per seed again.
    """

    def chunk(states: AgentState) -> tuple[AgentState, IterationLog]:
        iteration = states.iteration[0]
        return jax.vmap(lambda state: agent.train(state.replace(iteration=iteration), per_chunk))(states)

    return chunk


def _compile_programs(
    agent: Agent[AgentState, object], keys: np.ndarray, per_chunk: int
) -> tuple[jax.stages.Compiled, Callable[[AgentState], tuple[AgentState, IterationLog]]]:
    """The compiled `vmap(init)` over `keys` and the jitted `vmap(train)` of one chunk.

    On one device the chunk's program is compiled too, while the init's compiles in a second
    thread (XLA compiles without Python's lock): a cold run waits for the longer of the two
    compiles, not their sum. Over several devices the chunk compiles at its first call, for the
    shardings the init's states come with.
    """
    train_chunk = jax.jit(seeds_chunk(agent, per_chunk), donate_argnums=0)
    lowered_init = jax.jit(jax.vmap(agent.init)).lower(keys)
    devices = agent.env.devices
    if len(devices) > 1 or distributed.spans_processes(devices):
        return lowered_init.compile(INIT_COMPILER_OPTIONS), train_chunk
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        init = pool.submit(lowered_init.compile, INIT_COMPILER_OPTIONS)
        on_device = jax.sharding.SingleDeviceSharding(devices[0])
        abstract = jax.tree_util.tree_map(
            lambda leaf: jax.ShapeDtypeStruct(leaf.shape, leaf.dtype, sharding=on_device),
            lowered_init.out_info,
        )
        return init.result(), train_chunk.lower(abstract).compile()


def evaluate(
    agent: Player[PolicyState], states: PolicyState, num_episodes: int, key: jax.Array, max_steps: int | None = None
) -> np.ndarray:
    """Returns (seeds, num_episodes) of the greedy policy of each agent in `states` (batched over seeds).

    Each agent plays `num_episodes` fresh episodes at once, in a batch without auto-reset; an
    episode's return stops accumulating at its first done. Every agent plays the same episodes
    (`key`), so seeds compare on equal terms. The env is the one the agent trained on (PPO's
    Atari preprocessing and frame stack included; `make(agent.env_id)` for a player without a
    `VecEnv`). Episodes run to its bound on an episode's steps (`Env.episode_step_bound`: a time
    limit, an Atari env's frame limit), or `max_steps`, needed for an env without one.
    """
    return _run_evaluation(agent, states, num_episodes, key, max_steps, per_agent_keys=False)


def _run_evaluation(
    agent: Player[PolicyState],
    states: PolicyState,
    num_episodes: int,
    keys: jax.Array,
    max_steps: int | None,
    per_agent_keys: bool,
) -> np.ndarray:
    env = _evaluation_env(_played_env(agent), num_episodes)
    limit = max_steps or env.env.episode_step_bound()
    if limit is None:
        raise ValueError(f"{agent.env_id} has no time limit: pass max_steps")
    return np.asarray(_evaluate(agent, env, int(limit), per_agent_keys, states, keys))


def _played_env(agent: Player[Any]) -> Env | str:
    """The single env an agent trained on (its `VecEnv`'s: PPO's may be preprocessed and frame-stacked), or a bare player's id."""
    trained_on = getattr(agent, "env", None)
    return trained_on.env if isinstance(trained_on, VecEnv) else agent.env_id


@functools.lru_cache(maxsize=8)
def _evaluation_env(env: Env | str, num_episodes: int) -> VecEnv:
    # Cached: the env is a static argument of the compiled evaluation, hashed by identity (an
    # agent's own env, or the one made once per id). One device means no sharding constraint: the
    # evaluation runs on the devices of the states it is given (one, several, or those of several
    # processes), whatever divides `num_episodes`.
    single = make(env) if isinstance(env, str) else env
    return VecEnv(single, num_episodes, AutoresetMode.DISABLED, devices=jax.local_devices()[:1])


@functools.partial(jax.jit, static_argnums=(0, 1, 2, 3))
def _evaluate(
    agent: Player[PolicyState], env: VecEnv, num_steps: int, per_agent_keys: bool, states: PolicyState, keys: jax.Array
) -> jax.Array:
    play = lambda state, key: episode_returns(env, lambda obs: agent.greedy_action(state, obs), num_steps, key)
    return jax.vmap(play, in_axes=(0, 0 if per_agent_keys else None))(states, keys)


class BestPolicy(Generic[AgentState]):
    """Each agent's best greedy policy so far, chosen at chunk boundaries and kept as a whole state.

    `consider(states, iteration)` plays `num_episodes` fresh greedy episodes per agent and keeps,
    agent by agent, the state whose mean return is highest (the later one on ties: it trained
    longer). The episodes' keys come from the agent's own seed and the iteration, not from the
    other seeds of the batch, and they are never the episodes of a final `evaluate` (whose key is
    a plain `PRNGKey`), so the choice does not flatter the report.
    The kept states live on the device, apart from the training buffers the next chunk reuses.
    """

    def __init__(self, agent: Agent[AgentState, object], seeds: Sequence[int], num_episodes: int):
        if num_episodes < 1:
            raise ValueError(f"num_episodes must be positive, got {num_episodes}")
        self.agent = agent
        self.seeds = list(seeds)
        self.num_episodes = num_episodes
        self.states: AgentState | None = None
        self.returns = np.full(len(self.seeds), -np.inf)  # mean return of each kept state's selection episodes
        self.iterations = np.zeros(len(self.seeds), np.int64)  # the iteration each kept state was taken at

    def selection_keys(self, iteration: int) -> jax.Array:
        return jnp.stack([jax.random.fold_in(jax.random.PRNGKey(seed), iteration) for seed in self.seeds])

    def consider(self, states: AgentState, iteration: int) -> np.ndarray:
        """Evaluates `states` (after `iteration` iterations) and keeps the better ones; returns which were kept."""
        returns = _run_evaluation(
            self.agent, states, self.num_episodes, self.selection_keys(iteration), None, per_agent_keys=True
        )
        return self.offer(states, returns.mean(axis=1), iteration)

    def offer(self, states: AgentState, mean_returns: np.ndarray, iteration: int) -> np.ndarray:
        """Keeps `states[i]` where `mean_returns[i]` is at least the best so far; returns which were kept."""
        better = np.asarray(mean_returns) >= self.returns
        if better.any():
            self.states = _keep(jnp.asarray(better), states, states if self.states is None else self.states)
            self.returns = np.where(better, mean_returns, self.returns)
            self.iterations = np.where(better, iteration, self.iterations)
        return better

    def restore(self, states: AgentState, mean_returns: Sequence[float], iterations: Sequence[int]) -> None:
        """Takes up the kept states of an earlier part of the run (from its `best.safetensors`)."""
        self.states = jax.device_put(states)
        self.returns = np.asarray(mean_returns, np.float64)
        self.iterations = np.asarray(iterations, np.int64)


@jax.jit
def _keep(better: jax.Array, new: T, old: T) -> T:
    # New buffers in every case: the training loop donates (reuses) the arrays of `new`.
    pick = lambda n, o: jnp.where(better.reshape(-1, *([1] * (n.ndim - 1))), n, o)
    return jax.tree_util.tree_map(pick, new, old)


def threshold_summary(env_id: str, seeds: Sequence[int], returns: dict[str, np.ndarray]) -> str:
    """One line: the env's reward threshold (from its spec) and, for each policy in `returns` ((seeds, episodes) each), the seeds whose mean return reached it."""
    threshold = spec(env_id).reward_threshold
    if threshold is None:
        return f"reward threshold: none in {env_id}'s spec"
    parts = []
    for name, policy_returns in returns.items():
        reached = [seed for seed, mean in zip(seeds, policy_returns.mean(axis=1)) if mean >= threshold]
        parts.append(f"{name} {len(reached)}/{len(seeds)} seeds {reached}")
    return f"reward threshold {threshold:g} (from {env_id}'s spec) reached by the mean greedy return of: " + ", ".join(
        parts
    )


class ProgressBar:
    """`[#####-----] 52%  260k/500k steps  return 187.3  12.4 s` on stderr, rewritten in place on a terminal."""

    def __init__(self, total_steps: int, enabled: bool = True, stream: IO[str] | None = None, width: int = 30):
        self.total = total_steps
        self.line = StatusLine(enabled, stream)
        self.width = width

    def update(self, steps: int, mean_return: float, wall_s: float) -> None:
        fraction = min(1.0, steps / self.total)
        filled = round(fraction * self.width)
        text = (
            f"[{'#' * filled}{'-' * (self.width - filled)}] {fraction:4.0%}  {si_number(steps)}/{si_number(self.total)} steps"
            f"  return {mean_return:8.2f}  {wall_s:6.1f} s"
        )
        if self.line.live:
            self.line.update(text)
        else:
            self.line.print(text)

    def close(self) -> None:
        self.line.keep()
