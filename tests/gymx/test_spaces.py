from __future__ import annotations

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gymx import spaces

SPACES = {
    "discrete": spaces.Discrete(5),
    "discrete_start": spaces.Discrete(3, start=-1),
    "box": spaces.Box(-1.0, 2.0, (3,)),
    "box_unbounded": spaces.Box(np.array([-np.inf, 0.0, -np.inf]), np.array([np.inf, np.inf, 1.0])),
    "box_int": spaces.Box(0, 9, (2, 2), jnp.int32),
    "multi_discrete": spaces.MultiDiscrete([2, 3, 4]),
    "multi_binary": spaces.MultiBinary(4),
    "tuple": spaces.Tuple([spaces.Discrete(2), spaces.Box(0.0, 1.0, (2,))]),
    "dict": spaces.Dict({"b": spaces.Discrete(3), "a": spaces.MultiBinary(2)}),
}


@pytest.mark.parametrize("name", SPACES)
def test_samples_lie_in_the_space_under_jit(name: str) -> None:
    space = SPACES[name]
    samples = jax.jit(jax.vmap(space.sample))(jax.random.split(jax.random.key(0), 64))
    assert bool(jax.jit(jax.vmap(space.contains))(samples).all())
    assert bool(spaces.Batched(space, 64).contains(samples))


@pytest.mark.parametrize("name", SPACES)
def test_gymnasium_conversion_contains_our_samples(name: str) -> None:
    space = SPACES[name]
    converted = space.to_gymnasium()
    for i in range(8):
        sample = jax.tree_util.tree_map(np.asarray, space.sample(jax.random.key(i)))
        assert converted.contains(sample), (name, sample, converted)


def test_samples_cover_the_space() -> None:
    values = jax.vmap(spaces.Discrete(3, start=-1).sample)(jax.random.split(jax.random.key(1), 3000))
    counts = np.bincount(np.asarray(values) + 1, minlength=3)
    assert np.all(np.abs(counts - 1000) < 150), counts
    box = jax.vmap(SPACES["box"].sample)(jax.random.split(jax.random.key(2), 3000))
    assert abs(float(box.mean()) - 0.5) < 0.05 and float(box.min()) >= -1 and float(box.max()) <= 2
    unbounded = jax.vmap(SPACES["box_unbounded"].sample)(jax.random.split(jax.random.key(3), 1000))
    assert np.all(np.isfinite(unbounded)) and float(unbounded[:, 1].min()) >= 0 and float(unbounded[:, 2].max()) <= 1


@pytest.mark.parametrize(
    ("space", "value"),
    [
        (spaces.Discrete(2), 2),
        (spaces.Discrete(2), -1),
        (spaces.Discrete(2), 0.5),
        (spaces.Discrete(2), jnp.array([0])),
        (spaces.Box(-1.0, 1.0, (2,)), jnp.array([0.0, 1.5])),
        (spaces.Box(-1.0, 1.0, (2,)), jnp.array([0.0, jnp.nan])),
        (spaces.Box(-1.0, 1.0, (2,)), jnp.zeros(3)),
        (spaces.MultiDiscrete([2, 3]), jnp.array([1, 3])),
        (spaces.MultiBinary(2), jnp.array([0, 2])),
        (spaces.Tuple([spaces.Discrete(2)]), (0, 1)),
        (spaces.Dict({"a": spaces.Discrete(2)}), {"b": 0}),
    ],
)
def test_contains_rejects_what_is_outside(space: spaces.Space, value: object) -> None:
    assert not bool(space.contains(value))


def test_bad_construction_is_refused() -> None:
    with pytest.raises(ValueError, match="n > 0"):
        spaces.Discrete(0)
    with pytest.raises(ValueError, match="low <= high"):
        spaces.Box(1.0, -1.0, (2,))
    with pytest.raises(ValueError, match="nvec > 0"):
        spaces.MultiDiscrete([2, 0])


def test_batched_space_converts_to_gymnasium_batch_space() -> None:
    batched = spaces.Batched(spaces.Discrete(3), 4).to_gymnasium()
    assert batched == gymnasium.spaces.MultiDiscrete([3, 3, 3, 3])
    assert spaces.Batched(spaces.Box(0.0, 1.0, (2,)), 4).shape == (4, 2)


@pytest.mark.parametrize("n", [1, 2, 3, 4, 16, 200, 300])
def test_batched_discrete_samples_are_uniform_and_pairwise_independent(n: int) -> None:
    num = 20_000
    values = np.asarray(spaces.Batched(spaces.Discrete(n, start=2), num).sample(jax.random.key(n)))
    assert values.shape == (num,) and values.dtype == np.int32
    counts = np.bincount(values - 2, minlength=n)
    assert len(counts) == n and np.all(np.abs(counts - num / n) < 5 * np.sqrt(num / n)), counts
    if 1 < n <= 16:
        # Power-of-two n packs several samples per generator word: neighbours must not correlate.
        pairs = np.bincount((values[:-1] - 2) * n + values[1:] - 2, minlength=n * n)
        expected = (num - 1) / n**2
        assert np.all(np.abs(pairs - expected) < 5 * np.sqrt(expected)), pairs


def test_batched_multi_binary_bits_are_fair() -> None:
    values = np.asarray(spaces.Batched(spaces.MultiBinary((2, 3)), 5000).sample(jax.random.key(0)))
    assert values.shape == (5000, 2, 3) and set(np.unique(values)) == {0, 1}
    assert np.all(np.abs(values.mean(axis=0) - 0.5) < 0.04)
