"""The lite tier stays finite: AntLite-v5's settings (Euler, one Newton iteration, feet-only
contacts) blew up within 100 steps while Euler's implicit damping was on."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.mujoco import LITE
from gymx.envs.mujoco.ant import Ant

NUM_ENVS = 8
NUM_STEPS = 250


def test_ant_lite_stays_finite_under_random_actions() -> None:
    # No health rule, so every env keeps stepping (a fallen ant lies on the floor) and only a
    # physics blow-up could end an episode.
    env = Ant(terminate_when_unhealthy=False, **LITE)
    space = env.action_space()

    @jax.jit
    def rollout(key: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
        reset_key, action_key = jax.random.split(key)
        state, _ = jax.vmap(env.reset)(jax.random.split(reset_key, NUM_ENVS))
        actions = jax.vmap(jax.vmap(space.sample))(jax.random.split(action_key, (NUM_STEPS, NUM_ENVS)))

        def one_step(state, action):
            state, ts = jax.vmap(env.step)(state, action)
            speed = jnp.max(jnp.abs(state.data.qvel))
            return state, (ts.info["physics_diverged"], speed)

        state, (diverged, speed) = jax.lax.scan(one_step, state, actions)
        return diverged, speed, state.data.qpos

    diverged, speed, qpos = rollout(jax.random.key(0))
    assert not np.asarray(diverged).any(), f"diverged at steps {np.nonzero(np.asarray(diverged))[0][:5]}"
    assert np.isfinite(qpos).all()
    # A blow-up first shows as velocities growing by orders of magnitude (C MuJoCo with these
    # settings peaks near 20 over 32 episodes of 1,000 steps).
    assert float(np.max(speed)) < 1e3
    # The ant moved: the rollout was not trivially still.
    assert float(np.max(speed)) > 0.5
