"""Pendulum: swing up and balance an inverted pendulum, as Gymnasium's Pendulum."""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels import trig

from gymx import render, spaces, struct
from gymx.core import Env


class PendulumParams(struct.PyTree):
    max_speed: float = 8.0  # rad/s
    max_torque: float = 2.0
    dt: float = 0.05  # seconds per step (semi-implicit Euler)
    g: float = 10.0  # gravity, m/s^2
    m: float = 1.0  # mass, kg
    l: float = 1.0  # rod length, m  # noqa: E741 (Gymnasium's name)
    angle_cost_weight: float = 1.0
    velocity_cost_weight: float = 0.1
    ctrl_cost_weight: float = 0.001


class PendulumState(struct.PyTree):
    theta: jax.Array  # float32 (), radians from upright, in [-pi, pi] after a step
    theta_dot: jax.Array  # float32 (), in [-max_speed, max_speed]


class Pendulum(Env[PendulumState, PendulumParams]):
    """A pendulum on a motorised pivot, to be swung up and held upright.

    Observation: float32 (3,): cos(theta), sin(theta) in [-1, 1], theta_dot in [-8, 8].
    Action: Box(-2, 2, (1,), float32): the torque; values outside are clipped.
    Reward: float32 reward_angle + reward_velocity + reward_ctrl, each reported in `info`,
        all taken before the transition:
        reward_angle = -angle_normalize(theta)**2 (theta wrapped into [-pi, pi], 0 upright);
        reward_velocity = -0.1 * theta_dot**2;
        reward_ctrl = -0.001 * torque**2 (clipped torque).
    Termination: never.
    Truncation: the registered id's time limit (Pendulum-v1: 200 steps).
    Start: theta uniform in [-pi, pi], theta_dot uniform in [-1, 1].
    State: theta is kept in [-pi, pi] where Gymnasium's grows as the pendulum spins; obs and
        reward are the same either way.

    `g` (as in Gymnasium's constructor) sets the default params' gravity.

        env = gymx.make("Pendulum-v1", g=9.81)
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, jnp.array([0.5]))
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 30}

    def __init__(self, g: float = 10.0):
        try:
            g = float(g)
        except (TypeError, ValueError):
            raise ValueError(f"g must be a number, got {g!r}") from None
        if not math.isfinite(g):
            raise ValueError(f"g must be finite, got {g!r}")
        self.g = g

    @property
    def default_params(self) -> PendulumParams:
        return PendulumParams(g=self.g)

    def observation_space(self, params: PendulumParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = np.array([1.0, 1.0, params.max_speed], np.float32)
        return spaces.Box(-high, high, (3,), jnp.float32)

    def action_space(self, params: PendulumParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        return spaces.Box(-params.max_torque, params.max_torque, (1,), jnp.float32)

    def reset_env(self, key: jax.Array, params: PendulumParams) -> PendulumState:
        theta_key, theta_dot_key = jax.random.split(key)
        # theta ~ U(-pi, pi): any angle.
        theta = jax.random.uniform(theta_key, (), jnp.float32, -jnp.pi, jnp.pi)
        # theta_dot ~ U(-1, 1).
        theta_dot = jax.random.uniform(theta_dot_key, (), jnp.float32, -1.0, 1.0)
        return PendulumState(theta=theta, theta_dot=theta_dot)

    def step_env(
        self, state: PendulumState, action: jax.Array, params: PendulumParams
    ) -> tuple[PendulumState, jax.Array, dict]:
        torque = jnp.clip(jnp.reshape(jnp.asarray(action, jnp.float32), ()), -params.max_torque, params.max_torque)
        info = {
            "reward_angle": _angle_reward(state, params),
            "reward_velocity": _velocity_reward(state, params),
            "reward_ctrl": _ctrl_reward(torque, params),
        }
        theta_acc = 3 * params.g / (2 * params.l) * trig.sin(state.theta) + 3.0 / (params.m * params.l**2) * torque
        theta_dot = jnp.clip(state.theta_dot + theta_acc * params.dt, -params.max_speed, params.max_speed)
        # Semi-implicit Euler: the angle moves with the new velocity. Gymnasium lets the angle grow
        # without bound; obs and reward are 2pi-periodic in it, and wrapping keeps float32's
        # resolution of it at 2e-7 however long the pendulum spins.
        theta = angle_normalize(state.theta + theta_dot * params.dt)
        next_state = PendulumState(theta=theta, theta_dot=theta_dot)
        return next_state, info["reward_angle"] + info["reward_velocity"] + info["reward_ctrl"], info

    def observe(self, state: PendulumState, params: PendulumParams) -> jax.Array:
        sin_theta, cos_theta = trig.sin_cos(state.theta)
        return jnp.stack([cos_theta, sin_theta, state.theta_dot]).astype(jnp.float32)

    def is_terminal(self, state: PendulumState, params: PendulumParams) -> jax.Array:
        return jnp.zeros((), jnp.bool_)

    def render(self, state: PendulumState, params: PendulumParams | None = None, mode: str = "rgb_array") -> jax.Array:
        """A 500x500 frame laid out as Gymnasium's (without its torque arrow): the rod about its pivot."""
        if mode != "rgb_array":
            return super().render(state, params, mode)
        size = 500
        scale = size / 4.4
        pivot = jnp.full((2,), size / 2, jnp.float32)
        rod_width = 0.2 * scale
        angle = state.theta + jnp.pi / 2  # theta is measured from upright
        rod = render.rotate(render.corners(0.0, -rod_width / 2, scale, rod_width / 2), angle) + pivot
        tip = render.rotate(jnp.asarray([scale, 0.0]), angle) + pivot
        frame = render.polygon(render.blank(size, size), rod, (204, 77, 77))
        frame = render.circle(frame, pivot, rod_width / 2, (204, 77, 77))
        frame = render.circle(frame, tip, rod_width / 2, (204, 77, 77))
        return render.circle(frame, pivot, 0.05 * scale, render.BLACK)


def angle_normalize(theta: jax.Array) -> jax.Array:
    """`theta` wrapped into [-pi, pi]."""
    return trig.wrap_angle(theta)


def _angle_reward(state: PendulumState, params: PendulumParams) -> jax.Array:
    return (-params.angle_cost_weight * angle_normalize(state.theta) ** 2).astype(jnp.float32)


def _velocity_reward(state: PendulumState, params: PendulumParams) -> jax.Array:
    return (-params.velocity_cost_weight * state.theta_dot**2).astype(jnp.float32)


def _ctrl_reward(torque: jax.Array, params: PendulumParams) -> jax.Array:
    return (-params.ctrl_cost_weight * torque**2).astype(jnp.float32)
