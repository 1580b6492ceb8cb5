"""HalfCheetah: a planar cat-like robot that learns to run forward, as Gymnasium's HalfCheetah-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, control_cost, forward_reward, task_params

# After base, which picks MuJoCo's OpenGL backend before importing it.
from mujoco import mjx

from gymx import struct


class HalfCheetahParams(struct.PyTree):
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.1
    reset_noise_scale: float = 0.1
    physics: PhysicsScales = PhysicsScales()


class HalfCheetah(MujocoEnv[HalfCheetahParams]):
    """A planar two-legged body (torso, back and front thigh, shin and foot) that should run forward.

    Observation: float32 (17,): qpos[1:] (torso height and angle, six joint angles) and qvel
        (9,), unclipped; (18,) with the torso's x when made with
        `exclude_current_positions_from_observation=False`.
    Action: Box(-1, 1, (6,), float32): torques of the back then front thigh, shin and foot joints.
    Reward: float32 forward_reward_weight * x velocity - ctrl_cost_weight * |action|^2; `info`
        has "reward_forward", "reward_ctrl", "x_position", "x_velocity", "physics_diverged"; a
        reset reports "x_position" (the other keys zero).
    Termination: only non-finite physics (the cheetah never falls out of the task).
    Start: qpos0 plus U(-reset_noise_scale, reset_noise_scale) per entry; zero velocity plus
        reset_noise_scale * N(0, 1) per entry.
    Physics: Gymnasium's half_cheetah.xml, frame_skip 5 (dt 0.05 s), the file's solver (Euler).

        env = gymx.make("HalfCheetah-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(6))
    """

    qvel_noise = "normal"  # Gymnasium draws this env's start velocities from a normal distribution
    # Gymnasium's keyword arguments that set params (defaults: HalfCheetahParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("forward_reward_weight", "ctrl_cost_weight", "reset_noise_scale")
    model_file = "half_cheetah.xml"
    default_frame_skip = 5
    capacity = (16, 34)  # MuJoCo Warp's buffers per env (see MujocoEnv.capacity)
    feet = ("bfoot", "ffoot")  # the geoms that touch the floor with collisions="feet"
    camera: dict[str, Any] = {"distance": 4.0}

    def __init__(self, exclude_current_positions_from_observation: bool = True, **options: Any):
        params, model_options = task_params(HalfCheetahParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        self.exclude_current_positions_from_observation = exclude_current_positions_from_observation

    def observe_data(self, data: mjx.Data, params: HalfCheetahParams) -> jax.Array:
        position = data.qpos[1:] if self.exclude_current_positions_from_observation else data.qpos
        return jnp.concatenate([position, data.qvel])

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: HalfCheetahParams,
    ) -> tuple[jax.Array, dict]:
        x_velocity = (after.qpos[0] - before.qpos[0]) / self.dt
        forward = forward_reward(x_velocity, params)
        ctrl = control_cost(action, params)
        info = {
            **self.position_info(after, params),
            "x_velocity": x_velocity,
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
        }
        return forward - ctrl, info

    def position_info(self, data: mjx.Data, params: HalfCheetahParams) -> dict:
        return {"x_position": data.qpos[0]}
