"""The MuJoCo envs: time to first step (cold and warm compile cache), throughput against Brax at
matched solver settings, and how far a cheaper tier drifts from the faithful id over an episode.

    python benchmarks/mujoco_suite.py first-step                  # every v5 id, cold then warm cache
    python benchmarks/mujoco_suite.py speed --num-envs 128 512    # gymx tiers, Brax-matched, Brax
    python benchmarks/mujoco_suite.py drift --tier Lite           # a tier against v5 over an episode
    python benchmarks/mujoco_suite.py versus-brax --num-envs 512  # the lite tier against Brax, alternating

`first-step` runs each id in a fresh process: `make`, then a jitted reset and step of a VecEnv
of `--num-envs` envs, until the first step's result is on the host; "cold" with an empty
persistent compilation cache, "warm" with the cache the cold run filled.

`speed` times one AOT-compiled program per row (as `gymx.bench` does: reset, then a `lax.scan`
of T random-action batched steps with auto-reset), for the `--cases` asked for: `gymx` (the v5
id), `ls-scan` (the v5 id with MJX's own fixed-length line search, `ls_early_exit=False`), `fast`
(its FastSolver-v5), `lite` (its Lite-v5, robots with feet), `jax` and `warp` (the v5 id with
`impl="jax"` or `impl="warp"`; `gymx` takes the default: Warp on an NVIDIA GPU), `overhead`, `gymnasium` and `brax` (the last three below), each row
printed as soon as it is measured. The env's overhead is "gymx-no-resets" (the
v5 env with no time limit or termination, so it simulates every step, in a VecEnv without
auto-reset) against "bare-mjx-step" (the same MJX model stepped `frame_skip` times per step by
`vmap(mjx.step)` with random controls, nothing else). "gymnasium-sync" is Gymnasium's C-MuJoCo
env of the id in a 16-env SyncVectorEnv stepped from Python for 200 steps. Brax (`pip install brax`) runs its own model
of the same robot with its own settings through MJX (`brax.envs.get_environment(name,
backend="mjx")`, auto-reset and vmap wrappers); "gymx-brax-solver" is gymx with Brax's
integrator and iteration counts, so that pair differs only in env code and model file.

`versus-brax` compiles, for each robot with a lite tier, `<Name>Lite-v5` in a same-step
auto-reset VecEnv and Brax's env of the same robot (as `speed`'s `brax` case), then times them
in alternating calls (`--repeats` rounds, the order flipped every round), so that a shared
machine's load falls on both alike; it reports the medians of wall time and of the process's
CPU time per call, and the lite tier's speed over Brax's by each.

`drift` plays the same random actions from the same start in `<Name>-v5` and `<Name><tier>-v5`
(8 episodes each, up to the id's time limit, no auto-reset) and reports both mean returns, the largest qpos difference
after 20 steps and at the first termination, and the episode lengths.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from common import SHARED_MACHINE

import gymx
from gymx import bench
from gymx.vector import AutoresetMode, VecEnv

NAMES = (
    "InvertedPendulum",
    "InvertedDoublePendulum",
    "Reacher",
    "Pusher",
    "Swimmer",
    "Hopper",
    "Walker2d",
    "HalfCheetah",
    "Ant",
    "Humanoid",
    "HumanoidStandup",
)
BRAX_NAMES = {
    "InvertedPendulum": "inverted_pendulum",
    "InvertedDoublePendulum": "inverted_double_pendulum",
    "Reacher": "reacher",
    "Pusher": "pusher",
    "Swimmer": "swimmer",
    "Hopper": "hopper",
    "Walker2d": "walker2d",
    "HalfCheetah": "halfcheetah",
    "Ant": "ant",
    "Humanoid": "humanoid",
    "HumanoidStandup": "humanoidstandup",
}
INTEGRATOR_NAMES = {0: "euler", 1: "rk4", 2: "implicit", 3: "implicitfast"}

FIRST_STEP = """
import os, sys, time
start = time.perf_counter()
import jax, jax.numpy as jnp, gymx
gymx.enable_compilation_cache()  # in $GYMX_COMPILATION_CACHE
env_id, num_envs = sys.argv[1], int(sys.argv[2])
vec = gymx.make_vec(env_id, num_envs)
state, ts = jax.jit(vec.reset)(jax.random.key(0))
state, ts = jax.jit(vec.step)(state, jnp.zeros((num_envs, *vec.action_space().shape[1:])))
jax.block_until_ready(ts)
print(time.perf_counter() - start)
"""


def first_step_seconds(env_id: str, num_envs: int, cache_dir: str) -> float:
    env = {**os.environ, "GYMX_COMPILATION_CACHE": cache_dir}
    result = subprocess.run(
        [sys.executable, "-c", FIRST_STEP, env_id, str(num_envs)],
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"{env_id}: {result.stderr[-2000:]}")
    return float(result.stdout.split()[-1])


def solver_label(solver: dict[str, Any]) -> str:
    impl = solver.get("impl", "jax")
    early_exit = ", line search stops early" if solver.get("ls_early_exit") and impl == "jax" else ""
    feet = ", feet-only contacts" if solver.get("collisions") == "feet" else ""
    return f"{impl}: {solver['integrator']}, {solver['iterations']}/{solver['ls_iterations']} it{early_exit}{feet}"


def run_first_step(names: Sequence[str], num_envs: int, fast: bool) -> None:
    print("| id | solver | cold s | warm s |\n|---|---|---:|---:|")
    for name in names:
        for env_id in [f"{name}-v5"] + ([f"{name}FastSolver-v5"] if fast else []):
            solver = gymx.make(env_id).unwrapped.solver
            with tempfile.TemporaryDirectory() as cache:
                cold = first_step_seconds(env_id, num_envs, cache)
                warm = first_step_seconds(env_id, num_envs, cache)
            print(f"| {env_id} | {solver_label(solver)} | {cold:.1f} | {warm:.1f} |", flush=True)


def brax_program(name: str, num_envs: int, num_steps: int) -> Any:
    from brax import envs
    from brax.envs.wrappers.training import AutoResetWrapper, VmapWrapper

    env = AutoResetWrapper(VmapWrapper(envs.get_environment(BRAX_NAMES[name], backend="mjx")))

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        state = env.reset(jax.random.split(reset_key, num_envs))

        def one_step(carry: tuple[Any, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum = carry
            # Uniform in Brax's [-1, 1] action box.
            action = jax.random.uniform(step_key, (num_envs, env.action_size), minval=-1.0, maxval=1.0)
            state = env.step(state, action)
            return (state, reward_sum + jnp.sum(state.reward)), None

        (state, reward_sum), _ = jax.lax.scan(one_step, (state, jnp.zeros(())), jax.random.split(scan_key, num_steps))
        return reward_sum, jnp.sum(state.obs)

    return program, env


def brax_solver(name: str) -> dict[str, Any]:
    from brax import envs

    opt = envs.get_environment(BRAX_NAMES[name], backend="mjx").sys.opt
    return {
        "integrator": INTEGRATOR_NAMES[int(opt.integrator)],
        "iterations": int(opt.iterations),
        "ls_iterations": int(opt.ls_iterations),
    }


def bare_program(env: Any, num_envs: int, num_steps: int) -> Any:
    """The physics alone: `num_envs` copies of the env's MJX model, each step `frame_skip`
    `mjx.step`s with uniform random controls, no observation, reward, termination or reset (traced
    with the env's line-search loop, so that both programs solve alike)."""
    from gymx.envs.mujoco.base import early_exit_line_search
    from mujoco import mjx

    model, frame_skip = env.mjx_model, env.frame_skip
    low, high = env.action_space().low, env.action_space().high

    def advance(data: Any, ctrl: jax.Array) -> Any:
        with early_exit_line_search(env.ls_early_exit):
            return jax.lax.fori_loop(0, frame_skip, lambda _, d: mjx.step(model, d), data.replace(ctrl=ctrl))

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        start = env.state_from(env.init_qpos, env.init_qvel, env.default_params).data
        # The env's own start noise, so both programs simulate the same kind of states.
        noise = jax.random.uniform(reset_key, (num_envs, model.nq), jnp.float32, -5e-3, 5e-3)
        data = jax.vmap(lambda n: start.replace(qpos=start.qpos + n))(noise)

        def one_step(carry: tuple[Any, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            data, total = carry
            ctrl = jax.random.uniform(step_key, (num_envs, model.nu), jnp.float32, low, high)
            data = jax.vmap(advance)(data, ctrl)
            return (data, total + jnp.sum(data.qpos)), None

        (data, total), _ = jax.lax.scan(one_step, (data, jnp.zeros(())), jax.random.split(scan_key, num_steps))
        return total, jnp.sum(data.qvel)

    return program


def endless(name: str, **options: Any) -> Any:
    """The v5 env with no time limit and, where it can end, no termination: it simulates every step
    (on MJX-JAX: the bare program steps `mjx.Data` directly)."""
    import inspect

    options = {"impl": "jax", **options}

    env = gymx.make(f"{name}-v5", max_episode_steps=-1, **options)
    if "terminate_when_unhealthy" in inspect.signature(type(env).__init__).parameters:
        env = gymx.make(f"{name}-v5", max_episode_steps=-1, terminate_when_unhealthy=False, **options)
    return env


def bench_vec(label: str, venv: VecEnv, num_steps: int, repeats: int, progress: bench.Progress) -> bench.BenchResult:
    compile_s, walls, calls = bench.time_program(
        label, lambda: bench.gymx_program(venv, num_steps), repeats, progress, turns=SHARED_MACHINE
    )
    note = solver_label(venv.env.unwrapped.solver)
    result = bench.BenchResult(
        label, venv.env.spec.id, venv.num_envs, num_steps, tuple(walls), calls, compile_s, None, note
    )
    progress.done(bench.summary(result))
    return result


SPEED_CASES = ("gymx", "ls-scan", "fast", "lite", "jax", "warp", "overhead", "gymnasium", "brax")
# The robots with a lite tier (`gymx.envs.mujoco.WALKERS`).
LITE_NAMES = ("Hopper", "Walker2d", "HalfCheetah", "Ant", "Humanoid")
TABLE_HEADER = "| case | id | N | T | steps/s (median) | compile s | solver |\n|---|---|---:|---:|---:|---:|---|"


def print_row(r: bench.BenchResult) -> None:
    compile_s = "–" if r.compile_s is None else f"{r.compile_s:.1f}"
    rate = bench.format_rate(r.median) if r.ok else "–"
    print(f"| {r.peer} | {r.env_id} | {r.num_envs} | {r.num_steps} | {rate} | {compile_s} | {r.note} |", flush=True)


def run_speed(names: Sequence[str], sizes: Sequence[int], num_steps: int, repeats: int, cases: Sequence[str]) -> None:
    """One table row per measured program, printed as soon as it is measured."""
    progress = bench.Progress()
    print(TABLE_HEADER, flush=True)
    for name in names:
        for num_envs in sizes:
            if "gymx" in cases:
                print_row(bench_vec("gymx", gymx.make_vec(f"{name}-v5", num_envs), num_steps, repeats, progress))
            if "ls-scan" in cases:
                # MJX's own fixed-length line search, for the before/after of the early exit.
                print_row(
                    bench_vec(
                        "gymx-ls-scan",
                        gymx.make_vec(f"{name}-v5", num_envs, ls_early_exit=False, impl="jax"),
                        num_steps,
                        repeats,
                        progress,
                    )
                )
            if "fast" in cases:
                fast = gymx.make_vec(f"{name}FastSolver-v5", num_envs)
                print_row(bench_vec("gymx-fast-solver", fast, num_steps, repeats, progress))
            if "lite" in cases and name in LITE_NAMES:
                print_row(
                    bench_vec("gymx-lite", gymx.make_vec(f"{name}Lite-v5", num_envs), num_steps, repeats, progress)
                )
            if "jax" in cases:
                mjx_jax = gymx.make_vec(f"{name}-v5", num_envs, impl="jax")
                print_row(bench_vec("gymx-jax", mjx_jax, num_steps, repeats, progress))
            if "warp" in cases:
                warp = gymx.make_vec(f"{name}-v5", num_envs, impl="warp")
                print_row(bench_vec("gymx-warp", warp, num_steps, repeats, progress))
            if "overhead" in cases:
                # The same physics with and without the env around it, nothing ending.
                endless_env = endless(name)
                no_resets = bench_vec(
                    "gymx-no-resets",
                    VecEnv(endless_env, num_envs, AutoresetMode.DISABLED),
                    num_steps,
                    repeats,
                    progress,
                )
                print_row(no_resets)
                bare = bare_program(endless_env.unwrapped, num_envs, num_steps)
                compile_s, walls, calls = bench.time_program(
                    f"bare mjx {name}", lambda bare=bare: bare, repeats, progress, turns=SHARED_MACHINE
                )
                result = bench.BenchResult(
                    "bare-mjx-step",
                    f"{name}-v5",
                    num_envs,
                    num_steps,
                    tuple(walls),
                    calls,
                    compile_s,
                    None,
                    no_resets.note,
                )
                progress.done(bench.summary(result))
                print_row(result)
            if "gymnasium" in cases:
                print_row(bench.bench_gymnasium(f"{name}-v5", "sync", 16, 200, repeats, progress))
            if "brax" in cases:
                solver = brax_solver(name)
                matched = VecEnv(gymx.make(f"{name}-v5", **solver), num_envs, AutoresetMode.SAME_STEP)
                print_row(bench_vec("gymx-brax-solver", matched, num_steps, repeats, progress))
                program, _ = brax_program(name, num_envs, num_steps)
                compile_s, walls, calls = bench.time_program(
                    f"brax {name}", lambda program=program: program, repeats, progress, turns=SHARED_MACHINE
                )
                note = f"brax model; {solver_label(solver)}"
                result = bench.BenchResult(
                    "brax", f"{name}-v5", num_envs, num_steps, tuple(walls), calls, compile_s, None, note
                )
                progress.done(bench.summary(result))
                print_row(result)


def run_versus_brax(names: Sequence[str], num_envs: int, num_steps: int, rounds: int) -> None:
    """The lite tier and Brax's env of each robot, timed in alternating calls (module docstring)."""
    progress = bench.Progress()
    print(
        "| robot | N | T | gymx-lite steps/s | brax steps/s | lite / brax, CPU time | lite / brax, wall "
        "| compile s lite / brax | lite solver | brax solver |\n|---|---:|---:|---:|---:|---:|---:|---|---|---|",
        flush=True,
    )
    for name in names:
        lite = gymx.make_vec(f"{name}Lite-v5", num_envs)
        programs = {"lite": bench.gymx_program(lite, num_steps), "brax": brax_program(name, num_envs, num_steps)[0]}
        compiled, compile_s = {}, {}
        for label, program in programs.items():
            progress.update(f"{name} {label}: compiling")
            with SHARED_MACHINE.compiling():
                start = time.perf_counter()
                compiled[label] = jax.jit(program).lower(jax.random.key(0)).compile()
                compile_s[label] = time.perf_counter() - start
        wall: dict[str, list[float]] = {label: [] for label in programs}
        cpu: dict[str, list[float]] = {label: [] for label in programs}
        with SHARED_MACHINE.timing():
            for program in compiled.values():
                jax.block_until_ready(program(jax.random.key(0)))
            for r in range(rounds):
                for label in ("lite", "brax") if r % 2 == 0 else ("brax", "lite"):
                    progress.update(f"{name}: round {r + 1}/{rounds}, {label}")
                    wall_start, cpu_start = time.perf_counter(), time.process_time()
                    jax.block_until_ready(compiled[label](jax.random.key(r + 1)))
                    cpu[label].append(time.process_time() - cpu_start)
                    wall[label].append(time.perf_counter() - wall_start)
        progress.clear()
        steps = num_envs * num_steps
        median = {label: {"wall": float(np.median(wall[label])), "cpu": float(np.median(cpu[label]))} for label in wall}
        brax_settings = brax_solver(name)
        print(
            f"| {name} | {num_envs} | {num_steps} | {bench.format_rate(steps / median['lite']['wall'])} "
            f"| {bench.format_rate(steps / median['brax']['wall'])} "
            f"| {median['brax']['cpu'] / median['lite']['cpu']:.2f}x | {median['brax']['wall'] / median['lite']['wall']:.2f}x "
            f"| {compile_s['lite']:.0f} / {compile_s['brax']:.0f} | {solver_label(lite.env.unwrapped.solver)} "
            f"| {brax_settings['integrator']}, {brax_settings['iterations']}/{brax_settings['ls_iterations']} it |",
            flush=True,
        )


def episode_rollout(env_id: str, num_envs: int, num_steps: int, seed: int) -> dict[str, np.ndarray]:
    vec = VecEnv(gymx.make(env_id, max_episode_steps=-1), num_envs, AutoresetMode.DISABLED)
    space = vec.action_space()
    # The same uniform random actions for both solvers: (T, N, action size).
    actions = jax.vmap(space.sample)(jax.random.split(jax.random.key(seed + 1), num_steps))

    @jax.jit
    def run(key: jax.Array) -> dict[str, jax.Array]:
        state, _ = vec.reset(key)

        def one_step(state: Any, action: jax.Array) -> tuple[Any, dict[str, jax.Array]]:
            state, ts = vec.step(state, action)
            return state, {
                "reward": ts.reward,
                "terminated": ts.terminated,
                "qpos": vec.env.inner_state(state.env_state).data.qpos,
            }

        return jax.lax.scan(one_step, state, actions)[1]

    return jax.tree_util.tree_map(np.asarray, run(jax.random.key(seed)))


def run_drift(names: Sequence[str], num_envs: int, num_steps: int, tier: str) -> None:
    print(
        f"| env | v5 mean return | {tier}-v5 mean return | mean length v5 / {tier} | max qpos diff after 20 steps | at first termination |"
    )
    print("|---|---:|---:|---|---:|---:|")
    for name in names:
        steps = num_steps or gymx.spec(f"{name}-v5").max_episode_steps
        faithful = episode_rollout(f"{name}-v5", num_envs, steps, 0)
        fast = episode_rollout(f"{name}{tier}-v5", num_envs, steps, 0)

        def episode(run: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
            ended = np.cumsum(run["terminated"], axis=0) > 0
            alive = np.concatenate([np.ones((1, num_envs), bool), ~ended[:-1]])
            return (run["reward"] * alive).sum(axis=0), alive.sum(axis=0)

        (faithful_returns, faithful_lengths), (fast_returns, fast_lengths) = episode(faithful), episode(fast)
        both = np.minimum(faithful_lengths, fast_lengths)
        diff = np.abs(faithful["qpos"] - fast["qpos"]).max(axis=-1)  # (T, N)
        at_20 = diff[min(19, steps - 1)].max()
        at_end = max(diff[length - 1, i] for i, length in enumerate(both))
        print(
            f"| {name} | {faithful_returns.mean():.1f} | {fast_returns.mean():.1f} | {faithful_lengths.mean():.0f} / {fast_lengths.mean():.0f} "
            f"| {at_20:.2g} | {at_end:.2g} |",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["first-step", "speed", "drift", "versus-brax"])
    parser.add_argument("--envs", nargs="+", default=list(NAMES), choices=NAMES, help="env names (default: all)")
    parser.add_argument("--num-envs", nargs="+", type=int, default=None, help="batch sizes (first-step: 1; speed: 128)")
    parser.add_argument(
        "--steps", type=int, default=None, help="steps per program (speed: 50) or episode (drift: the time limit)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-fast", action="store_true", help="first-step: the faithful ids only")
    parser.add_argument("--tier", default="FastSolver", choices=["FastSolver", "Lite"], help="drift: the tier")
    parser.add_argument(
        "--cases",
        nargs="+",
        default=list(SPEED_CASES),
        choices=SPEED_CASES,
        help="speed: what to measure (default: all)",
    )
    args = parser.parse_args(argv)
    print(
        f"{datetime.date.today()} · {bench.device_description()} · {platform.machine()} · python {platform.python_version()}"
        f" · load average {os.getloadavg()[0]:.1f}"
    )
    start = time.perf_counter()
    if args.suite == "first-step":
        run_first_step(args.envs, (args.num_envs or [1])[0], not args.no_fast)
    elif args.suite == "speed":
        bench.cold_compiles()
        run_speed(args.envs, args.num_envs or [128], args.steps or 50, args.repeats, args.cases)
    elif args.suite == "versus-brax":
        bench.cold_compiles()
        run_versus_brax(
            [name for name in args.envs if name in LITE_NAMES],
            (args.num_envs or [512])[0],
            args.steps or 20,
            args.repeats,
        )
    else:
        run_drift(args.envs, (args.num_envs or [8])[0], args.steps, args.tier)
    print(f"\n{' '.join(sys.argv)} · {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
