"""HumanoidStandup: a humanoid lying on the ground learns to stand up, as Gymnasium's HumanoidStandup-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.mujoco.base import PhysicsScales, task_params
from gymx.envs.mujoco.humanoid import HumanoidBody, contact_cost, control_cost
from mujoco import mjx

from gymx import struct


class HumanoidStandupParams(struct.PyTree):
    ctrl_cost_weight: float = 0.1
    impact_cost_weight: float = 0.5e-6
    impact_cost_min: float = float("-inf")  # the impact cost is clipped to [min, max]
    impact_cost_max: float = 10.0
    # Added every step: Gymnasium's constant +1, with no info key of its own.
    alive_bonus: float = 1.0
    reset_noise_scale: float = 1e-2
    physics: PhysicsScales = PhysicsScales()


def uphill_reward(z: jax.Array, timestep: float) -> jax.Array:
    # The torso's height over the model's timestep (not dt, and not a difference of heights), as
    # Gymnasium's v5 computes it, with no weight (its `uph_cost_weight` is accepted, never applied).
    return z / jnp.float32(timestep)


class HumanoidStandup(HumanoidBody[HumanoidStandupParams]):
    """The humanoid of Humanoid-v5, lying on the ground, that should stand up (raise its torso).

    Observation: float32 (348,): qpos[2:] (22), qvel (23), cinert[1:] (13 bodies x 10),
        cvel[1:] (13 x 6), qfrc_actuator[6:] (17), cfrc_ext[1:] (13 x 6); each of the last four
        dropped by its `include_..._in_observation=False`, and the torso's x, y prepended with
        `exclude_current_positions_from_observation=False`.
    Action: Box(-0.4, 0.4, (17,), float32): torques of the abdomen, hip, knee, shoulder and elbow
        joints.
    Reward: float32 torso height qpos[2] / the model's timestep (0.003 s; not dt) -
        ctrl_cost_weight * |ctrl|^2 - impact_cost_weight * |cfrc_ext|^2 (clipped to
        impact_cost_range) + 1; `info` has "reward_linup", "reward_quadctrl", "reward_impact",
        "x_position", "y_position", "z_distance_from_origin" (qpos[2] - its start),
        "tendon_length", "tendon_velocity" (both (2,)), "physics_diverged". `uph_cost_weight`
        is accepted and, as in Gymnasium, has no effect.
    Termination: never, but on non-finite physics (the time limit truncates).
    Start: qpos0 and zero velocity, each entry plus U(-reset_noise_scale, reset_noise_scale). The
        reset observation's contact forces are zero, as Gymnasium's.
    Physics: Gymnasium's humanoidstandup.xml, frame_skip 5 (dt 0.015 s), the file's RK4 and
        iterations, with MJX's Newton solver where the file asks for PGS (see
        `gymx.envs.mujoco.base`).

        env = gymx.make("HumanoidStandup-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(17))
    """

    # Gymnasium's keyword arguments that set params (defaults: HumanoidStandupParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = (
        "ctrl_cost_weight",
        "impact_cost_weight",
        "impact_cost_range",
        "reset_noise_scale",
    )
    model_file = "humanoidstandup.xml"
    camera: dict[str, Any] = {
        "trackbodyid": 1,
        "distance": 4.0,
        "lookat": np.array((0.0, 0.0, 0.8925)),
        "elevation": -20.0,
    }

    def __init__(
        self,
        uph_cost_weight: float = 1.0,
        exclude_current_positions_from_observation: bool = True,
        include_cinert_in_observation: bool = True,
        include_cvel_in_observation: bool = True,
        include_qfrc_actuator_in_observation: bool = True,
        include_cfrc_ext_in_observation: bool = True,
        **options: Any,
    ):
        params, model_options = task_params(HumanoidStandupParams, self.gymnasium_options, options)
        super().__init__(
            params,
            exclude_current_positions_from_observation,
            include_cinert_in_observation,
            include_cvel_in_observation,
            include_qfrc_actuator_in_observation,
            include_cfrc_ext_in_observation,
            **model_options,
        )
        # Accepted as Gymnasium accepts it, and as there unused: the uphill term has no weight.
        self.uph_cost_weight = uph_cost_weight

    def position_info(self, data: mjx.Data, params: HumanoidStandupParams) -> dict:
        return {**self.body_info(data), "z_distance_from_origin": data.qpos[2] - self.init_qpos[2]}

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: HumanoidStandupParams,
    ) -> tuple[jax.Array, dict]:
        uphill = uphill_reward(after.qpos[2], self.mj_model.opt.timestep)
        ctrl = control_cost(after.ctrl, params.ctrl_cost_weight)
        impact = contact_cost(
            after._impl.cfrc_ext,
            params.impact_cost_weight,
            params.impact_cost_min,
            params.impact_cost_max,
        )
        info = {
            **self.position_info(after, params),
            "reward_linup": uphill,
            "reward_quadctrl": -ctrl,
            "reward_impact": -impact,
        }
        return uphill - ctrl - impact + jnp.float32(params.alive_bonus), info
