"""Pusher: a seven-joint arm that learns to push a cylinder onto a goal, as Gymnasium's Pusher-v5."""

from __future__ import annotations

from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from gymx.envs.mujoco.base import MujocoEnv, PhysicsScales, task_params

# After base, which picks MuJoCo's OpenGL backend before importing it.
from mujoco import mj_name2id, mjtObj, mjx

from gymx import struct

# Gymnasium's fixed start distribution (no constructor options). The object's two slide joints
# come in the order (obj_slidey, obj_slidex) in the model, and Gymnasium fills them in qpos order,
# so the first range below is the object's world-y offset and the second its world-x offset.
OBJECT_QPOS_LOW = (-0.3, -0.2)
OBJECT_QPOS_HIGH = (0.0, 0.2)
# The object starts strictly farther than this from the goal.
MIN_OBJECT_GOAL_DISTANCE = 0.17
ARM_QVEL_NOISE = 0.005  # each arm joint velocity ~ U(-0.005, 0.005)
# Candidates per round of the object's rejection sampler: each is accepted with probability
# 1 - (pi 0.17^2 / 2) / (0.3 * 0.4) ~= 0.62, so a round of 16 all rejected has probability
# 0.38^16 ~= 2e-7 and a second round almost never runs.
CANDIDATES_PER_ROUND = 16


class PusherParams(struct.PyTree):
    reward_near_weight: float = 0.5
    reward_dist_weight: float = 1.0
    reward_control_weight: float = 0.1
    physics: PhysicsScales = PhysicsScales()


def near_reward(fingertip_to_object: jax.Array, params: PusherParams) -> jax.Array:
    return -jnp.float32(params.reward_near_weight) * jnp.linalg.norm(fingertip_to_object)


def distance_reward(goal_to_object: jax.Array, params: PusherParams) -> jax.Array:
    return -jnp.float32(params.reward_dist_weight) * jnp.linalg.norm(goal_to_object)


def control_reward(action: jax.Array, params: PusherParams) -> jax.Array:
    return -jnp.float32(params.reward_control_weight) * jnp.sum(jnp.square(action))


def sample_object_qpos(key: jax.Array) -> jax.Array:
    """The object's (obj_slidey, obj_slidex) qpos: uniform on the rectangle
    [-0.3, 0] x [-0.2, 0.2] conditioned on lying farther than 0.17 from the goal (qpos 0).

    Gymnasium draws single candidates until one is accepted. This draws rounds of
    CANDIDATES_PER_ROUND independent candidates, each from its own split key, and returns the
    first accepted one, looping until a round has one. Concatenating the rounds gives one
    i.i.d. sequence of uniform candidates, and the value returned is its first accepted
    element, exactly what Gymnasium returns: P(result in A) = sum_n (1 - p)^(n - 1) P(A, accepted)
    = P(A | accepted), with p the acceptance probability. The loop has no bound, so no fallback
    value ever replaces a draw; it ends with probability 1 (another round runs with probability
    about 2e-7, see CANDIDATES_PER_ROUND).
    """
    low, high = (
        jnp.array(OBJECT_QPOS_LOW, jnp.float32),
        jnp.array(OBJECT_QPOS_HIGH, jnp.float32),
    )

    def draw(carry: tuple) -> tuple:
        key, _, _ = carry
        key, round_key = jax.random.split(key)
        # Each candidate coordinate ~ U(low, high), independently.
        candidates = jax.random.uniform(round_key, (CANDIDATES_PER_ROUND, 2), jnp.float32, low, high)
        accepted = jnp.linalg.norm(candidates, axis=-1) > MIN_OBJECT_GOAL_DISTANCE
        return key, candidates[jnp.argmax(accepted)], jnp.any(accepted)

    initial = (key, jnp.zeros(2, jnp.float32), jnp.zeros((), jnp.bool_))
    _, position, _ = jax.lax.while_loop(lambda carry: ~carry[2], draw, initial)
    return position


class Pusher(MujocoEnv[PusherParams]):
    """A seven-joint arm at a table with a cylinder and a goal; push the cylinder onto the goal.

    Observation: float32 (23,): the arm's 7 joint angles and 7 joint velocities, then the
        positions (x, y, z) of the fingertip ("tips_arm"), the object and the goal.
    Action: Box(-2, 2, (7,), float32): torques of the seven arm joints.
    Reward: float32 reward_dist + reward_ctrl + reward_near, with reward_dist =
        -reward_dist_weight * |object - goal|, reward_near = -reward_near_weight *
        |object - fingertip| (both 3-D, after the step) and reward_ctrl =
        -reward_control_weight * |action|^2; `info` has "reward_dist", "reward_ctrl",
        "reward_near", "physics_diverged".
    Termination: only non-finite physics (episodes end by the 100-step time limit).
    Start: the arm at qpos0 with joint velocities U(-0.005, 0.005) each; the object at rest at
        a qpos offset uniform on [-0.3, 0] x [-0.2, 0.2] (obj_slidey, obj_slidex) conditioned on
        being farther than 0.17 from the goal; the goal at rest at qpos 0.
    Physics: Gymnasium's pusher_v5.xml (no gravity), frame_skip 5 (dt 0.05 s), the file's
        solver (Euler, 20 iterations).

        env = gymx.make("Pusher-v5")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.zeros(7))
    """

    # Gymnasium's keyword arguments that set params (defaults: PusherParams's).
    gymnasium_options: ClassVar[tuple[str, ...]] = ("reward_near_weight", "reward_dist_weight", "reward_control_weight")
    model_file = "pusher_v5.xml"
    default_frame_skip = 5
    capacity = (24, 12)  # MuJoCo Warp's buffers per env (see MujocoEnv.capacity)
    camera: dict[str, Any] = {"trackbodyid": -1, "distance": 4.0}

    def __init__(self, **options: Any):
        params, model_options = task_params(PusherParams, self.gymnasium_options, options)
        super().__init__(params, **model_options)
        body = mjtObj.mjOBJ_BODY
        self.fingertip = mj_name2id(self.mj_model, body, "tips_arm")
        self.object = mj_name2id(self.mj_model, body, "object")
        self.goal = mj_name2id(self.mj_model, body, "goal")

    def initial_qpos_qvel(self, key: jax.Array, params: PusherParams) -> tuple[jax.Array, jax.Array]:
        object_key, qvel_key = jax.random.split(key)
        # The arm at qpos0 (no noise); the object by the rejection rule; the goal at qpos 0.
        qpos = jnp.concatenate(
            [
                self.init_qpos[:-4],
                sample_object_qpos(object_key),
                jnp.zeros(2, jnp.float32),
            ]
        )
        # Arm joint velocities ~ U(-0.005, 0.005) each; the object and the goal start at rest.
        arm_velocity = self.init_qvel[:-4] + jax.random.uniform(
            qvel_key,
            self.init_qvel[:-4].shape,
            jnp.float32,
            -ARM_QVEL_NOISE,
            ARM_QVEL_NOISE,
        )
        qvel = jnp.concatenate([arm_velocity, jnp.zeros(4, jnp.float32)])
        return qpos, qvel

    def observe_data(self, data: mjx.Data, params: PusherParams) -> jax.Array:
        # Body frame positions, as Gymnasium's get_body_com reads them (xpos, not xipos).
        return jnp.concatenate(
            [
                data.qpos[:7],
                data.qvel[:7],
                data.xpos[self.fingertip],
                data.xpos[self.object],
                data.xpos[self.goal],
            ]
        )

    def task_outcome(
        self,
        before: mjx.Data,
        after: mjx.Data,
        action: jax.Array,
        params: PusherParams,
    ) -> tuple[jax.Array, dict]:
        obj = after.xpos[self.object]
        near = near_reward(obj - after.xpos[self.fingertip], params)
        dist = distance_reward(obj - after.xpos[self.goal], params)
        ctrl = control_reward(action, params)
        info = {"reward_dist": dist, "reward_ctrl": ctrl, "reward_near": near}
        return dist + ctrl + near, info
