"""InvertedPendulum: balance a pole on a cart, as Gymnasium's InvertedPendulum-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, task_params
from mujoco import mjx

from gymx import struct


class InvertedPendulumParams(struct.PyTree):
    max_pole_angle: float = 0.2  # radians; beyond it the episode ends
    reset_noise_scale: float = 0.01
    physics: PhysicsScales = PhysicsScales()


def survive_reward(pole_fell: jax.Array) -> jax.Array:
    return jnp.where(pole_fell, 0.0, 1.0).astype(jnp.float32)


class InvertedPendulum(MujocoEnv[InvertedPendulumParams]):
    """A cart on a rail with a hinged pole on top; push the cart to keep the pole upright.

    Observation: float32 (4,): cart position, pole angle, cart velocity, pole angular velocity
        (qpos then qvel).
    Action: Box(-3, 3, (1,), float32): the force on the cart.
    Reward: float32 1 for every step the pole stays within max_pole_angle (0.2 rad), 0 on the
        step it falls; `info` has "reward_survive" and "physics_diverged".
    Termination: |pole angle| > max_pole_angle, or non-finite physics.
    Start: qpos0 and zero velocity, each entry plus U(-reset_noise_scale, reset_noise_scale).
    Physics: Gymnasium's inverted_pendulum.xml, frame_skip 2 (dt 0.04 s), the file's solver.

        env = gymx.make("InvertedPendulum-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(1))
    """

    # Gymnasium's keyword arguments that set params (defaults: InvertedPendulumParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("reset_noise_scale",)
    model_file = "inverted_pendulum.xml"
    default_frame_skip = 2
    camera: dict[str, Any] = {"trackbodyid": 0, "distance": 2.04}

    def __init__(self, **options: Any):
        params, model_options = task_params(InvertedPendulumParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)

    def observe_data(self, data: mjx.Data, params: InvertedPendulumParams) -> jax.Array:
        return jnp.concatenate([data.qpos, data.qvel])

    def task_terminated(self, data: mjx.Data, params: InvertedPendulumParams) -> jax.Array:
        return jnp.abs(data.qpos[1]) > params.max_pole_angle

    def task_outcome(
        self, before: mjx.Data, after: mjx.Data, action: jax.Array, params: InvertedPendulumParams
    ) -> tuple[jax.Array, dict]:
        survive = survive_reward(self.task_terminated(after, params))
        return survive, {"reward_survive": survive}
