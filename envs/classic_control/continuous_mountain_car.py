"""MountainCarContinuous: MountainCar with a continuous throttle, as Gymnasium's MountainCarContinuous."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymx.envs.classic_control.mountain_car import Car, MountainCarState, drive

from gymx import spaces, struct


class ContinuousMountainCarParams(struct.PyTree):
    min_action: float = -1.0
    max_action: float = 1.0
    min_position: float = -1.2  # an inelastic wall: the car stops when it hits it
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.45
    goal_velocity: float = 0.0  # the car must reach the goal at least this fast
    power: float = 0.0015  # velocity change per step per unit of throttle
    gravity: float = 0.0025  # scale of the slope's pull, which is -gravity * cos(3 * position)
    goal_reward: float = 100.0
    ctrl_cost_weight: float = 0.1


class ContinuousMountainCar(Car[ContinuousMountainCarParams]):
    """A car in a valley whose engine is too weak to climb the right hill directly.

    Observation: float32 (2,): position in [-1.2, 0.6], velocity in [-0.07, 0.07].
    Action: Box(-1, 1, (1,), float32): the throttle; values outside are clipped for the dynamics.
    Reward: float32 reward_goal + reward_ctrl, both reported in `info`:
        reward_goal = 100.0 on the step that reaches the goal, else 0;
        reward_ctrl = -0.1 * action**2, on the action as given (unclipped), as in Gymnasium.
    Termination: position >= 0.45 and velocity >= goal_velocity (default 0).
    Truncation: the registered id's time limit (MountainCarContinuous-v0: 999 steps).
    Start: position uniform in [-0.6, -0.4], velocity 0.

    `goal_velocity` (as in Gymnasium's constructor) sets the default params' value.

        env = gymx.make("MountainCarContinuous-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.array([1.0]))
    """

    @property
    def default_params(self) -> ContinuousMountainCarParams:
        return ContinuousMountainCarParams(goal_velocity=self.goal_velocity)

    def action_space(self, params: ContinuousMountainCarParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(params.min_action, params.max_action, (1,), jnp.float32)

    def step_env(
        self, state: MountainCarState, action: jax.Array, params: ContinuousMountainCarParams
    ) -> tuple[MountainCarState, jax.Array, dict]:
        throttle = jnp.reshape(jnp.asarray(action, jnp.float32), ())
        force = jnp.clip(throttle, params.min_action, params.max_action)
        next_state = drive(state, force * params.power, params)
        info = {
            "reward_goal": _goal_reward(self.is_terminal(next_state, params), params),
            "reward_ctrl": _ctrl_reward(throttle, params),
        }
        return next_state, info["reward_goal"] + info["reward_ctrl"], info


def _goal_reward(reached: jax.Array, params: ContinuousMountainCarParams) -> jax.Array:
    return jnp.where(reached, params.goal_reward, 0.0).astype(jnp.float32)


def _ctrl_reward(throttle: jax.Array, params: ContinuousMountainCarParams) -> jax.Array:
    # Gymnasium charges the action as given, so pushing past the clip costs without helping.
    return (-params.ctrl_cost_weight * throttle**2).astype(jnp.float32)
