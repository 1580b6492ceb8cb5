"""Training benchmarks on this machine: PPO and DQN from gymx.train, wall time compile included.

Cases (each prints markdown rows). `--compile-cache cold` (default): JAX's persistent compilation
cache is off, so every compile is cold, as on a first run. `--compile-cache warm`: the cases run
once in a child process against a fresh, empty cache directory (gymx's persistent compilation
cache, the one `import gymx` turns on, with its default settings), which fills it, then a second
child process is timed against the filled cache: what a user gets on every run after the first.

- ppo-cartpole: one PPO agent on CartPole-v1, evaluated greedily on 20 episodes after every
  chunk of 5,120 env steps; wall time from building the agent until an evaluation mean reaches
  475 (compile and evaluations included: the protocol of benchmarks/sb3_ppo.py).
- seeds: the whole PPO CartPole-v1 run (the config's total_steps) for 1 agent and for 8 agents
  vmapped in one program (`jax.jit(jax.vmap(agent.run))`), the same steps per agent: compile and
  run seconds and ratios, compile included and excluded. A throwaway compile comes first, so
  neither program pays the process's one-off compiler start-up.
- pendulum: one PPO agent on Pendulum-v1 for the config's total_steps; greedy mean over 100 episodes.
- dqn: 3 DQN agents (seeds 0-2, one program) on CartPole-v1 for the config's total_steps; each
  agent's greedy policy (its kept best snapshot, see gymx/train/dqn.py) over 100 fresh episodes.

    python benchmarks/train.py [--cases ppo-cartpole,seeds,pendulum,dqn] [--compile-cache cold|warm]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import jax

from gymx import bench, compilation_cache
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
    jax.jit(lambda x: x + 1).lower(1.0).compile()  # the process's compiler start-up, paid by neither program
    agent = agents.make("ppo", "CartPole-v1", record_episodes=False)
    one_compile, one_run = _timed_run(agent, 1)
    eight_compile, eight_run = _timed_run(agent, 8)
    steps = agent.num_iterations * agent.config.batch_size
    ratio = (eight_compile + eight_run) / (one_compile + one_run)
    run_ratio = eight_run / one_run
    return [
        f"| PPO CartPole-v1, 1 seed x {steps:,} steps, one program | {one_compile + one_run:.1f} s "
        f"| compile {one_compile:.1f} s + run {one_run:.1f} s | – |",
        f"| PPO CartPole-v1, 8 seeds x {steps:,} steps, one program | {eight_compile + eight_run:.1f} s "
        f"| compile {eight_compile:.1f} s + run {eight_run:.1f} s; {ratio:.2f}x one seed compile included, "
        f"{run_ratio:.2f}x compile excluded | within 3x: {'meets' if ratio <= 3 else 'misses'} (compile included), "
        f"{'meets' if run_ratio <= 3 else 'misses'} (excluded) |",
    ]


def final_greedy(algo: str, env_id: str, goal: float, episodes: int = 100, seeds: tuple[int, ...] = (0,)) -> str:
    start = time.perf_counter()
    agent = agents.make(algo, env_id, record_episodes=False)
    states, _ = runner.train_seeds(agent, list(seeds), num_chunks=1)
    train_s = time.perf_counter() - start
    returns = runner.evaluate(agent, states, episodes, jax.random.PRNGKey(1))  # (seeds, episodes), fresh episodes
    means = returns.mean(axis=1)
    verdict = "meets" if means.min() >= goal else "misses"
    steps = agent.num_iterations * agent.steps_per_iteration * agent.env.num_envs
    per_seed = ", ".join(f"{m:.1f}" for m in means)
    return (
        f"| {algo.upper()} {env_id}, {len(seeds)} seed{'s' * (len(seeds) > 1)} x {steps:,} steps (one program), "
        f"then {episodes} greedy episodes each | {train_s:.1f} s "
        f"| mean return per seed {per_seed} (min episode {returns.min():.1f}) | >= {goal:g} every seed: {verdict} |"
    )


CASES = {
    "ppo-cartpole": lambda: [ppo_cartpole_to_threshold()],
    "seeds": seeds_in_one_program,
    "pendulum": lambda: [final_greedy("ppo", "Pendulum-v1", -200.0)],
    "dqn": lambda: [final_greedy("dqn", "CartPole-v1", THRESHOLD, seeds=(0, 1, 2))],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", default=",".join(CASES), help=f"comma-separated subset of {','.join(CASES)}")
    parser.add_argument(
        "--compile-cache",
        choices=("cold", "warm"),
        default="cold",
        help="cold: cache off; warm: fill a fresh cache, then time",
    )
    parser.add_argument("--cache-dir", help=argparse.SUPPRESS)  # internal: the warm mode's child processes
    args = parser.parse_args()
    if args.compile_cache == "warm" and args.cache_dir is None:
        _warm(args.cases)
        return
    if args.cache_dir is None:
        bench.cold_compiles()
    else:
        compilation_cache.enable_compilation_cache(args.cache_dir)
    print(
        f"- compile cache: {'off (cold compiles)' if args.cache_dir is None else 'warm, ' + str(jax.config.jax_compilation_cache_dir)}"
    )
    print(f"- device: `{bench.device_description()}`; load average at start {_load()}\n")
    print("| case | wall (compile included) | result | goal |")
    print("|---|---:|---|---|")
    for name in args.cases.split(","):
        for row in CASES[name]():
            print(row, flush=True)
    print(f"\n- load average at end {_load()}")


def _warm(cases: str) -> None:
    """Fills a fresh cache directory in one child process, then times a second one against it."""
    cache = tempfile.mkdtemp(prefix="gymx-jax-cache-")
    command = [sys.executable, __file__, "--cases", cases, "--cache-dir", cache]
    env = {**os.environ}
    env.pop("JAX_COMPILATION_CACHE_DIR", None)
    start = time.perf_counter()
    subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL)
    entries = len(os.listdir(cache))
    print(
        f"- warm mode: a first process filled {cache} ({entries} entries) in {time.perf_counter() - start:.1f} s; the timed second process:"
    )
    sys.stdout.flush()
    subprocess.run(command, env=env, check=True)


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
