"""Small MLPs and the two action distributions the reference agents need, in plain JAX.

Why plain JAX and not flax or equinox: the agents need one thing from a network library, an MLP
whose parameters are a pytree, and that is twenty lines. Plain parameter pytrees (a tuple of
`Dense` dataclasses) vmap over seeds, shard, and save to a checkpoint with no module system in
between, and gymx's `train` extra stays at optax (+ matplotlib for the plot). The init is
explicit because PPO's results depend on it: orthogonal weights with gain sqrt(2) in hidden
layers, a small gain on the policy head (near-uniform first policy) and zero biases, as in the
"37 implementation details of PPO" (Huang et al., 2022) and purejaxrl.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gymx import struct

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {"tanh": jnp.tanh, "relu": jax.nn.relu}


class Dense(struct.PyTree):
    w: jax.Array  # (in, out)
    b: jax.Array  # (out,)


MLP = tuple[Dense, ...]


def init_mlp(key: jax.Array, sizes: Sequence[int], head_gain: float) -> MLP:
    """Layers `sizes[0] -> ... -> sizes[-1]`: orthogonal weights (gain sqrt(2), last layer `head_gain`), zero biases."""
    keys = jax.random.split(key, len(sizes) - 1)
    gains = [np.sqrt(2.0)] * (len(sizes) - 2) + [head_gain]
    return tuple(
        Dense(
            w=jax.nn.initializers.orthogonal(gain)(k, (fan_in, fan_out), jnp.float32), b=jnp.zeros(fan_out, jnp.float32)
        )
        for k, fan_in, fan_out, gain in zip(keys, sizes[:-1], sizes[1:], gains)
    )


def mlp(layers: MLP, x: jax.Array, activation: str) -> jax.Array:
    """The MLP's output for inputs `x` (..., in); no activation after the last layer."""
    act = ACTIVATIONS[activation]
    for layer in layers[:-1]:
        x = act(x @ layer.w + layer.b)
    return x @ layers[-1].w + layers[-1].b


# Categorical over logits (discrete actions).


def categorical_sample(key: jax.Array, logits: jax.Array) -> jax.Array:
    return jax.random.categorical(key, logits).astype(jnp.int32)


def categorical_log_prob(logits: jax.Array, action: jax.Array) -> jax.Array:
    log_p = jax.nn.log_softmax(logits)
    return jnp.take_along_axis(log_p, action[..., None].astype(jnp.int32), axis=-1)[..., 0]


def categorical_entropy(logits: jax.Array) -> jax.Array:
    log_p = jax.nn.log_softmax(logits)
    return -jnp.sum(jnp.exp(log_p) * log_p, axis=-1)


# Diagonal Gaussian (continuous actions): `mean` (..., d), `log_std` (d,).


def gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> jax.Array:
    return mean + jnp.exp(log_std) * jax.random.normal(key, mean.shape, mean.dtype)


def gaussian_log_prob(mean: jax.Array, log_std: jax.Array, action: jax.Array) -> jax.Array:
    z = (action - mean) * jnp.exp(-log_std)
    return jnp.sum(-0.5 * z**2 - log_std - 0.5 * np.log(2 * np.pi), axis=-1)


def gaussian_entropy(mean: jax.Array, log_std: jax.Array) -> jax.Array:
    per_dim = jnp.broadcast_to(log_std + 0.5 * np.log(2 * np.pi * np.e), mean.shape)
    return jnp.sum(per_dim, axis=-1)
