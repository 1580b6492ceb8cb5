"""Ant: a four-legged robot that learns to walk forward, as Gymnasium's Ant-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import (
    MujocoEnv,
    PhysicsScales,
    control_cost,
    forward_reward,
    healthy_reward,
    task_params,
)
from mujoco import mj_name2id, mjtObj, mjx

from gymx import struct


class AntParams(struct.PyTree):
    forward_reward_weight: float = 1.0
    ctrl_cost_weight: float = 0.5
    contact_cost_weight: float = 5e-4
    healthy_reward: float = 1.0
    # The torso's height, qpos[2], must stay inside [min, max] (bounds included).
    healthy_z_min: float = 0.2
    healthy_z_max: float = 1.0
    # Every cfrc_ext entry is clipped to [min, max] (in the observation and the cost).
    contact_force_min: float = -1.0
    contact_force_max: float = 1.0
    reset_noise_scale: float = 0.1
    physics: PhysicsScales = PhysicsScales()


def contact_cost(contact_forces: jax.Array, params: AntParams) -> jax.Array:
    return jnp.float32(params.contact_cost_weight) * jnp.sum(jnp.square(contact_forces))


class Ant(MujocoEnv[AntParams]):
    """A 3D quadruped (a torso on a free joint, four two-part legs) that should walk forward (+x).

    Observation: float32 (105,): qpos[2:] (torso height, orientation quaternion, 8 joint angles;
        13), qvel (14), and every body's contact force cfrc_ext but the world's (13 bodies x 6)
        clipped to contact_force_range; (27,) with `include_cfrc_ext_in_observation=False`; two
        more (the torso's x, y) with `exclude_current_positions_from_observation=False`.
    Action: Box(-1, 1, (8,), float32): torques of the 8 hip and ankle hinges.
    Reward: float32 forward_reward_weight * x velocity of `main_body` (its frame position xpos,
        over dt) + healthy_reward (while healthy) - ctrl_cost_weight * |action|^2 -
        contact_cost_weight * |clipped cfrc_ext|^2; `info` has "reward_forward", "reward_ctrl",
        "reward_contact", "reward_survive", "x_position", "y_position", "distance_from_origin"
        (of qpos[:2]), "x_velocity", "y_velocity", "physics_diverged".
    Termination: unhealthy (non-finite state, or torso height qpos[2] outside healthy_z_range,
        bounds included as healthy) unless `terminate_when_unhealthy=False`; or non-finite physics.
    Start: qpos0 plus U(-reset_noise_scale, reset_noise_scale) per entry (the quaternion too, as
        Gymnasium does); qvel reset_noise_scale * N(0, 1) per entry. The reset observation's
        contact forces are zero, as Gymnasium's (its reset does not compute cfrc_ext).
    Physics: Gymnasium's ant.xml, frame_skip 5 (dt 0.05 s), the file's solver (RK4). One known
        difference from C MuJoCo: MJX 3.17 gives a capsule touching the floor at more than 60
        degrees a fixed friction frame where C MuJoCo takes the capsule's axis, which turns the
        (pyramidal) friction cone under the ant's lower legs, so trajectories part from
        Gymnasium's after such contacts (see tests/envs/mujoco/test_parity.py).

        env = gymx.make("Ant-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(8))
    """

    qvel_noise = "normal"  # Gymnasium draws this env's start velocities from a normal distribution
    # Gymnasium's keyword arguments that set params (defaults: AntParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = (
        "forward_reward_weight",
        "ctrl_cost_weight",
        "contact_cost_weight",
        "healthy_reward",
        "healthy_z_range",
        "contact_force_range",
        "reset_noise_scale",
    )
    model_file = "ant.xml"
    default_frame_skip = 5
    capacity = (12, 30)  # MuJoCo Warp's buffers per env (see MujocoEnv.capacity)
    feet = (
        "left_ankle_geom",
        "right_ankle_geom",
        "third_ankle_geom",
        "fourth_ankle_geom",
    )  # the geoms that touch the floor with collisions="feet"
    camera: dict[str, Any] = {"distance": 4.0}
    # The contact cost always reads cfrc_ext (and the observation does by default).
    uses_contact_forces = True

    def __init__(
        self,
        main_body: int | str = 1,
        terminate_when_unhealthy: bool = True,
        exclude_current_positions_from_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
        **options: Any,
    ):
        params, model_options = task_params(AntParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        if isinstance(main_body, str):
            body = mj_name2id(self.mj_model, mjtObj.mjOBJ_BODY, main_body)
            if body < 0:
                raise ValueError(f"Ant: main_body {main_body!r} is not a body of the model")
        else:
            body = int(main_body)
            if not 0 <= body < self.mj_model.nbody:
                raise ValueError(
                    f"Ant: main_body {main_body} is not a body index (the model has {self.mj_model.nbody})"
                )
        self.main_body = body
        self.terminate_when_unhealthy = terminate_when_unhealthy
        self.exclude_current_positions_from_observation = exclude_current_positions_from_observation
        self.include_cfrc_ext_in_observation = include_cfrc_ext_in_observation

    def contact_forces(self, data: mjx.Data, params: AntParams) -> jax.Array:
        """cfrc_ext of every body (the world's row included), clipped to contact_force_range."""
        return jnp.clip(data._impl.cfrc_ext, params.contact_force_min, params.contact_force_max)

    def observe_data(self, data: mjx.Data, params: AntParams) -> jax.Array:
        position = data.qpos[2:] if self.exclude_current_positions_from_observation else data.qpos
        parts = [position, data.qvel]
        if self.include_cfrc_ext_in_observation:
            parts.append(self.contact_forces(data, params)[1:].ravel())
        return jnp.concatenate(parts)

    def is_healthy(self, data: mjx.Data, params: AntParams) -> jax.Array:
        z = data.qpos[2]
        finite = jnp.all(jnp.isfinite(data.qpos)) & jnp.all(jnp.isfinite(data.qvel))
        return finite & (params.healthy_z_min <= z) & (z <= params.healthy_z_max)

    def task_terminated(self, data: mjx.Data, params: AntParams) -> jax.Array:
        return jnp.logical_and(self.terminate_when_unhealthy, ~self.is_healthy(data, params))

    def position_info(self, data: mjx.Data, params: AntParams) -> dict:
        return {
            "x_position": data.qpos[0],
            "y_position": data.qpos[1],
            "distance_from_origin": jnp.linalg.norm(data.qpos[:2]),
        }

    def task_outcome(
        self, before: mjx.Data, after: mjx.Data, action: jax.Array, params: AntParams
    ) -> tuple[jax.Array, dict]:
        xy_velocity = (after.xpos[self.main_body, :2] - before.xpos[self.main_body, :2]) / self.dt
        forward = forward_reward(xy_velocity[0], params)
        survive = healthy_reward(self.is_healthy(after, params), params)
        ctrl = control_cost(action, params)
        contact = contact_cost(self.contact_forces(after, params), params)
        info = {
            **self.position_info(after, params),
            "x_velocity": xy_velocity[0],
            "y_velocity": xy_velocity[1],
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_contact": -contact,
            "reward_survive": survive,
        }
        return forward + survive - ctrl - contact, info
