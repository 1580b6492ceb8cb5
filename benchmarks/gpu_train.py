"""Many PPO agents in one compiled program on one device: compile and run wall times, env steps/s
while training, and the agents' greedy returns afterwards. Prints markdown.

    python benchmarks/gpu_train.py --env CartPole-v1 --agents 2048 --total-steps 500000
    python benchmarks/gpu_train.py --env Hopper-v5 --agents 1 --total-steps 5000000

The training run is `jax.jit(jax.vmap(agent.run))` over the agents' seed keys (the env id's
packaged PPO config, with `--total-steps` env steps per agent), AOT-compiled with the persistent
compilation cache off inside `compile_turn()`, then run once to `block_until_ready`
inside `device_turn()` (benchmarks/common.py) (so it can share a machine with other benchmark processes). Per-episode
records are off (2,048 agents x 500k steps of them would not fit); the per-iteration sums stay.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Sequence

import jax
from common import compile_turn, device_turn

import gymx
from gymx import bench
from gymx.train import agents, runner


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="CartPole-v1", help="an env id with a packaged PPO config")
    parser.add_argument("--agents", type=int, default=2048, help="agents (seeds 0..agents-1) vmapped in one program")
    parser.add_argument("--total-steps", type=int, default=500_000, help="env steps per agent")
    parser.add_argument(
        "--eval-episodes", type=int, default=20, help="greedy episodes per agent after training (0: none)"
    )
    parser.add_argument(
        "--threshold", type=float, default=None, help="a return to count agents at (default: the id's reward threshold)"
    )
    args = parser.parse_args(argv)

    bench.cold_compiles()
    config = agents.load_config("ppo", args.env, total_steps=args.total_steps)
    agent = agents.make("ppo", args.env, config, record_episodes=False)
    keys = runner.seed_keys(list(range(args.agents)))
    with compile_turn():
        start = time.perf_counter()
        compiled = jax.jit(jax.vmap(agent.run)).lower(keys).compile()
        compile_s = time.perf_counter() - start
    with device_turn():
        start = time.perf_counter()
        states, logs = jax.block_until_ready(compiled(keys))
        run_s = time.perf_counter() - start
        start = time.perf_counter()
        returns = runner.evaluate(agent, states, args.eval_episodes, jax.random.key(1)) if args.eval_episodes else None
        eval_s = time.perf_counter() - start
    steps_per_agent = agent.num_iterations * config.batch_size
    env_steps = args.agents * steps_per_agent
    finished = max(int(logs.episodes[:, -10:].sum()), 1)
    last = float(logs.return_sum[:, -10:].sum()) / finished
    threshold = args.threshold if args.threshold is not None else gymx.spec(args.env).reward_threshold
    print(f"## PPO on {args.env}: {args.agents} agent{'s' * (args.agents > 1)} in one program\n")
    print(f"- device: `{bench.device_description()}`")
    print(f"- command: `python benchmarks/gpu_train.py {' '.join(sys.argv[1:] if argv is None else argv)}`")
    print(
        f"- config: {config.num_envs} envs x {config.num_steps} steps per iteration, {agent.num_iterations} iterations, "
        f"{config.update_epochs} epochs x {config.num_minibatches} minibatches"
    )
    print(f"- {args.agents} agent{'s' * (args.agents > 1)} x {steps_per_agent:,} env steps = {env_steps:,} env steps")
    print(
        f"- compile {compile_s:.1f} s, run {run_s:.1f} s, total {compile_s + run_s:.1f} s; "
        f"{env_steps / run_s:,.0f} env steps/s while training (updates included)"
    )
    print(f"- training return (mean of the episodes that ended in the last 10 iterations): {last:.1f}")
    if returns is None:
        return 0
    print(
        f"- greedy mean over {args.eval_episodes} episodes per agent {returns.mean():.1f} (evaluation {eval_s:.1f} s, compile included)"
    )
    if threshold is not None:
        print(f"- agents whose greedy mean reaches {threshold:g}: {(returns.mean(1) >= threshold).mean():.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
