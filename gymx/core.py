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
import sys
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, cast

import jax
import jax.numpy as jnp

from gymx import spaces, struct

if sys.version_info >= (3, 13):
    from typing import TypeVar
else:
    # Type-parameter defaults (PEP 696): `Env[State, Params]` leaves `Obs` at its default.
    from typing_extensions import TypeVar

if TYPE_CHECKING:
    from gymx.registration import EnvSpec

State = TypeVar("State")
Params = TypeVar("Params")
# An env's observation: an array, or a pytree of arrays for a Tuple or Dict space. Envs that do not
# name theirs observe `Any`.
Obs = TypeVar("Obs", default=Any)
T = TypeVar("T")
F = TypeVar("F", bound=Callable[..., Any])


class TimeStep(struct.PyTree, Generic[Obs]):
    """What a transition emits.

    obs: the observation after the transition.
    reward: float32 scalar (per env in a batch).
    terminated: bool, the MDP reached a terminal state (no bootstrapping past it).
    truncated: bool, the episode was cut off from outside (a time limit); bootstrap from `obs`.
    info: dict of arrays whose keys are the same on every step and reset of one env.
    """

    obs: Obs
    reward: jax.Array
    terminated: jax.Array
    truncated: jax.Array
    info: dict

    @property
    def done(self) -> jax.Array:
        return self.terminated | self.truncated


class EmptyParams(struct.PyTree):
    """Params of an env that has none."""


def tree_select(pred: jax.Array, on_true: T, on_false: T) -> T:
    """Elementwise `pred ? on_true : on_false` over matching pytrees; `pred` broadcasts from the left."""

    def select(a: jax.Array, b: jax.Array) -> jax.Array:
        p = jnp.reshape(pred, jnp.shape(pred) + (1,) * (jnp.ndim(a) - jnp.ndim(pred)))
        return jnp.where(p, a, b)

    return jax.tree_util.tree_map(select, on_true, on_false)


def is_traced(tree: object) -> bool:
    """Whether any leaf of `tree` is a tracer: the call is inside a `jit`, `vmap`, `grad` or `scan`."""
    return any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(tree))


_PROGRAMS = "_compiled_programs"


def compiled(owner: object, key: Hashable, function: Callable[[], Callable]) -> Callable:
    """The jitted `function()`, built once per `key` and cached on `owner`.

    The cache remembers its owner, so a `copy.copy` of an env (which shares its `__dict__`'s
    entries) compiles its own programs rather than running the original's.
    """
    cache: tuple[object, dict[Hashable, Callable]] | None = owner.__dict__.get(_PROGRAMS)
    if cache is None or cache[0] is not owner:
        cache = (owner, {})
        owner.__dict__[_PROGRAMS] = cache
    program = cache[1].get(key)
    if program is None:
        program = cache[1][key] = jax.jit(function())
    return program


def eager_program(method: F) -> F:
    """`method` (any signature) run as one cached jitted program when no argument is a tracer."""

    @functools.wraps(method)
    def dispatch(self: object, *args: object, **kwargs: object) -> object:
        if is_traced((args, kwargs)):
            return method(self, *args, **kwargs)
        return compiled(self, method, lambda: functools.partial(method, self))(*args, **kwargs)

    return cast(F, dispatch)


class _ChecksActions(Protocol):
    """What `eager_step` needs of the env (or batch) whose `step` it wraps."""

    def check_action(self, action: Any, params: Any = None) -> Any: ...


def eager_step(method: F) -> F:
    """`step` with the action checked on the host when it is concrete, and run as one cached
    jitted program when nothing is traced."""

    @functools.wraps(method)
    def step(self: _ChecksActions, state: object, action: object, params: object = None) -> object:
        if not is_traced((action, params)):
            checked = self.check_action(action, params)
            if not is_traced(state):
                return compiled(self, method, lambda: functools.partial(method, self))(state, checked, params)
        return method(self, state, action, params)

    return cast(F, step)


def _eager_render(method: F) -> F:
    """`Env.render`: an rgb_array frame of a concrete state as one cached jitted program, unless
    the env draws on the host; other modes (text) run as written."""

    @functools.wraps(method)
    def render(self: Env, state: object, params: object = None, mode: str = "rgb_array") -> object:
        if mode != "rgb_array" or self.render_on_host or is_traced((state, params)):
            return method(self, state, params, mode)
        return compiled(self, method, lambda: lambda s, p: method(self, s, p, "rgb_array"))(state, params)

    return cast(F, render)


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


def runs_as_written(method: F) -> F:
    """Keeps `CompiledWhenConcrete` from wrapping `method` (for a method that needs the host)."""
    setattr(method, _WRAPPED, True)
    return method


class Env(CompiledWhenConcrete, Generic[State, Params, Obs]):
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
    spec: EnvSpec | None = None
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

    def episode_step_bound(self) -> int | None:
        """The most steps an episode can take with the default params: a time limit, or a limit the
        env keeps itself (ALE's frames); None where nothing bounds it."""
        return None

    def observation_space(self, params: Params | None = None) -> spaces.Space:
        raise NotImplementedError

    def action_space(self, params: Params | None = None) -> spaces.Space:
        raise NotImplementedError

    # An action is an element of the action space: an array, or a tuple or dict of them (Tuple and
    # Dict spaces); each env names its own, so the base class takes `Any`.
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

    def observe(self, state: State, params: Params) -> Obs:
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

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        params = self.default_params if params is None else params
        state = self.reset_env(key, params)
        return state, TimeStep(
            obs=self.observe(state, params),
            reward=jnp.zeros((), jnp.float32),
            terminated=jnp.zeros((), jnp.bool_),
            truncated=jnp.zeros((), jnp.bool_),
            info=self.reset_info(state, params),
        )

    def step(self, state: State, action: Any, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
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

    # A frame (uint8 (H, W, 3)) in rgb_array mode; other modes return what they name (text: a str).
    def render(self, state: State, params: Params | None = None, mode: str = "rgb_array") -> Any:
        raise NotImplementedError(f"{self.name} does not render mode {mode!r}")

    # `Any`: through wrappers, the innermost env's state, of a type only that env knows.
    def inner_state(self, state: State) -> Any:
        """The unwrapped env's state inside `state` (itself, for an env that wraps nothing)."""
        return state

    def __repr__(self) -> str:
        return f"<{self.name}{'' if self.spec is None else f'<{self.spec.id}>'}>"


class Wrapper(Env[State, Params, Obs]):
    """An env around another env; by default every part passes straight through.

    The type parameters are the wrapper's own; a wrapper that changes the state or observation
    names the inner env's types itself (as `gymx.wrappers.TimeLimit` does), the base class only
    knows that both share `Params`.
    """

    def __init__(self, env: Env[Any, Params, Any]):
        self.env = env

    @property
    def default_params(self) -> Params:
        return self.env.default_params

    @property
    def unwrapped(self) -> Env:
        return self.env.unwrapped

    @property
    def spec(self) -> EnvSpec | None:
        """The spec `make` gave this wrapper, if it made it (an id whose entry point is a wrapper), else the inner env's."""
        return self.__dict__.get("_spec") or self.env.spec

    @spec.setter
    def spec(self, spec: EnvSpec | None) -> None:
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

    def episode_step_bound(self) -> int | None:
        return self.env.episode_step_bound()

    def observation_space(self, params: Params | None = None) -> spaces.Space:
        return self.env.observation_space(params)

    def action_space(self, params: Params | None = None) -> spaces.Space:
        return self.env.action_space(params)

    def observe(self, state: State, params: Params) -> Obs:
        return self.env.observe(state, params)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        return self.env.reset(key, params)

    def step(self, state: State, action: Any, params: Params | None = None) -> tuple[State, TimeStep[Obs]]:
        return self.env.step(state, action, params)

    def render(self, state: State, params: Params | None = None, mode: str = "rgb_array") -> Any:
        return self.unwrapped.render(self.inner_state(state), params, mode)

    def inner_state(self, state: State) -> Any:
        return self.env.inner_state(state)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}{self.env!r}>"
