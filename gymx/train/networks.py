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

import itertools
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


def init_mlps(key: jax.Array, specs: Sequence[tuple[Sequence[int], float]]) -> tuple[MLP, ...]:
    """One MLP per `(sizes, head_gain)`: layers `sizes[0] -> ... -> sizes[-1]`, orthogonal weights
    (gain sqrt(2), last layer `head_gain`), zero biases.

    Orthogonal as `jax.nn.initializers.orthogonal` draws it (the Q of a Gaussian matrix's QR,
    signs fixed so that R's diagonal is positive: uniform over orthogonal matrices), but with one
    Gaussian draw for all the layers of all the networks: the compiler generates each draw (an
    unrolled hash) anew, and a draw per layer made an agent's init program compile 2x slower.
    """
    shapes = [shape for sizes, _ in specs for shape in itertools.pairwise(sizes)]
    gains = [gain for sizes, head_gain in specs for gain in [np.sqrt(2.0)] * (len(sizes) - 2) + [head_gain]]
    # The factorised matrix is tall (a reduced QR's Q has orthonormal columns); a wide layer is its transpose.
    tall = [(max(shape), min(shape)) for shape in shapes]
    offsets = np.cumsum([0] + [rows * cols for rows, cols in tall])
    flat = jax.random.normal(key, (int(offsets[-1]),), jnp.float32)
    orthogonal = []
    for start, end, shape, tall_shape in zip(offsets[:-1], offsets[1:], shapes, tall):
        # One matrix per QR: jaxlib's LAPACK kernels split a batch over XLA:CPU's thread pool,
        # which can deadlock a program running on several host devices (see gymx/cpu.py).
        q, r = jnp.linalg.qr(flat[start:end].reshape(tall_shape))
        q = q * jnp.sign(jnp.diagonal(r))
        orthogonal.append(q if shape[0] >= shape[1] else q.T)
    dense = [Dense(w=gain * w, b=jnp.zeros(shape[1], jnp.float32)) for w, shape, gain in zip(orthogonal, shapes, gains)]
    ends = np.cumsum([len(sizes) - 1 for sizes, _ in specs])
    return tuple(tuple(dense[end - len(sizes) + 1 : end]) for end, (sizes, _) in zip(ends, specs))


def init_mlp(key: jax.Array, sizes: Sequence[int], head_gain: float) -> MLP:
    """One network of `init_mlps`."""
    return init_mlps(key, [(sizes, head_gain)])[0]


def mlp(layers: MLP, x: jax.Array, activation: str) -> jax.Array:
    """The MLP's output for inputs `x` (..., in); no activation after the last layer."""
    act = ACTIVATIONS[activation]
    for layer in layers[:-1]:
        x = act(x @ layer.w + layer.b)
    return x @ layers[-1].w + layers[-1].b


# Categorical over logits (discrete actions).


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
