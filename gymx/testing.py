"""`check_env`: the conformance harness every registered environment passes, as named checks.

Each check is a function of an `EnvUnderCheck` (the env, its params and its compiled
functions) that raises `EnvCheckError` naming the broken rule; `check_env` runs `CHECKS` in
order and reports a failure under the check's name. A check can be run alone, or a list of them
passed as `check_env(env, checks=...)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, Generic

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from gymx import spaces
from gymx.core import Env, Obs, Params, State, TimeStep


class EnvCheckError(AssertionError):
    """An env broke the functional API's contract; the message says which rule, `check` which check."""

    check: str | None = None


def _signature(tree: object) -> tuple[jax.tree_util.PyTreeDef, list[tuple]]:
    """Structure, shapes, dtypes and weak types: everything that decides whether jit retraces."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, [(jnp.shape(x), jnp.result_type(x), getattr(x, "weak_type", False)) for x in leaves]


def _all_finite(tree: object) -> bool:
    return all(
        np.all(np.isfinite(x))
        for x in jax.device_get(jax.tree_util.tree_leaves(tree))
        if np.issubdtype(x.dtype, np.inexact)
    )


def _trees_equal(a: object, b: object) -> bool:
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(leaves_a) == len(leaves_b) and all(
        np.array_equal(np.asarray(x), np.asarray(y), equal_nan=True) for x, y in zip(leaves_a, leaves_b)
    )


class _ObsChecker:
    """The observation space's `contains`, compiled once, and the shapes and dtypes of its samples."""

    def __init__(self, space: spaces.Space):
        self.space = space
        self.contains = jax.jit(space.contains)
        template = jax.eval_shape(space.sample, jax.random.key(0))
        self.expected = [(x.shape, x.dtype) for x in jax.tree_util.tree_leaves(template)]

    def check(self, obs: object, where: str) -> None:
        actual = [(jnp.shape(x), jnp.result_type(x)) for x in jax.tree_util.tree_leaves(obs)]
        if actual != self.expected:
            raise EnvCheckError(
                f"{where}: observation shapes and dtypes {actual} differ from the space's {self.expected}"
            )
        if not bool(self.contains(obs)):
            raise EnvCheckError(f"{where}: observation {obs} is not in {self.space}")


def _check_timestep(
    ts: TimeStep, obs_checker: _ObsChecker, info_signature: tuple[jax.tree_util.PyTreeDef, list[tuple]], where: str
) -> None:
    obs_checker.check(ts.obs, where)
    if not (jnp.shape(ts.reward) == () and ts.reward.dtype == jnp.float32):
        raise EnvCheckError(f"{where}: reward must be a float32 scalar, got {ts.reward!r}")
    for flag in ("terminated", "truncated"):
        value = getattr(ts, flag)
        if not (jnp.shape(value) == () and value.dtype == jnp.bool_):
            raise EnvCheckError(f"{where}: {flag} must be a bool scalar, got {value!r}")
    if not isinstance(ts.info, dict):
        raise EnvCheckError(f"{where}: info must be a dict, got {type(ts.info)}")
    if _signature(ts.info) != info_signature:
        raise EnvCheckError(
            f"{where}: info keys, shapes or dtypes differ from reset's: {jax.tree_util.tree_map(jnp.shape, ts.info)}"
        )
    if not _all_finite((ts.obs, ts.reward, ts.info)):
        raise EnvCheckError(f"{where}: non-finite values in {ts}")


def _check_render(env: Env[State, Params, Obs], params: Params, state: State) -> None:
    """Each declared render mode renders: rgb_array a uint8 (h, w, 3) frame, under jit unless the env
    renders on the host; depth_array a float32 (h, w) image; ansi a str."""
    for mode in env.metadata.get("render_modes", []):
        if mode == "rgb_array":
            draw = functools.partial(env.render, params=params, mode=mode)
            frame = (draw if env.render_on_host else jax.jit(draw))(state)
            if not (frame.dtype == jnp.uint8 and frame.ndim == 3 and frame.shape[2] == 3):
                raise EnvCheckError(f"rgb_array frames must be uint8 (h, w, 3), got {frame.dtype} {frame.shape}")
        elif mode == "depth_array":
            depth = env.render(state, params, mode)
            if not (depth.dtype == jnp.float32 and depth.ndim == 2):
                raise EnvCheckError(f"depth_array images must be float32 (h, w), got {depth.dtype} {depth.shape}")
        elif mode == "ansi":
            text = env.render(state, params, mode)
            if not (isinstance(text, str) and text):
                raise EnvCheckError(f"ansi must render a non-empty str, got {text!r}")
    if not ("render_fps" in env.metadata or not env.metadata.get("render_modes")):
        raise EnvCheckError("an env that renders must declare metadata['render_fps']")


def _close_to_rounding(x: ArrayLike, y: ArrayLike) -> bool:
    """Equal up to float32 reassociation (batched linear algebra sums in another order), with an
    entry's error measured against the largest value of its field (a contact force of 1e3 beside
    one of 0); non-float leaves exactly equal."""
    x, y = np.asarray(x), np.asarray(y)
    if not np.issubdtype(x.dtype, np.floating):
        return bool(np.array_equal(x, y))
    scale = float(np.max(np.abs(y), initial=0.0, where=np.isfinite(y)))
    return bool(np.allclose(x, y, rtol=1e-4, atol=1e-5 + 1e-4 * scale, equal_nan=True))


class EnvUnderCheck(Generic[State, Params, Obs]):
    """An env with its params, spaces and compiled reset, step and observe (whose traces it counts),
    and its trajectories from the same key, played once each when a check first asks for them."""

    def __init__(self, env: Env[State, Params, Obs], params: Params | None = None, num_steps: int = 200, seed: int = 0):
        self.env = env
        self.params: Params = env.default_params if params is None else params
        self.num_steps = num_steps
        self.seed = seed
        self.obs_space = env.observation_space(self.params)
        self.action_space = env.action_space(self.params)
        self.traces = {"reset": 0, "step": 0}
        self.reset = jax.jit(self._counted_reset)
        self.step = jax.jit(self._counted_step)
        self.observe = jax.jit(lambda state: env.observe(state, self.params))

    def _counted_reset(self, key: jax.Array) -> tuple[State, TimeStep[Obs]]:
        self.traces["reset"] += 1
        return self.env.reset(key, self.params)

    def _counted_step(self, state: State, action: Any) -> tuple[State, TimeStep[Obs]]:
        self.traces["step"] += 1
        return self.env.step(state, action, self.params)

    @functools.cached_property
    def obs_checker(self) -> _ObsChecker:
        return _ObsChecker(self.obs_space)

    @functools.cached_property
    def sample_action(self) -> Callable[[jax.Array], Any]:
        return jax.jit(self.action_space.sample)

    @functools.cached_property
    def trajectory(self) -> list[tuple[State, TimeStep[Obs]]]:
        """(state, timestep) of every reset and step of `num_steps` random actions, each checked as it comes."""
        return _play(self)

    @functools.cached_property
    def replayed_trajectory(self) -> list[tuple[State, TimeStep[Obs]]]:
        """The same play again, from the same key."""
        self.trajectory  # noqa: B018 - played first, so `traces` counts two plays of one compiled pair
        return _play(self)


def _check_observe(subject: EnvUnderCheck[State, Params, Obs], state: State, ts: TimeStep[Obs], where: str) -> None:
    if not _trees_equal(subject.observe(state), ts.obs):
        raise EnvCheckError(f"{where}: obs differs from env.observe(state): {ts.obs}")


def _play(subject: EnvUnderCheck[State, Params, Obs]) -> list[tuple[State, TimeStep[Obs]]]:
    env, step, reset = subject.env, subject.step, subject.reset
    reset_key, action_key = jax.random.split(jax.random.key(subject.seed))
    state, ts = reset(reset_key)
    info_signature, state_signature = _signature(ts.info), _signature(state)
    trajectory: list[tuple[State, TimeStep[Obs]]] = []
    for t in range(subject.num_steps):
        if t == 0 or bool(ts.terminated | ts.truncated):
            state, ts = reset(jax.random.fold_in(reset_key, t))
            _check_timestep(ts, subject.obs_checker, info_signature, f"reset before step {t}")
            if not not bool(ts.terminated | ts.truncated):
                raise EnvCheckError("reset must return terminated=False, truncated=False")
            _check_observe(subject, state, ts, f"reset before step {t}")
            trajectory.append((state, ts))
        action_key, key_t = jax.random.split(action_key)
        action = subject.sample_action(key_t)
        state, ts = step(state, action)
        where = f"step {t}"
        _check_timestep(ts, subject.obs_checker, info_signature, where)
        if _signature(state) != state_signature:
            raise EnvCheckError(f"{where}: state structure, shapes or dtypes changed: {state}")
        if not _all_finite(state):
            raise EnvCheckError(f"{where}: non-finite state {state}")
        _check_observe(subject, state, ts, where)
        if bool(ts.truncated) and env.unwrapped is env:
            raise EnvCheckError(f"{where}: a bare env must never set truncated")
        trajectory.append((state, ts))
        if bool(ts.terminated):
            again_state, again_ts = step(state, action)
            if not bool(again_ts.terminated):
                raise EnvCheckError(f"{where}: a terminated episode must stay terminated when stepped again")
            if float(again_ts.reward) != 0.0:
                raise EnvCheckError(f"{where}: stepping a terminated episode must give zero reward")
            if not (
                _trees_equal(env.inner_state(again_state), env.inner_state(state))
                and _trees_equal(again_ts.obs, ts.obs)
            ):
                raise EnvCheckError(f"{where}: a terminated state must be absorbing")
    return trajectory


def spaces_are_gymx_spaces(subject: EnvUnderCheck) -> None:
    """The observation and action spaces are gymx spaces."""
    for name, space in (("observation_space", subject.obs_space), ("action_space", subject.action_space)):
        if not isinstance(space, spaces.Space):
            raise EnvCheckError(f"{name} must be a gymx Space, got {type(space)}")


def steps_keep_the_contract(subject: EnvUnderCheck) -> None:
    """On every reset and step of a random-action play: the observation lies in its space with its
    shape and dtype and equals `env.observe` of the state; reward is a float32 scalar,
    terminated/truncated bool scalars; info keeps reset's keys, shapes and dtypes; the state keeps
    its structure; values stay finite; a bare env never truncates; a terminated state is absorbing
    (same obs, zero reward, terminated stays True)."""
    subject.trajectory  # noqa: B018 - playing it checks every step


def equal_keys_give_equal_trajectories(subject: EnvUnderCheck) -> None:
    """Two plays from the same key are equal, leaf by leaf."""
    first, second = subject.trajectory, subject.replayed_trajectory
    if not (len(first) == len(second) and _trees_equal(first, second)):
        raise EnvCheckError("equal keys must give equal trajectories")


def compiles_once(subject: EnvUnderCheck) -> None:
    """Two plays trace the compiled reset and step once each: a stepped state does not retrace."""
    subject.replayed_trajectory  # noqa: B018 - both plays, through the same compiled pair
    traces = dict(subject.traces)
    if traces != {"reset": 1, "step": 1}:
        raise EnvCheckError(f"jit retraced: {traces} (expected one trace each)")


def render_modes_render(subject: EnvUnderCheck) -> None:
    """Every declared render mode renders the last state of the play (see `_check_render`)."""
    _check_render(subject.env, subject.params, subject.trajectory[-1][0])


def vmap_matches_single(subject: EnvUnderCheck) -> None:
    """vmapped reset and step run under jit and equal the single env's results with the same keys,
    states and actions, to float32 reassociation (see `_close_to_rounding`)."""
    env, params, batch = subject.env, subject.params, 3
    keys = jax.random.split(jax.random.key(subject.seed + 1), batch)
    batched_state, batched_ts = jax.jit(jax.vmap(lambda k: env.reset(k, params)))(keys)
    actions = jax.vmap(subject.action_space.sample)(jax.random.split(jax.random.key(subject.seed + 2), batch))
    _, stepped_ts = jax.jit(jax.vmap(lambda s, a: env.step(s, a, params)))(batched_state, actions)
    row = lambda tree, i: jax.tree_util.tree_map(lambda x: x[i], tree)
    close = lambda a, b: all(map(_close_to_rounding, jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))
    for i in range(batch):
        single_state, single_ts = subject.reset(keys[i])
        if not close(single_ts, row(batched_ts, i)):
            raise EnvCheckError("vmapped reset differs from a single reset with the same key")
        # What the step emits is compared; an iterative physics solver's internals (MJX's
        # constraint forces and warm starts) differ in their last digits, so internal state is not.
        _, single_ts = subject.step(single_state, row(actions, i))
        if not close(single_ts, row(stepped_ts, i)):
            raise EnvCheckError("vmapped step differs from a single step with the same state and action")


CHECKS: tuple[Callable[[EnvUnderCheck], None], ...] = (
    spaces_are_gymx_spaces,
    steps_keep_the_contract,
    equal_keys_give_equal_trajectories,
    compiles_once,
    render_modes_render,
    vmap_matches_single,
)


def check_env(
    env: Env[State, Params, Obs],
    params: Params | None = None,
    num_steps: int = 200,
    seed: int = 0,
    checks: Sequence[Callable[[EnvUnderCheck], None]] = CHECKS,
) -> None:
    """Runs `checks` (by default every one of `CHECKS`) on `env`, in order.

    Raises `EnvCheckError` from the first that fails, its message prefixed with the check's name
    (also in `error.check`).
    """
    subject = EnvUnderCheck(env, params, num_steps, seed)
    for check in checks:
        try:
            check(subject)
        except EnvCheckError as error:
            failure = EnvCheckError(f"{check.__name__}: {error}")
            failure.check = check.__name__
            raise failure from error
