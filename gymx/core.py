"""The functional environment API.

An `Env` is a pair of pure functions over an explicit state:

    state, ts = env.reset(key, params)
    state, ts = env.step(state, action, params)

Both are safe under `jax.jit`, `jax.vmap` and `lax.scan`. `params` is a pytree of physical
constants and reward weights (traced: one compiled step serves every value, and a batch can
carry one value per env); shapes and sizes are static constructor arguments. An env that needs
randomness during a step keeps its PRNG key in its state; one that needs none consumes none.

Stepping a finished episode: once `terminated` is True, the state is absorbing. Further steps
return the same state and observation, `terminated=True` and zero reward and zero info values,
so a batch can keep stepping envs that ended until the caller resets them. (Truncation is a
wrapper's concern; see `gymx.wrappers.TimeLimit`.)
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import jax
import jax.numpy as jnp

from gymx import spaces, struct

State = TypeVar("State")
Params = TypeVar("Params")


@struct.dataclass
class TimeStep:
    """What a transition emits.

    obs: the observation after the transition.
    reward: float32 scalar (per env in a batch).
    terminated: bool, the MDP reached a terminal state (no bootstrapping past it).
    truncated: bool, the episode was cut off from outside (a time limit); bootstrap from `obs`.
    info: dict of arrays whose keys are the same on every step and reset of one env.
    """

    obs: Any
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict

    @property
    def done(self) -> jax.Array:
        return self.terminated | self.truncated


@struct.dataclass
class EmptyParams:
    """Params of an env that has none."""


def tree_select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Elementwise `pred ? on_true : on_false` over matching pytrees; `pred` broadcasts from the left."""

    def select(a: jax.Array, b: jax.Array) -> jax.Array:
        p = jnp.reshape(pred, jnp.shape(pred) + (1,) * (jnp.ndim(a) - jnp.ndim(pred)))
        return jnp.where(p, a, b)

    return jax.tree_util.tree_map(select, on_true, on_false)


class Env(Generic[State, Params]):
    """Base class of every gymx environment.

    Subclasses implement four hooks; the base class owns the public `reset` and `step` and the
    invariants every env shares (dtypes, absorbing terminal states, fixed info keys):

    - `reset_env(key, params) -> state`
    - `step_env(state, action, params) -> (state, reward, info)`
    - `observe(state, params) -> obs`
    - `is_terminal(state, params) -> bool`

    plus `default_params`, `observation_space(params)` and `action_space(params)`. A reset reports
    the same info keys as a step, zero-valued unless the env overrides `reset_info`.
    """

    spec: Any = None
    metadata: dict = {"render_modes": []}
    # True where `render` draws with a host library (MuJoCo's renderer) instead of traceable JAX:
    # it then takes one concrete, un-batched state, and batches are drawn env by env on the host.
    render_on_host: bool = False

    @property
    def default_params(self) -> Params:
        return EmptyParams()  # type: ignore[return-value]

    @property
    def unwrapped(self) -> Env:
        return self

    @property
    def name(self) -> str:
        return type(self).__name__

    def observation_space(self, params: Params | None = None) -> spaces.Space:
        raise NotImplementedError

    def action_space(self, params: Params | None = None) -> spaces.Space:
        raise NotImplementedError

    def reset_env(self, key: jax.Array, params: Params) -> State:
        raise NotImplementedError

    def step_env(self, state: State, action: Any, params: Params) -> tuple[State, jax.Array, dict]:
        raise NotImplementedError

    def observe(self, state: State, params: Params) -> Any:
        """The observation of `state`; every `TimeStep.obs` equals `observe` of the state returned with it."""
        raise NotImplementedError

    def is_terminal(self, state: State, params: Params) -> jax.Array:
        raise NotImplementedError

    def reset_info(self, state: State, params: Params) -> dict:
        """The info a reset reports: by default zeros with the keys, shapes and dtypes of `step_env`'s.

        Found with `jax.eval_shape`, so it costs one abstract trace of `step_env` and no compute.
        """

        def step_info(state: State, params: Params) -> dict:
            # The default params' action space: `params` may be traced here, and only shapes matter.
            return self.step_env(state, self.action_space().sample(jax.random.key(0)), params)[2]

        shapes = jax.eval_shape(step_info, state, params)
        return jax.tree_util.tree_map(lambda x: jnp.zeros(x.shape, x.dtype), shapes)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[State, TimeStep]:
        params = self.default_params if params is None else params
        state = self.reset_env(key, params)
        return state, TimeStep(
            obs=self.observe(state, params),
            reward=jnp.zeros((), jnp.float32),
            terminated=jnp.zeros((), jnp.bool_),
            truncated=jnp.zeros((), jnp.bool_),
            info=self.reset_info(state, params),
        )

    def step(self, state: State, action: Any, params: Params | None = None) -> tuple[State, TimeStep]:
        params = self.default_params if params is None else params
        already_terminal = self.is_terminal(state, params)
        stepped, reward, info = self.step_env(state, action, params)
        next_state = tree_select(already_terminal, state, stepped)
        return next_state, TimeStep(
            obs=self.observe(next_state, params),
            reward=jnp.where(already_terminal, 0.0, reward).astype(jnp.float32),
            terminated=self.is_terminal(next_state, params),
            truncated=jnp.zeros((), jnp.bool_),
            info=jax.tree_util.tree_map(lambda x: jnp.where(already_terminal, jnp.zeros_like(x), x), info),
        )

    def render(self, state: State, params: Params | None = None, mode: str = "rgb_array") -> Any:
        raise NotImplementedError(f"{self.name} does not render mode {mode!r}")

    def inner_state(self, state: Any) -> State:
        """The unwrapped env's state inside `state` (itself, for an env that wraps nothing)."""
        return state

    def __repr__(self) -> str:
        return f"<{self.name}{'' if self.spec is None else f'<{self.spec.id}>'}>"


class Wrapper(Env):
    """An env around another env; by default every part passes straight through."""

    def __init__(self, env: Env):
        self.env = env

    @property
    def default_params(self) -> Any:
        return self.env.default_params

    @property
    def unwrapped(self) -> Env:
        return self.env.unwrapped

    @property
    def spec(self) -> Any:  # type: ignore[override]
        """The spec `make` gave this wrapper, if it made it (an id whose entry point is a wrapper), else the inner env's."""
        return self.__dict__.get("_spec") or self.env.spec

    @spec.setter
    def spec(self, spec: Any) -> None:
        self._spec = spec

    @property
    def metadata(self) -> dict:  # type: ignore[override]
        return self.env.metadata

    @property
    def render_on_host(self) -> bool:  # type: ignore[override]
        return self.env.render_on_host

    @property
    def name(self) -> str:
        return self.env.name

    def observation_space(self, params: Any = None) -> spaces.Space:
        return self.env.observation_space(params)

    def action_space(self, params: Any = None) -> spaces.Space:
        return self.env.action_space(params)

    def observe(self, state: Any, params: Any) -> Any:
        return self.env.observe(state, params)

    def reset(self, key: jax.Array, params: Any = None) -> tuple[Any, TimeStep]:
        return self.env.reset(key, params)

    def step(self, state: Any, action: Any, params: Any = None) -> tuple[Any, TimeStep]:
        return self.env.step(state, action, params)

    def render(self, state: Any, params: Any = None, mode: str = "rgb_array") -> Any:
        return self.unwrapped.render(self.inner_state(state), params, mode)

    def inner_state(self, state: Any) -> Any:
        return self.env.inner_state(state)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{self.env!r}>"
