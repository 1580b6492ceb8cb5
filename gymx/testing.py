"""`check_env`: the conformance harness every registered environment passes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gymx import spaces
from gymx.core import Env, TimeStep


class EnvCheckError(AssertionError):
    """An env broke the functional API's contract; the message says which rule."""


def _require(condition: Any, message: Callable[[], str]) -> None:
    """Raises with `message()`; the message is built only on failure (formatting arrays is slow)."""
    if not bool(condition):
        raise EnvCheckError(message())


def _signature(tree: Any) -> Any:
    """Structure, shapes, dtypes and weak types: everything that decides whether jit retraces."""
    leaves, treedef = jax.tree_util.tree_flatten(tree)
    return treedef, [(jnp.shape(x), jnp.result_type(x), getattr(x, "weak_type", False)) for x in leaves]


def _all_finite(tree: Any) -> bool:
    return all(
        np.all(np.isfinite(x)) for x in jax.device_get(jax.tree_util.tree_leaves(tree)) if np.issubdtype(x.dtype, np.inexact)
    )


def _trees_equal(a: Any, b: Any) -> bool:
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

    def check(self, obs: Any, where: str) -> None:
        actual = [(jnp.shape(x), jnp.result_type(x)) for x in jax.tree_util.tree_leaves(obs)]
        _require(actual == self.expected, lambda: f"{where}: observation shapes and dtypes {actual} differ from the space's {self.expected}")
        _require(bool(self.contains(obs)), lambda: f"{where}: observation {obs} is not in {self.space}")


def _check_timestep(ts: TimeStep, obs_checker: _ObsChecker, info_signature: Any, where: str) -> None:
    obs_checker.check(ts.obs, where)
    _require(jnp.shape(ts.reward) == () and ts.reward.dtype == jnp.float32, lambda: f"{where}: reward must be a float32 scalar, got {ts.reward!r}")
    for flag in ("terminated", "truncated"):
        value = getattr(ts, flag)
        _require(jnp.shape(value) == () and value.dtype == jnp.bool_, lambda: f"{where}: {flag} must be a bool scalar, got {value!r}")
    _require(isinstance(ts.info, dict), lambda: f"{where}: info must be a dict, got {type(ts.info)}")
    _require(_signature(ts.info) == info_signature, lambda: f"{where}: info keys, shapes or dtypes differ from reset's: {jax.tree_util.tree_map(jnp.shape, ts.info)}")
    _require(_all_finite((ts.obs, ts.reward, ts.info)), lambda: f"{where}: non-finite values in {ts}")


def _check_render(env: Env, params: Any, state: Any) -> None:
    """Each declared render mode renders: rgb_array a uint8 (h, w, 3) frame, under jit unless the env
    renders on the host; depth_array a float32 (h, w) image; ansi a str."""
    for mode in env.metadata.get("render_modes", []):
        if mode == "rgb_array":
            draw = (lambda s: env.render(s, params, mode)) if env.render_on_host else jax.jit(lambda s: env.render(s, params, mode))
            frame = draw(state)
            _require(
                frame.dtype == jnp.uint8 and frame.ndim == 3 and frame.shape[2] == 3,
                lambda: f"rgb_array frames must be uint8 (h, w, 3), got {frame.dtype} {frame.shape}",
            )
        elif mode == "depth_array":
            depth = env.render(state, params, mode)
            _require(
                depth.dtype == jnp.float32 and depth.ndim == 2,
                lambda: f"depth_array images must be float32 (h, w), got {depth.dtype} {depth.shape}",
            )
        elif mode == "ansi":
            text = env.render(state, params, mode)
            _require(isinstance(text, str) and text, lambda: f"ansi must render a non-empty str, got {text!r}")
    _require(
        "render_fps" in env.metadata or not env.metadata.get("render_modes"),
        lambda: "an env that renders must declare metadata['render_fps']",
    )


def _close_to_rounding(x: Any, y: Any) -> bool:
    """Equal up to float32 reassociation (batched linear algebra sums in another order), with an
    entry's error measured against the largest value of its field (a contact force of 1e3 beside
    one of 0); non-float leaves exactly equal."""
    x, y = np.asarray(x), np.asarray(y)
    if not np.issubdtype(x.dtype, np.floating):
        return bool(np.array_equal(x, y))
    scale = float(np.max(np.abs(y), initial=0.0, where=np.isfinite(y)))
    return bool(np.allclose(x, y, rtol=1e-4, atol=1e-5 + 1e-4 * scale, equal_nan=True))


def check_env(env: Env, params: Any = None, num_steps: int = 200, seed: int = 0) -> None:
    """Checks the functional API's contract on `env`; raises `EnvCheckError` naming the broken rule.

    Checks: spaces are gymx spaces; every observation equals `env.observe` of its state; reset and step run under `jit` and `vmap` (vmapped results
    equal per-env results, steps' outputs to float32 reassociation); observations lie in the observation space with its shape and dtype
    on every step; reward is a float32 scalar, terminated/truncated bool scalars, info has the
    same keys, shapes and dtypes on every step; values stay finite; equal keys give equal
    trajectories; a terminated state is absorbing (same obs, zero reward, terminated stays
    True); a bare env never sets truncated; a second call of the compiled step with a stepped
    state does not retrace; every declared render mode renders (rgb_array under jit).
    """
    params = env.default_params if params is None else params
    obs_space, action_space = env.observation_space(params), env.action_space(params)
    _require(isinstance(obs_space, spaces.Space), lambda: f"observation_space must be a gymx Space, got {type(obs_space)}")
    _require(isinstance(action_space, spaces.Space), lambda: f"action_space must be a gymx Space, got {type(action_space)}")

    obs_checker = _ObsChecker(obs_space)
    traces = {"reset": 0, "step": 0}

    def counted_reset(key: jax.Array) -> tuple[Any, TimeStep]:
        traces["reset"] += 1
        return env.reset(key, params)

    def counted_step(state: Any, action: Any) -> tuple[Any, TimeStep]:
        traces["step"] += 1
        return env.step(state, action, params)

    reset, step = jax.jit(counted_reset), jax.jit(counted_step)
    observe = jax.jit(lambda state: env.observe(state, params))

    def check_observe(state: Any, ts: TimeStep, where: str) -> None:
        _require(
            _trees_equal(observe(state), ts.obs), lambda: f"{where}: obs differs from env.observe(state): {ts.obs}"
        )
    sample_action = jax.jit(action_space.sample)

    def run(key: jax.Array) -> list[Any]:
        reset_key, action_key = jax.random.split(key)
        state, ts = reset(reset_key)
        info_signature, state_signature = _signature(ts.info), _signature(state)
        trajectory: list[Any] = []
        for t in range(num_steps):
            if t == 0 or bool(ts.terminated | ts.truncated):
                state, ts = reset(jax.random.fold_in(reset_key, t))
                _check_timestep(ts, obs_checker, info_signature, f"reset before step {t}")
                _require(not bool(ts.terminated | ts.truncated), lambda: "reset must return terminated=False, truncated=False")
                check_observe(state, ts, f"reset before step {t}")
                trajectory.append((state, ts))
            action_key, key_t = jax.random.split(action_key)
            action = sample_action(key_t)
            state, ts = step(state, action)
            where = f"step {t}"
            _check_timestep(ts, obs_checker, info_signature, where)
            _require(_signature(state) == state_signature, lambda: f"{where}: state structure, shapes or dtypes changed: {state}")
            _require(_all_finite(state), lambda: f"{where}: non-finite state {state}")
            check_observe(state, ts, where)
            _require(not bool(ts.truncated) or env.unwrapped is not env, lambda: f"{where}: a bare env must never set truncated")
            trajectory.append((state, ts))
            if bool(ts.terminated):
                again_state, again_ts = step(state, action)
                _require(bool(again_ts.terminated), lambda: f"{where}: a terminated episode must stay terminated when stepped again")
                _require(float(again_ts.reward) == 0.0, lambda: f"{where}: stepping a terminated episode must give zero reward")
                _require(
                    _trees_equal(env.inner_state(again_state), env.inner_state(state)) and _trees_equal(again_ts.obs, ts.obs),
                    lambda: f"{where}: a terminated state must be absorbing",
                )
        return trajectory

    key = jax.random.key(seed)
    first, second = run(key), run(key)
    _require(len(first) == len(second) and _trees_equal(first, second), lambda: "equal keys must give equal trajectories")
    _require(traces["reset"] == 1 and traces["step"] == 1, lambda: f"jit retraced: {traces} (expected one trace each)")

    _check_render(env, params, first[-1][0])

    batch = 3
    keys = jax.random.split(jax.random.key(seed + 1), batch)
    batched_state, batched_ts = jax.jit(jax.vmap(lambda k: env.reset(k, params)))(keys)
    actions = jax.vmap(action_space.sample)(jax.random.split(jax.random.key(seed + 2), batch))
    _, stepped_ts = jax.jit(jax.vmap(lambda s, a: env.step(s, a, params)))(batched_state, actions)
    for i in range(batch):
        single_state, single_ts = reset(keys[i])
        _require(
            all(
                _close_to_rounding(x, y)
                for x, y in zip(jax.tree_util.tree_leaves(single_ts), jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda x: x[i], batched_ts)))
            ),
            lambda: "vmapped reset differs from a single reset with the same key",
        )
        single_state, single_ts = step(single_state, jax.tree_util.tree_map(lambda x: x[i], actions))
        batched_i = jax.tree_util.tree_map(lambda x: x[i], stepped_ts)
        # As for the reset, what the step emits is compared to float32 rounding (see
        # `_close_to_rounding`); an iterative physics solver's internals (MJX's constraint forces
        # and warm starts) differ in their last digits, so internal state is not compared.
        _require(
            all(_close_to_rounding(x, y) for x, y in zip(jax.tree_util.tree_leaves(single_ts), jax.tree_util.tree_leaves(batched_i))),
            lambda: "vmapped step differs from a single step with the same state and action",
        )
