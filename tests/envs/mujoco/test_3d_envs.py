"""Ant, Humanoid, HumanoidStandup and InvertedDoublePendulum on their own: observations, rewards,
info and termination of C MuJoCo's own states (tight, free of MJX's physics differences, which
test_parity.py measures), reset noise against Gymnasium's rules (uniform or normal), observation
sizes of the keyword options against Gymnasium's spaces, Ant's `main_body`, and the humanoid
models (Gymnasium's files bit for bit, with Newton for the PGS solver MJX lacks). No physics step
is compiled: only samplers, observations and rewards run."""

from __future__ import annotations

import functools

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

# Through base, which picks MuJoCo's off-screen GL backend before `mujoco` is first imported (a
# plain `import mujoco` here, collected first, would leave later renders in the session without one).
from gymx.envs.mujoco.base import mjx, mujoco

import gymx

N = 20_000


# (id, constructor options): Gymnasium's defaults and, for Ant, every task option changed.
TASKS = [
    ("Ant-v5", {}),
    (
        "Ant-v5",
        {
            "include_cfrc_ext_in_observation": False,
            "exclude_current_positions_from_observation": False,
            "main_body": "torso",
            "contact_force_range": (-0.5, 0.5),
            "contact_cost_weight": 1e-2,
            "healthy_z_range": (0.3, 0.9),
            "terminate_when_unhealthy": False,
        },
    ),
    ("Humanoid-v5", {}),
    ("HumanoidStandup-v5", {}),
    ("InvertedDoublePendulum-v5", {}),
]


@pytest.mark.parametrize("env_id, options", TASKS, ids=[f"{i}-{len(o)}-options" for i, o in TASKS])
def test_task_of_gymnasiums_own_states(env_id: str, options: dict) -> None:
    """Our observation, reward, info and termination of the C MuJoCo data before and after each of
    Gymnasium's steps equal Gymnasium's (to float32 rounding)."""
    env = gymx.make(env_id, **options).unwrapped
    params = env.default_params
    twin = gymnasium.make(env_id, **options).unwrapped
    twin.reset(seed=0)
    rng = np.random.default_rng(0)
    low, high = env.action_space().low, env.action_space().high
    for t in range(20):
        action = rng.uniform(low, high).astype(np.float32)
        before = mjx.put_data(twin.model, twin.data)
        obs, reward, terminated, _, info = twin.step(action)
        after = mjx.put_data(twin.model, twin.data)
        where = f"{env_id} step {t}"
        np.testing.assert_allclose(env.observe_data(after, params), obs, rtol=1e-5, atol=1e-5, err_msg=where)
        ours_reward, ours_info = env.task_outcome(before, after, jnp.asarray(action), params)
        assert ours_reward.dtype == jnp.float32
        np.testing.assert_allclose(ours_reward, reward, rtol=1e-5, atol=1e-5, err_msg=where)
        assert bool(env.task_terminated(after, params)) == terminated, where
        assert set(info) <= set(ours_info), where
        for key, value in info.items():
            np.testing.assert_allclose(
                ours_info[key],
                value,
                rtol=1e-5,
                atol=1e-5,
                err_msg=f"{where} info[{key!r}]",
            )
        if terminated:
            break


@functools.cache
def starts(env_id: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    env = gymx.make(env_id).unwrapped
    keys = jax.random.split(jax.random.key(0), N)
    sample = jax.jit(jax.vmap(lambda key: env.initial_qpos_qvel(key, env.default_params)))
    qpos, qvel = sample(keys)
    assert qpos.dtype == qvel.dtype == jnp.float32
    return np.asarray(qpos), np.asarray(qvel), env.init_qpos


@pytest.mark.parametrize(
    "env_id, scale, normal_qvel",
    [
        ("Ant-v5", 0.1, True),
        ("InvertedDoublePendulum-v5", 0.1, True),
        ("Humanoid-v5", 1e-2, False),
        ("HumanoidStandup-v5", 1e-2, False),
    ],
)
def test_reset_noise(env_id: str, scale: float, normal_qvel: bool) -> None:
    qpos, qvel, qpos0 = starts(env_id)
    # qpos ~ qpos0 + U(-scale, scale) in all four (the free joint's quaternion too).
    assert np.all(np.abs(qpos - qpos0) <= scale)
    assert abs((qpos - qpos0).std() - scale / np.sqrt(3)) < 0.02 * scale
    if normal_qvel:  # qvel ~ scale * N(0, 1)
        assert abs(qvel.std() - scale) < 0.02 * scale and np.abs(qvel).max() > 3 * scale
    else:  # qvel ~ U(-scale, scale)
        assert np.all(np.abs(qvel) <= scale)
        assert abs(qvel.std() - scale / np.sqrt(3)) < 0.02 * scale


OPTIONS = [
    ("Ant-v5", {}),
    ("Ant-v5", {"include_cfrc_ext_in_observation": False}),
    ("Ant-v5", {"exclude_current_positions_from_observation": False}),
    ("InvertedDoublePendulum-v5", {}),
    ("Humanoid-v5", {}),
    (
        "Humanoid-v5",
        {
            "include_cinert_in_observation": False,
            "include_cfrc_ext_in_observation": False,
        },
    ),
    (
        "HumanoidStandup-v5",
        {
            "include_cvel_in_observation": False,
            "include_qfrc_actuator_in_observation": False,
        },
    ),
    ("HumanoidStandup-v5", {"exclude_current_positions_from_observation": False}),
]


@pytest.mark.parametrize(
    "env_id, options",
    OPTIONS,
    ids=[f"{i}-{'-'.join(o) or 'default'}" for i, o in OPTIONS],
)
def test_observation_size_matches_gymnasium(env_id: str, options: dict) -> None:
    ours = gymx.make(env_id, **options).observation_space()
    assert ours.shape == gymnasium.make(env_id, **options).observation_space.shape
    assert ours.dtype == jnp.float32


def test_ant_main_body_by_name_or_index() -> None:
    assert gymx.make("Ant-v5", main_body="torso").unwrapped.main_body == 1
    assert gymx.make("Ant-v5", main_body=3).unwrapped.main_body == 3
    with pytest.raises(ValueError, match="main_body"):
        gymx.make("Ant-v5", main_body="tail")


@pytest.mark.parametrize("env_id", ["Humanoid-v5", "HumanoidStandup-v5"])
def test_humanoid_models_are_gymnasiums_with_newton(env_id: str) -> None:
    ours = gymx.make(env_id).unwrapped.mj_model
    theirs = gymnasium.make(env_id).unwrapped.model
    assert theirs.opt.solver == mujoco.mjtSolver.mjSOL_PGS
    assert ours.opt.solver == mujoco.mjtSolver.mjSOL_NEWTON
    for field in (
        "timestep",
        "integrator",
        "iterations",
        "ls_iterations",
        "cone",
        "tolerance",
    ):
        assert getattr(ours.opt, field) == getattr(theirs.opt, field), field
    for field in (
        "body_mass",
        "body_inertia",
        "body_pos",
        "body_quat",
        "geom_size",
        "geom_pos",
        "geom_friction",
        "geom_margin",
        "jnt_range",
        "dof_damping",
        "dof_armature",
        "jnt_stiffness",
        "actuator_gear",
        "actuator_ctrlrange",
        "wrap_prm",
        "qpos0",
    ):
        np.testing.assert_array_equal(getattr(ours, field), getattr(theirs, field), err_msg=field)
