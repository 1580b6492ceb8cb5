"""Running a policy for many steps inside one compiled program."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax

from gymx import struct
from gymx.core import TimeStep


class Rollout(struct.PyTree):
    final_state: Any  # the env state after the last step
    first: TimeStep  # the reset's TimeStep
    timesteps: TimeStep  # stacked over time: leading axis num_steps
    actions: Any  # stacked over time: the action taken at each step


Policy = Callable[[jax.Array, Any], Any]


def rollout(env: Any, policy: Policy, key: jax.Array, num_steps: int, params: Any = None) -> Rollout:
    """Resets `env` and runs `policy(key, obs) -> action` for `num_steps` steps in one jitted scan.

    `env` is a single env or a `VecEnv`; `policy` sees the batched observation of a `VecEnv`.
    The compiled program is cached per (env, policy, num_steps), with env and policy compared by
    identity: reuse the same env and policy objects to reuse it.
    """
    return _rollout(env, policy, int(num_steps), key, params)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _rollout(env: Any, policy: Policy, num_steps: int, key: jax.Array, params: Any) -> Rollout:
    reset_key, policy_key = jax.random.split(key)
    state, first = env.reset(reset_key, params)

    def one_step(carry: tuple[Any, Any], step_key: jax.Array) -> tuple[tuple[Any, Any], tuple[TimeStep, Any]]:
        state, obs = carry
        action = policy(step_key, obs)
        state, ts = env.step(state, action, params)
        return (state, ts.obs), (ts, action)

    (state, _), (timesteps, actions) = jax.lax.scan(
        one_step, (state, first.obs), jax.random.split(policy_key, num_steps)
    )
    return Rollout(final_state=state, first=first, timesteps=timesteps, actions=actions)
