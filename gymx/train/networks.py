"""Small MLPs, the Nature-DQN CNN and the two action distributions the reference agents need, in plain JAX.

Why plain JAX and not flax or equinox: the agents need little from a network library, an MLP and
a three-layer CNN whose parameters are pytrees, and that is a few dozen lines. Plain parameter
pytrees (tuples of `Dense` and `Conv` dataclasses) vmap over seeds, shard, and save to a
checkpoint with no module system in between, and gymx's `train` extra stays at optax
(+ matplotlib for the plot). The init is explicit because PPO's results depend on it: orthogonal
weights with gain sqrt(2) in hidden layers, a small gain on the policy head (near-uniform first
policy) and zero biases, as in the "37 implementation details of PPO" (Huang et al., 2022) and
purejaxrl.
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


def _orthogonal(key: jax.Array, shapes: Sequence[tuple[int, int]], gains: Sequence[float]) -> list[jax.Array]:
    """One `gain`-scaled orthogonal (in, out) matrix per shape.

    Orthogonal as `jax.nn.initializers.orthogonal` draws it (the Q of a Gaussian matrix's QR,
    signs fixed so that R's diagonal is positive: uniform over orthogonal matrices), but with one
    Gaussian draw for all the matrices: the compiler generates each draw (an unrolled hash) anew,
    and a draw per layer made an agent's init program compile 2x slower.
    """
    # The factorised matrix is tall (a reduced QR's Q has orthonormal columns); a wide layer is its transpose.
    tall = [(max(shape), min(shape)) for shape in shapes]
    offsets = np.cumsum([0] + [rows * cols for rows, cols in tall])
    flat = jax.random.normal(key, (int(offsets[-1]),), jnp.float32)
    matrices = []
    for start, end, shape, tall_shape, gain in zip(offsets[:-1], offsets[1:], shapes, tall, gains):
        # One matrix per QR: jaxlib's LAPACK kernels split a batch over XLA:CPU's thread pool,
        # which can deadlock a program running on several host devices (see gymx/cpu.py).
        q, r = jnp.linalg.qr(flat[start:end].reshape(tall_shape))
        q = q * jnp.sign(jnp.diagonal(r))
        matrices.append(gain * (q if shape[0] >= shape[1] else q.T))
    return matrices


def init_mlps(key: jax.Array, specs: Sequence[tuple[Sequence[int], float]]) -> tuple[MLP, ...]:
    """One MLP per `(sizes, head_gain)`: layers `sizes[0] -> ... -> sizes[-1]`, orthogonal weights
    (gain sqrt(2), last layer `head_gain`), zero biases; one Gaussian draw for all (see `_orthogonal`)."""
    shapes = [shape for sizes, _ in specs for shape in itertools.pairwise(sizes)]
    gains = [gain for sizes, head_gain in specs for gain in [np.sqrt(2.0)] * (len(sizes) - 2) + [head_gain]]
    weights = _orthogonal(key, shapes, gains)
    dense = [Dense(w=w, b=jnp.zeros(shape[1], jnp.float32)) for w, shape in zip(weights, shapes)]
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


# The Nature-DQN CNN (Mnih et al., 2015), the torso of Atari agents.


class Conv(struct.PyTree):
    w: jax.Array  # (kernel height, kernel width, in channels, out channels): HWIO
    b: jax.Array  # (out channels,)
    stride: int = struct.static_field()


def conv2d(layer: Conv, x: jax.Array) -> jax.Array:
    """Unpadded ("VALID") convolution of NHWC images: (N, H, W, in) -> (N, (H - kh) // stride + 1, ..., out)."""
    y = jax.lax.conv_general_dilated(
        x, layer.w, (layer.stride, layer.stride), "VALID", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    return y + layer.b


class NatureCNN(struct.PyTree):
    convs: tuple[Conv, ...]
    dense: Dense  # flattened last feature map -> NATURE_FEATURES


# (out channels, kernel size, stride) of the three convolutions, and the width of the dense layer after them.
NATURE_CONVS = ((32, 8, 4), (64, 4, 2), (64, 3, 1))
NATURE_FEATURES = 512


def init_nature_cnn(
    key: jax.Array, image_shape: tuple[int, int, int], heads: Sequence[tuple[int, float]]
) -> tuple[NatureCNN, tuple[Dense, ...]]:
    """The CNN for (height, width, channels) images and one linear head `NATURE_FEATURES -> size` per
    `(size, gain)` on its features: orthogonal weights (gain sqrt(2) in the CNN, each head its own),
    zero biases, one Gaussian draw for all (a conv's kernel is a (kh * kw * in, out) matrix)."""
    height, width, channels = image_shape
    conv_shapes = []
    for out, kernel, stride in NATURE_CONVS:
        if height < kernel or width < kernel:
            raise ValueError(
                f"images of shape {image_shape} are too small for the Nature CNN: a {kernel}x{kernel} "
                f"convolution meets a {height}x{width} feature map (36x36 is the least it takes)"
            )
        conv_shapes.append((kernel * kernel * channels, out))
        height, width, channels = (height - kernel) // stride + 1, (width - kernel) // stride + 1, out
    shapes = [*conv_shapes, (height * width * channels, NATURE_FEATURES)] + [
        (NATURE_FEATURES, size) for size, _ in heads
    ]
    gains = [np.sqrt(2.0)] * (len(conv_shapes) + 1) + [gain for _, gain in heads]
    weights = _orthogonal(key, shapes, gains)
    zeros = lambda shape: jnp.zeros(shape[1], jnp.float32)
    convs = tuple(
        Conv(w=w.reshape(kernel, kernel, -1, out), b=zeros(shape), stride=stride)
        for w, shape, (out, kernel, stride) in zip(weights, conv_shapes, NATURE_CONVS)
    )
    dense = [Dense(w=w, b=zeros(shape)) for w, shape in zip(weights[len(convs) :], shapes[len(convs) :])]
    return NatureCNN(convs=convs, dense=dense[0]), tuple(dense[1:])


def nature_cnn(params: NatureCNN, images: jax.Array) -> jax.Array:
    """Features (..., NATURE_FEATURES) of uint8 images (..., H, W, C), scaled to [0, 1] first; ReLU after every layer."""
    lead = images.shape[:-3]
    x = images.reshape(-1, *images.shape[-3:]).astype(jnp.float32) / 255.0
    for conv in params.convs:
        x = jax.nn.relu(conv2d(conv, x))
    x = x.reshape(x.shape[0], -1)
    return jax.nn.relu(x @ params.dense.w + params.dense.b).reshape(*lead, NATURE_FEATURES)


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
