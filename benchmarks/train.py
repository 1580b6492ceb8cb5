"""Training benchmarks on this machine: PPO and DQN from gymx.train, wall time compile included.

Cases (each prints one markdown row; JAX's compilation cache is off, so every compile is cold):

- ppo-cartpole: one PPO agent on CartPole-v1, evaluated greedily on 20 episodes after every
  chunk of 5,120 env steps; wall time from building the agent until an evaluation mean reaches
  475 (compile and evaluations included: the protocol of benchmarks/sb3_ppo.py).
- seeds: the whole PPO CartPole-v1 run (the config's total_steps) for 1 agent and for 8 agents
  vmapped in one program (`jax.jit(jax.vmap(agent.run))`): compile and run seconds, and ratios.
- pendulum: one PPO agent on Pendulum-v1 for the config's total_steps; greedy mean over 100 episodes.
- dqn: one DQN agent on CartPole-v1 for the config's total_steps; greedy mean over 100 episodes.

    python benchmarks/train.py [--cases ppo-cartpole,seeds,pendulum,dqn]
"""

from __future__ import annotations

import argparse
import os
import time

import jax

from gymx import bench
from gymx.train import agents, runner

THRESHOLD = 475.0


def ppo_cartpole_to_threshold(eval_episodes: int = 20, chunk_steps: int = 5120) -> str:
    start = time.perf_counter()
    agent = agents.make("ppo", "CartPole-v1")
    last: dict[str, float] = {}

    def on_chunk(report: runner.ChunkReport) -> bool:
        mean = float(runner.evaluate(agent, report.states, eval_episodes, jax.random.PRNGKey(1)).mean())
        last.update(steps=report.env_steps, mean=mean, wall=time.perf_counter() - start)
        return mean >= THRESHOLD

    runner.train_seeds(agent, [0], agent.config.total_steps // chunk_steps, on_chunk)
    verdict = "meets" if last["mean"] >= THRESHOLD and last["wall"] <= 60 else "misses"
    return (
        f"| PPO CartPole-v1, 1 seed, until greedy mean >= {THRESHOLD:g} ({eval_episodes} episodes) | {last['wall']:.1f} s "
        f"| {last['mean']:.1f} at {int(last['steps']):,} env steps | within 60 s: {verdict} |"
    )


def _timed_run(agent: runner.Agent, num_seeds: int) -> tuple[float, float]:
    """(compile s, run s) of the whole run for `num_seeds` agents in one program."""
    keys = runner.seed_keys(list(range(num_seeds)))
    start = time.perf_counter()
    compiled = jax.jit(jax.vmap(agent.run)).lower(keys).compile()
    compile_s = time.perf_counter() - start
    start = time.perf_counter()
    jax.block_until_ready(compiled(keys))
    return compile_s, time.perf_counter() - start


def seeds_in_one_program() -> list[str]:
    agent = agents.make("ppo", "CartPole-v1", record_episodes=False)
    one_compile, one_run = _timed_run(agent, 1)
    eight_compile, eight_run = _timed_run(agent, 8)
    steps = agent.num_iterations * agent.config.batch_size
    ratio = (eight_compile + eight_run) / (one_compile + one_run)
    verdict = "meets" if ratio <= 3 else "misses"
    return [
        f"| PPO CartPole-v1, 1 seed x {steps:,} steps, one program | {one_compile + one_run:.1f} s "
        f"| compile {one_compile:.1f} s + run {one_run:.1f} s | – |",
        f"| PPO CartPole-v1, 8 seeds x {steps:,} steps, one program | {eight_compile + eight_run:.1f} s "
        f"| compile {eight_compile:.1f} s + run {eight_run:.1f} s; {ratio:.2f}x one seed (run alone {eight_run / one_run:.2f}x) "
        f"| within 3x: {verdict} |",
    ]


def final_greedy(algo: str, env_id: str, goal: float, episodes: int = 100) -> str:
    start = time.perf_counter()
    agent = agents.make(algo, env_id, record_episodes=False)
    states, _ = runner.train_seeds(agent, [0], num_chunks=1)
    train_s = time.perf_counter() - start
    returns = runner.evaluate(agent, states, episodes, jax.random.PRNGKey(1))
    verdict = "meets" if returns.mean() >= goal else "misses"
    steps = agent.num_iterations * agent.steps_per_iteration * agent.env.num_envs
    return (
        f"| {algo.upper()} {env_id}, 1 seed x {steps:,} steps, then {episodes} greedy episodes | {train_s:.1f} s "
        f"| mean return {returns.mean():.1f} (min {returns.min():.1f}) | >= {goal:g}: {verdict} |"
    )


CASES = {
    "ppo-cartpole": lambda: [ppo_cartpole_to_threshold()],
    "seeds": seeds_in_one_program,
    "pendulum": lambda: [final_greedy("ppo", "Pendulum-v1", -200.0)],
    "dqn": lambda: [final_greedy("dqn", "CartPole-v1", THRESHOLD)],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    args = parser.parse_args()
    bench.cold_compiles()
    print(f"- device: `{bench.device_description()}`; load average at start {_load()}\n")
    print("| case | wall (compile included) | result | goal |")
    print("|---|---:|---|---|")
    for name in args.cases.split(","):
        for row in CASES[name]():
            print(row, flush=True)
    print(f"\n- load average at end {_load()}")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
