"""Wrappers over the functional API: each returns a new `Env` whose state wraps the inner one."""

from __future__ import annotations

import math
from typing import Any, Generic, Protocol, TypeVar, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import checkify
from jax.typing import ArrayLike

from gymx import spaces, struct
from gymx.core import Env, Obs, Params, State, TimeStep, Wrapper, is_traced, runs_as_written, tree_select

InnerState = TypeVar("InnerState")


class TimeLimitState(struct.PyTree, Generic[InnerState]):
    env_state: InnerState
    elapsed_steps: jax.Array  # int32 (), steps since the last reset


class TimeLimit(Wrapper[TimeLimitState[InnerState], Params, Obs]):
    """Truncates an episode after `max_episode_steps` steps; never sets `terminated`.

    As in Gymnasium, a step that both terminates and reaches the limit reports both flags.
    Stepping past the limit without a reset keeps stepping the inner env and keeps
    `truncated=True`.
    """

    env: Env[InnerState, Params, Obs]

    def __init__(self, env: Env[InnerState, Params, Obs], max_episode_steps: int):
        if int(max_episode_steps) <= 0:
            raise ValueError(f"max_episode_steps must be positive, got {max_episode_steps}")
        super().__init__(env)
        self.max_episode_steps = int(max_episode_steps)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[TimeLimitState[InnerState], TimeStep[Obs]]:
        env_state, ts = self.env.reset(key, params)
        return TimeLimitState(env_state, jnp.zeros((), jnp.int32)), ts

    def step(
        self, state: TimeLimitState[InnerState], action: Any, params: Params | None = None
    ) -> tuple[TimeLimitState[InnerState], TimeStep[Obs]]:
        env_state, ts = self.env.step(state.env_state, action, params)
        elapsed = state.elapsed_steps + 1
        return TimeLimitState(env_state, elapsed), ts.replace(
            truncated=ts.truncated | (elapsed >= self.max_episode_steps)
        )

    def episode_step_bound(self) -> int | None:
        inner = self.env.episode_step_bound()
        return self.max_episode_steps if inner is None else min(inner, self.max_episode_steps)

    def observe(self, state: TimeLimitState[InnerState], params: Params) -> Obs:
        return self.env.observe(state.env_state, params)

    def inner_state(self, state: TimeLimitState[InnerState]) -> Any:
        return self.env.inner_state(state.env_state)


class CheckAction(Wrapper[State, Params, Obs]):
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

    env: Env[State, Params, Obs]

    def __init__(self, env: Env[State, Params, Obs], params: Params | None = None):
        super().__init__(env)
        self.space = env.action_space(params)

    @runs_as_written
    def step(self, state: State, action: Any, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        # A concrete action is checked on the host by the inner env's eager step, with the full
        # message; a traced one gets the checkify check (which needs a checkify transform).
        if is_traced(action):
            checkify.check(self.space.contains(action), f"action {{}} is not in {self.space}", action)
        return self.env.step(state, action, params)


def _area_table(source: int, target: int) -> tuple[np.ndarray, np.ndarray]:
    """Source indices and float32 weights (target, k) of an area resize along one axis: each
    target cell averages the source cells it overlaps, weighted by the overlap (OpenCV's
    INTER_AREA weights for a shrink by a non-integer factor, computed in double then rounded)."""
    scale = source / target
    rows = []
    for d in range(target):
        start, end = d * scale, d * scale + scale
        cell = min(scale, source - start)
        first, last = math.ceil(start), min(math.floor(end), source - 1)
        first = min(first, last)
        row = []
        if first - start > 1e-3:
            row.append((first - 1, (first - start) / cell))
        row += [(s, 1.0 / cell) for s in range(first, last)]
        if end - last > 1e-3:
            row.append((last, min(end - last, 1.0, cell) / cell))
        rows.append(row)
    width = max(len(row) for row in rows)
    # Padding entries weigh zero: adding 0.0 leaves a float sum unchanged.
    index = np.array([[s for s, _ in row] + [0] * (width - len(row)) for row in rows], np.int32)
    weight = np.array([[w for _, w in row] + [0.0] * (width - len(row)) for row in rows], np.float32)
    return index, weight


def _rounded(product: ArrayLike) -> jax.Array:
    """`product`, rounded to float32 before it is added: the select (a no-op, as no product is NaN)
    keeps the compiler from fusing multiply and add into one FMA, which rounds once and can land
    on the other side of .5 than OpenCV's separate roundings."""
    return jnp.where(jnp.isnan(product), 0.0, product)


def area_resize(image: jax.Array, height: int, width: int) -> jax.Array:
    """uint8 image (H, W) or (H, W, C) shrunk to (height, width) by area averaging, as
    `cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)` computes it for a
    non-integer factor: rows first, then columns, float32 sums in OpenCV's order, rounded half to even."""
    rows, cols = image.shape[0], image.shape[1]
    if height > rows or width > cols:
        raise ValueError(f"gymx: area_resize shrinks; cannot resize {image.shape[:2]} to {(height, width)}")
    x_index, x_weight = _area_table(cols, width)
    y_index, y_weight = _area_table(rows, height)
    pixels = jnp.asarray(image).astype(jnp.float32)
    across = jnp.zeros((rows, width, *pixels.shape[2:]), jnp.float32)
    for k in range(x_index.shape[1]):
        weight = x_weight[:, k].reshape((width,) + (1,) * (pixels.ndim - 2))
        across = across + _rounded(pixels[:, x_index[:, k]] * weight)
    total = jnp.zeros((height, width, *pixels.shape[2:]), jnp.float32)
    for k in range(y_index.shape[1]):
        weight = y_weight[:, k].reshape((height,) + (1,) * (pixels.ndim - 1))
        total = total + _rounded(weight * across[y_index[:, k]])
    return jnp.clip(jnp.round(total), 0, 255).astype(jnp.uint8)


class _Atari(Protocol[InnerState]):
    """What AtariPreprocessing uses of the Atari env it wraps (gymx.envs.atari's, which the core
    does not import)."""

    frameskip: int
    pixels: bool

    @property
    def name(self) -> str: ...
    def get_action_meanings(self) -> list[str]: ...
    def screen(self, state: InnerState, grayscale: bool = False) -> jax.Array: ...
    def start_bank(self) -> InnerState: ...  # the start states, stacked on a leading axis
    def start_index(self, key: jax.Array, params: Any) -> jax.Array: ...  # a start drawn with its probability
    def reseed(self, state: InnerState, key: jax.Array) -> InnerState: ...
    def info(self, state: InnerState) -> dict: ...


class AtariPreprocessingState(struct.PyTree, Generic[InnerState]):
    env_state: InnerState
    pooled: jax.Array  # uint8 screen: the newest frame, max-pooled with `previous` after each step
    previous: jax.Array  # uint8 screen: the frame before the newest (zeros after a reset)
    lives: jax.Array  # int32 (), lives at the last check (terminal_on_life_loss)
    terminated: jax.Array  # bool (), the episode ended here (also on a life loss)


class AtariPreprocessing(Wrapper[AtariPreprocessingState[InnerState], Params, jax.Array]):
    """Gymnasium's `AtariPreprocessing` (Machado et al. 2018 / Mnih et al. 2015) as pure functions.

    Wraps a gymx Atari env (`gymx.make("ALE/Pong-v5", frameskip=1)`) directly:

    - No-op starts: a reset takes 1 to `noop_max` (uniform) NOOP steps after the env's reset
      (0 with `noop_max=0`); an episode that ends during them starts over, as in Gymnasium.
      The states after 0..`noop_max` no-ops of every start in the env's bank are computed once,
      on the first reset, and a reset picks one with its key, so a batched reset emulates nothing.
    - Frame skip: each step repeats the action for `frame_skip` env steps (the env must then use
      `frameskip=1`), stopping early when the episode ends; rewards are summed.
    - Max-pooling of the last two frames, then an area resize to `screen_size` (OpenCV's
      INTER_AREA, as Gymnasium uses), grey (`grayscale_obs`) or RGB, optionally with a channel
      axis (`grayscale_newaxis`) and scaled to float32 [0, 1] (`scale_obs`). As in Gymnasium, a
      step that ends before its last two frames keeps the earlier frames in the pool.
    - `terminal_on_life_loss`: a step that loses a life reports `terminated=True`; the state is
      then absorbing until a reset (which, as in Gymnasium, restarts the whole game).

        env = AtariPreprocessing(gymx.make("ALE/Pong-v5", frameskip=1))
        state, ts = env.reset(jax.random.key(0))   # ts.obs: uint8 (84, 84)
    """

    env: Env[InnerState, Params, Any]

    def __init__(
        self,
        env: Env[InnerState, Params, Any],
        noop_max: int = 30,
        frame_skip: int = 4,
        screen_size: int | tuple[int, int] = 84,
        terminal_on_life_loss: bool = False,
        grayscale_obs: bool = True,
        grayscale_newaxis: bool = False,
        scale_obs: bool = False,
    ):
        atari = cast("_Atari[InnerState]", env.unwrapped)
        if env is not atari or not hasattr(atari, "start_bank"):
            raise ValueError(
                f"gymx: AtariPreprocessing wraps an Atari env directly (gymx.make('ALE/...')), got {env!r}"
            )
        if isinstance(frame_skip, bool) or int(frame_skip) != frame_skip or frame_skip < 1:
            raise ValueError(f"gymx: frame_skip must be a positive int, got {frame_skip!r}")
        if frame_skip > 1 and atari.frameskip != 1:
            raise ValueError(
                f"gymx: the env already skips {atari.frameskip} frames per step; make it with frameskip=1 for "
                f"AtariPreprocessing(frame_skip={frame_skip}), or pass frame_skip=1"
            )
        if isinstance(noop_max, bool) or int(noop_max) != noop_max or noop_max < 0:
            raise ValueError(f"gymx: noop_max must be an int >= 0, got {noop_max!r}")
        if noop_max > 0 and atari.get_action_meanings()[0] != "NOOP":
            raise ValueError(
                f"gymx: no-op starts need action 0 to be NOOP; {atari.name}'s is {atari.get_action_meanings()[0]}"
            )
        size = (screen_size, screen_size) if isinstance(screen_size, int) else tuple(screen_size)
        if len(size) != 2 or not all(isinstance(s, int) and 0 < s for s in size):
            raise ValueError(f"gymx: screen_size must be a positive int or (width, height), got {screen_size!r}")
        if not atari.pixels:
            raise ValueError(
                "gymx: AtariPreprocessing reads the screen; make the env with obs_type 'rgb' or 'grayscale'"
            )
        super().__init__(env)
        self.noop_max = int(noop_max)
        self.frame_skip = int(frame_skip)
        self.width, self.height = size  # Gymnasium's (and OpenCV's) order: width first
        self.terminal_on_life_loss = bool(terminal_on_life_loss)
        self.grayscale_obs = bool(grayscale_obs)
        self.grayscale_newaxis = bool(grayscale_newaxis)
        self.scale_obs = bool(scale_obs)
        self._noop_bank: InnerState | None = None

    def observation_space(self, params: Params | None = None) -> spaces.Box:
        shape = (self.height, self.width) + ((1,) if self.grayscale_newaxis else () if self.grayscale_obs else (3,))
        if self.scale_obs:
            return spaces.Box(0.0, 1.0, shape, jnp.float32)
        return spaces.Box(0, 255, shape, jnp.uint8)

    def episode_step_bound(self) -> int | None:
        # A step here is `frame_skip` steps of the env.
        inner = self.env.episode_step_bound()
        return None if inner is None else math.ceil(inner / self.frame_skip)

    @property
    def _atari(self) -> _Atari[InnerState]:
        return cast("_Atari[InnerState]", self.env.unwrapped)

    def _screen(self, env_state: InnerState) -> jax.Array:
        return self._atari.screen(env_state, grayscale=self.grayscale_obs)

    def noop_bank(self) -> InnerState:
        """The env states after 0..noop_max NOOP steps from each start of the env's bank (axes: start, no-ops)."""
        if self._noop_bank is None:
            env, params = self.env, self.env.default_params

            def noops(start: InnerState) -> InnerState:
                def noop(state: InnerState, _: None) -> tuple[InnerState, InnerState]:
                    after, ts = env.step(state, 0, params)
                    after = tree_select(ts.terminated | ts.truncated, start, after)  # ended: reset, as Gymnasium does
                    return after, after

                _, states = jax.lax.scan(noop, start, None, length=self.noop_max)
                return jax.tree_util.tree_map(lambda s, rest: jnp.concatenate([s[None], rest]), start, states)

            with jax.ensure_compile_time_eval():  # on the host even when first asked inside a trace
                self._noop_bank = jax.device_get(jax.jit(jax.vmap(noops))(self._atari.start_bank()))
        return self._noop_bank

    def reset(
        self, key: jax.Array, params: Params | None = None
    ) -> tuple[AtariPreprocessingState[InnerState], TimeStep[jax.Array]]:
        params = self.env.default_params if params is None else params
        bank = self.noop_bank()
        start_key, noop_key, sticky_key = jax.random.split(key, 3)
        # The start is drawn as the env draws it; the number of no-ops ~ uniform on {1, ..., noop_max} (0 if noop_max is 0).
        start = self._atari.start_index(start_key, params)
        noops = jax.random.randint(noop_key, (), 1, self.noop_max + 1) if self.noop_max else jnp.int32(0)
        env_state = self._atari.reseed(jax.tree_util.tree_map(lambda x: jnp.asarray(x)[start, noops], bank), sticky_key)
        screen = self._screen(env_state)
        state = AtariPreprocessingState(
            env_state,
            screen,
            jnp.zeros_like(screen),
            self._atari.info(env_state)["lives"],
            jnp.zeros((), jnp.bool_),
        )
        return state, TimeStep(
            obs=self.observe(state, params),
            reward=jnp.zeros((), jnp.float32),
            terminated=jnp.zeros((), jnp.bool_),
            truncated=jnp.zeros((), jnp.bool_),
            info=self.env.reset_info(env_state, params),
        )

    def step(
        self, state: AtariPreprocessingState[InnerState], action: Any, params: Params | None = None
    ) -> tuple[AtariPreprocessingState[InnerState], TimeStep[jax.Array]]:
        params = self.env.default_params if params is None else params

        def repeat(carry: tuple, t: jax.Array) -> tuple[tuple, None]:
            def act(carry: tuple) -> tuple:
                env_state, reward, _, _, _, pooled, previous, lives, _ = carry
                env_state, ts = self.env.step(env_state, action, params)
                terminated = ts.terminated
                if self.terminal_on_life_loss:
                    now = ts.info["lives"]
                    terminated = terminated | (now < lives)
                    lives = now
                ended = terminated | ts.truncated
                screen = self._screen(env_state)
                # The last two frames of a step that runs to its end fill the pool.
                previous = jnp.where(~ended & (t == self.frame_skip - 2), screen, previous)
                pooled = jnp.where(~ended & (t == self.frame_skip - 1), screen, pooled)
                return env_state, reward + ts.reward, terminated, ts.truncated, ts.info, pooled, previous, lives, ended

            return jax.lax.cond(carry[-1], lambda c: c, act, carry), None

        info = jax.tree_util.tree_map(jnp.zeros_like, self.env.reset_info(state.env_state, params))
        start = (
            state.env_state,
            jnp.zeros((), jnp.float32),
            jnp.zeros((), jnp.bool_),
            jnp.zeros((), jnp.bool_),
            info,
            state.pooled,
            state.previous,
            state.lives,
            jnp.zeros((), jnp.bool_),
        )
        (env_state, reward, terminated, truncated, info, pooled, previous, lives, _), _ = jax.lax.scan(
            repeat, start, jnp.arange(self.frame_skip)
        )
        if self.frame_skip > 1:
            pooled = jnp.maximum(pooled, previous)
        stepped = AtariPreprocessingState(env_state, pooled, previous, lives, terminated)
        already = state.terminated
        next_state = tree_select(already, state, stepped)
        return next_state, TimeStep(
            obs=self.observe(next_state, params),
            reward=jnp.where(already, 0.0, reward).astype(jnp.float32),
            terminated=already | terminated,
            truncated=~already & truncated,
            info=jax.tree_util.tree_map(lambda x: jnp.where(already, jnp.zeros_like(x), x), info),
        )

    def observe(self, state: AtariPreprocessingState[InnerState], params: Params) -> jax.Array:
        obs = area_resize(state.pooled, self.height, self.width)
        if self.grayscale_obs and self.grayscale_newaxis:
            obs = obs[..., None]
        return obs.astype(jnp.float32) / 255.0 if self.scale_obs else obs

    def inner_state(self, state: AtariPreprocessingState[InnerState]) -> Any:
        return self.env.inner_state(state.env_state)


class FrameStackState(struct.PyTree, Generic[InnerState, Obs]):
    env_state: InnerState
    frames: Obs  # the last `stack_size` observations, oldest first, stacked on a new leading axis


class FrameStack(Wrapper[FrameStackState[InnerState, Obs], Params, Obs], Generic[InnerState, Params, Obs]):
    """Gymnasium's `FrameStackObservation`: the observation is the last `stack_size` observations,
    oldest first, on a new leading axis. After a reset the missing older frames are the reset
    observation (`padding_type="reset"`, Gymnasium's default) or zeros (`"zero"`).

        env = FrameStack(AtariPreprocessing(gymx.make("ALE/Pong-v5", frameskip=1)), 4)   # obs: uint8 (4, 84, 84)
    """

    env: Env[InnerState, Params, Obs]

    def __init__(self, env: Env[InnerState, Params, Obs], stack_size: int, padding_type: str = "reset"):
        if isinstance(stack_size, bool) or int(stack_size) != stack_size or stack_size < 1:
            raise ValueError(f"gymx: stack_size must be a positive int, got {stack_size!r}")
        if padding_type not in ("reset", "zero"):
            raise ValueError(f"gymx: padding_type must be 'reset' or 'zero', got {padding_type!r}")
        super().__init__(env)
        self.stack_size = int(stack_size)
        self.padding_type = padding_type

    def observation_space(self, params: Params | None = None) -> spaces.Box:
        inner = self.env.observation_space(params)
        if not isinstance(inner, spaces.Box):
            raise ValueError(f"gymx: FrameStack stacks Box observations, got {inner}")
        stack = lambda x: np.repeat(x[None], self.stack_size, axis=0)
        return spaces.Box(stack(inner.low), stack(inner.high), (self.stack_size, *inner.shape), inner.dtype)

    def reset(
        self, key: jax.Array, params: Params | None = None
    ) -> tuple[FrameStackState[InnerState, Obs], TimeStep[Obs]]:
        env_state, ts = self.env.reset(key, params)

        def frames(obs: jax.Array) -> jax.Array:
            pad = obs if self.padding_type == "reset" else jnp.zeros_like(obs)
            return jnp.concatenate([jnp.broadcast_to(pad, (self.stack_size - 1, *obs.shape)), obs[None]])

        state = FrameStackState(env_state, jax.tree_util.tree_map(frames, ts.obs))
        return state, ts.replace(obs=state.frames)

    def step(
        self, state: FrameStackState[InnerState, Obs], action: Any, params: Params | None = None
    ) -> tuple[FrameStackState[InnerState, Obs], TimeStep[Obs]]:
        env_state, ts = self.env.step(state.env_state, action, params)
        frames = jax.tree_util.tree_map(lambda old, obs: jnp.concatenate([old[1:], obs[None]]), state.frames, ts.obs)
        return FrameStackState(env_state, frames), ts.replace(obs=frames)

    def observe(self, state: FrameStackState[InnerState, Obs], params: Params) -> Obs:
        return state.frames

    def inner_state(self, state: FrameStackState[InnerState, Obs]) -> Any:
        return self.env.inner_state(state.env_state)
