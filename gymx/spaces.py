"""Spaces: the sets that observations and actions live in.

Every space has a jit-able `sample(key)` and `contains(x)`, a `shape` and `dtype`, and
`to_gymnasium()` for the adapters. Spaces are host objects built from concrete parameters;
their bounds are numpy arrays, so traced code sees constants.

`check(x)` is the host-side test of a concrete value that the public eager `step`s and the
Gymnasium adapters run before an action reaches JAX: it raises a `ValueError` naming the value,
the space and what is wrong (shape, dtype, NaN, bounds). `contains` is the traceable test.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, Generic, TypeVar, cast

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike
from numpy.typing import DTypeLike

from gymx.random import fast_key

if TYPE_CHECKING:
    import gymnasium

# What a space's samples are: an array, or a tuple or dict of them. A batch of samples (stacked on
# a leading axis) has the same type.
Element = TypeVar("Element")


class Space(Generic[Element]):
    shape: tuple[int, ...]
    dtype: np.dtype | None

    def sample(self, key: jax.Array) -> Element:
        raise NotImplementedError

    def sample_batch(self, key: jax.Array, num: int) -> Element:
        """`num` independent samples stacked on a leading axis."""
        return jax.vmap(self.sample)(jax.random.split(key, num))

    def contains(self, x: object) -> jax.Array:
        raise NotImplementedError

    def to_gymnasium(self) -> gymnasium.spaces.Space:
        raise NotImplementedError

    def __contains__(self, x: object) -> bool:
        return bool(self.contains(x))

    def check(self, x: object, what: str = "action", bounds: bool = True) -> None:
        """Raises `ValueError` unless the concrete value `x` is an element of this space.

        The rules, checked in numpy so nothing invalid is traced: exact shape; an integer dtype
        for discrete spaces (a float action is an error, not silently truncated); a dtype that
        casts within its kind for boxes; no NaN; within bounds (a box's only where `bounds`).
        """
        if (reason := why_not_in(self, x, bounds)) is not None:
            raise ValueError(not_in_message(what, x, self, reason))

    # `x` is any value `check` accepts (ints, lists, numpy or JAX arrays, in the space's structure),
    # and comes back as numpy arrays on the host or JAX arrays on their device.
    def cast(self, x: Any) -> Any:
        """`x` (a valid element) as arrays of exactly the space's dtypes, so a compiled step sees
        one signature whatever integer or float type the caller used."""
        if isinstance(self, Tuple):
            return tuple(space.cast(part) for space, part in zip(self.spaces, x))
        if isinstance(self, Dict):
            return {name: space.cast(x[name]) for name, space in self.spaces.items()}
        if isinstance(self, Batched) and isinstance(self.space, (Tuple, Dict)):
            return _unbatched_parts(self).cast(x)
        # A device array stays on its device; anything else is converted on the host.
        return jnp.asarray(x, self.dtype) if isinstance(x, jax.Array) else np.asarray(x, self.dtype)


def not_in_message(what: str, x: object, space: object, reason: str) -> str:
    """The error text of a value outside a space, shared by gymx's and the adapters' checks."""
    shown = repr(x) if isinstance(x, (str, bytes)) else str(x)
    return f"{what} {shown} is not in {space}: {reason}"


def _span(values: np.ndarray) -> object:
    """One bound for display: a scalar when every entry agrees."""
    values = np.asarray(values)
    return values.flat[0].item() if values.size and np.all(values == values.flat[0]) else values.tolist()


def why_not_in(space: Space, x: object, bounds: bool = True) -> str | None:
    """Why the concrete value `x` is not an element of `space`, or None if it is (see `Space.check`)."""
    if isinstance(space, Batched) and isinstance(space.space, (Tuple, Dict)):
        return why_not_in(_unbatched_parts(space), x, bounds)
    if isinstance(space, Tuple):
        if not isinstance(x, (tuple, list)) or len(x) != len(space.spaces):
            return f"expected a tuple of {len(space.spaces)} elements"
        for i, (subspace, part) in enumerate(zip(space.spaces, x)):
            if (reason := why_not_in(subspace, part, bounds)) is not None:
                return f"element {i}: {reason}"
        return None
    if isinstance(space, Dict):
        if not isinstance(x, Mapping) or set(x) != set(space.spaces):
            return f"expected a mapping with keys {sorted(space.spaces)}"
        for name, subspace in space.spaces.items():
            if (reason := why_not_in(subspace, x[name], bounds)) is not None:
                return f"key {name!r}: {reason}"
        return None
    leaf = space.space if isinstance(space, Batched) else space
    try:
        array = np.asarray(x)
    except (TypeError, ValueError) as error:
        return f"not an array ({error})"
    if array.shape != tuple(space.shape):
        return f"expected shape {tuple(space.shape)}, got {array.shape}"
    if isinstance(leaf, Box):
        if not np.can_cast(array.dtype, leaf.dtype, casting="same_kind"):
            return f"dtype {array.dtype} does not cast to {leaf.dtype}"
        if array.dtype.kind in "fc" and np.isnan(array).any():
            return "contains NaN"
        if not bounds:
            return None
        low, high = leaf.low, leaf.high
    elif isinstance(leaf, (Discrete, MultiDiscrete)):
        if array.dtype.kind not in "iu":
            return f"expected an integer dtype, got {array.dtype}"
        low, high = leaf.start, leaf.start + (leaf.n if isinstance(leaf, Discrete) else leaf.nvec) - 1
    elif isinstance(leaf, MultiBinary):
        if array.dtype.kind not in "iub":
            return f"expected an integer or bool dtype, got {array.dtype}"
        low, high = 0, 1
    else:
        return None if space.contains(x) else "not contained"
    if np.all((array >= low) & (array <= high)):
        return None
    return f"out of bounds, expected values in [{_span(low)}, {_span(high)}]"


def _has_shape(x: ArrayLike, shape: tuple[int, ...]) -> bool:
    return tuple(jnp.shape(x)) == tuple(shape)


class Discrete(Space[jax.Array]):
    """Integers `start, ..., start + n - 1`."""

    dtype: np.dtype

    def __init__(self, n: int, start: int = 0, dtype: DTypeLike = jnp.int32):
        if int(n) <= 0:
            raise ValueError(f"Discrete needs n > 0, got n={n}")
        self.n = int(n)
        self.start = int(start)
        self.shape = ()
        self.dtype = np.dtype(dtype)

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_batch(key, 1)[0]

    def sample_batch(self, key: jax.Array, num: int) -> jax.Array:
        # Uniform over the n values. For n a power of two, each 32-bit draw is cut into
        # 32/log2(n) samples (exact, and 32x fewer generator calls for n=2). For other n up to
        # 256, a 24-bit draw u maps to (u * n) >> 24 (a multiply instead of the integer remainder
        # that `randint` needs, several times slower on CPU; no value's probability is off by
        # more than n / 2**24 of itself).
        width = self.n.bit_length() - 1
        if self.n == 1 << width and width > 0:
            per_word = 32 // width
            words = jax.random.bits(key, (-(-num // per_word),), jnp.uint32)
            shifts = jnp.arange(per_word, dtype=jnp.uint32) * width
            values = (words[:, None] >> shifts) & jnp.uint32(self.n - 1)
            return values.reshape(-1)[:num].astype(self.dtype) + self.start
        if self.n <= 256:
            draws = jax.random.bits(key, (num,), jnp.uint32) >> 8
            return ((draws * jnp.uint32(self.n)) >> 24).astype(self.dtype) + self.start
        return jax.random.randint(key, (num,), self.start, self.start + self.n, dtype=self.dtype)

    def contains(self, x: object) -> jax.Array:
        x = jnp.asarray(x)
        if x.shape != () or not jnp.issubdtype(x.dtype, jnp.integer):
            return jnp.asarray(False)
        return (x >= self.start) & (x < self.start + self.n)

    def to_gymnasium(self) -> gymnasium.spaces.Discrete:
        import gymnasium

        # Gymnasium's default int64: its checker expects Discrete values as int or np.int64.
        return gymnasium.spaces.Discrete(self.n, start=self.start)

    def __repr__(self) -> str:
        return f"Discrete({self.n})" if self.start == 0 else f"Discrete({self.n}, start={self.start})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Discrete) and (self.n, self.start) == (other.n, other.start)


class Box(Space[jax.Array]):
    """A (possibly unbounded) box in R^n or Z^n: `low <= x <= high` elementwise."""

    dtype: np.dtype

    def __init__(
        self, low: ArrayLike, high: ArrayLike, shape: Sequence[int] | None = None, dtype: DTypeLike = jnp.float32
    ):
        self.dtype = np.dtype(dtype)
        if shape is None:
            shape = np.broadcast_shapes(np.shape(low), np.shape(high))
        self.shape = tuple(int(d) for d in shape)
        self.low = np.broadcast_to(np.asarray(low, dtype=self.dtype), self.shape).copy()
        self.high = np.broadcast_to(np.asarray(high, dtype=self.dtype), self.shape).copy()
        if np.any(self.low > self.high):
            raise ValueError(f"Box needs low <= high, got low={self.low}, high={self.high}")

    def is_bounded(self) -> bool:
        return bool(np.all(np.isfinite(self.low)) and np.all(np.isfinite(self.high)))

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_batch(key, 1)[0]

    def sample_batch(self, key: jax.Array, num: int) -> jax.Array:
        shape = (num, *self.shape)
        if jnp.issubdtype(self.dtype, jnp.integer):
            # Uniform over the integers in [low, high].
            return jax.random.randint(key, shape, self.low, self.high.astype(np.int64) + 1, dtype=self.dtype)
        # Bounded: uniform; unbounded both sides: standard normal; one side: 1 + exponential away from the bound.
        uniform_key, normal_key, exp_key = jax.random.split(key, 3)
        low, high = self.low, self.high
        finite_low, finite_high = np.isfinite(low), np.isfinite(high)
        if np.all(finite_low & finite_high):
            return jax.random.uniform(uniform_key, shape, self.dtype, low, high)
        uniform = jax.random.uniform(
            uniform_key, shape, self.dtype, np.where(finite_low, low, 0), np.where(finite_high, high, 1)
        )
        normal = jax.random.normal(normal_key, shape, self.dtype)
        exponential = jax.random.exponential(exp_key, shape, self.dtype)
        return jnp.select(
            [finite_low & finite_high, finite_low, finite_high],
            [uniform, np.where(finite_low, low, 0) + exponential, np.where(finite_high, high, 0) - exponential],
            normal,
        ).astype(self.dtype)

    def contains(self, x: object) -> jax.Array:
        x = jnp.asarray(x)
        if not _has_shape(x, self.shape) or not jnp.can_cast(x.dtype, self.dtype, casting="same_kind"):
            return jnp.asarray(False)
        return jnp.all((x >= self.low) & (x <= self.high))

    def to_gymnasium(self) -> gymnasium.spaces.Box:
        import gymnasium

        return gymnasium.spaces.Box(self.low, self.high, self.shape, self.dtype.type)

    def __repr__(self) -> str:
        return f"Box({self.low.min()}, {self.high.max()}, {self.shape}, {self.dtype})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Box)
            and self.shape == other.shape
            and self.dtype == other.dtype
            and np.array_equal(self.low, other.low)
            and np.array_equal(self.high, other.high)
        )


class MultiDiscrete(Space[jax.Array]):
    """A vector of Discrete values, element i in `start[i], ..., start[i] + nvec[i] - 1`."""

    dtype: np.dtype

    def __init__(self, nvec: ArrayLike, start: ArrayLike | None = None, dtype: DTypeLike = jnp.int32):
        self.nvec = np.asarray(nvec, dtype=np.int64)
        if np.any(self.nvec <= 0):
            raise ValueError(f"MultiDiscrete needs every nvec > 0, got {self.nvec}")
        self.start = np.zeros_like(self.nvec) if start is None else np.broadcast_to(np.asarray(start), self.nvec.shape)
        self.shape = self.nvec.shape
        self.dtype = np.dtype(dtype)

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_batch(key, 1)[0]

    def sample_batch(self, key: jax.Array, num: int) -> jax.Array:
        # Uniform per element.
        return jax.random.randint(key, (num, *self.shape), self.start, self.start + self.nvec, dtype=self.dtype)

    def contains(self, x: object) -> jax.Array:
        x = jnp.asarray(x)
        if not _has_shape(x, self.shape) or not jnp.issubdtype(x.dtype, jnp.integer):
            return jnp.asarray(False)
        return jnp.all((x >= self.start) & (x < self.start + self.nvec))

    def to_gymnasium(self) -> gymnasium.spaces.MultiDiscrete:
        import gymnasium

        return gymnasium.spaces.MultiDiscrete(self.nvec, dtype=self.dtype.type, start=self.start)

    def __repr__(self) -> str:
        return f"MultiDiscrete({self.nvec.tolist()})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, MultiDiscrete)
            and np.array_equal(self.nvec, other.nvec)
            and np.array_equal(self.start, other.start)
        )


class MultiBinary(Space[jax.Array]):
    """Binary arrays of a fixed shape (int8 zeros and ones)."""

    def __init__(self, n: int | Sequence[int]):
        self.shape = (int(cast(int, n)),) if np.isscalar(n) else tuple(int(d) for d in cast(Sequence[int], n))
        self.dtype = np.dtype(np.int8)

    def sample(self, key: jax.Array) -> jax.Array:
        return self.sample_batch(key, 1)[0]

    def sample_batch(self, key: jax.Array, num: int) -> jax.Array:
        # Each bit Bernoulli(1/2): the bits of 32-bit draws.
        size = num * int(np.prod(self.shape))
        words = jax.random.bits(key, (-(-size // 32),), jnp.uint32)
        bits = (words[:, None] >> jnp.arange(32, dtype=jnp.uint32)) & jnp.uint32(1)
        return bits.reshape(-1)[:size].reshape(num, *self.shape).astype(self.dtype)

    def contains(self, x: object) -> jax.Array:
        x = jnp.asarray(x)
        if not _has_shape(x, self.shape) or not (
            jnp.issubdtype(x.dtype, jnp.integer) or jnp.issubdtype(x.dtype, jnp.bool_)
        ):
            return jnp.asarray(False)
        return jnp.all((x == 0) | (x == 1))

    def to_gymnasium(self) -> gymnasium.spaces.MultiBinary:
        import gymnasium

        return gymnasium.spaces.MultiBinary(list(self.shape) if len(self.shape) > 1 else self.shape[0])

    def __repr__(self) -> str:
        return f"MultiBinary({self.shape})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, MultiBinary) and self.shape == other.shape


class Tuple(Space[tuple]):
    """A tuple of spaces; samples are Python tuples."""

    def __init__(self, spaces: Sequence[Space]):
        self.spaces = tuple(spaces)
        self.shape = ()
        self.dtype = None

    def sample(self, key: jax.Array) -> tuple:
        keys = jax.random.split(key, len(self.spaces))
        return tuple(space.sample(k) for space, k in zip(self.spaces, keys))

    def sample_batch(self, key: jax.Array, num: int) -> tuple:
        keys = jax.random.split(key, len(self.spaces))
        return tuple(space.sample_batch(k, num) for space, k in zip(self.spaces, keys))

    def contains(self, x: object) -> jax.Array:
        if not isinstance(x, (tuple, list)) or len(x) != len(self.spaces):
            return jnp.asarray(False)
        return jnp.all(jnp.stack([space.contains(part) for space, part in zip(self.spaces, x)]))

    def to_gymnasium(self) -> gymnasium.spaces.Tuple:
        import gymnasium

        return gymnasium.spaces.Tuple([space.to_gymnasium() for space in self.spaces])

    def __getitem__(self, index: int) -> Space:
        return self.spaces[index]

    def __len__(self) -> int:
        return len(self.spaces)

    def __repr__(self) -> str:
        return f"Tuple({', '.join(map(repr, self.spaces))})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Tuple) and self.spaces == other.spaces


class Dict(Space[dict]):
    """A mapping of named spaces, keys sorted as Gymnasium sorts them; samples are dicts."""

    def __init__(self, spaces: Mapping[str, Space]):
        self.spaces = dict(sorted(spaces.items()))
        self.shape = ()
        self.dtype = None

    def sample(self, key: jax.Array) -> dict:
        keys = jax.random.split(key, len(self.spaces))
        return {name: space.sample(k) for (name, space), k in zip(self.spaces.items(), keys)}

    def sample_batch(self, key: jax.Array, num: int) -> dict:
        keys = jax.random.split(key, len(self.spaces))
        return {name: space.sample_batch(k, num) for (name, space), k in zip(self.spaces.items(), keys)}

    def contains(self, x: object) -> jax.Array:
        if not isinstance(x, Mapping) or set(x) != set(self.spaces):
            return jnp.asarray(False)
        return jnp.all(jnp.stack([space.contains(x[name]) for name, space in self.spaces.items()]))

    def to_gymnasium(self) -> gymnasium.spaces.Dict:
        import gymnasium

        return gymnasium.spaces.Dict({name: space.to_gymnasium() for name, space in self.spaces.items()})

    def __getitem__(self, name: str) -> Space:
        return self.spaces[name]

    def keys(self):
        return self.spaces.keys()

    def __repr__(self) -> str:
        return "Dict(" + ", ".join(f"{k}: {v!r}" for k, v in self.spaces.items()) + ")"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Dict) and self.spaces == other.spaces


class Batched(Space[Element]):
    """`num` independent copies of a space, stacked on a leading axis (what a batched env uses).

    `sample(key)` draws from `gymx.random`'s hashed-counter generator seeded by `key`: at batch
    sizes where drawing random actions costs as much as stepping the envs, it is about four
    times cheaper per sample than JAX's default generator on CPU.
    """

    def __init__(self, space: Space[Element], num: int):
        self.space = space
        self.num = int(num)
        self.shape = (self.num, *space.shape) if not isinstance(space, (Tuple, Dict)) else (self.num,)
        self.dtype = space.dtype

    def sample(self, key: jax.Array) -> Element:
        return self.space.sample_batch(fast_key(key), self.num)

    def contains(self, x: object) -> jax.Array:
        leaves = jax.tree_util.tree_leaves(x)
        if not leaves or any(jnp.shape(leaf)[:1] != (self.num,) for leaf in leaves):
            return jnp.asarray(False)
        return jnp.all(jax.vmap(self.space.contains)(x))

    def to_gymnasium(self) -> gymnasium.spaces.Space:
        from gymnasium.vector.utils import batch_space

        return batch_space(self.space.to_gymnasium(), self.num)

    def __repr__(self) -> str:
        return f"Batched({self.space!r}, {self.num})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Batched) and (self.space, self.num) == (other.space, other.num)


def _unbatched_parts(space: Batched) -> Tuple | Dict:
    """A batch of a Tuple or Dict space as the Tuple or Dict of its parts' batches (how its
    samples are laid out: one batched array per part)."""
    inner = space.space
    if isinstance(inner, Tuple):
        return Tuple([Batched(part, space.num) for part in inner.spaces])
    assert isinstance(inner, Dict), "only Tuple and Dict spaces have parts"
    return Dict({name: Batched(part, space.num) for name, part in inner.spaces.items()})
