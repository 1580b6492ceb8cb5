"""Seconds per jitted step of `ALE/Pong-v5` (4 emulated frames), one console or a batch, by observation type.

A probe of where the Atari env's time goes (not a comparison with peers: `benchmarks/atari.py` is):
the first call (compile included) and the mean of two more, `repeat_action_probability=0`.

    python benchmarks/atari_step.py ram 1
    python benchmarks/atari_step.py rgb 16
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp

import gymx

FRAMESKIP = 4


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("obs_type", choices=["rgb", "grayscale", "ram"])
    parser.add_argument("num_envs", type=int)
    args = parser.parse_args()
    gymx.configure_cpu()
    options = {"obs_type": args.obs_type, "repeat_action_probability": 0.0}
    if args.num_envs > 1:
        env = gymx.make_vec("ALE/Pong-v5", args.num_envs, **options)
        action = jnp.zeros((args.num_envs,), jnp.int32)
    else:
        env = gymx.make("ALE/Pong-v5", **options)
        action = jnp.int32(0)
    state, ts = jax.jit(env.reset)(jax.random.key(0))
    step = jax.jit(env.step)
    start = time.perf_counter()
    state, ts = step(state, action)
    jax.block_until_ready(ts.obs)
    first = time.perf_counter() - start
    start = time.perf_counter()
    for _ in range(2):
        state, ts = step(state, action)
    jax.block_until_ready(ts.obs)
    seconds = (time.perf_counter() - start) / 2
    frames = FRAMESKIP * args.num_envs / seconds
    print(f"{args.obs_type} N={args.num_envs}: first call {first:.1f} s, step {seconds:.2f} s, frames/s {frames:.1f}")


if __name__ == "__main__":
    main()
