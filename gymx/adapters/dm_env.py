"""dm_env adapter: a gymx env as a `dm_env.Environment` (the interface of Acme-style agents).

Episodes follow dm_env's contract: `reset()` returns a FIRST step (reward and discount None);
`step(action)` returns MID steps with discount 1.0 until the episode ends in a LAST step, whose
discount says how it ended:

- terminated (the MDP's own end): discount 0.0, nothing to bootstrap from;
- truncated (a `TimeLimit` cut it off): discount 1.0, so a learner bootstraps from the last
  observation as from any other.

`step` on a fresh adapter or after a LAST step starts a new episode instead (its action is
ignored), as dm_env asks. Observations, rewards and discounts are fresh numpy arrays of the
specs' dtypes; each reset draws a new key from a stream started by `seed`. The info dict of the
last transition, which dm_env's TimeStep has no field for, is `last_info`.

Specs come from the gymx spaces: `Discrete(n)` (start 0) is a `DiscreteArray`; any other
`Discrete`, `MultiDiscrete`, `MultiBinary` and `Box` is a `BoundedArray` with the space's bounds
(infinite where the box is unbounded); `Tuple` and `Dict` are tuples and dicts of specs.

    env = DmEnv(gymx.make("CartPole-v1"), seed=0)
    timestep = env.reset()
    while not timestep.last():
        timestep = env.step(0)
"""

from __future__ import annotations

from typing import Any, Generic, TypeAlias, cast

import dm_env
import jax
import numpy as np
from dm_env import specs

from gymx import registration, spaces
from gymx.core import Env, Params, State

# A space's spec: an array spec, or tuples and dicts of them (Tuple and Dict spaces).
Spec: TypeAlias = specs.Array | tuple["Spec", ...] | dict[str, "Spec"]
# Host values of the same structure.
HostTree: TypeAlias = np.ndarray | tuple["HostTree", ...] | dict[str, "HostTree"]


def space_to_spec(space: spaces.Space, name: str | None = None) -> Spec:
    """The dm_env spec of a gymx space (see the module docstring); `name` names the leaf specs."""
    if isinstance(space, spaces.Tuple):
        return tuple(space_to_spec(part, f"{name}_{i}" if name else str(i)) for i, part in enumerate(space.spaces))
    if isinstance(space, spaces.Dict):
        return {key: space_to_spec(part, key) for key, part in space.spaces.items()}
    if isinstance(space, spaces.Discrete):
        if space.start == 0:
            return specs.DiscreteArray(space.n, dtype=space.dtype, name=name)
        return specs.BoundedArray((), space.dtype, space.start, space.start + space.n - 1, name=name)
    if isinstance(space, spaces.MultiDiscrete):
        return specs.BoundedArray(space.shape, space.dtype, space.start, space.start + space.nvec - 1, name=name)
    if isinstance(space, spaces.MultiBinary):
        return specs.BoundedArray(space.shape, space.dtype, 0, 1, name=name)
    if isinstance(space, spaces.Box):
        return specs.BoundedArray(space.shape, space.dtype, space.low, space.high, name=name)
    raise TypeError(f"gymx: no dm_env spec for a {type(space).__name__} space ({space})")


# `tree` is `Any`: the host copy of an observation, whose structure only `spec` tells.
def _as_spec_values(spec: Spec, tree: Any) -> HostTree:
    """Host arrays copied into fresh arrays of exactly the specs' dtypes and shapes."""
    if isinstance(spec, tuple):
        return tuple(_as_spec_values(part, value) for part, value in zip(spec, tree))
    if isinstance(spec, dict):
        return {key: _as_spec_values(part, tree[key]) for key, part in spec.items()}
    return np.array(tree, dtype=spec.dtype).reshape(spec.shape)


class DmEnv(dm_env.Environment, Generic[State, Params]):
    """A gymx env (with its `TimeLimit`, if any) as a `dm_env.Environment`; see the module docstring.

    `params` (default params when None) are used for every episode; `seed` starts the key stream.
    Actions are checked against the action space on the host and a bad one raises `ValueError`
    naming the space.
    """

    def __init__(self, env: Env[State, Params], params: Params | None = None, seed: int = 0):
        self._env = env
        self._params: Params = env.default_params if params is None else params
        self._observation_spec = space_to_spec(env.observation_space(self._params), "observation")
        self._action_spec = space_to_spec(env.action_space(self._params), "action")
        self._key = jax.random.key(seed)
        self._state: State | None = None
        self._episode_over = True
        self.last_info: dict = {}

    @property
    def gymx_env(self) -> Env[State, Params]:
        return self._env

    def reset(self) -> dm_env.TimeStep:
        self._key, reset_key = jax.random.split(self._key)
        self._state, ts = self._env.reset(reset_key, self._params)
        obs, self.last_info = jax.device_get((ts.obs, ts.info))
        self._episode_over = False
        return dm_env.restart(_as_spec_values(self._observation_spec, obs))

    # `action`: an element of the env's action space, which `Env.step` checks.
    def step(self, action: object) -> dm_env.TimeStep:
        if self._episode_over:
            return self.reset()
        # A live episode has a state: `reset` set it and `close` ends the episode.
        state = cast(State, self._state)
        self._state, ts = self._env.step(state, action, self._params)
        obs, reward, terminated, truncated, self.last_info = jax.device_get(
            (ts.obs, ts.reward, ts.terminated, ts.truncated, ts.info)
        )
        obs = _as_spec_values(self._observation_spec, obs)
        self._episode_over = bool(terminated or truncated)
        step_type = dm_env.StepType.LAST if self._episode_over else dm_env.StepType.MID
        discount = np.array(0.0 if terminated else 1.0, np.float32)
        return dm_env.TimeStep(step_type, np.array(reward, np.float32), discount, obs)

    def observation_spec(self) -> Spec:
        return self._observation_spec

    def action_spec(self) -> Spec:
        return self._action_spec

    def reward_spec(self) -> specs.Array:
        return specs.Array((), np.float32, name="reward")

    def discount_spec(self) -> specs.BoundedArray:
        return specs.BoundedArray((), np.float32, 0.0, 1.0, name="discount")

    def close(self) -> None:
        self._state = None
        self._episode_over = True


def make(env_id: str, params: object = None, seed: int = 0, **kwargs: Any) -> DmEnv:
    """`DmEnv(gymx.make(env_id, **kwargs))`: the registered time limit ends episodes as truncations."""
    return DmEnv(registration.make(env_id, **kwargs), params=params, seed=seed)
