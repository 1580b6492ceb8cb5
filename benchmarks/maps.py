"""Memory maps a process gains per env id made and checked (Linux: lines of /proc/self/maps).

Every compiled XLA:CPU program holds three memory maps per kernel (code, constants, data), so a
process that keeps compiled programs without bound runs into Linux's `vm.max_map_count` (65,530
by default), where LLVM fails with "Unable to allocate section memory". For each id this makes
`gymnasium.make("gymx/<id>")` and runs Gymnasium's `check_env` on it, then gymx's own
`gymx.testing.check_env` on `gymx.make(<id>)`, and prints the maps each added while its env was
alive and the maps left once both envs were dropped (and garbage-collected); last, the maps added
by an eager `VecEnv` reset and step of CartPole-v1 (the first call and ten more steps).
`--stages ID` instead splits one MuJoCo id's maps by stage: MuJoCo's renderer on its own, then
the env made, reset, stepped, rendered, checked and dropped. Progress goes to stderr, markdown
tables to stdout.

    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py                # one id per family
    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py --all          # every registered id
    GYMX_COMPILATION_CACHE=0 python benchmarks/maps.py --ids CartPole-v1 Taxi-v4
    GYMX_COMPILATION_CACHE=0 MUJOCO_GL=egl python benchmarks/maps.py --stages InvertedPendulum-v5
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings

import gymnasium
import jax
import numpy as np
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

import gymx
from gymx.testing import check_env

ONE_PER_FAMILY = ["CartPole-v1", "FrozenLake-v1", "Copy-v0", "TicTacToe-v0", "InvertedPendulum-v5"]


def maps() -> int:
    with open("/proc/self/maps") as file:
        return sum(1 for _ in file)


def stages(env_id: str) -> None:
    """Maps added by each stage of one MuJoCo id's life, renderer first (see the module docstring)."""
    import mujoco
    from gymx.envs.mujoco.base import model_path

    rows: list[tuple[str, int]] = []
    last = maps()

    def stage(name: str) -> None:
        nonlocal last
        rows.append((name, maps() - last))
        last = maps()
        print(f"{name}: {rows[-1][1]} maps", file=sys.stderr, flush=True)

    model = mujoco.MjModel.from_xml_path(model_path(gymx.make(env_id).unwrapped.model_file))
    data = mujoco.MjData(model)
    mujoco.mj_forward(model, data)
    stage("`gymx.make` (MuJoCo and MJX imported, model put)")
    for round_ in ("first", "second"):
        renderer = mujoco.Renderer(model, 480, 480)
        stage(f"{round_} `mujoco.Renderer` (OpenGL context)")
        renderer.update_scene(data)
        renderer.render()
        stage(f"{round_} renderer: first frame")
        renderer.close()
        stage(f"{round_} renderer: closed")
    env = gymnasium.make(f"gymx/{env_id}", render_mode="rgb_array")
    stage('`gymnasium.make(..., render_mode="rgb_array")`')
    env.reset(seed=0)
    stage("first reset (compiles)")
    env.step(np.zeros(env.action_space.shape, np.float32))
    stage("first step (compiles)")
    env.render()
    stage("first render")
    for seed in range(1, 4):
        env.reset(seed=seed)
        env.step(env.action_space.sample())
        env.render()
    stage("3 more resets, steps and frames")
    gymnasium_check_env(env.unwrapped)
    stage("Gymnasium's `check_env`")
    env.close()
    del env
    gc.collect()
    stage("closed, dropped, garbage-collected")
    print(f"| {env_id}: stage | maps added |")
    print("|---|---:|")
    for name, added in rows:
        print(f"| {name} | {added} |")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ids", nargs="+", default=ONE_PER_FAMILY)
    parser.add_argument("--all", action="store_true", help="every registered id")
    parser.add_argument("--stages", metavar="ID", help="one MuJoCo id's maps, stage by stage")
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")  # Gymnasium's checker warns about float32 bounds and the like
    if args.stages:
        stages(args.stages)
        return
    ids = sorted(gymx.registry) if args.all else args.ids

    print("| id | gymnasium check_env | gymx check_env | left once dropped | maps after | seconds |")
    print("|---|---:|---:|---:|---:|---:|")
    start = peak = maps()
    for env_id in ids:
        began, before = time.perf_counter(), maps()
        env = gymnasium.make(f"gymx/{env_id}")
        gymnasium_check_env(env.unwrapped)
        middle = maps()
        gymx_env = gymx.make(env_id)
        check_env(gymx_env, num_steps=20)
        after = maps()
        peak = max(peak, after)
        del env, gymx_env
        gc.collect()  # an env and its cached programs form reference cycles
        left = maps()
        print(
            f"| {env_id} | {middle - before} | {after - middle} | {left - before} | {left} | {time.perf_counter() - began:.1f} |",
            flush=True,
        )
        print(f"{env_id}: {after - before} maps, {left - before} left", file=sys.stderr, flush=True)
    print(f"\n{len(ids)} ids: {maps() - start} maps added, {maps()} in all, peak {peak}")

    vec = gymx.make_vec("CartPole-v1", num_envs=4)
    action = vec.action_space().sample(jax.random.key(1))
    before = maps()
    state, _ = vec.reset(jax.random.key(0))
    state, _ = vec.step(state, action)
    first = maps()
    for _ in range(10):
        state, _ts = vec.step(state, action)
    print(f"eager VecEnv CartPole-v1 reset + step: {first - before} maps; 10 more eager steps: {maps() - first} maps")


if __name__ == "__main__":
    main()
