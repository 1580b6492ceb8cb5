"""The device replay buffer: ring insertion, size, sampling only what was written."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gymx.train import replay


def transitions(values: np.ndarray) -> replay.Transitions:
    values = jnp.asarray(values, jnp.float32)
    return replay.Transitions(
        obs=values[:, None].repeat(2, 1),
        action=values.astype(jnp.int32),
        reward=values,
        next_obs=values[:, None].repeat(2, 1) + 1,
        terminated=values > 100,
    )


def empty(capacity: int) -> replay.ReplayBuffer:
    return replay.init_buffer(capacity, jax.tree_util.tree_map(lambda x: x[0], transitions(np.zeros(1))))


def test_add_fills_in_order_then_overwrites_the_oldest() -> None:
    buffer = empty(5)
    assert buffer.capacity == 5 and int(buffer.size) == 0
    buffer = replay.add(buffer, transitions(np.array([1, 2, 3])))
    assert int(buffer.size) == 3 and int(buffer.position) == 3
    np.testing.assert_array_equal(buffer.data.reward, [1, 2, 3, 0, 0])
    buffer = jax.jit(replay.add)(buffer, transitions(np.array([4, 5, 6])))  # wraps around
    assert int(buffer.size) == 5 and int(buffer.position) == 1
    np.testing.assert_array_equal(buffer.data.reward, [6, 2, 3, 4, 5])
    np.testing.assert_array_equal(buffer.data.next_obs[:, 0], [7, 3, 4, 5, 6])
    np.testing.assert_array_equal(buffer.data.action, [6, 2, 3, 4, 5])


def test_sample_draws_only_filled_slots_uniformly() -> None:
    buffer = replay.add(empty(100), transitions(np.arange(1, 11)))
    batch = jax.jit(replay.sample, static_argnums=2)(buffer, jax.random.PRNGKey(0), 4000)
    rewards = np.asarray(batch.reward)
    assert set(np.unique(rewards)) == set(range(1, 11))
    counts = np.bincount(rewards.astype(int), minlength=11)[1:]
    assert counts.min() > 300 and counts.max() < 500  # about 400 each
    np.testing.assert_array_equal(batch.obs[:, 0], rewards)  # fields stay aligned
    np.testing.assert_array_equal(batch.next_obs[:, 0], rewards + 1)
