"""Acrobot: swing up a two-link underactuated pendulum (Sutton, 1996), as Gymnasium's Acrobot."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels import trig

from gymx import render, spaces, struct
from gymx.core import Env


class AcrobotParams(struct.PyTree):
    dt: float = 0.2  # seconds per step, integrated as one RK4 step
    gravity: float = 9.8
    link_length_1: float = 1.0  # metres; the outer link's length enters neither dynamics nor goal
    link_mass_1: float = 1.0
    link_mass_2: float = 1.0
    link_com_pos_1: float = 0.5  # metres from a link's joint to its centre of mass
    link_com_pos_2: float = 0.5
    link_moi: float = 1.0  # moment of inertia of each link
    max_vel_1: float = 4 * math.pi
    max_vel_2: float = 9 * math.pi


class AcrobotState(struct.PyTree):
    theta1: jax.Array  # float32 (), inner link's angle, radians from hanging down, in [-pi, pi]
    theta2: jax.Array  # float32 (), outer link's angle relative to the inner link, in [-pi, pi]
    theta1_dot: jax.Array  # float32 (), in [-max_vel_1, max_vel_1]
    theta2_dot: jax.Array  # float32 (), in [-max_vel_2, max_vel_2]
    key: jax.Array | None  # PRNG key of the torque noise; None when the env has no noise


class Acrobot(Env[AcrobotState, AcrobotParams]):
    """Two links hanging from a fixed pivot; only the joint between them is actuated.

    Observation: float32 (6,): cos(theta1), sin(theta1), cos(theta2), sin(theta2), theta1_dot,
        theta2_dot; the velocities are bounded by 4*pi and 9*pi.
    Action: Discrete(3) int32: torque -1, 0 or +1 on the middle joint (plus, with
        `torque_noise_max > 0`, noise uniform in [-torque_noise_max, torque_noise_max]).
    Reward: float32 -1.0 for every step that does not reach the goal, 0.0 for the one that does.
    Termination: the free end rises above the pivot by more than one link length,
        -cos(theta1) - cos(theta1 + theta2) > 1.
    Truncation: the registered id's time limit (Acrobot-v1: 500 steps).
    Start: theta1, theta2, theta1_dot, theta2_dot each uniform in [-0.1, 0.1] (hanging down).

    `book_or_nips="nips"` uses the NIPS paper's equation for the second joint's acceleration,
    which drops a term the book (the default) has.

        env = gymx.make("Acrobot-v1")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 2)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, book_or_nips: str = "book", torque_noise_max: float = 0.0):
        if book_or_nips not in ("book", "nips"):
            raise ValueError(f"book_or_nips must be 'book' or 'nips', got {book_or_nips!r}")
        try:
            torque_noise_max = float(torque_noise_max)
        except (TypeError, ValueError):
            raise ValueError(f"torque_noise_max must be a number >= 0, got {torque_noise_max!r}") from None
        if not (math.isfinite(torque_noise_max) and torque_noise_max >= 0):
            raise ValueError(f"torque_noise_max must be a finite number >= 0, got {torque_noise_max!r}")
        self.book_or_nips = book_or_nips
        # Static rather than a param: whether it is zero decides whether the state carries a key.
        self.torque_noise_max = torque_noise_max

    @property
    def default_params(self) -> AcrobotParams:
        return AcrobotParams()

    def observation_space(self, params: AcrobotParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = np.array([1.0, 1.0, 1.0, 1.0, params.max_vel_1, params.max_vel_2], np.float32)
        return spaces.Box(-high, high, (6,), jnp.float32)

    def action_space(self, params: AcrobotParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(3)

    def reset_env(self, key: jax.Array, params: AcrobotParams) -> AcrobotState:
        # Split with or without noise, so that a key gives the same start either way.
        joint_key, noise_key = jax.random.split(key)
        # The four joint variables each ~ U(-0.1, 0.1).
        theta1, theta2, theta1_dot, theta2_dot = jax.random.uniform(joint_key, (4,), jnp.float32, -0.1, 0.1)
        return AcrobotState(
            theta1=theta1,
            theta2=theta2,
            theta1_dot=theta1_dot,
            theta2_dot=theta2_dot,
            key=noise_key if self.torque_noise_max > 0 else None,
        )

    def step_env(
        self, state: AcrobotState, action: jax.Array, params: AcrobotParams
    ) -> tuple[AcrobotState, jax.Array, dict]:
        torque = jnp.asarray(action, jnp.float32) - 1.0
        key = state.key
        if self.torque_noise_max > 0:
            assert key is not None, "noisy acrobot states carry their key"
            noise_key, key = jax.random.split(key)
            # Torque noise ~ U(-torque_noise_max, torque_noise_max), drawn afresh every step.
            high = self.torque_noise_max
            torque = torque + jax.random.uniform(noise_key, (), jnp.float32, -high, high)
        joints = (state.theta1, state.theta2, state.theta1_dot, state.theta2_dot)
        derivatives = functools.partial(self._derivatives, torque=torque, params=params)
        theta1, theta2, theta1_dot, theta2_dot = _rk4_step(derivatives, joints, params.dt)
        next_state = AcrobotState(
            theta1=_wrap(theta1, -jnp.pi, jnp.pi),
            theta2=_wrap(theta2, -jnp.pi, jnp.pi),
            theta1_dot=jnp.clip(theta1_dot, -params.max_vel_1, params.max_vel_1),
            theta2_dot=jnp.clip(theta2_dot, -params.max_vel_2, params.max_vel_2),
            key=key,
        )
        return next_state, self._reward(next_state, params), {}

    def _derivatives(self, joints: tuple, torque: jax.Array, params: AcrobotParams) -> tuple:
        theta1, theta2, theta1_dot, theta2_dot = joints
        m1, m2 = params.link_mass_1, params.link_mass_2
        l1, lc1, lc2 = params.link_length_1, params.link_com_pos_1, params.link_com_pos_2
        inertia, g = params.link_moi, params.gravity
        sin2, cos2 = trig.sin_cos(theta2)
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos2) + 2 * inertia
        d2 = m2 * (lc2**2 + l1 * lc2 * cos2) + inertia
        # Angles are measured from hanging down, so gravity acts through cos(angle - pi/2) = sin(angle).
        phi2 = m2 * lc2 * g * trig.sin(theta1 + theta2)
        phi1 = (
            -m2 * l1 * lc2 * theta2_dot**2 * sin2
            - 2 * m2 * l1 * lc2 * theta2_dot * theta1_dot * sin2
            + (m1 * lc1 + m2 * l1) * g * trig.sin(theta1)
            + phi2
        )
        # The NIPS paper omits the centripetal term of the inner link's spin on the second joint.
        centripetal = 0.0 if self.book_or_nips == "nips" else m2 * l1 * lc2 * theta1_dot**2 * sin2
        theta2_acc = (torque + d2 / d1 * phi1 - centripetal - phi2) / (m2 * lc2**2 + inertia - d2**2 / d1)
        theta1_acc = -(d2 * theta2_acc + phi1) / d1
        return theta1_dot, theta2_dot, theta1_acc, theta2_acc

    def _reward(self, next_state: AcrobotState, params: AcrobotParams) -> jax.Array:
        return jnp.where(self.is_terminal(next_state, params), 0.0, -1.0)

    def observe(self, state: AcrobotState, params: AcrobotParams) -> jax.Array:
        sin1, cos1 = trig.sin_cos(state.theta1)
        sin2, cos2 = trig.sin_cos(state.theta2)
        return jnp.stack([cos1, sin1, cos2, sin2, state.theta1_dot, state.theta2_dot]).astype(jnp.float32)

    def is_terminal(self, state: AcrobotState, params: AcrobotParams) -> jax.Array:
        # Gymnasium measures the tip's height with unit links, whatever the params say.
        return -trig.cos(state.theta1) - trig.cos(state.theta2 + state.theta1) > 1.0

    def render(self, state: AcrobotState, params: AcrobotParams | None = None, mode: str = "rgb_array") -> jax.Array:
        """A 500x500 frame laid out as Gymnasium's (unit links): the two links, their joints, the goal line."""
        if mode != "rgb_array":
            return super().render(state, params, mode)
        size = 500
        scale = size / 4.4
        pivot = jnp.full((2,), size / 2, jnp.float32)
        elbow = pivot + scale * jnp.stack([trig.sin(state.theta1), -trig.cos(state.theta1)])
        goal = [pivot + scale * jnp.asarray([side, 1.0]) for side in (-2.2, 2.2)]  # the tip must rise above it
        frame = render.line(render.blank(size, size), goal[0], goal[1], render.BLACK)
        for joint, angle in ((pivot, state.theta1 - jnp.pi / 2), (elbow, state.theta1 + state.theta2 - jnp.pi / 2)):
            link = render.rotate(render.corners(0.0, -0.1 * scale, scale, 0.1 * scale), angle) + joint
            frame = render.polygon(frame, link, (0, 204, 204))
            frame = render.circle(frame, joint, 0.1 * scale, (204, 204, 0))
        return frame


def _rk4_step(derivatives: Callable[[Any], Any], y: Any, dt: float | jax.Array) -> Any:
    """One classic Runge-Kutta step of size `dt` for an autonomous system over a pytree `y`."""

    def shifted(k: Any, h: Any) -> Any:
        return jax.tree_util.tree_map(lambda y_i, k_i: y_i + h * k_i, y, k)

    k1 = derivatives(y)
    k2 = derivatives(shifted(k1, dt / 2))
    k3 = derivatives(shifted(k2, dt / 2))
    k4 = derivatives(shifted(k3, dt))
    return jax.tree_util.tree_map(lambda y_i, a, b, c, d: y_i + dt / 6 * (a + 2 * b + 2 * c + d), y, k1, k2, k3, k4)


def _wrap(x: jax.Array, low: float, high: float) -> jax.Array:
    """`x` moved by whole periods into [low, high]; values already inside, bounds included, are kept
    (Gymnasium subtracts or adds the period until it fits, so `high` itself stays `high`)."""
    period = high - low
    above = x - period * jnp.ceil((x - high) / period)
    below = x + period * jnp.ceil((low - x) / period)
    return jnp.where(x > high, above, jnp.where(x < low, below, x))
