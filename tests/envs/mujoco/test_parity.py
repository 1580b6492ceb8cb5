"""Parity with Gymnasium's C-MuJoCo envs of the same ids: from the same qpos/qvel and the same
actions, observations, rewards, reward terms in `info` and termination agree for 20 steps.

MJX computes in float32 and its solver differs in detail from C MuJoCo's, so each env has
tolerances, measured (the largest error seen over several seeds, rounded up) and kept here.
By default one small env runs; `--all` runs every id, the option variants and Hopper on MuJoCo
Warp. The versions are pinned (pyproject's `mjx` extra): mujoco and mujoco-mjx 3.17.0, one
release, so C MuJoCo and MJX integrate alike (mujoco 4.0 changed RK4 for free and ball joints).
"""

from __future__ import annotations

import functools

import gymnasium
import jax
import numpy as np
import pytest
from gymx.envs.mujoco.warp import warp_installed

import gymx

NUM_STEPS = 20


@functools.cache
def compiled(env_id: str, options: tuple = ()) -> tuple:
    env = gymx.make(env_id, max_episode_steps=-1, **dict(options))
    return env, jax.jit(env.reset), jax.jit(env.step)


# id: (atol, rtol) for observations and info values, atol for rewards; measured with
# `python -m pytest tests/envs/mujoco/test_parity.py --all`, see the module docstring.
TOLERANCES: dict[str, tuple[float, float, float]] = {
    "InvertedPendulum-v5": (1e-5, 1e-4, 1e-6),
    "Hopper-v5": (1e-4, 1e-4, 1e-5),
    # Walker2d and HalfCheetah: contact events amplify float32 differences (C MuJoCo itself moves
    # HalfCheetah's obs by up to 0.08 within 20 steps from a 1e-7 relative start perturbation);
    # Reacher: joint1 reaching its limit (a constraint solve) gives qvel errors up to 5e-4.
    "Walker2d-v5": (3e-4, 1e-4, 3e-5),
    "HalfCheetah-v5": (0.2, 1e-4, 1e-2),
    "Swimmer-v5": (1e-5, 1e-4, 1e-6),
    "Reacher-v5": (1e-3, 1e-4, 1e-6),
    "Pusher-v5": (2e-4, 1e-4, 1e-6),
    # Ant: MJX 3.17's plane-capsule contact frame falls back to a fixed tangent when the capsule is
    # steeper than 60 degrees to the floor (C MuJoCo always takes the capsule's axis): that turns
    # the friction pyramid under the ant's lower legs, and qvel differs by O(1) from the first such
    # contact (steps 1-4). With C's rule patched into MJX the state stays within 0.12 over 20 steps,
    # within what C MuJoCo itself moves from 1e-6 start perturbations (up to 0.94, seed 1).
    # HumanoidStandup: lying in contact, C MuJoCo itself moves by up to 2.6 (qvel) within 20 steps
    # from 1e-6 start perturbations (seed 1), and MJX's error per substep from C's states is < 5e-5.
    # Humanoid: contact forces (cfrc_ext, up to 2e3) differ by up to 0.05 (MJX's Newton for the
    # files' PGS, and float32). test_3d_envs.py checks the four tasks tightly on C MuJoCo's states.
    "Ant-v5": (15.0, 1e-4, 3.0),
    "Humanoid-v5": (0.03, 1e-4, 1e-5),
    "HumanoidStandup-v5": (400.0, 1e-4, 0.3),
    "InvertedDoublePendulum-v5": (1e-5, 1e-4, 1e-5),
}
# (id, constructor options); conftest.py runs the MuJoCo ids other than InvertedPendulum only with --all.
CASES = [pytest.param(env_id, (), id=env_id) for env_id in TOLERANCES] + [
    pytest.param(
        "Hopper-v5",
        (("exclude_current_positions_from_observation", False), ("ctrl_cost_weight", 0.1)),
        id="Hopper-v5-options",
    ),
    pytest.param(
        "Walker2d-v5",
        (
            ("exclude_current_positions_from_observation", False),
            ("healthy_angle_range", (-0.5, 0.5)),
            ("forward_reward_weight", 2.0),
            ("frame_skip", 2),
        ),
        id="Walker2d-v5-options",
    ),
    # MuJoCo Warp (impl="warp") on the CPU: a first call compiles for about two minutes.
    pytest.param(
        "Hopper-v5",
        (("impl", "warp"),),
        id="Hopper-v5-warp",
        marks=pytest.mark.skipif(not warp_installed(), reason="needs warp-lang"),
    ),
    pytest.param(
        "Ant-v5",
        (
            ("include_cfrc_ext_in_observation", False),
            ("exclude_current_positions_from_observation", False),
            ("main_body", "torso"),
            ("contact_force_range", (-0.5, 0.5)),
            ("contact_cost_weight", 1e-2),
        ),
        id="Ant-v5-options",
    ),
]


# gymx's own options, which Gymnasium's env does not take.
GYMX_ONLY = {"impl"}


def gymnasium_twin(env_id: str, options: tuple, qpos: np.ndarray, qvel: np.ndarray) -> gymnasium.Env:
    twin = gymnasium.make(env_id, **{k: v for k, v in options if k not in GYMX_ONLY}).unwrapped
    twin.reset(seed=0)
    twin.set_state(np.asarray(qpos, np.float64), np.asarray(qvel, np.float64))
    return twin


@pytest.mark.parametrize("env_id, options", CASES)
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_gymnasium_from_the_same_state(env_id: str, options: tuple, seed: int) -> None:
    env, reset, step = compiled(env_id, options)
    obs_atol, obs_rtol, reward_atol = TOLERANCES[env_id]
    state, ts = reset(jax.random.key(seed))
    data = env.inner_state(state).data
    twin = gymnasium_twin(env_id, options, data.qpos, data.qvel)
    np.testing.assert_allclose(ts.obs, twin._get_obs(), rtol=obs_rtol, atol=obs_atol)
    for key, value in twin._get_reset_info().items():  # Gymnasium's v5 resets report positions
        np.testing.assert_allclose(
            ts.info[key], value, rtol=obs_rtol, atol=obs_atol, err_msg=f"{env_id} reset info[{key!r}]"
        )
    low, high = env.action_space().low, env.action_space().high
    rng = np.random.default_rng(seed)
    for t in range(NUM_STEPS):
        action = rng.uniform(low, high).astype(np.float32)
        obs, reward, terminated, _, info = twin.step(action)
        state, ts = step(state, action)
        where = f"{env_id} step {t}"
        np.testing.assert_allclose(ts.obs, obs, rtol=obs_rtol, atol=obs_atol, err_msg=where)
        np.testing.assert_allclose(float(ts.reward), reward, atol=reward_atol, rtol=obs_rtol, err_msg=where)
        assert bool(ts.terminated) == terminated, where
        for key, value in info.items():
            np.testing.assert_allclose(
                ts.info[key], value, rtol=obs_rtol, atol=obs_atol, err_msg=f"{where} info[{key!r}]"
            )
        if terminated:
            break
