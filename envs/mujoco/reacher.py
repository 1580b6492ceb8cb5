"""Reacher: a two-link arm that learns to put its fingertip on a target, as Gymnasium's Reacher-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, task_params

# After base, which picks MuJoCo's OpenGL backend before importing it.
from mujoco import mj_name2id, mjtObj, mjx

from gymx import struct

# Gymnasium's fixed start distribution (no constructor options).
ARM_QPOS_NOISE = 0.1  # each arm angle ~ qpos0 + U(-0.1, 0.1)
ARM_QVEL_NOISE = 0.005  # each arm angular velocity ~ U(-0.005, 0.005)
GOAL_RADIUS = 0.2  # the target lies uniformly in the open disc of this radius


class ReacherParams(struct.PyTree):
    reward_dist_weight: float = 1.0
    reward_control_weight: float = 1.0  # as in Gymnasium's code (its docs say 0.1)
    physics: PhysicsScales = PhysicsScales()


def distance_reward(fingertip_to_target: jax.Array, params: ReacherParams) -> jax.Array:
    distance = jnp.linalg.norm(fingertip_to_target)
    return -jnp.float32(params.reward_dist_weight) * distance


def control_reward(action: jax.Array, params: ReacherParams) -> jax.Array:
    return -jnp.float32(params.reward_control_weight) * jnp.sum(jnp.square(action))


def sample_goal(key: jax.Array) -> jax.Array:
    """A point uniform in the open disc of radius GOAL_RADIUS around the origin.

    Gymnasium draws (x, y) ~ U([-R, R]^2) until |(x, y)| < R: a uniform point of the square
    conditioned on the disc inside it, whose density is constant on the disc and zero off it,
    i.e. the uniform distribution on the disc. Here it is drawn directly in polar form: with
    u, v ~ U[0, 1) independent, r = R * sqrt(u) has P(r <= s) = s^2 / R^2 (the disc's area
    fraction inside radius s) and theta = 2 pi v is independent of r and uniform, so
    (r cos theta, r sin theta) is uniform on the disc. One draw, no loop.
    """
    radius_key, angle_key = jax.random.split(key)
    # u < 1, but sqrt(u) rounds to 1 in float32 for u near 1: capping it keeps the goal strictly
    # inside the disc as Gymnasium's is (it moves draws of probability 2e-6 by under 2e-7 m).
    radius = jnp.float32(GOAL_RADIUS) * jnp.minimum(
        jnp.sqrt(jax.random.uniform(radius_key, (), jnp.float32)),
        jnp.float32(1.0 - 1e-6),
    )
    angle = jax.random.uniform(angle_key, (), jnp.float32, 0.0, 2.0 * jnp.pi)
    return radius * jnp.stack([jnp.cos(angle), jnp.sin(angle)])


class Reacher(MujocoEnv[ReacherParams]):
    """A two-link planar arm and a target on the table; move the fingertip onto the target.

    Observation: float32 (10,): cos and sin of the two arm angles (cos, cos, sin, sin), the
        target's qpos (x, y), the arm's angular velocities, and fingertip - target (x, y).
    Action: Box(-1, 1, (2,), float32): torques of the shoulder and elbow joints.
    Reward: float32 reward_dist + reward_ctrl, with reward_dist = -reward_dist_weight *
        |fingertip - target| (3-D, after the step) and reward_ctrl = -reward_control_weight *
        |action|^2; `info` has "reward_dist", "reward_ctrl", "physics_diverged".
    Termination: only non-finite physics (episodes end by the 50-step time limit).
    Start: arm angles qpos0 + U(-0.1, 0.1) each, arm velocities U(-0.005, 0.005) each; the
        target uniform in the open disc of radius 0.2 around the arm's base, at rest.
    Physics: Gymnasium's reacher.xml, frame_skip 2 (dt 0.02 s), the file's solver (RK4).

        env = gymx.make("Reacher-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(2))
    """

    # Gymnasium's keyword arguments that set params (defaults: ReacherParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("reward_dist_weight", "reward_control_weight")
    model_file = "reacher.xml"
    default_frame_skip = 2
    camera: dict[str, Any] = {"trackbodyid": 0}

    def __init__(self, **options: Any):
        params, model_options = task_params(ReacherParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        self.fingertip = mj_name2id(self.mj_model, mjtObj.mjOBJ_BODY, "fingertip")
        self.target = mj_name2id(self.mj_model, mjtObj.mjOBJ_BODY, "target")

    def initial_qpos_qvel(self, key: jax.Array, params: ReacherParams) -> tuple[jax.Array, jax.Array]:
        qpos_key, goal_key, qvel_key = jax.random.split(key, 3)
        # Arm angles ~ qpos0 + U(-0.1, 0.1) each; the target's two slide joints: the goal.
        arm = self.init_qpos[:-2] + jax.random.uniform(
            qpos_key,
            self.init_qpos[:-2].shape,
            jnp.float32,
            -ARM_QPOS_NOISE,
            ARM_QPOS_NOISE,
        )
        qpos = jnp.concatenate([arm, sample_goal(goal_key)])
        # Arm velocities ~ U(-0.005, 0.005) each; the target starts at rest.
        arm_velocity = self.init_qvel[:-2] + jax.random.uniform(
            qvel_key,
            self.init_qvel[:-2].shape,
            jnp.float32,
            -ARM_QVEL_NOISE,
            ARM_QVEL_NOISE,
        )
        qvel = jnp.concatenate([arm_velocity, jnp.zeros(2, jnp.float32)])
        return qpos, qvel

    def fingertip_to_target(self, data: mjx.Data) -> jax.Array:
        # Body frame positions, as Gymnasium's get_body_com reads them (xpos, not xipos).
        return data.xpos[self.fingertip] - data.xpos[self.target]

    def observe_data(self, data: mjx.Data, params: ReacherParams) -> jax.Array:
        angles = data.qpos[:2]
        return jnp.concatenate(
            [
                jnp.cos(angles),
                jnp.sin(angles),
                data.qpos[2:],
                data.qvel[:2],
                self.fingertip_to_target(data)[:2],
            ]
        )

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: ReacherParams,
    ) -> tuple[jax.Array, dict]:
        dist = distance_reward(self.fingertip_to_target(after), params)
        ctrl = control_reward(action, params)
        return dist + ctrl, {"reward_dist": dist, "reward_ctrl": ctrl}
