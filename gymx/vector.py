"""Batched execution: one env's functional API over a leading batch axis.

`VecEnv(env, num_envs, autoreset_mode)` has the same `reset(key, params)` /
`step(state, action, params)` signature as a single env; every leaf of its state and
`TimeStep` carries a leading axis of size `num_envs`.

Randomness is per env: env i's reset number e uses the key `fold_in(fast_key(fold_in(key, i)), e)`
(a `gymx.random.hashed_counter` key, cheap enough to derive for every env on every step), so its
trajectory depends only on the seed and i, never on `num_envs` or on the devices the batch is
sharded over.

Auto-reset modes (each reset is a real random reset drawn with that env's own key):

- SAME_STEP (default): the step that ends an episode also resets it. `ts.obs` is the new
  episode's first observation and `ts.info["final_obs"]` the true last observation of the one
  that ended (bootstrap truncated episodes from it). Cost: a batched reset is computed and
  selected on every step (on CPU only on steps where some env finished).
- NEXT_STEP (Gymnasium's default): the step after a done resets instead of stepping; its action
  is ignored and it returns the first observation with reward 0 and both flags False. Cost: as
  SAME_STEP, plus one step per episode that carries no transition.
- DISABLED: envs are never reset by `step`; finished ones behave as the single env does
  (absorbing after termination, `truncated` kept after a time limit) until `reset_masked`.

In every mode `ts.info` holds the env's own info of the step just taken (for a finished env:
the last step of its episode; SAME_STEP does not replace it with the reset's info).

Per-env episode statistics are reported on every step in `ts.info["episode_return"]` and
`ts.info["episode_length"]`: the running return and length of the episode that the step
belongs to, so on a done step they are the finished episode's totals.

Params: pass the env's params unbatched (shared by the batch) or with a leading `num_envs` axis
on any leaf (one value per env, e.g. for domain randomisation); each leaf is matched against
the default params' shape.

Eager calls (see `gymx.core`): `reset`, `step`, `reset_masked` and `render` called with concrete
values run as one cached jitted program per method, here and in every `VecWrapper`; a concrete
batch of actions is checked against `action_space(params)` first (with per-env params, a box's
bounds are not checked: they differ by env).
"""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec
from jax.typing import ArrayLike

from gymx import render, spaces, struct
from gymx.core import (
    CompiledWhenConcrete,
    Env,
    Obs,
    Params,
    State,
    TimeStep,
    compiled,
    eager_program,
    eager_step,
    is_traced,
    tree_select,
)
from gymx.random import fast_key, key_words

if TYPE_CHECKING:
    from gymx.registration import EnvSpec

T = TypeVar("T")
# `params`' batch axes: a pytree of `params`' structure holding 0 (one value per env) or None
# (shared) at each leaf, as `jax.vmap`'s `in_axes` takes it.
ParamsAxes = Any
# Env indices to render: any int sequence or integer array.
EnvIndices = Sequence[int] | ArrayLike


class AutoresetMode(enum.Enum):
    NEXT_STEP = "NextStep"
    SAME_STEP = "SameStep"
    DISABLED = "Disabled"


class VecState(struct.PyTree, Generic[State]):
    env_state: State  # the env's state, batched (num_envs, ...)
    env_key: jax.Array  # uint32 (num_envs, 2), per-env `hashed_counter` key data that reset keys are folded from
    episode: jax.Array  # int32 (num_envs,), episodes begun so far by each env
    episode_return: jax.Array  # float32 (num_envs,), return of the current episode so far
    episode_length: jax.Array  # int32 (num_envs,), steps of the current episode so far
    reset_pending: jax.Array  # bool (num_envs,), the last step ended an episode that has not been reset


def _eager_vec_render(method: Callable) -> Callable:
    """`render` of a batch: one cached jitted program per `columns` for a concrete state, unless
    the env draws on the host (then env by env, as written)."""

    @functools.wraps(method)
    def render(
        self: VecEnv,
        state: VecState,
        params: object = None,
        env_indices: EnvIndices | None = None,
        columns: int | None = None,
    ) -> jax.Array:
        if self.env.render_on_host or is_traced((state, params, env_indices)):
            return method(self, state, params, env_indices, columns)
        indices = None if env_indices is None else np.asarray(env_indices)
        program = compiled(self, (method, columns), lambda: lambda s, p, i: method(self, s, p, i, columns))
        return program(state, params, indices)

    return render


_VEC_EAGER_WRAPPERS: dict[str, Callable[[Callable], Callable]] = {
    "reset": eager_program,
    "step": eager_step,
    "reset_masked": eager_program,
    "render": _eager_vec_render,
}


class VecEnv(CompiledWhenConcrete, Generic[State, Params, Obs]):
    """`num_envs` copies of `env`, stepped together; see the module docstring."""

    eager_wrappers = _VEC_EAGER_WRAPPERS

    def __init__(
        self,
        env: Env[State, Params, Obs],
        num_envs: int,
        autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
        devices: list[jax.Device] | None = None,
    ):
        # bool is an int subclass, and int() would quietly truncate 2.5 or parse "4".
        if not isinstance(num_envs, (int, np.integer)) or isinstance(num_envs, bool):
            raise TypeError(f"num_envs must be an int, got {num_envs!r} of type {type(num_envs).__name__}")
        if num_envs <= 0:
            raise ValueError(f"num_envs must be positive, got {num_envs}")
        self.env = env
        self.num_envs = int(num_envs)
        self.autoreset_mode = _as_mode(autoreset_mode)
        devices = jax.local_devices() if devices is None else list(devices)
        if self.num_envs % len(devices):
            raise ValueError(
                f"num_envs={self.num_envs} must be a multiple of the {len(devices)} devices it is sharded over"
            )
        self.devices = devices
        self._sharding = NamedSharding(Mesh(np.asarray(devices), ("envs",)), PartitionSpec("envs"))

    @property
    def spec(self) -> EnvSpec | None:
        return self.env.spec

    @property
    def default_params(self) -> Params:
        return self.env.default_params

    def single_observation_space(self, params: Params | None = None) -> spaces.Space:
        return self.env.observation_space(params)

    def single_action_space(self, params: Params | None = None) -> spaces.Space:
        return self.env.action_space(params)

    def observation_space(self, params: Params | None = None) -> spaces.Space:
        return spaces.Batched(self.env.observation_space(params), self.num_envs)

    def action_space(self, params: Params | None = None) -> spaces.Space:
        return spaces.Batched(self.env.action_space(params), self.num_envs)

    # A batch of actions: one element of `action_space()` (a batched array, or a tuple or dict of them).
    def check_action(self, action: Any, params: Params | None = None) -> Any:
        """A concrete batch of actions as arrays of the action space's dtypes; raises `ValueError`
        if it is not in `action_space(params)` (with per-env params: not in the default params'
        space, box bounds unchecked)."""
        params = self.env.default_params if params is None else params
        shared = not jax.tree_util.tree_leaves(self._params_axes(params))  # no leaf has a batch axis
        space = self.action_space(params if shared else None)
        space.check(action, "batch of actions", bounds=shared)
        return space.cast(action)

    def _params_axes(self, params: Params) -> ParamsAxes:
        defaults = self.env.default_params

        def axis(leaf: ArrayLike, default: ArrayLike) -> int | None:
            if jnp.ndim(leaf) == jnp.ndim(default) + 1 and jnp.shape(leaf)[0] == self.num_envs:
                return 0
            if jnp.shape(leaf) == jnp.shape(default):
                return None
            raise ValueError(
                f"params leaf of shape {jnp.shape(leaf)} matches neither the default shape {jnp.shape(default)}"
                f" nor a batch of {self.num_envs} of it"
            )

        return jax.tree_util.tree_map(axis, params, defaults)

    def _shard(self, tree: T) -> T:
        if len(self.devices) == 1:
            return tree
        return jax.tree_util.tree_map(lambda x: jax.lax.with_sharding_constraint(x, self._sharding), tree)

    def _reset_envs(
        self, env_key: jax.Array, episode: jax.Array, params: Params, axes: ParamsAxes
    ) -> tuple[State, TimeStep[Obs]]:
        keys = jax.vmap(jax.random.fold_in)(fast_key(env_key), episode)
        return jax.vmap(self.env.reset, in_axes=(0, axes))(keys, params)

    def _reset_where(
        self,
        mask: jax.Array,
        current: T,
        pick: Callable[[State, TimeStep[Obs]], T],
        state: VecState[State],
        episode: jax.Array,
        params: Params,
        axes: ParamsAxes,
    ) -> T:
        """`current` (batched) with the entries where `mask` holds replaced by `pick(fresh reset)`.

        Every env's reset is computed and selected (cheap with `hashed_counter` keys, and faster
        than compacting the finished envs' indices, resetting only those and scattering back). On CPU the reset is skipped on steps where no env finished; on accelerators that
        `lax.cond` would cost a device-to-host sync of its predicate per step, more than the
        batched reset it saves, so the reset is always computed there.
        """

        def reset_and_select(tree: T) -> T:
            reset_state, reset_ts = self._reset_envs(state.env_key, episode, params, axes)
            return tree_select(mask, pick(reset_state, reset_ts), tree)

        def skip_when_none_finished(tree: T) -> T:
            return jax.lax.cond(jnp.any(mask), reset_and_select, lambda unchanged: unchanged, tree)

        return jax.lax.platform_dependent(current, cpu=skip_when_none_finished, default=reset_and_select)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[VecState[State], TimeStep[Obs]]:
        params = self.env.default_params if params is None else params
        axes = self._params_axes(params)
        env_key = self._shard(
            key_words(jax.vmap(jax.random.fold_in, in_axes=(None, 0))(key, jnp.arange(self.num_envs)))
        )
        episode = jnp.zeros(self.num_envs, jnp.int32)
        env_state, ts = self._reset_envs(env_key, episode, params, axes)
        ts = ts.replace(info=self._with_stats(ts.info, ts.obs, jnp.zeros(self.num_envs), jnp.zeros(self.num_envs)))
        state = VecState(
            env_state=env_state,
            env_key=env_key,
            episode=episode,
            episode_return=jnp.zeros(self.num_envs, jnp.float32),
            episode_length=jnp.zeros(self.num_envs, jnp.int32),
            reset_pending=jnp.zeros(self.num_envs, jnp.bool_),
        )
        return self._shard((state, ts))

    def _with_stats(self, info: dict, final_obs: Obs, episode_return: jax.Array, episode_length: jax.Array) -> dict:
        extra: dict[str, object] = {
            "episode_return": episode_return.astype(jnp.float32),
            "episode_length": episode_length.astype(jnp.int32),
        }
        if self.autoreset_mode is AutoresetMode.SAME_STEP:
            extra["final_obs"] = final_obs
        return {**info, **extra}

    def _observe(self, env_state: State, params: Params, axes: ParamsAxes) -> Obs:
        # Observing after the reset select, rather than selecting between the stepped and the
        # reset observations, lets XLA materialise the state first: on CPU it otherwise fused
        # the whole step into the (num_envs, obs_dim) output's transposing loop (8x slower).
        return jax.vmap(self.env.observe, in_axes=(0, axes))(env_state, params)

    def step(
        self, state: VecState[State], action: Any, params: Params | None = None
    ) -> tuple[VecState[State], TimeStep[Obs]]:
        params = self.env.default_params if params is None else params
        axes = self._params_axes(params)
        env_state, ts = jax.vmap(self.env.step, in_axes=(0, 0, axes))(state.env_state, action, params)
        if self.autoreset_mode is AutoresetMode.NEXT_STEP:
            return self._shard(self._step_next(state, env_state, ts, params, axes))
        episode_return = state.episode_return + ts.reward
        episode_length = state.episode_length + 1
        done = ts.terminated | ts.truncated
        info = self._with_stats(ts.info, ts.obs, episode_return, episode_length)
        new_state = state.replace(
            env_state=env_state,
            episode_return=jnp.where(done, 0.0, episode_return),
            episode_length=jnp.where(done, 0, episode_length),
            reset_pending=done,
        )
        if self.autoreset_mode is AutoresetMode.DISABLED:
            return self._shard((new_state, ts.replace(info=info)))
        episode = state.episode + done
        env_state = self._reset_where(done, env_state, lambda rs, rts: rs, state, episode, params, axes)
        new_state = new_state.replace(env_state=env_state, episode=episode, reset_pending=jnp.zeros_like(done))
        return self._shard((new_state, ts.replace(obs=self._observe(env_state, params, axes), info=info)))

    def _step_next(
        self, state: VecState[State], env_state: State, ts: TimeStep[Obs], params: Params, axes: ParamsAxes
    ) -> tuple[VecState[State], TimeStep[Obs]]:
        pending = state.reset_pending
        episode = state.episode + pending

        def transition(env_state: State, ts: TimeStep[Obs]) -> tuple[State, TimeStep[Obs]]:
            return env_state, ts.replace(obs=None)

        env_state, ts = self._reset_where(pending, transition(env_state, ts), transition, state, episode, params, axes)
        episode_return = jnp.where(pending, 0.0, state.episode_return) + ts.reward
        episode_length = jnp.where(pending, 0, state.episode_length + 1)
        done = ts.terminated | ts.truncated
        new_state = state.replace(
            env_state=env_state,
            episode=episode,
            episode_return=episode_return,
            episode_length=episode_length,
            reset_pending=done,
        )
        obs = self._observe(env_state, params, axes)
        return new_state, ts.replace(obs=obs, info=self._with_stats(ts.info, obs, episode_return, episode_length))

    def reset_masked(
        self, state: VecState[State], mask: jax.Array, params: Params | None = None
    ) -> tuple[VecState[State], TimeStep[Obs]]:
        """Resets the envs where `mask` is True (each with its next own key); the rest are untouched.

        The returned `TimeStep` holds the new first observation for reset envs and the current
        observation (zero reward, flags False) for the others.
        """
        params = self.env.default_params if params is None else params
        axes = self._params_axes(params)
        mask = jnp.asarray(mask, jnp.bool_)
        if mask.shape != (self.num_envs,):
            raise ValueError(f"reset mask must have shape ({self.num_envs},), got {mask.shape}")
        episode = state.episode + mask
        reset_state, reset_ts = self._reset_envs(state.env_key, episode, params, axes)
        new_state = state.replace(
            env_state=tree_select(mask, reset_state, state.env_state),
            episode=episode,
            episode_return=jnp.where(mask, 0.0, state.episode_return),
            episode_length=jnp.where(mask, 0, state.episode_length),
            reset_pending=state.reset_pending & ~mask,
        )
        obs = self._observe(new_state.env_state, params, axes)
        info = self._with_stats(reset_ts.info, obs, new_state.episode_return, new_state.episode_length)
        return self._shard((new_state, reset_ts.replace(obs=obs, info=info)))

    def render(
        self,
        state: VecState[State],
        params: Params | None = None,
        env_indices: EnvIndices | None = None,
        columns: int | None = None,
    ) -> jax.Array:
        """One rgb_array frame tiling the frames of `env_indices` (default: every env) in a grid."""
        params = self.env.default_params if params is None else params
        axes = self._params_axes(params)
        indices = jnp.arange(self.num_envs) if env_indices is None else jnp.asarray(env_indices)
        env_params = jax.tree_util.tree_map(lambda p, axis: p if axis is None else p[indices], params, axes)
        chosen = jax.tree_util.tree_map(lambda x: x[indices], state.env_state)
        if self.env.render_on_host:
            frames = jnp.stack(
                [self.env.render(*_env_slice(chosen, env_params, axes, i), "rgb_array") for i in range(len(indices))]
            )
        else:
            frames = jax.vmap(lambda s, p: self.env.render(s, p, "rgb_array"), in_axes=(0, axes))(chosen, env_params)
        return render.tile(frames, columns)

    def __repr__(self) -> str:
        return f"VecEnv({self.env!r}, num_envs={self.num_envs}, autoreset_mode={self.autoreset_mode.name})"


def _env_slice(states: State, params: Params, params_axes: ParamsAxes, index: int) -> tuple[State, Params]:
    """Env `index`'s state and params out of a batch (params leaves with axis None are shared)."""
    state = jax.tree_util.tree_map(lambda x: x[index], states)
    return state, jax.tree_util.tree_map(lambda p, axis: p if axis is None else p[index], params, params_axes)


class VecWrapper(CompiledWhenConcrete, Generic[State, Params, Obs]):
    """A batched env around another (a `VecEnv` or another wrapper); every part passes through.

    Subclasses override `reset`/`step` (and `render`) around their own state, which wraps the
    inner one. The type parameters are the wrapper's own state, params and observation.
    """

    eager_wrappers = _VEC_EAGER_WRAPPERS

    # A `VecEnv` or another `VecWrapper`: subclasses also call what only some of those define
    # (`render`, `reset_masked`), so the inner batch is not narrowed to either.
    def __init__(self, vec_env: Any):
        self.vec_env = vec_env

    @property
    def num_envs(self) -> int:
        return self.vec_env.num_envs

    @property
    def env(self) -> Env:
        return self.vec_env.env

    @property
    def spec(self) -> EnvSpec | None:
        return self.vec_env.spec

    @property
    def autoreset_mode(self) -> AutoresetMode:
        return self.vec_env.autoreset_mode

    @property
    def devices(self) -> list[jax.Device]:
        return self.vec_env.devices

    @property
    def default_params(self) -> Params:
        return self.vec_env.default_params

    def single_observation_space(self, params: Params | None = None) -> spaces.Space:
        return self.vec_env.single_observation_space(params)

    def single_action_space(self, params: Params | None = None) -> spaces.Space:
        return self.vec_env.single_action_space(params)

    def observation_space(self, params: Params | None = None) -> spaces.Space:
        return self.vec_env.observation_space(params)

    def action_space(self, params: Params | None = None) -> spaces.Space:
        return self.vec_env.action_space(params)

    def check_action(self, action: Any, params: Params | None = None) -> Any:
        return self.vec_env.check_action(action, params)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        return self.vec_env.reset(key, params)

    def step(self, state: State, action: Any, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        return self.vec_env.step(state, action, params)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.vec_env!r})"


def _as_mode(mode: AutoresetMode | str) -> AutoresetMode:
    if isinstance(mode, AutoresetMode):
        return mode
    name = str(getattr(mode, "value", mode)).replace("_", "").lower()  # also Gymnasium's AutoresetMode
    for member in AutoresetMode:
        if name in (member.name.replace("_", "").lower(), member.value.lower()):
            return member
    raise ValueError(f"unknown autoreset_mode {mode!r}; choose one of {[m.name for m in AutoresetMode]}")


def make_vec(
    env_id: str,
    num_envs: int,
    autoreset_mode: AutoresetMode | str = AutoresetMode.SAME_STEP,
    max_episode_steps: int | None = None,
    devices: list[jax.Device] | None = None,
    **kwargs: Any,
) -> VecEnv:
    """`num_envs` copies of the env `make(env_id, ...)` gives, with the chosen auto-reset mode."""
    from gymx.registration import make

    return VecEnv(make(env_id, max_episode_steps=max_episode_steps, **kwargs), num_envs, autoreset_mode, devices)
