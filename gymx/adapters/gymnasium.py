"""Gymnasium adapters: a gymx env as a `gymnasium.Env`, a `VecEnv` as a `gymnasium.vector.VectorEnv`.

Both speak numpy: actions are validated on the host before they reach JAX (a bad one raises
`ValueError` naming the space); each `step` runs one jitted program (a vector `reset`, up to
three) with everything kept on the device, and its results come back in one `jax.device_get` of
the whole `TimeStep`, copied into fresh writable arrays that the caller owns (no memory is shared
across calls). Programs are compiled once per gymx env object and cached on it, so every adapter
over the same env reuses them and they are freed with the env; the entry points below hand out
one shared gymx env per (id, time limit, kwargs) while any adapter still holds it, so a second
`gymnasium.make` of an id does not recompile, and a process that makes many ids does not keep
every id's compiled code (a few memory maps per XLA:CPU kernel, thousands per MuJoCo id) alive.

Seeding follows Gymnasium: an int seed gives a JAX key derived from it (and reseeds `np_random`);
`seed=None` continues the key stream, or on the first reset starts one from `np_random`'s entropy;
every reset draws a fresh key from the stream. Seeds are mixed through `numpy.random.SeedSequence`
because `jax.random.key` keeps only a seed's low 32 bits without x64, and Gymnasium's entropy
seeds are 128-bit.

Board games (`gymx.two_player.VsOpponent` ids): `info["action_mask"]` is the agent's legal moves
for its next step (the vector adapter reads it from the state, so it is also right for envs that
SAME_STEP has just reset). Made with `illegal_action="mask"`
(`gymnasium.make("gymx/TicTacToe-v0", illegal_action="mask")`), the adapters refuse an illegal
move with a `ValueError` naming the move and the legal ones, where a jitted gymx step can only
ignore it; with the default `illegal_action="lose"` an illegal move is a move that loses, the
game's rule, and is played.

Time limits: `register_gymnasium_envs` registers every gymx id as `gymx/<id>` with the gymx
spec's `max_episode_steps`. `gymnasium.make` applies Gymnasium's `TimeLimit` from it, so the
single-env entry point builds the gymx env without gymx's limit (`max_episode_steps=-1`).
`gymnasium.make_vec` passes `max_episode_steps` to the vector entry point, which applies gymx's
`TimeLimit` inside the compiled batched step. Either way an episode is limited exactly once.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable
from typing import Any, Generic, SupportsInt, TypeVar, cast

import gymnasium
import jax
import numpy as np
from gymnasium import spaces as gym_spaces
from gymnasium.error import ResetNeeded
from gymnasium.vector import AutoresetMode as GymAutoresetMode

from gymx import registration, spaces
from gymx.core import Env, Obs, Params, State, TimeStep, Wrapper, compiled, tree_select
from gymx.two_player import VsOpponent
from gymx.vector import AutoresetMode, VecEnv, VecState

T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])

NAMESPACE = "gymx"
_VEC_INFO_KEYS = ("final_obs", "episode_return", "episode_length")  # added by VecEnv, not the env


def gymnasium_id(gymx_id: str) -> str:
    """The Gymnasium id of a gymx id: `gymx/<id>`, or `gymx-<ns>/<Name-vN>` for a namespaced one
    (Gymnasium ids hold a single namespace)."""
    ns, name, version = registration.parse_env_id(gymx_id)
    return registration.get_env_id(NAMESPACE if ns is None else f"{NAMESPACE}-{ns}", name, version)


def _key_from_words(words: np.ndarray | jax.Array) -> jax.Array:
    return jax.random.fold_in(jax.random.key(words[0]), words[1])


def _seed_words(seed: int) -> np.ndarray:
    """Two 32-bit words mixed from any non-negative int seed, so distinct seeds give distinct keys."""
    return np.random.SeedSequence(int(seed)).generate_state(2, np.uint32)


def _seed_key(seed: int) -> jax.Array:
    return _key_from_words(_seed_words(seed))


def _entropy_key(np_random: np.random.Generator) -> jax.Array:
    return _key_from_words(np_random.integers(2**32, size=2, dtype=np.uint32))


# Observations and actions on the host are numpy arrays, or tuples or dicts of them as the space
# nests them (and Python or numpy scalars from the caller): their structure is the space's.
def _as_gymnasium_obs(obs: Any, space: gym_spaces.Space) -> Any:
    """`obs` (host arrays) in the types Gymnasium's checker expects: a Discrete value is an np.int64."""
    if isinstance(space, gym_spaces.Discrete):
        return np.int64(obs)
    if isinstance(space, gym_spaces.Tuple):
        return tuple(_as_gymnasium_obs(part, subspace) for part, subspace in zip(obs, space.spaces))
    if isinstance(space, gym_spaces.Dict):
        return {name: _as_gymnasium_obs(obs[name], subspace) for name, subspace in space.spaces.items()}
    return obs


def _to_host(tree: Any) -> Any:
    """One device-to-host transfer of a pytree, copied: `device_get` can return read-only views."""
    return jax.tree_util.tree_map(np.array, jax.device_get(tree))


def _as_numpy(space: gym_spaces.Space, x: Any) -> Any:
    """`x` as numpy arrays of exactly the space's dtypes, so the jitted step never retraces."""
    if isinstance(space, gym_spaces.Tuple):
        return tuple(_as_numpy(subspace, part) for subspace, part in zip(space.spaces, x))
    if isinstance(space, gym_spaces.Dict):
        return {name: _as_numpy(subspace, x[name]) for name, subspace in space.spaces.items()}
    return np.asarray(x, dtype=space.dtype)


def _validated(space: spaces.Space, shown: gym_spaces.Space, x: object, what: str) -> Any:
    """`x` checked against the gymx `space` by the rules every eager gymx step applies (the error
    names `shown`, the Gymnasium space the caller sees), then as numpy arrays of its dtypes."""
    if (reason := spaces.why_not_in(space, x)) is not None:
        raise ValueError(spaces.not_in_message(what, x, shown, reason))
    return _as_numpy(shown, x)


def _vs_opponent(env: Env) -> VsOpponent | None:
    """The board-game `VsOpponent` inside `env`'s wrappers, if there is one."""
    while not isinstance(env, VsOpponent):
        if not isinstance(env, Wrapper):
            return None
        env = env.env
    return env


def _display_name(env: Env) -> str:
    return env.spec.id if env.spec is not None else env.name


def _refuses_illegal_moves(env: Env) -> bool:
    game = _vs_opponent(env)
    return game is not None and game.illegal_action == "mask"


def _check_legal(legal: np.ndarray, action: SupportsInt, name: str, what: str = "move") -> None:
    """Raises `ValueError` for an action outside the legal mask `legal` (bool (num_actions,))."""
    if not legal[int(action)]:
        raise ValueError(
            f"gymx: {what} {int(action)} is illegal in {name}: the legal moves are {np.flatnonzero(legal).tolist()}"
        )


def _with_masks(info: dict, mask: np.ndarray) -> dict:
    """Gymnasium's vector info layout: every key `k` comes with `_k`, the envs that report it."""
    out = {}
    for key, value in info.items():
        out[key] = _with_masks(value, mask) if isinstance(value, dict) else value
        out[f"_{key}"] = mask.copy()
    return out


def _env_info(info: dict) -> dict:
    return {key: value for key, value in info.items() if key not in _VEC_INFO_KEYS}


class _SettableParams(Generic[Params]):
    """The env params an adapter steps with, replaceable between steps (e.g. by a curriculum)."""

    _params: Params

    @property
    def params(self) -> Params:
        return self._params

    @params.setter
    def params(self, params: Params) -> None:
        """New params for the following steps; the spaces stay as built from the first ones."""
        new_leaves, new_tree = jax.tree_util.tree_flatten(params)
        old_leaves, old_tree = jax.tree_util.tree_flatten(self._params)
        # Another structure or leaf shape would not fit the compiled programs.
        restructured = new_tree != old_tree  # type: ignore[operator]  # jaxlib ships no stub for PyTreeDef
        if restructured or [np.shape(x) for x in new_leaves] != [np.shape(x) for x in old_leaves]:
            raise ValueError(f"params must have the structure and leaf shapes of {self._params}, got {params}")
        self._params = params


def _per_env(body: F) -> F:
    """`body(env, *args)` as one jitted program per env object, cached on the env
    (`gymx.core.compiled`), so the program lives as long as the env. A module-level jit with the
    env as a static argument would hold every env it ever ran, and its machine code, for good."""

    @functools.wraps(body)
    def run(env: object, *args: object) -> object:
        return compiled(env, run, lambda: functools.partial(body, env))(*args)

    return cast(F, run)


@_per_env
def _reset(env: Env[State, Params, Obs], key: jax.Array, params: Params) -> tuple[jax.Array, State, TimeStep[Obs]]:
    key, reset_key = jax.random.split(key)
    state, ts = env.reset(reset_key, params)
    return key, state, ts


@_per_env
def _step(env: Env[State, Params, Obs], state: State, action: Any, params: Params) -> tuple[State, TimeStep[Obs]]:
    return env.step(state, action, params)


@_per_env
def _vec_step(
    vec: VecEnv[State, Params, Obs], state: VecState[State], action: Any, params: Params
) -> tuple[VecState[State], TimeStep[Obs]]:
    return vec.step(state, action, params)


@_per_env
def _vec_reset(
    vec: VecEnv[State, Params, Obs], key: jax.Array, params: Params
) -> tuple[VecState[State], TimeStep[Obs]]:
    return vec.reset(key, params)


@_per_env
def _vec_reset_masked(
    vec: VecEnv[State, Params, Obs], state: VecState[State], mask: jax.Array, params: Params
) -> tuple[VecState[State], TimeStep[Obs]]:
    return vec.reset_masked(state, mask, params)


@_per_env
def _vec_reset_each(
    one: VecEnv[State, Params, Obs], keys: jax.Array, params: Params
) -> tuple[VecState[State], TimeStep[Obs]]:
    """Env i reset as env 0 of `one.reset(keys[i])` (`one` has a single env), batched over i."""
    batch = jax.vmap(one.reset, in_axes=(0, None))(keys, params)
    return jax.tree_util.tree_map(lambda x: x[:, 0], batch)


@_per_env
def _vec_frames(vec: VecEnv[State, Params, Obs], state: VecState[State], params: Params) -> jax.Array:
    """Every env's rgb_array frame, (num_envs, h, w, 3), drawn in one batched call."""
    return jax.vmap(lambda env_state: vec.env.render(env_state, params, "rgb_array"))(state.env_state)


@jax.jit
def _select(pred: jax.Array, on_true: T, on_false: T) -> T:
    return tree_select(pred, on_true, on_false)


class GymnasiumEnv(_SettableParams[Params], gymnasium.Env, Generic[State, Params]):
    """A gymx env as a `gymnasium.Env` that takes and returns numpy.

    Wraps whatever gymx env it is given: with gymx's `TimeLimit` inside, truncation comes from it;
    `gymnasium.make("gymx/<id>")` instead builds the env without one and adds Gymnasium's
    `TimeLimit` (see the module docstring). Stepping after termination without a reset follows
    gymx's absorbing semantics: same observation, reward 0, `terminated=True`.

    Spaces are the Gymnasium conversions of the env's spaces under `params` (default params when
    None). `step` returns a Python float reward and Python bool flags.
    """

    def __init__(self, env: Env[State, Params, Any], params: Params | None = None, render_mode: str | None = None):
        self._env = env
        self._params = env.default_params if params is None else params
        self.metadata = {**env.metadata, "render_modes": list(env.metadata.get("render_modes", []))}
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported by {env.name}; its render modes are {self.metadata['render_modes']}"
            )
        self.render_mode = render_mode
        self.observation_space = env.observation_space(self._params).to_gymnasium()
        self._action_space = env.action_space(self._params)
        self.action_space = self._action_space.to_gymnasium()
        self._key: jax.Array | None = None
        self._state: State | None = None
        self._refuse_illegal = _refuses_illegal_moves(env)
        self._legal: np.ndarray | None = None

    @property
    def gymx_env(self) -> Env[State, Params, Any]:
        return self._env

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        """Starts an episode with the next key of the stream (see the module docstring).

        gymx resets take no options: a non-empty `options` raises `ValueError` rather than being
        silently ignored.
        """
        if options:
            raise ValueError(f"{self._env.name} takes no reset options, got {sorted(options)}")
        super().reset(seed=seed)
        if seed is not None:
            self._key = _seed_key(seed)
        elif self._key is None:
            self._key = _entropy_key(self.np_random)
        self._key, state, ts = _reset(self._env, self._key, self._params)
        self._state = state
        obs, info = _to_host((ts.obs, ts.info))
        obs = _as_gymnasium_obs(obs, self.observation_space)
        self._legal = info.get("action_mask")
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        if self._state is None:
            raise ResetNeeded("Cannot call step() before reset()")
        action = _validated(self._action_space, self.action_space, action, "action")
        if self._refuse_illegal:
            assert self._legal is not None, "a board game reports its legal moves at every step"
            _check_legal(self._legal, action, _display_name(self._env))
        state, ts = _step(self._env, self._state, action, self._params)
        self._state = state
        obs, reward, terminated, truncated, info = _to_host((ts.obs, ts.reward, ts.terminated, ts.truncated, ts.info))
        obs = _as_gymnasium_obs(obs, self.observation_space)
        self._legal = info.get("action_mask")
        return obs, float(reward), bool(terminated), bool(truncated), info

    def render(self) -> Any:
        """The current frame in `render_mode`; with no render mode, warns and returns None as
        Gymnasium's own envs do."""
        if self.render_mode is None:
            gymnasium.logger.warn(
                "You are calling render method without specifying any render mode. "
                f"Declared render modes: {self.metadata['render_modes']}."
            )
            return None
        if self._state is None:
            raise ResetNeeded("Cannot call render() before reset()")
        rendered = self._env.render(self._state, self._params, self.render_mode)
        return rendered if isinstance(rendered, str) else _to_host(rendered)

    def close(self) -> None:
        """Releases the device state; safe to call more than once."""
        self._state = None


class GymnasiumVectorEnv(_SettableParams[Params], gymnasium.vector.VectorEnv, Generic[State, Params]):
    """A gymx `VecEnv` as a `gymnasium.vector.VectorEnv` that takes and returns numpy.

    `metadata["autoreset_mode"]` is the VecEnv's mode as Gymnasium's `AutoresetMode`. `reset`
    takes `options={"reset_mask": mask}` to reset only some envs (the others keep their
    observation) and `seed` as Gymnasium does:
    - an int: env i restarts the stream that `VecEnv.reset(key(seed))` gives env i, so it depends
      on (seed, i) only;
    - a list: env i restarts the stream `VecEnv.reset(key(seed[i]))` gives env 0 (so `[s]` and `s`
      agree on one env); a None entry continues that env's stream;
    - None: every env continues its own stream (the first reset starts them from `np_random`).

    Info follows Gymnasium's layout, each key `k` with a boolean mask `_k`:
    - the env's own info keys, reported by every env;
    - `episode_return`, `episode_length` (every env): the running return and length of the
      episode each step belongs to, so on a done step the finished episode's totals (named apart
      from `episode`, which Gymnasium's `RecordEpisodeStatistics` adds itself);
    - SAME_STEP, on steps where some env finished: `final_obs` (a batched array, not Gymnasium's
      object array; rows valid where `_final_obs`) and `final_info` (the env's info of that step).

    `params` (default params when None) are shared by every env; spaces are computed from them.
    """

    def __init__(
        self, vec_env: VecEnv[State, Params, Any], params: Params | None = None, render_mode: str | None = None
    ):
        self._vec = vec_env
        self._one = _shared_vec_env(vec_env.env, 1, vec_env.autoreset_mode, (vec_env.devices[0],))
        self._params = vec_env.default_params if params is None else params
        self.num_envs = vec_env.num_envs
        # Frames of the whole batch are drawn by one vmapped render; only rgb_array batches.
        render_modes = [m for m in vec_env.env.metadata.get("render_modes", []) if m == "rgb_array"]
        if render_mode is not None and render_mode not in render_modes:
            raise ValueError(
                f"render_mode={render_mode!r} is not supported by {vec_env.env.name}'s vector env; its render modes are {render_modes}"
            )
        self.render_mode = render_mode
        self.metadata = {
            "autoreset_mode": GymAutoresetMode(vec_env.autoreset_mode.value),
            "render_modes": render_modes,
            **({"render_fps": vec_env.env.metadata["render_fps"]} if "render_fps" in vec_env.env.metadata else {}),
        }
        self.single_observation_space = vec_env.single_observation_space(self._params).to_gymnasium()
        self.single_action_space = vec_env.single_action_space(self._params).to_gymnasium()
        self.observation_space = vec_env.observation_space(self._params).to_gymnasium()
        self._action_space = vec_env.action_space(self._params)
        self.action_space = self._action_space.to_gymnasium()
        self._state: VecState[State] | None = None
        self._board_game = _vs_opponent(vec_env.env) is not None
        self._refuse_illegal = _refuses_illegal_moves(vec_env.env)
        self._legal: np.ndarray | None = None

    @property
    def gymx_vec_env(self) -> VecEnv[State, Params, Any]:
        return self._vec

    def reset(
        self, *, seed: int | list[int | None] | None = None, options: dict[str, Any] | None = None
    ) -> tuple[Any, dict]:
        options = dict(options or {})
        mask = self._reset_mask(options.pop("reset_mask", None))
        if options:
            raise ValueError(f"unsupported reset options {sorted(options)}: gymx resets take only 'reset_mask'")
        # One seed per env (a list), or one for the batch (`single`); at most one of them is set.
        seeds = seed if isinstance(seed, (list, tuple)) else None
        single = None if isinstance(seed, (list, tuple)) else seed
        if seeds is not None and len(seeds) != self.num_envs:
            raise ValueError(f"a list of seeds must have num_envs={self.num_envs} entries, got {len(seeds)}")
        if seeds is None:
            super().reset(seed=single)
        if self._state is None or (single is not None and mask.all()):
            root = _entropy_key(self.np_random) if single is None else _seed_key(single)
            self._state, ts = _vec_reset(self._vec, root, self._params)
            if seeds is None:
                return self._reset_result(ts, np.ones(self.num_envs, np.bool_))
        seeded = (
            np.full(self.num_envs, single is not None) if seeds is None else np.array([s is not None for s in seeds])
        )
        fresh = mask & seeded
        result = _vec_reset_masked(self._vec, self._state, mask & ~fresh, self._params)
        if fresh.any():
            chosen = seeds if seeds is not None else single
            assert chosen is not None, "an env is seeded only by a seed"
            result = _select(fresh, self._seeded_reset(chosen), result)
        self._state, ts = result
        return self._reset_result(ts, mask)

    def step(self, actions: Any) -> tuple[Any, np.ndarray, np.ndarray, np.ndarray, dict]:
        if self._state is None:
            raise ResetNeeded("Cannot call step() before reset()")
        actions = _validated(self._action_space, self.action_space, actions, "batch of actions")
        if self._refuse_illegal:
            assert self._legal is not None, "a board game reports its legal moves at every step"
            legal = self._legal[np.arange(self.num_envs), actions]
            if not legal.all():
                i = int(np.argmin(legal))
                _check_legal(self._legal[i], actions[i], _display_name(self._vec.env), f"env {i}'s move")
        self._state, ts = _vec_step(self._vec, self._state, actions, self._params)
        obs, reward, terminated, truncated, info, legal = _to_host(
            (ts.obs, ts.reward, ts.terminated, ts.truncated, ts.info, self._legal_moves())
        )
        info = self._step_info(info, terminated | truncated)
        self._use_legal_moves(info, legal)
        return obs, reward, terminated, truncated, info

    def render(self) -> tuple[np.ndarray, ...] | None:
        """Each env's current frame, as Gymnasium's vector envs return them (None without a render mode)."""
        if self.render_mode is None:
            return None
        if self._state is None:
            raise ResetNeeded("Cannot call render() before reset()")
        if self._vec.env.render_on_host:
            return tuple(
                np.asarray(self._vec.render(self._state, self._params, [i], columns=1)) for i in range(self.num_envs)
            )
        return tuple(_to_host(_vec_frames(self._vec, self._state, self._params)))

    def close_extras(self, **kwargs: Any) -> None:
        self._state = None

    def _reset_mask(self, mask: object) -> np.ndarray:
        if mask is None:
            return np.ones(self.num_envs, np.bool_)
        mask = np.asarray(mask)
        if mask.dtype != np.bool_ or mask.shape != (self.num_envs,):
            raise ValueError(
                f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), got {mask.dtype} of shape {mask.shape}"
            )
        return mask

    def _seeded_reset(self, seed: int | list[int | None]) -> tuple[VecState[State], TimeStep]:
        """Every env reset from the stream `seed` gives it (rows of unseeded envs are unused).

        Built from `VecEnv.reset` alone, so the adapter never depends on how a `VecState` holds
        its keys."""
        if not isinstance(seed, (list, tuple)):
            return _vec_reset(self._vec, _seed_key(seed), self._params)
        words = np.stack([np.zeros(2, np.uint32) if s is None else _seed_words(s) for s in seed])
        return _vec_reset_each(self._one, jax.vmap(_key_from_words)(words), self._params)

    def _legal_moves(self) -> jax.Array | None:
        """A board game's legal moves for each env's next step, bool (num_envs, num_actions); every
        move where the next step resets (NEXT_STEP), since it ignores the action."""
        if not self._board_game:
            return None
        assert self._state is not None, "legal moves exist only after a reset"
        game_state = self._vec.env.inner_state(self._state.env_state)
        return game_state.legal_action_mask | self._state.reset_pending[:, None]

    def _use_legal_moves(self, info: dict, legal: np.ndarray | None) -> None:
        if legal is not None:
            info["action_mask"], self._legal = legal, legal.copy()

    def _reset_result(self, ts: TimeStep, mask: np.ndarray) -> tuple[Any, dict]:
        obs, info, legal = _to_host((ts.obs, _env_info(ts.info), self._legal_moves()))
        self._use_legal_moves(info, legal)
        return obs, _with_masks(info, mask)

    def _step_info(self, info: dict, done: np.ndarray) -> dict:
        final_obs = info.pop("final_obs", None)
        out = _with_masks(info, np.ones(self.num_envs, np.bool_))
        if final_obs is not None and done.any():
            final_info = jax.tree_util.tree_map(np.copy, _env_info(info))
            out |= {"final_obs": final_obs, "_final_obs": done.copy()}
            out |= {"final_info": _with_masks(final_info, done), "_final_info": done.copy()}
        return out


# Shared envs, held only while something else holds them (see the module docstring).
_SHARED_ENVS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()
_SHARED_VEC_ENVS: weakref.WeakValueDictionary = weakref.WeakValueDictionary()


def _gymx_env(gymx_id: str, max_episode_steps: int | None, kwargs: dict) -> Env:
    """`gymx.make`, one shared env per arguments so adapters reuse its compiled programs (gymx envs
    hold no episode state, so sharing is safe)."""
    frozen = tuple(sorted(kwargs.items()))
    try:
        hash(frozen)
    except TypeError:  # unhashable kwargs (e.g. arrays): an env of its own
        return registration.make(gymx_id, max_episode_steps=max_episode_steps, **kwargs)
    key = (gymx_id, max_episode_steps, frozen)
    env = _SHARED_ENVS.get(key)
    if env is None:
        env = _SHARED_ENVS[key] = registration.make(gymx_id, max_episode_steps=max_episode_steps, **kwargs)
    return env


def _shared_vec_env(
    env: Env[State, Params, Obs],
    num_envs: int,
    autoreset_mode: AutoresetMode,
    devices: tuple[jax.Device, ...] | None = None,
) -> VecEnv[State, Params, Obs]:
    # Keyed by id(env): an entry lives only while its VecEnv, which holds `env`, does, so the id
    # names that env and no other.
    key = (id(env), num_envs, autoreset_mode, devices)
    vec = _SHARED_VEC_ENVS.get(key)
    if vec is None:
        vec = _SHARED_VEC_ENVS[key] = VecEnv(env, num_envs, autoreset_mode, None if devices is None else list(devices))
    return vec


def make_env(gymx_id: str, render_mode: str | None = None, params: Any = None, **kwargs: Any) -> GymnasiumEnv:
    """Gymnasium `entry_point` of `gymx/<id>`: `gymnasium.make` applies the time limit itself, so
    the gymx env is built without one. `kwargs` go to the gymx env's constructor."""
    return GymnasiumEnv(_gymx_env(gymx_id, -1, kwargs), params=params, render_mode=render_mode)


def make_vec_env(
    gymx_id: str,
    num_envs: int = 1,
    max_episode_steps: int | None = None,
    autoreset_mode: GymAutoresetMode | AutoresetMode | str = GymAutoresetMode.NEXT_STEP,
    params: Any = None,
    render_mode: str | None = None,
    **kwargs: Any,
) -> GymnasiumVectorEnv:
    """Gymnasium `vector_entry_point` of `gymx/<id>`.

    `gymnasium.make_vec` passes the spec's `max_episode_steps`, applied as gymx's `TimeLimit`
    inside the batched step (None: the gymx spec's limit; -1: none). `autoreset_mode` defaults to
    NEXT_STEP as Gymnasium's vector envs do. `kwargs` go to the gymx env's constructor.
    """
    mode = AutoresetMode[GymAutoresetMode(getattr(autoreset_mode, "value", autoreset_mode)).name]
    env = _gymx_env(gymx_id, max_episode_steps, kwargs)
    return GymnasiumVectorEnv(_shared_vec_env(env, num_envs, mode), params=params, render_mode=render_mode)


def register_gymnasium_envs() -> None:
    """Registers every gymx id in Gymnasium's registry as `gymnasium_id(id)`.

    Idempotent: an id already registered with the same spec is left alone, so calling it again
    (e.g. after registering more gymx ids) adds only what is new.
    """
    registration.load_plugins()
    for spec in list(registration.registry.values()):
        fields: dict[str, Any] = {
            "id": gymnasium_id(spec.id),
            "entry_point": f"{__name__}:make_env",
            "vector_entry_point": f"{__name__}:make_vec_env",
            "reward_threshold": spec.reward_threshold,
            "nondeterministic": spec.nondeterministic,
            "max_episode_steps": spec.max_episode_steps,
            "kwargs": {"gymx_id": spec.id},
        }
        existing = gymnasium.registry.get(fields["id"])
        if existing is None or any(getattr(existing, name) != value for name, value in fields.items()):
            gymnasium.register(**fields)
