"""InvertedDoublePendulum: balance two stacked poles on a cart, as Gymnasium's InvertedDoublePendulum-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, task_params
from mujoco import mjx

from gymx import struct


class InvertedDoublePendulumParams(struct.PyTree):
    healthy_reward: float = 10.0
    healthy_y_min: float = 1.0  # the tip's height; at or below it the episode ends
    target_y: float = 2.0  # the tip's height when both poles stand upright
    # The distance penalty: distance_x_weight * x^2 + (y - target_y)^2, of the tip.
    distance_x_weight: float = 0.01
    # The velocity penalty: velocity_weight_pole * (first hinge's angular velocity)^2
    # + velocity_weight_pole2 * (second hinge's angular velocity)^2.
    velocity_weight_pole: float = 1e-3
    velocity_weight_pole2: float = 5e-3
    reset_noise_scale: float = 0.1
    physics: PhysicsScales = PhysicsScales()


def survive_reward(terminated: jax.Array, params: InvertedDoublePendulumParams) -> jax.Array:
    return jnp.where(terminated, 0.0, params.healthy_reward).astype(jnp.float32)


def distance_penalty(tip: jax.Array, params: InvertedDoublePendulumParams) -> jax.Array:
    x, y = tip[0], tip[2]
    return jnp.float32(params.distance_x_weight) * x**2 + (y - jnp.float32(params.target_y)) ** 2


def velocity_penalty(qvel: jax.Array, params: InvertedDoublePendulumParams) -> jax.Array:
    return (
        jnp.float32(params.velocity_weight_pole) * qvel[1] ** 2
        + jnp.float32(params.velocity_weight_pole2) * qvel[2] ** 2
    )


class InvertedDoublePendulum(MujocoEnv[InvertedDoublePendulumParams]):
    """A cart on a rail carrying two poles hinged end to end; push the cart to keep the tip high.

    Observation: float32 (9,): cart position, sin and cos of both hinge angles (sin, sin, cos,
        cos), qvel (cart, pole, pole2) clipped to [-10, 10], and the cart's constraint force
        (the rail's limit, qfrc_constraint[0]) clipped to [-10, 10].
    Action: Box(-1, 1, (1,), float32): the force on the cart (gear 500).
    Reward: float32 healthy_reward (10, while not terminated) - distance penalty
        (0.01 * x^2 + (y - 2)^2, with (x, y) the tip's horizontal position and height) - velocity
        penalty (1e-3 * pole's angular velocity^2 + 5e-3 * second pole's^2); `info` has
        "reward_survive", "distance_penalty", "velocity_penalty" (the two as negative terms),
        "physics_diverged".
    Termination: the tip's height y <= 1, or non-finite physics.
    Start: qpos0 plus U(-reset_noise_scale, reset_noise_scale) per entry; qvel
        reset_noise_scale * N(0, 1) per entry.
    Physics: Gymnasium's inverted_double_pendulum.xml, frame_skip 5 (dt 0.05 s), the file's
        solver (RK4).

        env = gymx.make("InvertedDoublePendulum-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(1))
    """

    qvel_noise = "normal"  # Gymnasium draws this env's start velocities from a normal distribution
    # Gymnasium's keyword arguments that set params (defaults: InvertedDoublePendulumParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("healthy_reward", "reset_noise_scale")
    model_file = "inverted_double_pendulum.xml"
    default_frame_skip = 5
    camera: dict[str, Any] = {
        "trackbodyid": 0,
        "distance": 4.1225,
        "lookat": np.array((0.0, 0.0, 0.1225)),
    }

    def __init__(self, **options: Any):
        params, model_options = task_params(InvertedDoublePendulumParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)

    def observe_data(self, data: mjx.Data, params: InvertedDoublePendulumParams) -> jax.Array:
        angles = data.qpos[1:]
        return jnp.concatenate(
            [
                data.qpos[:1],
                jnp.sin(angles),
                jnp.cos(angles),
                jnp.clip(data.qvel, -10.0, 10.0),
                jnp.clip(data.qfrc_constraint[:1], -10.0, 10.0),
            ]
        )

    def task_terminated(self, data: mjx.Data, params: InvertedDoublePendulumParams) -> jax.Array:
        return data.site_xpos[0, 2] <= params.healthy_y_min

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: InvertedDoublePendulumParams,
    ) -> tuple[jax.Array, dict]:
        survive = survive_reward(self.task_terminated(after, params), params)
        distance = distance_penalty(after.site_xpos[0], params)
        velocity = velocity_penalty(after.qvel, params)
        info = {
            "reward_survive": survive,
            "distance_penalty": -distance,
            "velocity_penalty": -velocity,
        }
        return survive - distance - velocity, info
