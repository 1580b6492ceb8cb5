"""Start distributions of Walker2d, HalfCheetah, Swimmer, Reacher and Pusher against Gymnasium's
rules: Reacher's goal uniform in the open disc of radius 0.2, Pusher's cylinder by its rejection
rule (compared with Gymnasium's own sampler run in NumPy), and each env's reset noise. No physics
is compiled: only the samplers run."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.mujoco.pusher import sample_object_qpos
from gymx.envs.mujoco.reacher import sample_goal

import gymx

N = 20_000


@functools.cache
def starts(env_id: str) -> tuple[np.ndarray, np.ndarray]:
    env = gymx.make(env_id).unwrapped
    keys = jax.random.split(jax.random.key(0), N)
    sample = jax.jit(jax.vmap(lambda key: env.initial_qpos_qvel(key, env.default_params)))
    qpos, qvel = sample(keys)
    assert qpos.dtype == qvel.dtype == jnp.float32
    return np.asarray(qpos), np.asarray(qvel)


def test_reacher_goal_is_uniform_in_the_open_disc() -> None:
    goals = np.asarray(jax.jit(jax.vmap(sample_goal))(jax.random.split(jax.random.key(1), N)))
    radius = np.linalg.norm(goals, axis=-1)
    assert radius.max() < 0.2
    # Uniform on the disc: P(r < s) = (s / 0.2)^2, and the angle is uniform.
    for s in (0.05, 0.1, 0.15):
        assert abs(np.mean(radius < s) - (s / 0.2) ** 2) < 0.015
    angle = np.arctan2(goals[:, 1], goals[:, 0])
    counts = np.histogram(angle, bins=8, range=(-np.pi, np.pi))[0]
    assert np.all(np.abs(counts / N - 1 / 8) < 0.015)


def gymnasium_cylinder(rng: np.random.Generator) -> np.ndarray:
    """Gymnasium's Pusher rule, in NumPy: redraw until farther than 0.17 from the goal."""
    while True:
        position = np.array([rng.uniform(-0.3, 0.0), rng.uniform(-0.2, 0.2)])
        if np.linalg.norm(position) > 0.17:
            return position


def test_pusher_cylinder_matches_gymnasiums_rejection_rule() -> None:
    ours = np.asarray(jax.jit(jax.vmap(sample_object_qpos))(jax.random.split(jax.random.key(2), N)))
    rng = np.random.default_rng(0)
    theirs = np.stack([gymnasium_cylinder(rng) for _ in range(N)])
    assert np.all(np.linalg.norm(ours, axis=-1) > 0.17)
    assert np.all((ours[:, 0] >= -0.3) & (ours[:, 0] <= 0.0) & (ours[:, 1] >= -0.2) & (ours[:, 1] <= 0.2))
    # The same distribution: every cell of a 6 x 8 grid over the rectangle holds the same
    # fraction of both samples (within 5 standard errors of a difference of two frequencies).
    bins, box = (6, 8), ((-0.3, 0.0), (-0.2, 0.2))
    ours_cells = np.histogram2d(ours[:, 0], ours[:, 1], bins=bins, range=box)[0] / N
    theirs_cells = np.histogram2d(theirs[:, 0], theirs[:, 1], bins=bins, range=box)[0] / N
    standard_error = np.sqrt(2 * np.maximum(theirs_cells, 1 / N) / N)
    assert np.all(np.abs(ours_cells - theirs_cells) < 5 * standard_error + 1e-9)


def test_reacher_and_pusher_starts() -> None:
    qpos, qvel = starts("Reacher-v5")
    assert np.all(np.abs(qpos[:, :2]) <= 0.1) and np.all(np.linalg.norm(qpos[:, 2:], axis=-1) < 0.2)
    assert np.all(np.abs(qvel[:, :2]) <= 0.005) and np.all(qvel[:, 2:] == 0)
    qpos, qvel = starts("Pusher-v5")
    assert np.all(qpos[:, :7] == 0) and np.all(qpos[:, 9:] == 0)
    assert np.all(np.linalg.norm(qpos[:, 7:9], axis=-1) > 0.17)
    assert np.all(np.abs(qvel[:, :7]) <= 0.005) and np.all(qvel[:, 7:] == 0)
    assert qvel[:, :7].std() > 0.002  # U(-0.005, 0.005) has standard deviation 0.0029


@pytest.mark.parametrize(
    "name, scale",
    [("Walker2d-v5", 5e-3), ("HalfCheetah-v5", 0.1), ("Swimmer-v5", 0.1)],
)
def test_reset_noise(name: str, scale: float) -> None:
    # Samplers only (no physics compiles), so these run without --all, unlike `env_id` tests.
    qpos, qvel = starts(name)
    qpos0 = gymx.make(name).unwrapped.init_qpos
    # qpos ~ qpos0 + U(-scale, scale) in all three.
    assert np.all(np.abs(qpos - qpos0) <= scale)
    assert abs((qpos - qpos0).std() - scale / np.sqrt(3)) < 0.02 * scale
    if name == "HalfCheetah-v5":  # qvel ~ scale * N(0, 1)
        assert abs(qvel.std() - scale) < 0.02 * scale and np.abs(qvel).max() > 3 * scale
    else:  # qvel ~ U(-scale, scale)
        assert np.all(np.abs(qvel) <= scale)
        assert abs(qvel.std() - scale / np.sqrt(3)) < 0.02 * scale
