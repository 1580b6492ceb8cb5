"""How far each MuJoCo tier drifts from the faithful id, and the contact capacity MuJoCo Warp needs.

    python benchmarks/mujoco_tiers.py drift [--envs Hopper Ant Humanoid] [--tiers FastSolver-v5 Lite-v5] [--num-envs 16] [--steps 100]
    python benchmarks/mujoco_tiers.py capacity
    python benchmarks/mujoco_tiers.py policy RUN_OR_CHECKPOINT [--episodes 10] [--seed 0] [--tiers v5 FastSolver-v5 Lite-v5]

`drift` starts `--num-envs` states from the faithful id's start distribution, puts the same
qpos and qvel into `<Name>-v5`, `<Name>FastSolver-v5` and `<Name>Lite-v5`, plays the same
uniform random actions in each (physics only: no termination, no reset) and prints the largest
difference from the faithful id in qpos and in qvel, over every env and coordinate, after 1, 10
and 100 env steps. The row "v5, qvel + 1e-6" is the faithful id itself from starts moved by
1e-6: how much of a tier's drift the chaos of contact alone would give. `--tiers` picks the tiers
compared with the faithful id (default: both, and the perturbed row).

`capacity` steps Gymnasium's C-MuJoCo env of every id through 10 random-action episodes (at
most 300 steps each; the humanoids with no termination, so that they also lie on the floor) and
prints the most contacts and constraint rows seen after a step: the measurements behind each
robot's `capacity` (MuJoCo Warp's buffers).

`policy` loads a `gymx train` checkpoint (a run folder means its `best.safetensors`) of a policy
trained on any tier of a robot, e.g.

    gymx train ppo HopperLite-v5 --config CONFIG.toml --eval-episodes 0 --out RUN

and plays its greedy policy (the Gaussian's mean) for `--episodes` episodes on each of the
robot's three tier ids, every tier from the same reset keys (so the same starts: the tiers share
the model's start distribution), printing the mean ± std of the return and of the episode length
per tier: how much of a trained policy's return survives a change of tier.
"""

from __future__ import annotations

import argparse
import datetime
import functools
import os
import platform
import sys
import time
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np

import gymx
from gymx import bench

TIERS = ("v5", "FastSolver-v5", "Lite-v5")
CHECKPOINTS = (1, 10, 100)


@functools.cache
def trajectory_program(env: Any) -> Any:
    """The jitted rollout of `env` (one compile serves every start)."""
    params = env.default_params

    def one_env(qpos: jax.Array, qvel: jax.Array, actions: jax.Array) -> tuple[jax.Array, jax.Array]:
        data = env.state_from(qpos, qvel, params).data

        def one_step(data: Any, action: jax.Array) -> tuple[Any, tuple[jax.Array, jax.Array]]:
            data, _ = env.simulate(data, action, params)
            return data, (data.qpos, data.qvel)

        return jax.lax.scan(one_step, data, actions)[1]

    return jax.jit(jax.vmap(one_env, in_axes=(0, 0, 1)))


def trajectory(env: Any, qpos: jax.Array, qvel: jax.Array, actions: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """qpos and qvel after each of the (T, N, nu) `actions`, from N starts: (T, N, nq), (T, N, nv)."""
    qpos_t, qvel_t = trajectory_program(env)(qpos, qvel, actions)
    return np.swapaxes(np.asarray(qpos_t), 0, 1), np.swapaxes(np.asarray(qvel_t), 0, 1)


def run_drift(names: Sequence[str], num_envs: int, num_steps: int, tiers: Sequence[str] = TIERS) -> None:
    checkpoints = [t for t in CHECKPOINTS if t <= num_steps]
    header = " | ".join(f"qpos {t}" for t in checkpoints) + " | " + " | ".join(f"qvel {t}" for t in checkpoints)
    print(f"| robot | tier | solver | {header} | compile+run s |")
    print("|---|---|---|" + "---:|" * (2 * len(checkpoints) + 1))
    for name in names:
        faithful = gymx.make(f"{name}-v5").unwrapped
        keys = jax.random.split(jax.random.key(0), num_envs)
        qpos, qvel = jax.vmap(faithful.initial_qpos_qvel, in_axes=(0, None))(keys, faithful.default_params)
        space = faithful.action_space()
        actions = jax.vmap(jax.vmap(space.sample))(
            jax.random.split(jax.random.key(1), (num_steps, num_envs))
        )  # (T, N, nu)
        runs: list[tuple[str, Any, jax.Array]] = [("v5", faithful, qvel)]
        if "v5" in tiers:
            runs.append(("v5, qvel + 1e-6", faithful, qvel + 1e-6))
        for tier in tiers:
            if tier != "v5" and f"{name}{tier}" in gymx.registry:
                runs.append((tier, gymx.make(f"{name}{tier}").unwrapped, qvel))
        reference = None
        for label, env, start_qvel in runs:
            start = time.perf_counter()
            qpos_t, qvel_t = trajectory(env, qpos, start_qvel, actions)
            seconds = time.perf_counter() - start
            if reference is None:
                reference = (qpos_t, qvel_t)
                continue
            qpos_diff = [np.abs(qpos_t[t - 1] - reference[0][t - 1]).max() for t in checkpoints]
            qvel_diff = [np.abs(qvel_t[t - 1] - reference[1][t - 1]).max() for t in checkpoints]
            solver = env.solver
            setting = (
                f"{solver['integrator']}, {solver['iterations']}/{solver['ls_iterations']}, {solver['collisions']}"
            )
            cells = " | ".join(f"{d:.2g}" for d in qpos_diff + qvel_diff)
            print(f"| {name} | {label} | {setting} | {cells} | {seconds:.0f} |", flush=True)


def run_capacity() -> None:
    import gymnasium
    from gymx.envs.mujoco import ENVS

    print("| id | most contacts | most constraint rows | env steps |\n|---|---:|---:|---:|")
    for name, *_ in ENVS:
        options = {"terminate_when_unhealthy": False} if name == "Humanoid" else {}
        env = gymnasium.make(f"{name}-v5", **options).unwrapped
        rng = np.random.default_rng(0)
        contacts = rows = steps = 0
        for episode in range(10):
            env.reset(seed=episode)
            for _ in range(300):
                _, _, terminated, _, _ = env.step(rng.uniform(env.action_space.low, env.action_space.high))
                contacts, rows, steps = max(contacts, env.data.ncon), max(rows, env.data.nefc), steps + 1
                if terminated:
                    break
        print(f"| {name}-v5 | {contacts} | {rows} | {steps} |", flush=True)


def greedy_episodes_program(agent: Any, env_id: str, num_episodes: int) -> Any:
    """The jitted play of `num_episodes` greedy episodes of `agent` on `env_id`: returns, lengths, first obs."""
    from gymx.train.episodes import evaluation_episodes
    from gymx.vector import AutoresetMode, VecEnv

    env = VecEnv(gymx.make(env_id), num_episodes, AutoresetMode.DISABLED)
    limit = env.spec.max_episode_steps if env.spec is not None else None
    if limit is None:
        raise ValueError(f"{env_id} has no time limit")

    def play(policy_state: Any, key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        return evaluation_episodes(env, lambda obs: agent.greedy_action(policy_state, obs), int(limit), key)

    return jax.jit(play)


def run_policy(path: str, num_episodes: int, seed: int, tiers: Sequence[str] = TIERS) -> None:
    from gymx.train import checkpoint

    file = os.path.join(path, "best.safetensors") if os.path.isdir(path) else path
    try:
        agent, states, seeds = checkpoint.load(file)
    except checkpoint.CheckpointError as error:
        raise SystemExit(f"policy: {error}") from None
    base = agent.env_id.removesuffix("-v5")
    name = base.removesuffix("Lite").removesuffix("FastSolver")
    if base == agent.env_id or not name or f"{name}Lite-v5" not in gymx.registry:
        raise SystemExit(
            f"policy: {file} was trained on {agent.env_id}, not on a tier of a MuJoCo robot with a Lite-v5 id"
        )
    # The first seed's policy: one policy played on every tier.
    policy_state = jax.tree_util.tree_map(lambda leaf: leaf[0], states)
    print(f"{agent.algo} trained on {agent.env_id} (seed {seeds[0]}, {file})")
    print(f"{num_episodes} greedy episodes per tier, reset key PRNGKey({seed})\n")
    print(
        "| tier id | return mean ± std | min | max | length mean ± std | start obs max diff from the first row | compile+run s |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    first_obs = None
    for tier in tiers:
        env_id = f"{name}{tier}" if tier != "v5" else f"{name}-v5"
        start = time.perf_counter()
        returns, lengths, obs = jax.device_get(
            greedy_episodes_program(agent, env_id, num_episodes)(policy_state, jax.random.PRNGKey(seed))
        )
        seconds = time.perf_counter() - start
        first_obs = obs if first_obs is None else first_obs
        print(
            f"| {env_id} | {returns.mean():.1f} ± {returns.std():.1f} | {returns.min():.1f} | {returns.max():.1f} | "
            f"{lengths.mean():.0f} ± {lengths.std():.0f} | {np.abs(obs - first_obs).max():.2g} | {seconds:.0f} |",
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("suite", choices=["drift", "capacity", "policy"])
    parser.add_argument("checkpoint", nargs="?", help="policy: a gymx train run folder or checkpoint file")
    parser.add_argument("--envs", nargs="+", default=["Hopper", "Ant", "Humanoid"])
    parser.add_argument(
        "--tiers",
        nargs="+",
        default=list(TIERS),
        choices=TIERS,
        help="drift: v5 adds the perturbed faithful row; policy: the tiers played",
    )
    parser.add_argument("--num-envs", type=int, default=16)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--episodes", type=int, default=10, help="policy: greedy episodes per tier")
    parser.add_argument("--seed", type=int, default=0, help="policy: seed of the episodes' reset keys")
    args = parser.parse_args(argv)
    print(
        f"{datetime.date.today()} · {bench.device_description()} · {platform.machine()} · "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    start = time.perf_counter()
    if args.suite == "drift":
        run_drift(args.envs, args.num_envs, args.steps, args.tiers)
    elif args.suite == "policy":
        if args.checkpoint is None:
            parser.error("policy needs a run folder or checkpoint file")
        if args.episodes < 1:
            parser.error(f"--episodes must be positive, got {args.episodes}")
        run_policy(args.checkpoint, args.episodes, args.seed, args.tiers)
    else:
        run_capacity()
    print(f"\n{' '.join(sys.argv)} · {time.perf_counter() - start:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
