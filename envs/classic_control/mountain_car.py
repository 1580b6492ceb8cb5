"""MountainCar: drive an underpowered car up a hill (Moore, 1990), as Gymnasium's MountainCar."""

from __future__ import annotations

import math
from typing import Generic, Protocol, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels import trig

from gymx import render, spaces, struct
from gymx.core import Env


class MountainCarParams(struct.PyTree):
    min_position: float = -1.2  # an inelastic wall: the car stops when it hits it
    max_position: float = 0.6
    max_speed: float = 0.07
    goal_position: float = 0.5
    goal_velocity: float = 0.0  # the car must reach the goal at least this fast
    force: float = 0.001  # engine's push per step
    gravity: float = 0.0025  # scale of the slope's pull, which is -gravity * cos(3 * position)


class MountainCarState(struct.PyTree):
    position: jax.Array  # float32 (), in [min_position, max_position]
    velocity: jax.Array  # float32 (), in [-max_speed, max_speed]


class CarParams(Protocol):
    """The params both MountainCars' dynamics, start, end and drawing read."""

    @property
    def min_position(self) -> float: ...
    @property
    def max_position(self) -> float: ...
    @property
    def max_speed(self) -> float: ...
    @property
    def goal_position(self) -> float: ...
    @property
    def goal_velocity(self) -> float: ...
    @property
    def gravity(self) -> float: ...


P = TypeVar("P", bound=CarParams)


class Car(Env[MountainCarState, P], Generic[P]):
    """What MountainCar and MountainCarContinuous share: the valley, the start, the goal, the frame."""

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, goal_velocity: float = 0.0):
        try:
            goal_velocity = float(goal_velocity)
        except (TypeError, ValueError):
            raise ValueError(f"goal_velocity must be a number, got {goal_velocity!r}") from None
        if not math.isfinite(goal_velocity):
            raise ValueError(f"goal_velocity must be finite, got {goal_velocity!r}")
        self.goal_velocity = goal_velocity

    def observation_space(self, params: P | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        low = np.array([params.min_position, -params.max_speed], np.float32)
        high = np.array([params.max_position, params.max_speed], np.float32)
        return spaces.Box(low, high, (2,), jnp.float32)

    def reset_env(self, key: jax.Array, params: P) -> MountainCarState:
        # Position ~ U(-0.6, -0.4): near the valley's bottom, at rest.
        position = jax.random.uniform(key, (), jnp.float32, -0.6, -0.4)
        return MountainCarState(position=position, velocity=jnp.zeros((), jnp.float32))

    def observe(self, state: MountainCarState, params: P) -> jax.Array:
        return jnp.stack([state.position, state.velocity]).astype(jnp.float32)

    def is_terminal(self, state: MountainCarState, params: P) -> jax.Array:
        return (state.position >= params.goal_position) & (state.velocity >= params.goal_velocity)

    def render(self, state: MountainCarState, params: P | None = None, mode: str = "rgb_array") -> jax.Array:
        """A 600x400 frame laid out as Gymnasium's: the hill, the car tilted with the slope, the flag."""
        if mode != "rgb_array":
            return super().render(state, params, mode)
        params = self.default_params if params is None else params
        width, height, clearance = 600, 400, 10.0
        scale = width / (params.max_position - params.min_position)

        def to_screen(position: jax.Array) -> jax.Array:
            return jnp.stack([(position - params.min_position) * scale, hill_height(position) * scale], axis=-1)

        hill = to_screen(jnp.linspace(params.min_position, params.max_position, 100))
        frame = render.polyline(render.blank(height, width), hill, render.BLACK, 2.0)
        tilt = trig.cos(3 * state.position)  # Gymnasium tilts the car by this many radians
        base = to_screen(state.position) + jnp.asarray([0.0, clearance])
        frame = render.polygon(frame, render.rotate(render.corners(-20.0, 0.0, 20.0, 20.0), tilt) + base, render.BLACK)
        for wheel in ([10.0, 0.0], [-10.0, 0.0]):
            frame = render.circle(frame, render.rotate(jnp.asarray(wheel), tilt) + base, 8.0, (128, 128, 128))
        flag = to_screen(jnp.float32(params.goal_position))
        frame = render.line(frame, flag, flag + jnp.asarray([0.0, 50.0]), render.BLACK)
        pennant = jnp.stack(
            [flag + jnp.asarray([0.0, 50.0]), flag + jnp.asarray([0.0, 40.0]), flag + jnp.asarray([25.0, 45.0])]
        )
        return render.polygon(frame, pennant, (204, 204, 0))


class MountainCar(Car[MountainCarParams]):
    """A car in a valley whose engine is too weak to climb the right hill directly.

    Observation: float32 (2,): position in [-1.2, 0.6], velocity in [-0.07, 0.07].
    Action: Discrete(3) int32: 0 accelerates left, 1 does nothing, 2 accelerates right.
    Reward: float32 -1.0 for every step, the terminating one included.
    Termination: position >= 0.5 and velocity >= goal_velocity (default 0).
    Truncation: the registered id's time limit (MountainCar-v0: 200 steps).
    Start: position uniform in [-0.6, -0.4], velocity 0.

    `goal_velocity` (as in Gymnasium's constructor) sets the default params' value.

        env = gymx.make("MountainCar-v0")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 2)
    """

    @property
    def default_params(self) -> MountainCarParams:
        return MountainCarParams(goal_velocity=self.goal_velocity)

    def action_space(self, params: MountainCarParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def step_env(
        self, state: MountainCarState, action: jax.Array, params: MountainCarParams
    ) -> tuple[MountainCarState, jax.Array, dict]:
        push = (jnp.asarray(action, jnp.float32) - 1.0) * params.force
        next_state = drive(state, push, params)
        return next_state, self._reward(next_state, params), {}

    def _reward(self, next_state: MountainCarState, params: MountainCarParams) -> jax.Array:
        del next_state, params  # Every step costs the same, so the fastest climb earns the most.
        return -jnp.ones((), jnp.float32)


def drive(state: MountainCarState, push: jax.Array, params: CarParams) -> MountainCarState:
    """One step of the car under its engine's `push` and the slope's pull (both MountainCars' dynamics)."""
    velocity = state.velocity + push - params.gravity * trig.cos(3 * state.position)
    velocity = jnp.clip(velocity, -params.max_speed, params.max_speed)
    position = jnp.clip(state.position + velocity, params.min_position, params.max_position)
    # As in Gymnasium, only the left end stops the car; at the right end the goal has been reached.
    velocity = jnp.where((position == params.min_position) & (velocity < 0), 0.0, velocity)
    return MountainCarState(position=position, velocity=velocity)


def hill_height(position: jax.Array) -> jax.Array:
    """The hill's profile, as drawn (the dynamics only use its slope through cos(3 * position))."""
    return trig.sin(3 * position) * 0.45 + 0.55
