"""A uniform replay buffer that lives on the device: fixed-size arrays, a ring pointer, jit-safe.

Transitions store their true next observation (gymx's `info["final_obs"]` under `SAME_STEP`
auto-reset) and the `terminated` flag, so a learner bootstraps through time-limit truncations
and stops at terminations without any episode bookkeeping.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gymx import struct


class Transitions(struct.PyTree):
    obs: jax.Array  # (B, obs_dim)
    action: jax.Array  # (B,)
    reward: jax.Array  # float32 (B,)
    next_obs: jax.Array  # (B, obs_dim): the true next observation, also on the last step of an episode
    terminated: jax.Array  # bool (B,)


class ReplayBuffer(struct.PyTree):
    data: Transitions  # every leaf has leading axis `capacity`
    position: jax.Array  # int32 (): the slot the next transition goes to
    size: jax.Array  # int32 (): slots filled, at most `capacity`

    @property
    def capacity(self) -> int:
        return self.data.reward.shape[0]


def init_buffer(capacity: int, example: Transitions) -> ReplayBuffer:
    """An empty buffer of `capacity` slots shaped like one unbatched `example` transition."""
    data = jax.tree_util.tree_map(lambda x: jnp.zeros((capacity, *jnp.shape(x)), jnp.asarray(x).dtype), example)
    return ReplayBuffer(data, jnp.zeros((), jnp.int32), jnp.zeros((), jnp.int32))


def add(buffer: ReplayBuffer, batch: Transitions) -> ReplayBuffer:
    """Writes a batch of transitions (leading axis B <= capacity) at the ring position, overwriting the oldest."""
    count = batch.reward.shape[0]
    slots = (buffer.position + jnp.arange(count)) % buffer.capacity
    data = jax.tree_util.tree_map(lambda store, new: store.at[slots].set(new), buffer.data, batch)
    return ReplayBuffer(
        data=data,
        position=(buffer.position + count) % buffer.capacity,
        size=jnp.minimum(buffer.size + count, buffer.capacity),
    )


def sample(buffer: ReplayBuffer, key: jax.Array, batch_size: int) -> Transitions:
    """`batch_size` transitions drawn uniformly, with replacement, from the filled slots (the buffer must not be empty)."""
    slots = jax.random.randint(key, (batch_size,), 0, jnp.maximum(buffer.size, 1))
    return jax.tree_util.tree_map(lambda store: store[slots], buffer.data)


def learning_started(iteration: jax.Array, learning_starts: int, capacity: int, steps_per_iteration: int) -> jax.Array:
    """Whether a buffer filled with `steps_per_iteration` transitions an iteration holds `learning_starts` after iteration `iteration`'s collection (from 0).

    Read from the iteration count, not from the buffer's size, which it determines: seeds trained
    together share the count, unbatched under the runner's vmap over them (see
    `runner.CountsIterations`), so a cond on this predicate branches instead of running its
    updates and evaluations on every iteration for every seed. Never, when `learning_starts`
    exceeds the capacity.
    """
    if learning_starts > capacity:
        return jnp.zeros((), bool)
    return iteration + 1 >= -(-learning_starts // steps_per_iteration)
