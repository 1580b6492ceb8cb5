"""Wrappers over the functional API: each returns a new `Env` whose state wraps the inner one."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
from jax.experimental import checkify

from gymx import struct
from gymx.core import Env, TimeStep, Wrapper, is_traced, runs_as_written


@struct.dataclass
class TimeLimitState:
    env_state: Any
    elapsed_steps: jax.Array  # int32 (), steps since the last reset


class TimeLimit(Wrapper):
    """Truncates an episode after `max_episode_steps` steps; never sets `terminated`.

    As in Gymnasium, a step that both terminates and reaches the limit reports both flags.
    Stepping past the limit without a reset keeps stepping the inner env and keeps
    `truncated=True`.
    """

    def __init__(self, env: Env, max_episode_steps: int):
        if int(max_episode_steps) <= 0:
            raise ValueError(f"max_episode_steps must be positive, got {max_episode_steps}")
        super().__init__(env)
        self.max_episode_steps = int(max_episode_steps)

    def reset(self, key: jax.Array, params: Any = None) -> tuple[TimeLimitState, TimeStep]:
        env_state, ts = self.env.reset(key, params)
        return TimeLimitState(env_state, jnp.zeros((), jnp.int32)), ts

    def step(self, state: TimeLimitState, action: Any, params: Any = None) -> tuple[TimeLimitState, TimeStep]:
        env_state, ts = self.env.step(state.env_state, action, params)
        elapsed = state.elapsed_steps + 1
        return TimeLimitState(env_state, elapsed), ts.replace(
            truncated=ts.truncated | (elapsed >= self.max_episode_steps)
        )

    def observe(self, state: TimeLimitState, params: Any) -> Any:
        return self.env.observe(state.env_state, params)

    def inner_state(self, state: TimeLimitState) -> Any:
        return self.env.inner_state(state.env_state)


class CheckAction(Wrapper):
    """Refuses out-of-space actions under `jit` too, through `jax.experimental.checkify`.

    An eager `step` already raises on a bad action (see `gymx.core`); a traced one cannot. This
    wrapper adds a `checkify.check` that the action lies in the action space of `params`
    (default: the env's default params; fixed here because a traced params' bounds are not
    known when tracing). Run its step, or anything that steps it (a `VecEnv`, a `rollout`-like
    scan), under `checkify.checkify` and throw the error it returns:

        env = CheckAction(gymx.make("CartPole-v1"))
        step = jax.jit(checkify.checkify(env.step))
        error, (state, ts) = step(state, action)
        error.throw()  # raises JaxRuntimeError: "action 2 is not in Discrete(2) ..."

    The check costs a comparison per step and the error's bookkeeping; envs without the wrapper
    pay nothing.
    """

    def __init__(self, env: Env, params: Any = None):
        super().__init__(env)
        self.space = env.action_space(params)

    @runs_as_written
    def step(self, state: Any, action: Any, params: Any = None) -> tuple[Any, TimeStep]:
        # A concrete action is checked on the host by the inner env's eager step, with the full
        # message; a traced one gets the checkify check (which needs a checkify transform).
        if is_traced(action):
            checkify.check(self.space.contains(action), f"action {{}} is not in {self.space}", action)
        return self.env.step(state, action, params)
