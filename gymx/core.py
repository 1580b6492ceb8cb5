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

Eager calls: `reset`, `step` and an rgb_array `render` called with concrete values (outside any
`jit`, `vmap` or `grad`) run as one jitted program, compiled on the first call and cached on the
env object, instead of dispatching primitive by primitive (which compiles a program per
primitive and shape, and fills the process's memory maps when many envs are made). Called with
tracers, the same methods trace as written, so a user's `jit` or `scan` sees no extra layer.
Every subclass's own `reset`, `step` and `render` get this dispatch (`__init_subclass__`).

Actions outside the action space: an eager `step` (a concrete action and params) checks the
action on the host with `Space.check` and raises `ValueError` naming the action, the space and
the fault (shape, dtype, NaN, bounds), as the Gymnasium adapter does; a concrete action inside a
trace is checked the same way at trace time. A traced action cannot be refused with an
error, and what an out-of-space one does is unspecified and differs by env: CartPole pushes left
for anything but 1; table-driven envs (FrozenLake, Taxi, CliffWalking) index their tables with
it, where JAX clamps an index past the end and counts a negative one from the end; Pendulum and
MuJoCo clip a continuous action to its bounds, MountainCarContinuous clips the force but charges
the unclipped action's cost; a NaN propagates into the state. Wrap the env in
`gymx.wrappers.CheckAction` and run it under `jax.experimental.checkify` to get an error instead.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, ClassVar, Generic, TypeVar

import jax
import jax.numpy as jnp

from gymx import spaces, struct

State = TypeVar("State")
Params = TypeVar("Params")


class TimeStep(struct.PyTree):
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


class EmptyParams(struct.PyTree):
    """Params of an env that has none."""


def tree_select(pred: jax.Array, on_true: Any, on_false: Any) -> Any:
    """Elementwise `pred ? on_true : on_false` over matching pytrees; `pred` broadcasts from the left."""

    def select(a: jax.Array, b: jax.Array) -> jax.Array:
        p = jnp.reshape(pred, jnp.shape(pred) + (1,) * (jnp.ndim(a) - jnp.ndim(pred)))
        return jnp.where(p, a, b)

    return jax.tree_util.tree_map(select, on_true, on_false)


def is_traced(tree: Any) -> bool:
    """Whether any leaf of `tree` is a tracer: the call is inside a `jit`, `vmap`, `grad` or `scan`."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


_PROGRAMS = "_compiled_programs"


def compiled(owner: Any, key: Any, function: Callable[[], Callable]) -> Callable:
    """The jitted `function()`, built once per `key` and cached on `owner`.

    The cache remembers its owner, so a `copy.copy` of an env (which shares its `__dict__`'s
    entries) compiles its own programs rather than running the original's.
    """
    cache = owner.__dict__.get(_PROGRAMS)
    if cache is None or cache[0] is not owner:
        cache = (owner, {})
        owner.__dict__[_PROGRAMS] = cache
    program = cache[1].get(key)
    if program is None:
        program = cache[1][key] = jax.jit(function())
    return program


def eager_program(method: Callable) -> Callable:
    """`method` (any signature) run as one cached jitted program when no argument is a tracer."""

    @functools.wraps(method)
    def dispatch(self: Any, *args: Any, **kwargs: Any) -> Any:
        if is_traced((args, kwargs)):
            return method(self, *args, **kwargs)
        return compiled(self, method, lambda: functools.partial(method, self))(*args, **kwargs)

    return dispatch


def eager_step(method: Callable) -> Callable:
    """`step` with the action checked on the host when it is concrete, and run as one cached
    jitted program when nothing is traced."""

    @functools.wraps(method)
    def step(self: Any, state: Any, action: Any, params: Any = None) -> Any:
        if not is_traced((action, params)):
            checked = self.check_action(action, params)
            if not is_traced(state):
                return compiled(self, method, lambda: functools.partial(method, self))(state, checked, params)
        return method(self, state, action, params)

    return step


def _eager_render(method: Callable) -> Callable:
    """`Env.render`: an rgb_array frame of a concrete state as one cached jitted program, unless
    the env draws on the host; other modes (text) run as written."""

    @functools.wraps(method)
    def render(self: Any, state: Any, params: Any = None, mode: str = "rgb_array") -> Any:
        if mode != "rgb_array" or self.render_on_host or is_traced((state, params)):
            return method(self, state, params, mode)
        return compiled(self, method, lambda: lambda s, p: method(self, s, p, "rgb_array"))(state, params)

    return render


# The mark of a method that `CompiledWhenConcrete` wrapped already or must leave alone.
_WRAPPED = "_compiled_when_concrete"


class CompiledWhenConcrete:
    """Gives the methods named in `eager_wrappers`, wherever a subclass defines them, the
    dispatch of the module docstring: one cached jitted program for concrete arguments, the
    method as written under a trace. A method marked with `runs_as_written` is left alone."""

    eager_wrappers: ClassVar[dict[str, Callable[[Callable], Callable]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        for name, wrap in cls.eager_wrappers.items():
            method = cls.__dict__.get(name)
            if callable(method) and not getattr(method, _WRAPPED, False):
                wrapped = wrap(method)
                setattr(wrapped, _WRAPPED, True)
                setattr(cls, name, wrapped)


def runs_as_written(method: Callable) -> Callable:
    """Keeps `CompiledWhenConcrete` from wrapping `method` (for a method that needs the host)."""
    setattr(method, _WRAPPED, True)
    return method


class Env(CompiledWhenConcrete, Generic[State, Params]):
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

    eager_wrappers = {"reset": eager_program, "step": eager_step, "render": _eager_render}
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

    def check_action(self, action: Any, params: Params | None = None) -> Any:
        """`action` as arrays of the action space's dtypes; raises `ValueError` if it is not in the
        space of `params` (see `Space.check`). `action` and `params` must be concrete."""
        space = self.action_space(params)
        space.check(action)
        return space.cast(action)

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
    def spec(self) -> Any:
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
