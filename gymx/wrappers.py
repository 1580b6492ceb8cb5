"""Wrappers over the functional API: each returns a new `Env` whose state wraps the inner one."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from gymx import struct
from gymx.core import Env, TimeStep, Wrapper


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
