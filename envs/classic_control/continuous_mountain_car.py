"""MountainCarContinuous: MountainCar with a continuous throttle, as Gymnasium's MountainCarContinuous."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

from gymx import spaces, struct
from gymx.core import Env
from gymx.kernels import trig


@struct.dataclass
class ContinuousMountainCarParams:
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


@struct.dataclass
class ContinuousMountainCarState:
    position: jax.Array  # float32 (), in [min_position, max_position]
    velocity: jax.Array  # float32 (), in [-max_speed, max_speed]


class ContinuousMountainCar(Env[ContinuousMountainCarState, ContinuousMountainCarParams]):
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

    metadata = {"render_modes": []}

    def __init__(self, goal_velocity: float = 0.0):
        try:
            goal_velocity = float(goal_velocity)
        except (TypeError, ValueError):
            raise ValueError(f"goal_velocity must be a number, got {goal_velocity!r}") from None
        if not math.isfinite(goal_velocity):
            raise ValueError(f"goal_velocity must be finite, got {goal_velocity!r}")
        self.goal_velocity = goal_velocity

    @property
    def default_params(self) -> ContinuousMountainCarParams:
        return ContinuousMountainCarParams(goal_velocity=self.goal_velocity)

    def observation_space(self, params: ContinuousMountainCarParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        low = np.array([params.min_position, -params.max_speed], np.float32)
        high = np.array([params.max_position, params.max_speed], np.float32)
        return spaces.Box(low, high, (2,), jnp.float32)

    def action_space(self, params: ContinuousMountainCarParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(params.min_action, params.max_action, (1,), jnp.float32)

    def reset_env(self, key: jax.Array, params: ContinuousMountainCarParams) -> ContinuousMountainCarState:
        # Position ~ U(-0.6, -0.4): near the valley's bottom, at rest.
        position = jax.random.uniform(key, (), jnp.float32, -0.6, -0.4)
        return ContinuousMountainCarState(position=position, velocity=jnp.zeros((), jnp.float32))

    def step_env(
        self, state: ContinuousMountainCarState, action: jax.Array, params: ContinuousMountainCarParams
    ) -> tuple[ContinuousMountainCarState, jax.Array, dict]:
        throttle = jnp.reshape(jnp.asarray(action, jnp.float32), ())
        force = jnp.clip(throttle, params.min_action, params.max_action)
        velocity = state.velocity + force * params.power - params.gravity * trig.cos(3 * state.position)
        velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
        position = jnp.clip(state.position + velocity, params.min_position, params.max_position)
        # As in Gymnasium, only the left end stops the car; at the right end the goal has been reached.
        velocity = jnp.where((position == params.min_position) & (velocity < 0), 0.0, velocity)
        next_state = ContinuousMountainCarState(position=position, velocity=velocity)
        info = {
            "reward_goal": _goal_reward(self.is_terminal(next_state, params), params),
            "reward_ctrl": _ctrl_reward(throttle, params),
        }
        return next_state, info["reward_goal"] + info["reward_ctrl"], info

    def observe(self, state: ContinuousMountainCarState, params: ContinuousMountainCarParams) -> jax.Array:
        return jnp.stack([state.position, state.velocity]).astype(jnp.float32)

    def is_terminal(self, state: ContinuousMountainCarState, params: ContinuousMountainCarParams) -> jax.Array:
        return (state.position >= params.goal_position) & (state.velocity >= params.goal_velocity)


def _goal_reward(reached: jax.Array, params: ContinuousMountainCarParams) -> jax.Array:
    return jnp.where(reached, params.goal_reward, 0.0).astype(jnp.float32)


def _ctrl_reward(throttle: jax.Array, params: ContinuousMountainCarParams) -> jax.Array:
    # Gymnasium charges the action as given, so pushing past the clip costs without helping.
    return (-params.ctrl_cost_weight * throttle**2).astype(jnp.float32)
