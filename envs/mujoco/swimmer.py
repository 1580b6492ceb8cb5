"""Swimmer: a three-segment snake that learns to swim forward in a viscous fluid, as Gymnasium's Swimmer-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, control_cost, forward_reward, task_params

# After base, which picks MuJoCo's OpenGL backend before importing it.
from mujoco import mjx

from gymx import struct


class SwimmerParams(struct.PyTree):
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 1e-4
    reset_noise_scale: float = 0.1
    physics: PhysicsScales = PhysicsScales()


class Swimmer(MujocoEnv[SwimmerParams]):
    """Three capsules joined by two rotors, in a viscous fluid; it should swim along +x.

    Observation: float32 (8,): qpos[2:] (the front segment's heading, two rotor angles) and
        qvel (5,); (10,) with the front segment's x and y when made with
        `exclude_current_positions_from_observation=False`.
    Action: Box(-1, 1, (2,), float32): torques of the two rotors.
    Reward: float32 forward_reward_weight * x velocity - ctrl_cost_weight * |action|^2; `info`
        has "reward_forward", "reward_ctrl", "x_position", "y_position", "distance_from_origin",
        "x_velocity", "y_velocity", "physics_diverged"; a reset reports "x_position",
        "y_position" and "distance_from_origin" (the other keys zero).
    Termination: only non-finite physics.
    Start: qpos0 and zero velocity, each entry plus U(-reset_noise_scale, reset_noise_scale).
    Physics: Gymnasium's swimmer.xml (fluid viscosity 0.1, density 4000), frame_skip 4
        (dt 0.04 s), the file's solver (RK4).

        env = gymx.make("Swimmer-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(2))
    """

    # Gymnasium's keyword arguments that set params (defaults: SwimmerParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("forward_reward_weight", "ctrl_cost_weight", "reset_noise_scale")
    model_file = "swimmer.xml"
    default_frame_skip = 4
    # Gymnasium's Swimmer has no default camera config: MuJoCo's default free camera.

    def __init__(self, exclude_current_positions_from_observation: bool = True, **options: Any):
        params, model_options = task_params(SwimmerParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        self.exclude_current_positions_from_observation = exclude_current_positions_from_observation

    def observe_data(self, data: mjx.Data, params: SwimmerParams) -> jax.Array:
        position = data.qpos[2:] if self.exclude_current_positions_from_observation else data.qpos
        return jnp.concatenate([position, data.qvel])

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: SwimmerParams,
    ) -> tuple[jax.Array, dict]:
        xy_velocity = (after.qpos[:2] - before.qpos[:2]) / self.dt
        forward = forward_reward(xy_velocity[0], params)
        ctrl = control_cost(action, params)
        info = {
            **self.position_info(after, params),
            "x_velocity": xy_velocity[0],
            "y_velocity": xy_velocity[1],
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
        }
        return forward - ctrl, info

    def position_info(self, data: mjx.Data, params: SwimmerParams) -> dict:
        return {
            "x_position": data.qpos[0],
            "y_position": data.qpos[1],
            "distance_from_origin": jnp.linalg.norm(data.qpos[:2]),
        }
