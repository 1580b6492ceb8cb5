"""Atari on the CPU: gymx's `ALE/<Game>-v5` (jit + vmap over N consoles) against ale-py's single env and
ale-py's threaded `AtariVectorEnv`, in one run at the same numbers of envs.

All three run ALE v5's settings: frameskip 4, sticky actions 0.25, the minimal action set, uniformly
random actions, rgb observations of 210x160 (the vector env is told to keep full-size rgb frames: no
resize, no stack, no max-pool, no reward clipping, no no-op or FIRE resets). Emulated frames/s counts
`frameskip` frames per agent step (episodes that end inside the timed window emulate fewer; the
windows are short enough that few do). gymx's step is one jitted `lax.scan` of `--steps` vmapped
steps with auto-reset (`gymx.wrappers.AutoReset` semantics: a finished console restarts from the
start bank); compile time (lowering + XLA) is reported apart and excluded from the rate; every timed
call ends with `block_until_ready`. ale-py's vector env runs with one thread per core. Prints a
markdown table.

    python benchmarks/atari.py --games pong breakout --num-envs 1 64 256 1024 --steps 16 --repeats 2
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np

import gymx

FRAMESKIP = 4
NAMES = {"pong": "Pong", "breakout": "Breakout"}


def gymx_program(env, steps: int):
    """`steps` vmapped agent steps with random actions; a finished console restarts from a fresh reset."""
    n_actions = env.action_space().n

    def one(carry, key):
        state = carry
        action_key, reset_key = jax.random.split(key)
        # Actions ~ uniform over the minimal set.
        action = jax.random.randint(action_key, (), 0, n_actions)
        state, ts = env.step(state, action)
        fresh, _ = env.reset(reset_key)
        done = ts.terminated | ts.truncated
        state = jax.tree.map(lambda f, s: jnp.where(done, f, s), fresh, state)
        return state, ts.reward

    def run(states, key):
        keys = jax.random.split(key, (steps, jax.tree.leaves(states)[0].shape[0]))
        return jax.lax.scan(lambda s, k: jax.vmap(one)(s, k), states, keys)

    return run


def bench_gymx(game: str, num_envs: int, steps: int, repeats: int) -> dict:
    env = gymx.make(f"ALE/{NAMES[game]}-v5").unwrapped
    states, _ = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), num_envs))
    key = jax.random.key(1)
    t0 = time.perf_counter()
    compiled = jax.jit(gymx_program(env, steps)).lower(states, key).compile()
    compile_s = time.perf_counter() - t0
    states, _ = jax.block_until_ready(compiled(states, key))  # warm-up
    times = []
    for r in range(repeats):
        t0 = time.perf_counter()
        states, _ = jax.block_until_ready(compiled(states, jax.random.fold_in(key, r)))
        times.append(time.perf_counter() - t0)
    best = min(times)
    return {"steps_s": steps * num_envs / best, "compile_s": compile_s}


def bench_ale_single(game: str, steps: int, repeats: int) -> dict:
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    env = gymnasium.make(f"ALE/{NAMES[game]}-v5")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.action_space.n
    times = []
    for _ in range(repeats):
        actions = rng.integers(n, size=steps)
        t0 = time.perf_counter()
        for a in actions:
            _, _, terminated, truncated, _ = env.step(int(a))
            if terminated or truncated:
                env.reset()
        times.append(time.perf_counter() - t0)
    env.close()
    return {"steps_s": steps / min(times), "compile_s": None}


def bench_ale_vector(game: str, num_envs: int, steps: int, repeats: int, threads: int) -> dict:
    from ale_py.vector_env import AtariVectorEnv

    env = AtariVectorEnv(
        game, num_envs, num_threads=threads, repeat_action_probability=0.25, frameskip=FRAMESKIP,
        img_height=210, img_width=160, grayscale=False, stack_num=1, maxpool=False, noop_max=0,
        reward_clipping=False, use_fire_reset=False,
    )  # fmt: skip
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.single_action_space.n
    times = []
    for _ in range(repeats):
        actions = rng.integers(n, size=(steps, num_envs))
        t0 = time.perf_counter()
        for a in actions:
            env.step(a)
        times.append(time.perf_counter() - t0)
    env.close()
    return {"steps_s": steps * num_envs / min(times), "compile_s": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--games", nargs="+", default=["pong", "breakout"], choices=sorted(NAMES))
    parser.add_argument("--num-envs", nargs="+", type=int, default=[1, 64, 256, 1024])
    parser.add_argument("--steps", type=int, default=16, help="agent steps per timed call (per env)")
    parser.add_argument("--ale-steps", type=int, default=2000, help="agent steps per timed run of ale-py's single env")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="ale-py vector env threads")
    parser.add_argument("--skip-gymx", action="store_true")
    args = parser.parse_args()

    rows = []
    for game in args.games:
        single = bench_ale_single(game, args.ale_steps, args.repeats)
        rows.append((game, "ale-py AtariEnv", 1, single))
        for n in args.num_envs:
            # The vector env with enough steps to time: at least ~2,000 agent steps in all.
            vec_steps = max(args.steps, 2000 // n)
            rows.append(
                (
                    game,
                    f"ale-py AtariVectorEnv ({args.threads} threads)",
                    n,
                    bench_ale_vector(game, n, vec_steps, args.repeats, args.threads),
                )
            )
            if not args.skip_gymx:
                rows.append((game, "gymx AtariEnv (jit+vmap)", n, bench_gymx(game, n, args.steps, args.repeats)))

    cpu = platform.processor() or platform.machine()
    print(
        f"\nAtari v5 (frameskip {FRAMESKIP}, sticky 0.25, rgb), {jax.devices()[0].platform} ({cpu}, "
        f"{os.cpu_count()} cores), jax {jax.__version__}\n"
    )
    print("| game | implementation | envs | agent steps/s | emulated frames/s | compile (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for game, impl, n, r in rows:
        compile_s = "" if r["compile_s"] is None else f"{r['compile_s']:.1f}"
        print(f"| {NAMES[game]} | {impl} | {n} | {r['steps_s']:,.0f} | {r['steps_s'] * FRAMESKIP:,.0f} | {compile_s} |")


if __name__ == "__main__":
    main()
