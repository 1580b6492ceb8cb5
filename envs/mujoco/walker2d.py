"""Walker2d: a two-legged planar robot that learns to walk forward, as Gymnasium's Walker2d-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.mujoco.base import (
    MujocoEnv,
    PhysicsScales,
    control_cost,
    forward_reward,
    healthy_reward,
    task_params,
)

# After base, which picks MuJoCo's OpenGL backend before importing it.
from mujoco import mjx

from gymx import struct


class Walker2dParams(struct.PyTree):
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 1e-3
    healthy_reward: float = 1.0
    # The torso's height, qpos[1], must stay strictly inside (min, max).
    healthy_z_min: float = 0.8
    healthy_z_max: float = 2.0
    healthy_angle_min: float = -1.0  # the torso's pitch, qpos[2], radians
    healthy_angle_max: float = 1.0
    reset_noise_scale: float = 5e-3
    physics: PhysicsScales = PhysicsScales()


class Walker2d(MujocoEnv[Walker2dParams]):
    """A planar biped (torso and two legs of thigh, leg and foot) that should walk forward.

    Observation: float32 (17,): qpos[1:] (torso height and angle, six joint angles) and qvel
        (9,) clipped to [-10, 10]; (18,) with the torso's x when made with
        `exclude_current_positions_from_observation=False`.
    Action: Box(-1, 1, (6,), float32): torques of the right then left thigh, leg and foot joints.
    Reward: float32 forward_reward_weight * x velocity + healthy_reward (while healthy)
        - ctrl_cost_weight * |action|^2; `info` has "reward_forward", "reward_ctrl",
        "reward_survive", "x_position", "z_distance_from_origin", "x_velocity",
        "physics_diverged"; a reset reports "x_position" and "z_distance_from_origin" (the
        other keys zero).
    Termination: unhealthy (torso height outside healthy_z_range or angle outside
        healthy_angle_range) unless `terminate_when_unhealthy=False`; or non-finite physics.
    Start: qpos0 and zero velocity, each entry plus U(-reset_noise_scale, reset_noise_scale).
    Physics: Gymnasium's walker2d_v5.xml (both feet with friction 1.9), frame_skip 4
        (dt 0.008 s), the file's solver (RK4).

        env = gymx.make("Walker2d-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(6))
    """

    # Gymnasium's keyword arguments that set params (defaults: Walker2dParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = (
        "forward_reward_weight",
        "ctrl_cost_weight",
        "healthy_reward",
        "healthy_z_range",
        "healthy_angle_range",
        "reset_noise_scale",
    )
    model_file = "walker2d_v5.xml"
    default_frame_skip = 4
    capacity = (12, 28)  # MuJoCo Warp's buffers per env (see MujocoEnv.capacity)
    feet = ("foot_geom", "foot_left_geom")  # the geoms that touch the floor with collisions="feet"
    camera: dict[str, Any] = {
        "trackbodyid": 2,
        "distance": 4.0,
        "lookat": np.array((0.0, 0.0, 1.15)),
        "elevation": -20.0,
    }

    def __init__(
        self,
        terminate_when_unhealthy: bool = True,
        exclude_current_positions_from_observation: bool = True,
        **options: Any,
    ):
        params, model_options = task_params(Walker2dParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        self.terminate_when_unhealthy = terminate_when_unhealthy
        self.exclude_current_positions_from_observation = exclude_current_positions_from_observation

    def observe_data(self, data: mjx.Data, params: Walker2dParams) -> jax.Array:
        position = data.qpos[1:] if self.exclude_current_positions_from_observation else data.qpos
        return jnp.concatenate([position, jnp.clip(data.qvel, -10.0, 10.0)])

    def is_healthy(self, data: mjx.Data, params: Walker2dParams) -> jax.Array:
        z, angle = data.qpos[1], data.qpos[2]
        healthy_z = (params.healthy_z_min < z) & (z < params.healthy_z_max)
        healthy_angle = (params.healthy_angle_min < angle) & (angle < params.healthy_angle_max)
        return healthy_z & healthy_angle

    def task_terminated(self, data: mjx.Data, params: Walker2dParams) -> jax.Array:
        return jnp.logical_and(self.terminate_when_unhealthy, ~self.is_healthy(data, params))

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: Walker2dParams,
    ) -> tuple[jax.Array, dict]:
        x_velocity = (after.qpos[0] - before.qpos[0]) / self.dt
        forward = forward_reward(x_velocity, params)
        survive = healthy_reward(self.is_healthy(after, params), params)
        ctrl = control_cost(action, params)
        info = {
            **self.position_info(after, params),
            "x_velocity": x_velocity,
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_survive": survive,
        }
        return forward + survive - ctrl, info

    def position_info(self, data: mjx.Data, params: Walker2dParams) -> dict:
        return {"x_position": data.qpos[0], "z_distance_from_origin": data.qpos[1] - self.init_qpos[1]}
