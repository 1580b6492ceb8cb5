"""The Monitor's cost on a jitted chunked rollout, and the rasterizer's frames/s.

1. Monitor overhead: the same AOT-compiled chunk (a `lax.scan` of `--chunk` batched CartPole-v1
   steps with auto-reset, actions from `--policy`) run `--chunks` times per repeat, once over the
   bare `VecEnv` and once over a `Monitor` of it with `monitor.flush(state)` after every chunk
   (the binary episode log appended and fsynced in a temporary directory). Repeats alternate the
   two so load drifts hit both; the medians are compared. The Monitor's time is also split into
   its device part (chunks alone) and its flushes. Each policy runs twice: with the chunk's
   state argument not donated (each call then copies the state in, the Monitor's whole row
   buffer included) and donated (`jit(..., donate_argnums=0)`, as training loops do).
   Policies: `random` (uniform actions: ~22-step episodes, the most episodes per step CartPole
   can produce) and `balance` (push toward the falling side: episodes of hundreds of steps, as
   a trained policy's).
2. Rendering: `jit(vmap(env.render))` of `--render-envs` CartPole states, frames/s (median).

    python benchmarks/monitor.py --num-envs 65536 --chunk 32 --chunks 4 --repeats 5
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from typing import Any

import jax
import jax.numpy as jnp

import gymx
from gymx import bench
from gymx.monitor import Monitor
from gymx.monitor.monitor import DEFAULT_CAPACITY_STEPS


def policy_fn(name: str, env: Any) -> Any:
    if name == "random":
        return lambda key, obs: env.action_space().sample(key)
    # Push the cart toward the side the pole falls to: obs = (x, x_dot, theta, theta_dot).
    return lambda key, obs: (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(jnp.int32)


def compiled_chunk(env: Any, policy: Any, steps: int, state: Any, obs: Any, key: jax.Array, donate: bool) -> Any:
    def chunk(state: Any, obs: Any, key: jax.Array) -> tuple[Any, Any]:
        def one(carry: tuple[Any, Any], step_key: jax.Array) -> tuple[tuple[Any, Any], None]:
            state, obs = carry
            state, ts = env.step(state, policy(step_key, obs))
            return (state, ts.obs), None

        return jax.lax.scan(one, (state, obs), jax.random.split(key, steps))[0]

    # Donating the state lets the scan update its buffers in place; without it every call first
    # copies them (for the Monitor, its whole row buffer).
    return jax.jit(chunk, donate_argnums=(0,) if donate else ()).lower(state, obs, key).compile()


def run_chunks(chunk: Any, state: Any, obs: Any, chunks: int, flush: Any = None) -> tuple[float, float, Any, Any]:
    """Wall seconds of `chunks` chunks (flushing after each when `flush`), and of the flushes alone."""
    flush_s = 0.0
    start = time.perf_counter()
    for i in range(chunks):
        state, obs = chunk(state, obs, jax.random.key(i))
        if flush is not None:
            # Wait for the chunk first, so the flush's own time excludes the compute it waits on.
            jax.block_until_ready(state)
            before = time.perf_counter()
            state = flush(state)
            flush_s += time.perf_counter() - before
    jax.block_until_ready((state, obs))
    return time.perf_counter() - start, flush_s, state, obs


def monitor_overhead(args: argparse.Namespace, policy_name: str, donate: bool) -> None:
    venv = gymx.make_vec("CartPole-v1", args.num_envs)
    with tempfile.TemporaryDirectory() as directory:
        monitor = Monitor(venv, directory, algorithm_id=f"bench-{policy_name}", capacity_steps=args.capacity_steps)
        policy = policy_fn(policy_name, venv)
        plain_state, plain_obs = jax.jit(venv.reset)(jax.random.key(0))
        mon_state, mon_first = jax.jit(monitor.reset)(jax.random.key(0))
        plain = compiled_chunk(venv, policy, args.chunk, plain_state, plain_obs.obs, jax.random.key(0), donate)
        monitored = compiled_chunk(monitor, policy, args.chunk, mon_state, mon_first.obs, jax.random.key(0), donate)
        obs = plain_obs.obs
        mon_state = monitor.flush(mon_state)
        mon_obs = mon_first.obs
        with bench.device_turn():
            # Warm-up: one untimed pass each (and the log file's first pages).
            _, _, plain_state, obs = run_chunks(plain, plain_state, obs, 1)
            _, _, mon_state, mon_obs = run_chunks(monitored, mon_state, mon_obs, 1, monitor.flush)
            plain_walls, mon_walls, flush_walls = [], [], []
            for _ in range(args.repeats):
                wall, _, plain_state, obs = run_chunks(plain, plain_state, obs, args.chunks)
                plain_walls.append(wall)
                wall, flush_s, mon_state, mon_obs = run_chunks(monitored, mon_state, mon_obs, args.chunks, monitor.flush)
                mon_walls.append(wall)
                flush_walls.append(flush_s)
        monitor.close()
        episodes = monitor.manifest["episodes"]
        overflow = monitor.manifest["overflowed_episodes"]
    steps = args.num_envs * args.chunk * args.chunks
    plain_s, mon_s, flush_s = (statistics.median(w) for w in (plain_walls, mon_walls, flush_walls))
    print(
        f"| {policy_name} | {'yes' if donate else 'no'} | {args.num_envs} | {args.chunk}×{args.chunks} | {steps / plain_s / 1e6:.1f} M | {steps / mon_s / 1e6:.1f} M "
        f"| {100 * (mon_s / plain_s - 1):+.1f}% | {100 * ((mon_s - flush_s) / plain_s - 1):+.1f}% | {1e3 * flush_s / args.chunks:.1f} ms "
        f"| {episodes / (len(mon_walls) + 1) / args.chunks:,.0f} | {overflow} |"
    )


def render_rate(args: argparse.Namespace) -> None:
    env = gymx.make("CartPole-v1").unwrapped
    keys = jax.random.split(jax.random.key(0), args.render_envs)
    states = jax.vmap(lambda k: env.reset(k)[0])(keys)
    draw = jax.jit(jax.vmap(env.render)).lower(states).compile()
    with bench.device_turn():
        jax.block_until_ready(draw(states))
        walls = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            jax.block_until_ready(draw(states))
            walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    print(f"| CartPole-v1 | {args.render_envs} | 600×400 | {args.render_envs / wall:,.0f} | {wall * 1e3:.0f} ms ({min(walls) * 1e3:.0f}–{max(walls) * 1e3:.0f}) |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, default=65536)
    parser.add_argument("--chunk", type=int, default=32, help="steps per jitted chunk (a flush after each)")
    parser.add_argument("--chunks", type=int, default=4, help="chunks per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--capacity-steps", type=int, default=DEFAULT_CAPACITY_STEPS, help="Monitor steps buffered between flushes")
    parser.add_argument("--policies", default="random,balance")
    parser.add_argument("--render-envs", type=int, default=1024)
    args = parser.parse_args()
    print(f"device: {bench.device_description()}\n")
    print("| policy | state donated | N | steps per chunk × chunks | bare steps/s | with Monitor | overhead | device part only | flush per chunk | episodes per chunk | overflow |")
    print("|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for name in args.policies.split(","):
        for donate in (False, True):
            monitor_overhead(args, name.strip(), donate)
    print("\n| env | states | frame | frames/s (median) | wall per call (min–max) |")
    print("|---|---:|---|---:|---|")
    render_rate(args)


if __name__ == "__main__":
    main()
