"""Humanoid: a 3D biped that learns to walk forward, as Gymnasium's Humanoid-v5.

Also what Humanoid and HumanoidStandup (humanoid_standup.py) share: the observation (joint state
plus the bodies' inertias, velocities, actuator forces and contact forces), the start
distribution, the quadratic control and contact costs, and the solver swap MJX needs.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.mujoco.base import (
    HasPhysics,
    MujocoEnv,
    PhysicsScales,
    forward_reward,
    healthy_reward,
    task_params,
)
from mujoco import mjx

from gymx import struct


def control_cost(ctrl: jax.Array, weight: float) -> jax.Array:
    return jnp.float32(weight) * jnp.sum(jnp.square(ctrl))


def contact_cost(cfrc_ext: jax.Array, weight: float, cost_min: float, cost_max: float) -> jax.Array:
    """weight * |cfrc_ext|^2 over every body, the cost clipped to [cost_min, cost_max]."""
    cost = jnp.float32(weight) * jnp.sum(jnp.square(cfrc_ext))
    return jnp.clip(cost, jnp.float32(cost_min), jnp.float32(cost_max))


P = TypeVar("P", bound=HasPhysics)


class HumanoidBody(MujocoEnv[P], Generic[P]):
    """The humanoid's model, start and observation, shared by Humanoid and HumanoidStandup.

    Observation: float32 (348,): qpos[2:] (22), qvel (23), cinert[1:] (13 bodies x 10),
    cvel[1:] (13 x 6), qfrc_actuator[6:] (17, the joints' actuator forces), cfrc_ext[1:]
    (13 x 6); each of the last four dropped by its `include_..._in_observation=False`, and the
    torso's x, y prepended with `exclude_current_positions_from_observation=False`.
    """

    default_frame_skip = 5

    capacity = (44, 78)  # MuJoCo Warp's buffers per env (see MujocoEnv.capacity)

    feet = ("right_foot", "left_foot")  # the geoms that touch the floor with collisions="feet"
    # The contact cost always reads cfrc_ext (and the observation does by default).
    uses_contact_forces = True

    def __init__(
        self,
        params: P,
        exclude_current_positions_from_observation: bool,
        include_cinert_in_observation: bool,
        include_cvel_in_observation: bool,
        include_qfrc_actuator_in_observation: bool,
        include_cfrc_ext_in_observation: bool,
        xml_file: str | None = None,
        **model_options,
    ):
        super().__init__(params, xml_file=xml_file, **model_options)
        self.exclude_current_positions_from_observation = exclude_current_positions_from_observation
        self.include_cinert_in_observation = include_cinert_in_observation
        self.include_cvel_in_observation = include_cvel_in_observation
        self.include_qfrc_actuator_in_observation = include_qfrc_actuator_in_observation
        self.include_cfrc_ext_in_observation = include_cfrc_ext_in_observation

    def observe_data(self, data: mjx.Data, params: P) -> jax.Array:
        position = data.qpos[2:] if self.exclude_current_positions_from_observation else data.qpos
        parts = [position, data.qvel]
        if self.include_cinert_in_observation:
            parts.append(data._impl.cinert[1:].ravel())
        if self.include_cvel_in_observation:
            parts.append(data.cvel[1:].ravel())
        if self.include_qfrc_actuator_in_observation:
            parts.append(data.qfrc_actuator[6:])
        if self.include_cfrc_ext_in_observation:
            parts.append(data._impl.cfrc_ext[1:].ravel())
        return jnp.concatenate(parts)

    def body_info(self, data: mjx.Data) -> dict:
        """The info keys both envs report about the body: its position and its tendons."""
        return {
            "x_position": data.qpos[0],
            "y_position": data.qpos[1],
            "tendon_length": data.ten_length,
            "tendon_velocity": data._impl.ten_velocity,
        }


class HumanoidParams(struct.PyTree):
    forward_reward_weight: float = 1.25
    ctrl_cost_weight: float = 0.1
    contact_cost_weight: float = 5e-7
    contact_cost_min: float = float("-inf")  # the contact cost is clipped to [min, max]
    contact_cost_max: float = 10.0
    healthy_reward: float = 5.0
    # The torso's height, qpos[2], must stay strictly inside (min, max).
    healthy_z_min: float = 1.0
    healthy_z_max: float = 2.0
    reset_noise_scale: float = 1e-2
    physics: PhysicsScales = PhysicsScales()


class Humanoid(HumanoidBody[HumanoidParams]):
    """A 3D biped (torso, abdomen, pelvis, two three-part legs, two two-part arms; the hips and
    knees joined by tendons) that should walk forward (+x) without falling.

    Observation: float32 (348,): qpos[2:] (22), qvel (23), cinert[1:] (13 bodies x 10),
        cvel[1:] (13 x 6), qfrc_actuator[6:] (17), cfrc_ext[1:] (13 x 6); each of the last four
        dropped by its `include_..._in_observation=False`, and the torso's x, y prepended with
        `exclude_current_positions_from_observation=False`.
    Action: Box(-0.4, 0.4, (17,), float32): torques of the abdomen, hip, knee, shoulder and elbow
        joints.
    Reward: float32 forward_reward_weight * x velocity of the centre of mass (body masses times
        xipos, over dt) + healthy_reward (while healthy) - ctrl_cost_weight * |ctrl|^2 -
        contact_cost_weight * |cfrc_ext|^2 (clipped to contact_cost_range); `info` has
        "reward_survive", "reward_forward", "reward_ctrl", "reward_contact", "x_position",
        "y_position" (qpos), "tendon_length", "tendon_velocity" (both (2,)),
        "distance_from_origin", "x_velocity", "y_velocity" (of the centre of mass),
        "physics_diverged".
    Termination: unhealthy (torso height qpos[2] outside healthy_z_range, bounds excluded) unless
        `terminate_when_unhealthy=False`; or non-finite physics.
    Start: qpos0 and zero velocity, each entry plus U(-reset_noise_scale, reset_noise_scale). The
        reset observation's contact forces are zero, as Gymnasium's.
    Physics: Gymnasium's humanoid.xml, frame_skip 5 (dt 0.015 s), the file's RK4 and iterations,
        with MJX's Newton solver where the file asks for PGS (see `gymx.envs.mujoco.base`).

        env = gymx.make("Humanoid-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(17))
    """

    # Gymnasium's keyword arguments that set params (defaults: HumanoidParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = (
        "forward_reward_weight",
        "ctrl_cost_weight",
        "contact_cost_weight",
        "contact_cost_range",
        "healthy_reward",
        "healthy_z_range",
        "reset_noise_scale",
    )
    model_file = "humanoid.xml"
    camera: dict[str, Any] = {
        "trackbodyid": 1,
        "distance": 4.0,
        "lookat": np.array((0.0, 0.0, 2.0)),
        "elevation": -20.0,
    }

    def __init__(
        self,
        terminate_when_unhealthy: bool = True,
        exclude_current_positions_from_observation: bool = True,
        include_cinert_in_observation: bool = True,
        include_cvel_in_observation: bool = True,
        include_qfrc_actuator_in_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
        **options: Any,
    ):
        params, model_options = task_params(HumanoidParams, self.gymnasium_options, options)
        super().__init__(
            params,
            exclude_current_positions_from_observation,
            include_cinert_in_observation,
            include_cvel_in_observation,
            include_qfrc_actuator_in_observation,
            include_cfrc_ext_in_observation,
            **model_options,
        )
        self.terminate_when_unhealthy = terminate_when_unhealthy
        # The mass-weighted centre of mass uses the file's masses: `PhysicsScales.mass` scales every body
        # alike, which leaves it where it is.
        self.body_mass_fraction = np.asarray(self.mj_model.body_mass / self.mj_model.body_mass.sum(), np.float32)

    def mass_center(self, data: mjx.Data) -> jax.Array:
        """The (x, y) of the centre of mass: body masses times their centres of mass (xipos)."""
        return (self.body_mass_fraction @ data.xipos)[:2]

    def is_healthy(self, data: mjx.Data, params: HumanoidParams) -> jax.Array:
        z = data.qpos[2]
        return (params.healthy_z_min < z) & (z < params.healthy_z_max)

    def task_terminated(self, data: mjx.Data, params: HumanoidParams) -> jax.Array:
        return jnp.logical_and(self.terminate_when_unhealthy, ~self.is_healthy(data, params))

    def position_info(self, data: mjx.Data, params: HumanoidParams) -> dict:
        return {**self.body_info(data), "distance_from_origin": jnp.linalg.norm(data.qpos[:2])}

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: HumanoidParams,
    ) -> tuple[jax.Array, dict]:
        xy_velocity = (self.mass_center(after) - self.mass_center(before)) / self.dt
        forward = forward_reward(xy_velocity[0], params)
        survive = healthy_reward(self.is_healthy(after, params), params)
        ctrl = control_cost(after.ctrl, params.ctrl_cost_weight)
        contact = contact_cost(
            after._impl.cfrc_ext,
            params.contact_cost_weight,
            params.contact_cost_min,
            params.contact_cost_max,
        )
        info = {
            **self.position_info(after, params),
            "x_velocity": xy_velocity[0],
            "y_velocity": xy_velocity[1],
            "reward_survive": survive,
            "reward_forward": forward,
            "reward_ctrl": -ctrl,
            "reward_contact": -contact,
        }
        return forward + survive - ctrl - contact, info
