"""What logging every episode through the Monitor costs `gymx train`: the same PPO run with it on and off, one process.

On: the agent returns its per-step episode records (`record_episodes=True`) and after every chunk
the host writes each seed's finished episodes as one block of its Monitor log (`RunLog.append`:
one write and an fsync, then the manifest replaced), as `gymx train` does. Off: the agent returns
only the per-iteration return sums (`record_episodes=False`) and nothing is written. Checkpoints
and best-policy selection are left out of both, so the difference is the Monitor's alone.

Each run is `runner.train_seeds` over `--chunks` chunks; its time is from the end of the first
chunk (so compile is excluded) to the end of the last, host work between chunks included. On
and off runs alternate `--repeats` times; the table gives the median of each, the median of
the per-pair ratios (the machine is shared, so pairs taken back to back are the fairer measure)
and the share of the on runs' time spent on the host building and writing the log blocks
(measured directly, so steadier than the ratio on a busy machine).

    python benchmarks/train_monitor.py [--envs CartPole-v1,HopperFast-v5] [--repeats 5] [--total-steps N]

Each run builds its agent and compiles its program anew: the timed span excludes compile, but
a MuJoCo env's compile takes minutes of the benchmark's wall time.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import jax

from gymx.monitor import RunLog, load_results
from gymx.train import agents, episodes, runner

CONFIGS = {
    # The packaged CartPole config, shortened; Hopper's config (2048 envs) at a CPU's scale.
    "CartPole-v1": ("CartPole-v1", {"total_steps": 131_072}),
    "HopperFast-v5": ("Hopper-v5", {"num_envs": 128, "total_steps": 65_536}),
}


def timed_run(
    env_id: str, monitor: bool, seeds: list[int], chunks: int, total_steps: int | None
) -> tuple[float, int, float]:
    """(seconds from the first chunk's end to the last's, episodes logged, seconds of them spent on the host writing the log)."""
    config_name, overrides = CONFIGS[env_id]
    if total_steps is not None:
        overrides = {**overrides, "total_steps": total_steps}
    path = Path(agents.__file__).parent / "configs" / "ppo" / f"{config_name}.toml"
    agent = agents.make("ppo", env_id, agents.load_config("ppo", env_id, path, **overrides), record_episodes=monitor)
    marks: list[float] = []
    host = [0.0]
    with tempfile.TemporaryDirectory() as directory:
        logs = (
            [RunLog(directory, f"seed{seed}", agent.env, seed=seed, algorithm_id="ppo") for seed in seeds]
            if monitor
            else []
        )
        per_chunk, _ = runner.chunk_sizes(agent.num_iterations, chunks)

        def on_chunk(report: runner.ChunkReport) -> None:
            start = time.perf_counter()
            if monitor:
                found = episodes.episode_records(report.logs, report.iterations_done - per_chunk, agent.env.num_envs)
                for log, seed_episodes in zip(logs, found):
                    log.append(
                        seed_episodes.env_index,
                        seed_episodes.returns,
                        seed_episodes.lengths,
                        seed_episodes.env_steps,
                        report.wall_s,
                    )
            if marks:  # the first chunk's writes fall before the timed span
                host[0] += time.perf_counter() - start
            marks.append(time.perf_counter())

        runner.train_seeds(agent, seeds, chunks, on_chunk)
        for log in logs:
            log.close()
        logged = len(load_results(directory)) if monitor else 0
    return marks[-1] - marks[0], logged, host[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--envs", default="CartPole-v1,HopperFast-v5")
    parser.add_argument("--seeds", type=int, default=2)
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--total-steps", type=int, help="env steps per seed (default: each env's in CONFIGS)")
    args = parser.parse_args()
    seeds = list(range(args.seeds))
    print(
        f"device {jax.devices()[0].device_kind}, {args.seeds} seeds, {args.chunks} chunks, {args.repeats} pairs, "
        f"total_steps {args.total_steps or 'as configured'}"
    )
    print(
        "| env | off: median s | on: median s | on / off, median of pairs | host log writing, share of on | episodes logged per run |"
    )
    print("|---|---:|---:|---:|---:|---:|")
    for env_id in args.envs.split(","):
        off, on, ratios, shares, logged = [], [], [], [], 0
        for _ in range(args.repeats):
            off.append(timed_run(env_id, False, seeds, args.chunks, args.total_steps)[0])
            seconds, logged, host_s = timed_run(env_id, True, seeds, args.chunks, args.total_steps)
            on.append(seconds)
            shares.append(host_s / seconds)
            ratios.append(on[-1] / off[-1])
            print(
                f"  pair {len(ratios)}: off {off[-1]:.2f} s, on {on[-1]:.2f} s, host log writing {host_s:.3f} s",
                flush=True,
            )
        print(
            f"| {env_id} | {statistics.median(off):.2f} | {statistics.median(on):.2f} | "
            f"{statistics.median(ratios):.3f} (pairs {', '.join(f'{r:.3f}' for r in ratios)}) | "
            f"{statistics.median(shares):.2%} | {logged:,} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
