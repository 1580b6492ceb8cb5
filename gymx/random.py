"""A cheap counter-based PRNG for the keys that batched auto-resets draw with.

JAX's default generator (threefry2x32, 20 rounds) costs about as much per reset as a whole
classic-control step; at 65,536 envs, deriving a reset key and the start-state draws for every
env on every step took most of a batched CartPole step on CPU. `fast_key` wraps key data in
`hashed_counter`, a generator registered with JAX (`jax.extend.random.define_prng_impl`), so
env code keeps calling `jax.random.uniform(key, ...)`, `split` and `fold_in` unchanged.

Each output word is two rounds of the `lowbias32` integer hash (C. Wellons' search for
low-bias 32-bit mixers) over (key, counter, domain): a statistical generator, not a
cryptographic one, with independent streams for `random_bits`, `split` and `fold_in` from
the domain constant. Its uniformity and stream independence are tested in
`tests/gymx/test_random.py`.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.extend.random import define_prng_impl
from jax.typing import ArrayLike

_GOLDEN = np.uint32(0x9E3779B9)
_BITS, _SPLIT, _FOLD_LOW, _FOLD_HIGH, _SEED = (
    np.uint32(d) for d in (0x0, 0x5BD1E995, 0x27D4EB2F, 0x165667B1, 0x85EBCA77)
)


def _mix(x: jax.Array) -> jax.Array:
    x = x ^ (x >> 16)
    x = x * np.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * np.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _word(key: jax.Array, counter: ArrayLike, domain: np.uint32) -> jax.Array:
    """One output word for each counter; `key` is uint32 (2,)."""
    counter = jnp.asarray(counter, jnp.uint32)
    return _mix(_mix((key[0] ^ domain) + (counter + 1) * _GOLDEN) ^ key[1])


def _seed(seed: jax.Array) -> jax.Array:
    seed = jnp.asarray(seed).astype(jnp.uint32)
    return jnp.stack([_mix(seed ^ _SEED), _mix(_mix(seed) + _GOLDEN)])


def _split(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    count = int(np.prod(shape))
    counters = jnp.arange(2 * count, dtype=jnp.uint32)
    return _word(key, counters, _SPLIT).reshape(*shape, 2)


def _fold_in(key: jax.Array, data: ArrayLike) -> jax.Array:
    return jnp.stack([_word(key, data, _FOLD_LOW), _word(key, data, _FOLD_HIGH)])


def _random_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    count = int(np.prod(shape))
    if bit_width == 64:
        words = _word(key, jnp.arange(2 * count, dtype=jnp.uint32), _BITS).reshape(count, 2).astype(jnp.uint64)
        return ((words[:, 0] << 32) | words[:, 1]).reshape(shape)
    words = _word(key, jnp.arange(count, dtype=jnp.uint32), _BITS)
    return words.astype({8: jnp.uint8, 16: jnp.uint16, 32: jnp.uint32}[bit_width]).reshape(shape)


hashed_counter = define_prng_impl(
    key_shape=(2,),
    seed=_seed,
    split=_split,
    random_bits=_random_bits,
    fold_in=_fold_in,
    name="hashed_counter",
    tag="hc",
)


def key_words(key: jax.Array) -> jax.Array:
    """The first two uint32 words of any JAX key's data (typed or raw), shape (..., 2)."""
    data = jax.random.key_data(key) if jnp.issubdtype(key.dtype, jax.dtypes.prng_key) else key
    return jnp.asarray(data, jnp.uint32)[..., :2]


def fast_key(key: jax.Array) -> jax.Array:
    """A `hashed_counter` key from any JAX key or from uint32 (..., 2) key words."""
    return jax.random.wrap_key_data(key_words(key), impl=hashed_counter)
