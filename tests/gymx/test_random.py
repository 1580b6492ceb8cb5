"""The hashed-counter generator that batched auto-resets draw from: uniform and independent enough."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gymx.random import fast_key


def test_uniform_draws_have_uniform_moments_and_buckets() -> None:
    u = np.asarray(jax.random.uniform(fast_key(jax.random.key(0)), (400_000,)))
    assert abs(u.mean() - 0.5) < 3e-3 and abs(u.var() - 1 / 12) < 2e-3
    counts, _ = np.histogram(u, bins=64, range=(0, 1))
    chi2 = ((counts - len(u) / 64) ** 2 / (len(u) / 64)).sum()
    assert chi2 < 120, chi2  # 63 degrees of freedom: p < 1e-5 beyond this


def test_every_bit_is_fair() -> None:
    bits = np.asarray(jax.random.bits(fast_key(jax.random.key(1)), (100_000,), jnp.uint32))
    ones = np.array([((bits >> b) & 1).mean() for b in range(32)])
    assert np.all(np.abs(ones - 0.5) < 0.01), ones


def test_split_and_fold_in_streams_are_distinct_and_uncorrelated() -> None:
    key = fast_key(jax.random.key(2))
    children = jnp.concatenate(
        [jax.random.split(key, 64), jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(64))]
    )
    draws = np.asarray(jax.vmap(lambda k: jax.random.uniform(k, (2000,)))(children))
    assert len({row.tobytes() for row in draws}) == len(draws)
    corr = np.corrcoef(draws)
    off_diagonal = corr[~np.eye(len(corr), dtype=bool)]
    assert np.abs(off_diagonal).max() < 0.12  # |r| of independent 2000-samples exceeds 0.12 with p < 1e-7
    # Consecutive episode keys of neighbouring envs, as VecEnv derives them.
    env_keys = jax.vmap(jax.random.fold_in, (None, 0))(key, jnp.arange(256))
    firsts = np.asarray(jax.vmap(lambda k: jax.random.uniform(jax.random.fold_in(k, 1)))(env_keys))
    assert abs(np.corrcoef(firsts[:-1], firsts[1:])[0, 1]) < 0.25


def test_same_key_same_draws() -> None:
    a = jax.random.normal(fast_key(jax.random.key(5)), (16,))
    b = jax.random.normal(fast_key(jax.random.key(5)), (16,))
    np.testing.assert_array_equal(a, b)
    assert np.all(np.isfinite(a))
