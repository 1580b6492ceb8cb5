"""Running a policy for many steps inside one compiled program."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

import jax

from gymx import struct
from gymx.core import State, TimeStep

# The env's observation and the policy's action (an array, or a pytree of arrays).
Obs = TypeVar("Obs")
Action = TypeVar("Action")
# The variances a protocol's checker requires: params and actions are only taken, never returned.
_Params_contra = TypeVar("_Params_contra", contravariant=True)
_Action_contra = TypeVar("_Action_contra", contravariant=True)


class Rollout(struct.PyTree, Generic[State, Obs, Action]):
    final_state: State  # the env state after the last step
    first: TimeStep[Obs]  # the reset's TimeStep
    timesteps: TimeStep[Obs]  # stacked over time: leading axis num_steps
    actions: Action  # stacked over time: the action taken at each step


Policy = Callable[[jax.Array, Obs], Action]


class Steppable(Protocol[State, _Params_contra, Obs, _Action_contra]):
    """What `rollout` runs: a single env (`gymx.Env`) or a batch of them (`gymx.VecEnv`)."""

    def reset(self, key: jax.Array, params: _Params_contra | None = None) -> tuple[State, TimeStep[Obs]]: ...

    def step(
        self, state: State, action: _Action_contra, params: _Params_contra | None = None
    ) -> tuple[State, TimeStep[Obs]]: ...


def rollout(
    env: Steppable[State, _Params_contra, Obs, Action],
    policy: Policy[Obs, Action],
    key: jax.Array,
    num_steps: int,
    params: _Params_contra | None = None,
) -> Rollout[State, Obs, Action]:
    """Resets `env` and runs `policy(key, obs) -> action` for `num_steps` steps in one jitted scan.

    `env` is a single env or a `VecEnv`; `policy` sees the batched observation of a `VecEnv`.
    The compiled program is cached per (env, policy, num_steps), with env and policy compared by
    identity: reuse the same env and policy objects to reuse it.
    """
    return _rollout(env, policy, int(num_steps), key, params)


@functools.partial(jax.jit, static_argnums=(0, 1, 2))
def _rollout(
    env: Steppable[State, _Params_contra, Obs, Action],
    policy: Policy[Obs, Action],
    num_steps: int,
    key: jax.Array,
    params: _Params_contra | None,
) -> Rollout[State, Obs, Action]:
    reset_key, policy_key = jax.random.split(key)
    state, first = env.reset(reset_key, params)

    def one_step(
        carry: tuple[State, Obs], step_key: jax.Array
    ) -> tuple[tuple[State, Obs], tuple[TimeStep[Obs], Action]]:
        state, obs = carry
        action = policy(step_key, obs)
        state, ts = env.step(state, action, params)
        return (state, ts.obs), (ts, action)

    (state, _), (timesteps, actions) = jax.lax.scan(
        one_step, (state, first.obs), jax.random.split(policy_key, num_steps)
    )
    return Rollout(final_state=state, first=first, timesteps=timesteps, actions=actions)
