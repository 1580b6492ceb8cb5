"""Memory maps a process gains per env id made and checked (Linux: lines of /proc/self/maps).

Every compiled XLA:CPU program holds a few memory maps for its code, so a process that compiles
without bound runs into Linux's `vm.max_map_count` (65,530 by default), where LLVM fails with
"Unable to allocate section memory". For each id this makes `gymnasium.make("gymx/<id>")` and
runs Gymnasium's `check_env` on it, then gymx's own `gymx.testing.check_env` on `gymx.make(<id>)`,
and prints the maps each added; last, the maps added by an eager `VecEnv` reset and step of
CartPole-v1 (the first call and ten more steps). Progress goes to stderr, a markdown table to stdout.

    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py                # one id per family
    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py --all          # every registered id
    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py --ids CartPole-v1 Taxi-v4
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings

import gymnasium
import jax
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

import gymx
from gymx.testing import check_env

ONE_PER_FAMILY = ["CartPole-v1", "FrozenLake-v1", "Copy-v0", "TicTacToe-v0", "InvertedPendulum-v5"]


def maps() -> int:
    with open("/proc/self/maps") as file:
        return sum(1 for _ in file)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=ONE_PER_FAMILY)
    parser.add_argument("--all", action="store_true", help="every registered id")
    args = parser.parse_args(argv)
    ids = sorted(gymx.registry) if args.all else args.ids
    warnings.simplefilter("ignore")  # Gymnasium's checker warns about float32 bounds and the like

    print("| id | gymnasium check_env | gymx check_env | maps after | seconds |")
    print("|---|---:|---:|---:|---:|")
    start = maps()
    for env_id in ids:
        began, before = time.perf_counter(), maps()
        gymnasium_check_env(gymnasium.make(f"gymx/{env_id}").unwrapped)
        middle = maps()
        check_env(gymx.make(env_id), num_steps=20)
        after = maps()
        print(f"| {env_id} | {middle - before} | {after - middle} | {after} | {time.perf_counter() - began:.1f} |", flush=True)
        print(f"{env_id}: {after - before} maps", file=sys.stderr, flush=True)
    print(f"\n{len(ids)} ids: {maps() - start} maps added, {maps()} in all")

    vec = gymx.make_vec("CartPole-v1", num_envs=4)
    action = vec.action_space().sample(jax.random.key(1))
    before = maps()
    state, ts = vec.reset(jax.random.key(0))
    state, ts = vec.step(state, action)
    first = maps()
    for _ in range(10):
        state, ts = vec.step(state, action)
    print(f"eager VecEnv CartPole-v1 reset + step: {first - before} maps; 10 more eager steps: {maps() - first} maps")


if __name__ == "__main__":
    main()
