"""CartPole: balance a pole on a cart (Barto, Sutton & Anderson, 1983), as Gymnasium's CartPole."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels import trig

from gymx import render, spaces, struct
from gymx.core import Env


class CartPoleParams(struct.PyTree):
    gravity: float = 9.8
    masscart: float = 1.0
    masspole: float = 0.1
    length: float = 0.5  # half the pole's length
    force_mag: float = 10.0
    tau: float = 0.02  # seconds between state updates
    theta_threshold_radians: float = 12 * 2 * np.pi / 360
    x_threshold: float = 2.4

    @property
    def total_mass(self) -> float:
        return self.masscart + self.masspole

    @property
    def polemass_length(self) -> float:
        return self.masspole * self.length


class CartPoleState(struct.PyTree):
    x: jax.Array  # float32 (), cart position
    x_dot: jax.Array  # float32 (), cart velocity
    theta: jax.Array  # float32 (), pole angle, radians from upright
    theta_dot: jax.Array  # float32 (), pole angular velocity


class CartPole(Env[CartPoleState, CartPoleParams]):
    """A pole on a cart that moves left or right along a frictionless track.

    Observation: float32 (4,): cart position, cart velocity, pole angle, pole angular velocity.
    Action: Discrete(2) int32: 0 pushes the cart left, 1 pushes it right.
    Reward: float32 1.0 for every step, the terminating one included (with
        `sutton_barto_reward=True`: 0.0 per step and -1.0 on termination).
    Termination: |pole angle| > 12 degrees or |cart position| > 2.4.
    Truncation: the registered ids' time limit (v0: 200 steps, v1: 500).
    Start: every state variable uniform in [-0.05, 0.05].

        env = gymx.make("CartPole-v1")
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 1)
    """

    metadata = {"render_modes": ["rgb_array"], "render_fps": 50}

    def __init__(self, sutton_barto_reward: bool = False, kinematics_integrator: str = "euler"):
        if kinematics_integrator not in ("euler", "semi-implicit euler"):
            raise ValueError(
                f"kinematics_integrator must be 'euler' or 'semi-implicit euler', got {kinematics_integrator!r}"
            )
        self.sutton_barto_reward = sutton_barto_reward
        self.kinematics_integrator = kinematics_integrator

    @property
    def default_params(self) -> CartPoleParams:
        return CartPoleParams()

    def observation_space(self, params: CartPoleParams | None = None) -> spaces.Box:
        params = self.default_params if params is None else params
        high = np.array([params.x_threshold * 2, np.inf, params.theta_threshold_radians * 2, np.inf], np.float32)
        return spaces.Box(-high, high, (4,), jnp.float32)

    def action_space(self, params: CartPoleParams | None = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key: jax.Array, params: CartPoleParams) -> CartPoleState:
        # Each of the four variables ~ U(-0.05, 0.05).
        x, x_dot, theta, theta_dot = jax.random.uniform(key, (4,), jnp.float32, -0.05, 0.05)
        return CartPoleState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)

    def step_env(
        self, state: CartPoleState, action: jax.Array, params: CartPoleParams
    ) -> tuple[CartPoleState, jax.Array, dict]:
        force = jnp.where(action == 1, params.force_mag, -params.force_mag)
        sin_theta, cos_theta = trig.sin_cos(state.theta)
        temp = (force + params.polemass_length * state.theta_dot**2 * sin_theta) / params.total_mass
        theta_acc = (params.gravity * sin_theta - cos_theta * temp) / (
            params.length * (4.0 / 3.0 - params.masspole * cos_theta**2 / params.total_mass)
        )
        x_acc = temp - params.polemass_length * theta_acc * cos_theta / params.total_mass
        if self.kinematics_integrator == "euler":
            x = state.x + params.tau * state.x_dot
            x_dot = state.x_dot + params.tau * x_acc
            theta = state.theta + params.tau * state.theta_dot
            theta_dot = state.theta_dot + params.tau * theta_acc
        else:
            x_dot = state.x_dot + params.tau * x_acc
            x = state.x + params.tau * x_dot
            theta_dot = state.theta_dot + params.tau * theta_acc
            theta = state.theta + params.tau * theta_dot
        next_state = CartPoleState(x=x, x_dot=x_dot, theta=theta, theta_dot=theta_dot)
        return next_state, self._reward(next_state, params), {}

    def _reward(self, next_state: CartPoleState, params: CartPoleParams) -> jax.Array:
        if self.sutton_barto_reward:
            return jnp.where(self.is_terminal(next_state, params), -1.0, 0.0)
        return jnp.ones((), jnp.float32)

    def observe(self, state: CartPoleState, params: CartPoleParams) -> jax.Array:
        return jnp.stack([state.x, state.x_dot, state.theta, state.theta_dot]).astype(jnp.float32)

    def is_terminal(self, state: CartPoleState, params: CartPoleParams) -> jax.Array:
        return (jnp.abs(state.x) > params.x_threshold) | (jnp.abs(state.theta) > params.theta_threshold_radians)

    def render(self, state: CartPoleState, params: CartPoleParams | None = None, mode: str = "rgb_array") -> jax.Array:
        """A 600x400 frame laid out as Gymnasium's: the cart on its track, the pole on the cart."""
        if mode != "rgb_array":
            return super().render(state, params, mode)
        params = self.default_params if params is None else params
        width, height = 600, 400
        scale = width / (2 * params.x_threshold)
        cart_x, cart_top, axle = state.x * scale + width / 2, 100.0, 100.0 + 30 / 4
        frame = render.blank(height, width)
        frame = render.rectangle(frame, cart_x - 25, cart_top - 15, cart_x + 25, cart_top + 15, render.BLACK)
        pole = render.corners(-5.0, -5.0, 5.0, scale * 2 * params.length - 5.0)
        pole = render.rotate(pole, -state.theta) + jnp.stack([cart_x, jnp.float32(axle)])
        frame = render.polygon(frame, pole, (202, 152, 101))
        frame = render.circle(frame, jnp.stack([cart_x, jnp.float32(axle)]), 5, (129, 132, 203))
        return render.line(frame, jnp.asarray([0.0, cart_top]), jnp.asarray([float(width), cart_top]), render.BLACK)
