"""DQN on CartPole-v1 (the packaged config): CPU and wall seconds of one 10-iteration chunk of `runner.train_seeds`.

The chunk is the runner's program, vmapped over the seeds and compiled before the first chunk;
each chunk is timed from the end of the one before it (process CPU time, all threads, and wall
time), so compiles are excluded. The first chunk is not timed: learning starts inside it. Every
later chunk does the same work (10 iterations of 256 env steps and 128 updates, one in-loop
evaluation of 20 episodes), and the minimum over `--repeats` of them is reported, per seed count.

    python benchmarks/train_dqn_chunk.py [--seeds 1 5] [--repeats 5]

To time other sources of gymx (another commit), put them first on the path:
`cd /tmp && PYTHONPATH=/tmp/other python /work/main/benchmarks/train_dqn_chunk.py`.
"""

from __future__ import annotations

import argparse
import os
import time

import gymx
from gymx import bench
from gymx.train import agents, runner

CHUNK_ITERATIONS = 10


def time_chunks(num_seeds: int, repeats: int) -> tuple[float, float]:
    """(min CPU s, min wall s) over `repeats` chunks after the first, for `num_seeds` seeds in one program."""
    agent = agents.make("dqn", "CartPole-v1", record_episodes=False)
    num_chunks = agent.num_iterations // CHUNK_ITERATIONS
    per_chunk, _ = runner.chunk_sizes(agent.num_iterations, num_chunks)
    if per_chunk != CHUNK_ITERATIONS:
        raise ValueError(f"the packaged config gives {per_chunk}-iteration chunks, not {CHUNK_ITERATIONS}")
    if num_chunks < repeats + 1:
        raise ValueError(f"the run has {num_chunks} chunks: at most {num_chunks - 1} repeats")
    cpu: list[float] = []
    wall: list[float] = []
    last: tuple[float, float] | None = None

    def on_chunk(report: runner.ChunkReport) -> bool:
        nonlocal last
        now = (time.process_time(), time.perf_counter())
        if last is not None:
            cpu.append(now[0] - last[0])
            wall.append(now[1] - last[1])
        last = now
        return len(cpu) == repeats

    runner.train_seeds(agent, list(range(num_seeds)), num_chunks, on_chunk)
    return min(cpu), min(wall)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 5], help="seed counts, one program each")
    parser.add_argument("--repeats", type=int, default=5, help="chunks timed after the first")
    args = parser.parse_args()
    print(f"gymx from {os.path.dirname(gymx.__file__)}; device: {bench.device_description()}")
    print(f"| seeds | CPU s per {CHUNK_ITERATIONS}-iteration chunk (min) | wall s (min) | load average (1 min) |")
    print("|---:|---:|---:|---:|")
    for num_seeds in args.seeds:
        cpu, wall = time_chunks(num_seeds, args.repeats)
        print(f"| {num_seeds} | {cpu:.3f} | {wall:.3f} | {os.getloadavg()[0]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
