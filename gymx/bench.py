"""Throughput of batched random-action rollouts, for gymx and for its peers in the same process.

What is timed, for every JAX library alike: one AOT-compiled program that resets `num_envs` envs
and runs a `lax.scan` of `num_steps` batched steps with auto-reset on, drawing uniform random
actions through the library's own action space from a per-step key, and returns only a small
reduction (summed reward and summed observation) so the T x N trajectory is never materialised.
Compilation (`jax.jit(f).lower(key).compile()`) is timed apart from execution, cold (see
`cold_compiles`); untimed calls warm up, then each repeat is timed to `block_until_ready`.
steps/s = num_envs * num_steps * calls / wall, reported as the median and min–max over repeats.

Peers (optional imports; a missing one is reported, not raised):

- gymnax: the same id where gymnax has it, `vmap`ped `env.step` (its built-in same-step
  auto-reset) and `vmap`ped `env.action_space(params).sample`, in the same jit+scan shape.
- gymnasium-numpyvec: Gymnasium's numpy-vectorised env (`vectorization_mode="vector_entry_point"`),
  where Gymnasium registers one (CartPole), stepped from Python with `action_space.sample()`.
- gymnasium-sync: Gymnasium's `SyncVectorEnv` of a few envs (a Python loop per env), for a fixed
  number of steps, as the "one env per Python object" reference point.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import importlib.metadata
import math
import os
import statistics
import time
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from typing import IO, Any

import jax
import jax.numpy as jnp

from gymx.progress import StatusLine, si_number
from gymx.vector import AutoresetMode, VecEnv, make_vec

PEERS = ("gymnax", "gymnasium")
SYNC_NUM_ENVS = 16
SYNC_NUM_STEPS = 1000


@dataclasses.dataclass(frozen=True)
class BenchResult:
    """One measured case; `walls` is empty when the case could not run (then `note` says why)."""

    peer: str
    env_id: str
    num_envs: int
    num_steps: int
    walls: tuple[float, ...] = ()
    calls: int = 1  # program calls per timed repeat (see `min_repeat_s`)
    compile_s: float | None = None
    step_compile_s: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return bool(self.walls)

    @property
    def rates(self) -> list[float]:
        return [self.num_envs * self.num_steps * self.calls / wall for wall in self.walls]

    @property
    def median(self) -> float:
        return statistics.median(self.rates)


def cold_compiles() -> None:
    """Turns JAX's persistent compilation cache off for this process, so compile times are cold.

    The `gymx` command turns the cache on (`gymx.enable_compilation_cache`); a hit would report
    milliseconds.
    JAX decides once, at the process's first compile, so call this before compiling anything.
    """
    jax.config.update("jax_enable_compilation_cache", False)


def device_description() -> str:
    """The device the default backend runs on, e.g. 'gpu: NVIDIA H100 80GB HBM3' or 'cpu: cpu (2 cores)'."""
    device = jax.devices()[0]
    text = f"{device.platform}: {device.device_kind}"
    if device.platform == "cpu":
        text += f" ({os.cpu_count()} cores)"
    return f"{text}, jax {jax.__version__}"


class Progress(StatusLine):
    """A one-line status on stderr, rewritten in place on a terminal, and a line per finished case.

    With `log_done=False` a finished case only clears the status: for callers that print the
    results themselves (the `gymx bench` command), so no result is shown twice.
    """

    def __init__(self, enabled: bool = True, stream: IO[str] | None = None, log_done: bool = True):
        super().__init__(enabled, stream)
        self.log_done = log_done

    def done(self, text: str) -> None:
        if self.log_done:
            self.print(text)
        else:
            self.clear()


def format_rate(rate: float) -> str:
    """Steps per second as the tables show them: `format_rate(1.5e6) == "1.50 M"`."""
    return si_number(rate, ".2f", " ")


@dataclasses.dataclass(frozen=True)
class Turns:
    """When a process may compile and when it may run its timed calls: by default, at any time.

    Benchmark processes that share one machine take turns through a file lock
    (`benchmarks/common.py`'s `SHARED_MACHINE`).
    """

    compiling: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext
    timing: Callable[[], AbstractContextManager[Any]] = contextlib.nullcontext


ANY_TIME = Turns()


def _tree_sum(tree: Any) -> jax.Array:
    return sum(
        (jnp.sum(leaf, dtype=jnp.float32) for leaf in jax.tree_util.tree_leaves(tree)), jnp.zeros((), jnp.float32)
    )


def time_program(
    label: str,
    make_program: Callable[[], Callable[[jax.Array], Any]],
    repeats: int,
    progress: Progress,
    min_repeat_s: float = 0.0,
    turns: Turns = ANY_TIME,
) -> tuple[float, list[float], int]:
    """AOT-compiles `make_program()` on a key, warms it up, then times `repeats` repeats.

    A repeat is one call, or, with `min_repeat_s`, as many back-to-back calls as the warm-up
    says fill that time (so small batches on a fast device are not timed as launch latency).
    The compile runs inside `turns.compiling()`, the warm-up and the repeats inside `turns.timing()`.
    Returns (compile seconds, wall seconds per repeat, calls per repeat).
    """
    jax.jit(lambda x: x + 1).lower(jnp.zeros(())).compile()  # Backend start-up is not the program's compile.
    progress.update(f"{label}: compiling")
    with turns.compiling():
        start = time.perf_counter()
        compiled = jax.jit(make_program()).lower(jax.random.key(0)).compile()
        compile_s = time.perf_counter() - start
    progress.update(f"{label}: waiting for the device (compile {compile_s:.2f} s)")
    with turns.timing():
        progress.update(f"{label}: warm-up (compile {compile_s:.2f} s)")
        jax.block_until_ready(compiled(jax.random.key(0)))
        calls = 1
        if min_repeat_s > 0:
            start = time.perf_counter()
            jax.block_until_ready(compiled(jax.random.key(0)))
            calls = max(1, math.ceil(min_repeat_s / (time.perf_counter() - start)))
        walls = []
        for r in range(repeats):
            progress.update(f"{label}: repeat {r + 1}/{repeats} ({calls} call{'s' * (calls > 1)})")
            keys = [jax.random.key(r * calls + c + 1) for c in range(calls)]
            start = time.perf_counter()
            jax.block_until_ready([compiled(key) for key in keys])
            walls.append(time.perf_counter() - start)
    return compile_s, walls, calls


def compile_seconds(fn: Callable[..., Any], *args: Any) -> float:
    start = time.perf_counter()
    jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start


def gymx_program(venv: VecEnv, num_steps: int) -> Callable[[jax.Array], Any]:
    """key -> (reward sum, obs sum) of a reset plus `num_steps` random-action batched steps."""
    action_space = venv.action_space()

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        state, first = venv.reset(reset_key)

        def one_step(carry: tuple[Any, jax.Array, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, obs_sum = carry
            state, ts = venv.step(state, action_space.sample(step_key))
            return (state, reward_sum + jnp.sum(ts.reward), obs_sum + _tree_sum(ts.obs)), None

        init = (state, jnp.zeros((), jnp.float32), _tree_sum(first.obs))
        (_, reward_sum, obs_sum), _ = jax.lax.scan(one_step, init, jax.random.split(scan_key, num_steps))
        return reward_sum, obs_sum

    return program


def gymx_step_compile_seconds(venv: VecEnv) -> float:
    """AOT compile time of one batched `VecEnv.step` (the unit a training loop jits)."""
    state, _ = jax.eval_shape(venv.reset, jax.random.key(0))
    action = jax.eval_shape(venv.action_space().sample, jax.random.key(0))
    return compile_seconds(venv.step, state, action)


def bench_gymx(
    env_id: str,
    num_envs: int,
    num_steps: int,
    repeats: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    step_compile: bool = False,
    progress: Progress | None = None,
    min_repeat_s: float = 0.0,
    turns: Turns = ANY_TIME,
) -> BenchResult:
    """Times gymx's batched rollout of `env_id`; `step_compile` also times compiling one batched step."""
    progress = progress or Progress(enabled=False)
    venv = make_vec(env_id, num_envs, autoreset_mode=autoreset_mode)
    label = f"gymx {env_id} N={num_envs} T={num_steps}"
    compile_s, walls, calls = time_program(
        label, lambda: gymx_program(venv, num_steps), repeats, progress, min_repeat_s, turns
    )
    step_s = gymx_step_compile_seconds(venv) if step_compile else None
    note = f"auto-reset {venv.autoreset_mode.name.lower()}"
    result = BenchResult("gymx", env_id, num_envs, num_steps, tuple(walls), calls, compile_s, step_s, note)
    progress.done(summary(result))
    return result


def gymnax_program(env_id: str, num_envs: int, num_steps: int) -> Callable[[jax.Array], Any]:
    """The gymnax counterpart of `gymx_program`: vmapped reset/step, its own auto-reset and action space."""
    import gymnax

    env, params = gymnax.make(env_id)
    action_space = env.action_space(params)
    batched_step = jax.vmap(env.step, in_axes=(0, 0, 0, None))

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        obs, state = jax.vmap(env.reset, in_axes=(0, None))(jax.random.split(reset_key, num_envs), params)

        def one_step(carry: tuple[Any, jax.Array, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, obs_sum = carry
            action_key, env_key = jax.random.split(step_key)
            action = jax.vmap(action_space.sample)(jax.random.split(action_key, num_envs))
            obs, state, reward, _, _, _ = batched_step(jax.random.split(env_key, num_envs), state, action, params)
            return (state, reward_sum + jnp.sum(reward), obs_sum + _tree_sum(obs)), None

        init = (state, jnp.zeros((), jnp.float32), _tree_sum(obs))
        (_, reward_sum, obs_sum), _ = jax.lax.scan(one_step, init, jax.random.split(scan_key, num_steps))
        return reward_sum, obs_sum

    return program


def gymnax_step_compile_seconds(env_id: str, num_envs: int) -> float:
    import gymnax

    env, params = gymnax.make(env_id)
    keys = jax.random.split(jax.random.key(0), num_envs)
    _, state = jax.eval_shape(jax.vmap(env.reset, in_axes=(0, None)), keys, params)
    action = jax.eval_shape(jax.vmap(env.action_space(params).sample), keys)
    return compile_seconds(jax.vmap(env.step, in_axes=(0, 0, 0, None)), keys, state, action, params)


def missing_peer(module: str) -> str | None:
    """Why `module` cannot be used as a peer (None if it imports): not installed, or a broken install."""
    try:
        importlib.import_module(module)
    except ImportError as error:
        return f"{module} cannot be imported: {error}"
    return None


def bench_gymnax(
    env_id: str,
    num_envs: int,
    num_steps: int,
    repeats: int,
    step_compile: bool = False,
    progress: Progress | None = None,
    min_repeat_s: float = 0.0,
    turns: Turns = ANY_TIME,
) -> BenchResult:
    """Times gymnax's batched rollout of the same id, or says why it cannot."""
    progress = progress or Progress(enabled=False)
    missing = missing_peer("gymnax")
    if missing:
        return BenchResult("gymnax", env_id, num_envs, num_steps, note=missing)
    import gymnax

    if env_id not in gymnax.registered_envs:
        return BenchResult("gymnax", env_id, num_envs, num_steps, note=f"gymnax {gymnax_version()} has no {env_id}")
    label = f"gymnax {env_id} N={num_envs} T={num_steps}"
    compile_s, walls, calls = time_program(
        label, lambda: gymnax_program(env_id, num_envs, num_steps), repeats, progress, min_repeat_s, turns
    )
    step_s = gymnax_step_compile_seconds(env_id, num_envs) if step_compile else None
    result = BenchResult(
        "gymnax", env_id, num_envs, num_steps, tuple(walls), calls, compile_s, step_s, "auto-reset same_step"
    )
    progress.done(summary(result))
    return result


def gymnax_version() -> str:
    return importlib.metadata.version("gymnax")


def _time_python_loop(
    label: str, envs: Any, num_steps: int, repeats: int, progress: Progress, seed: int = 0
) -> list[float]:
    """Times `repeats` runs of `num_steps` `envs.step(envs.action_space.sample())` calls."""
    envs.action_space.seed(seed)
    envs.reset(seed=seed)
    for _ in range(min(num_steps, 10)):  # Warm-up: first-call allocations.
        envs.step(envs.action_space.sample())
    walls = []
    for r in range(repeats):
        progress.update(f"{label}: repeat {r + 1}/{repeats}")
        start = time.perf_counter()
        for _ in range(num_steps):
            envs.step(envs.action_space.sample())
        walls.append(time.perf_counter() - start)
    return walls


def bench_gymnasium(
    env_id: str,
    mode: str,
    num_envs: int,
    num_steps: int,
    repeats: int,
    progress: Progress | None = None,
) -> BenchResult:
    """Gymnasium's vector env of `env_id`: mode "vector_entry_point" (numpy-vectorised) or "sync"."""
    progress = progress or Progress(enabled=False)
    peer = {"vector_entry_point": "gymnasium-numpyvec", "sync": "gymnasium-sync"}[mode]
    missing = missing_peer("gymnasium")
    if missing:
        return BenchResult(peer, env_id, num_envs, num_steps, note=missing)
    import gymnasium

    spec = gymnasium.registry.get(env_id)
    if spec is None:
        return BenchResult(peer, env_id, num_envs, num_steps, note=f"gymnasium {gymnasium.__version__} has no {env_id}")
    if mode == "vector_entry_point" and spec.vector_entry_point is None:
        note = f"gymnasium {gymnasium.__version__} has no numpy vector env for {env_id}"
        return BenchResult(peer, env_id, num_envs, num_steps, note=note)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        envs = gymnasium.make_vec(env_id, num_envs=num_envs, vectorization_mode=mode)
    try:
        walls = _time_python_loop(f"{peer} {env_id} N={num_envs} T={num_steps}", envs, num_steps, repeats, progress)
    finally:
        envs.close()
    autoreset = envs.metadata.get("autoreset_mode")
    note = f"auto-reset {autoreset.name.lower() if autoreset is not None else 'unknown'}"
    result = BenchResult(peer, env_id, num_envs, num_steps, tuple(walls), note=note)
    progress.done(summary(result))
    return result


def summary(result: BenchResult) -> str:
    """One line per case, for logs and the progress display."""
    if not result.ok:
        return f"{result.peer} {result.env_id}: {result.note}"
    compile_text = "" if result.compile_s is None else f", compile {result.compile_s:.2f} s"
    return (
        f"{result.peer} {result.env_id} N={result.num_envs} T={result.num_steps}: "
        f"{format_rate(result.median)} steps/s (min {format_rate(min(result.rates))}, max {format_rate(max(result.rates))}){compile_text}"
    )


def compare(
    env_ids: Iterable[str],
    num_envs: int,
    num_steps: int,
    repeats: int,
    peers: Sequence[str] = PEERS,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    step_compile: bool = False,
    sync_num_envs: int = SYNC_NUM_ENVS,
    sync_num_steps: int = SYNC_NUM_STEPS,
    progress: Progress | None = None,
    min_repeat_s: float = 0.0,
    turns: Turns = ANY_TIME,
) -> list[BenchResult]:
    """gymx and each requested peer on each id, same N and T (the sync vector env uses its own small N and T)."""
    unknown = set(peers) - set(PEERS)
    if unknown:
        raise ValueError(f"unknown peers {sorted(unknown)}; choose from {list(PEERS)}")
    results = []
    for env_id in env_ids:
        results.append(
            bench_gymx(
                env_id, num_envs, num_steps, repeats, autoreset_mode, step_compile, progress, min_repeat_s, turns
            )
        )
        if "gymnax" in peers:
            results.append(
                bench_gymnax(env_id, num_envs, num_steps, repeats, step_compile, progress, min_repeat_s, turns)
            )
        if "gymnasium" in peers:
            results.append(bench_gymnasium(env_id, "vector_entry_point", num_envs, num_steps, repeats, progress))
            results.append(bench_gymnasium(env_id, "sync", sync_num_envs, sync_num_steps, repeats, progress))
    return results


def markdown_table(results: Sequence[BenchResult]) -> str:
    """One row per case; ratio = gymx median / peer median, on the same id and N where gymx ran that N."""
    same_case = {(r.env_id, r.num_envs): r.median for r in results if r.peer == "gymx" and r.ok}
    latest: dict[str, float] = {}
    show_step = any(r.step_compile_s is not None for r in results)
    header = ["peer", "env", "N", "T", "steps/s (median)", "min–max", "compile s"]
    header += ["step compile s"] if show_step else []
    header += ["ratio gymx/peer", "notes"]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join("---" if i in (0, 1, 5, len(header) - 1) else "---:" for i in range(len(header))) + "|",
    ]
    for r in results:
        if r.ok:
            cells = [r.peer, r.env_id, str(r.num_envs), str(r.num_steps), format_rate(r.median)]
            calls = f" × {r.calls} calls" if r.calls > 1 else ""
            cells.append(f"{format_rate(min(r.rates))}–{format_rate(max(r.rates))} ({len(r.walls)} reps{calls})")
            cells.append("–" if r.compile_s is None else f"{r.compile_s:.2f}")
            if show_step:
                cells.append("–" if r.step_compile_s is None else f"{r.step_compile_s:.2f}")
            if r.peer == "gymx":
                latest[r.env_id] = r.median
            ratio = same_case.get((r.env_id, r.num_envs), latest.get(r.env_id))
            cells.append("–" if r.peer == "gymx" or ratio is None else f"{ratio / r.median:.2f}x")
        else:
            cells = [r.peer, r.env_id, str(r.num_envs), str(r.num_steps), "**n/a**", "", ""]
            cells += [""] if show_step else []
            cells.append("")
        cells.append(r.note)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
