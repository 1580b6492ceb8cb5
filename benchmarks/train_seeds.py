"""How training throughput scales with the number of agents (seeds) vmapped into one program.

PPO on CartPole-v1 with its packaged config (8 envs x 32 steps per iteration, 20 epochs of one
256-sample minibatch), `--iterations` iterations per timed call, for each seed count in
`--seeds`: the program `vmap(init, then train)` over that many keys is compiled once (compile
seconds reported apart), warmed up, then timed `--repeats` times. Env steps and gradient updates
count every agent's (seeds x iterations x 256 steps, seeds x iterations x 20 updates). On a
machine shared with other processes the wall time measures the share of the cores this process
got as much as the program, so the table gives both the best repeat's wall time and the median
repeat's CPU time (user + system seconds of this process): throughput per CPU-second is the
program's own efficiency, whatever the load.

    python benchmarks/train_seeds.py [--seeds 1 8 64] [--iterations 10] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from typing import Any

import jax
from common import SHARED_MACHINE

import gymx
from gymx import bench
from gymx.train import agents


def seed_program(agent: Any, num_seeds: int, iterations: int) -> Any:
    def program(key: jax.Array) -> Any:
        keys = jax.random.key_data(jax.random.split(key, num_seeds))
        return jax.vmap(lambda k: agent.train(agent.init(k), iterations))(keys)

    return program


def compile_program(program: Any) -> tuple[Any, float]:
    jax.jit(lambda x: x + 1).lower(1.0).compile()  # the backend's start-up is no program's compile
    with SHARED_MACHINE.compiling():
        start = time.perf_counter()
        compiled = jax.jit(program).lower(jax.random.key(0)).compile()
        return compiled, time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 8, 64])
    parser.add_argument("--iterations", type=int, default=10, help="PPO iterations per timed call (default 10)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    gymx.configure_cpu()
    bench.cold_compiles()
    agent = agents.make("ppo", "CartPole-v1", record_episodes=False)
    cfg = agent.config
    updates_per_iteration = cfg.update_epochs * cfg.num_minibatches
    print(f"device: {bench.device_description()}; load average {os.getloadavg()[0]:.2f} at start\n")
    print(
        "| seeds | compile s | wall s (best) | CPU s (median) | env steps/s (wall) | updates/s (wall)"
        " | env steps per CPU-s | per seed: env steps/s (wall) |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for num_seeds in args.seeds:
        compiled, compile_s = compile_program(seed_program(agent, num_seeds, args.iterations))
        walls, cpus = [], []
        with SHARED_MACHINE.timing():
            jax.block_until_ready(compiled(jax.random.key(0)))  # warm-up
            for repeat in range(args.repeats):
                wall, cpu = time.perf_counter(), time.process_time()
                jax.block_until_ready(compiled(jax.random.key(repeat + 1)))
                walls.append(time.perf_counter() - wall)
                cpus.append(time.process_time() - cpu)
        steps = num_seeds * args.iterations * cfg.batch_size
        updates = num_seeds * args.iterations * updates_per_iteration
        wall, cpu = min(walls), statistics.median(cpus)
        print(
            f"| {num_seeds} | {compile_s:.1f} | {wall:.2f} | {cpu:.2f} | {steps / wall:,.0f} | {updates / wall:,.0f}"
            f" | {steps / cpu:,.0f} | {steps / wall / num_seeds:,.0f} |",
            flush=True,
        )
    print(f"\nload average {os.getloadavg()[0]:.2f} at the end")


if __name__ == "__main__":
    main()
