"""SAC on Pendulum-v1 (gymx.train.sac, the packaged config): wall time to a greedy mean above -200, and env steps/s.

One agent (seed `--seed`) trains in chunks of `--chunk-steps` env steps; after each chunk its greedy
policy plays `--eval-episodes` fresh episodes. Reported: the env steps and wall time (compile
included, evaluations excluded, so the number is training's) at the first chunk whose greedy mean
exceeds the goal; the chunk program's compile time, measured apart by compiling it once ahead
of the run (XLA:CPU, no persistent cache: a cold compile, which the run then pays again in its first
chunk); and the steady-state env steps/s of the later chunks (one update of batch 256 per env step:
the updates dominate).

    python benchmarks/train_sac.py [--seed 0] [--chunk-steps 1000] [--eval-episodes 20] [--goal -200]
"""

from __future__ import annotations

import argparse
import os
import time

import jax

from gymx import bench
from gymx.train import agents, runner


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--chunk-steps", type=int, default=1000)
    parser.add_argument("--eval-episodes", type=int, default=20)
    parser.add_argument("--goal", type=float, default=-200.0)
    args = parser.parse_args()

    agent = agents.make("sac", "Pendulum-v1", record_episodes=False)
    num_chunks = agent.config.total_steps // args.chunk_steps
    per_chunk, _ = runner.chunk_sizes(agent.num_iterations, num_chunks)
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([args.seed]))
    began = time.perf_counter()
    jax.jit(jax.vmap(lambda state: agent.train(state, per_chunk))).lower(states).compile()
    compile_s = time.perf_counter() - began
    chunks: list[dict[str, float]] = []
    eval_s = 0.0
    start = time.perf_counter()

    def on_chunk(report: runner.ChunkReport) -> bool:
        nonlocal eval_s
        train_wall = time.perf_counter() - start - eval_s
        began = time.perf_counter()
        mean = float(runner.evaluate(agent, report.states, args.eval_episodes, jax.random.PRNGKey(1)).mean())
        eval_s += time.perf_counter() - began
        chunks.append({"steps": report.env_steps, "wall": train_wall, "mean": mean})
        print(f"{report.env_steps:>6} steps  {train_wall:6.1f} s training  greedy mean {mean:8.1f}", flush=True)
        return mean > args.goal

    runner.train_seeds(agent, [args.seed], num_chunks, on_chunk)
    first = chunks[0]
    later = chunks[1:]
    rate = (later[-1]["steps"] - first["steps"]) / (later[-1]["wall"] - first["wall"]) if later else float("nan")
    reached = chunks[-1]["mean"] > args.goal
    print(f"\ndevice: {bench.device_description()}; load average {os.getloadavg()[0]:.1f} at the end")
    print("| case | value |\n|---|---:|")
    print(f"| compile of the chunk program (apart) | {compile_s:.1f} s |")
    print(f"| first chunk ({first['steps']:,.0f} steps, compile included) | {first['wall']:.1f} s |")
    print(f"| env steps/s after the first chunk (1 update of 256 per step) | {rate:,.0f} |")
    outcome = f"{chunks[-1]['steps']:,.0f} steps, {chunks[-1]['wall']:.1f} s" if reached else "not reached"
    print(
        f"| greedy mean > {args.goal:g} ({args.eval_episodes} episodes) | {outcome} (mean {chunks[-1]['mean']:.1f}) |"
    )
    print(f"| greedy evaluations (excluded above) | {eval_s:.1f} s |")


if __name__ == "__main__":
    main()
