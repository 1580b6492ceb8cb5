"""The networks: orthogonal layers with their gains, drawn once per key; the Nature CNN's convolutions against a loop."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gymx.train import networks


def test_init_mlps_gives_orthogonal_layers_with_their_gains_and_zero_biases() -> None:
    actor, critic = networks.init_mlps(jax.random.PRNGKey(3), [([4, 64, 64, 2], 0.01), ([4, 64, 64, 1], 1.0)])
    gains = [np.sqrt(2.0), np.sqrt(2.0)]
    for mlp, head_gain, out in ((actor, 0.01, 2), (critic, 1.0, 1)):
        assert [layer.w.shape for layer in mlp] == [(4, 64), (64, 64), (64, out)]
        for layer, gain in zip(mlp, [*gains, head_gain]):
            w = np.asarray(layer.w, np.float64) / gain
            # Orthonormal rows for a wide layer, orthonormal columns for a tall one.
            gram = w @ w.T if w.shape[0] < w.shape[1] else w.T @ w
            np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
            assert not np.asarray(layer.b).any()
    # Two networks of the same sizes get different weights.
    assert not np.allclose(actor[1].w, critic[1].w)


def test_init_mlps_depends_on_the_key_only() -> None:
    specs = [([3, 8, 2], 1.0)]
    a, b, c = (networks.init_mlps(jax.random.PRNGKey(seed), specs)[0] for seed in (0, 0, 1))
    for x, y, z in zip(a, b, c):
        np.testing.assert_array_equal(x.w, y.w)
        assert not np.allclose(x.w, z.w)
    batched = jax.vmap(lambda key: networks.init_mlps(key, specs)[0])(jax.numpy.stack([jax.random.PRNGKey(1)] * 2))
    for x, z in zip(batched, c):
        np.testing.assert_array_equal(x.w[1], z.w)


def conv_reference(x: np.ndarray, w: np.ndarray, b: np.ndarray, stride: int) -> np.ndarray:
    """Unpadded cross-correlation, output pixel by output pixel: x (N, H, W, C), w (kh, kw, C, O)."""
    kh, kw, _, out = w.shape
    rows, cols = (x.shape[1] - kh) // stride + 1, (x.shape[2] - kw) // stride + 1
    y = np.zeros((x.shape[0], rows, cols, out))
    for i in range(rows):
        for j in range(cols):
            patch = x[:, i * stride : i * stride + kh, j * stride : j * stride + kw, :]
            y[:, i, j] = np.einsum("nhwc,hwco->no", patch, w) + b
    return y


@pytest.mark.parametrize("stride", [1, 2, 3])
def test_conv2d_matches_a_loop_over_output_pixels(stride: int) -> None:
    # A non-square kernel on a non-square image: rows and columns cannot be swapped unnoticed.
    rng = np.random.default_rng(stride)
    x = rng.normal(size=(2, 11, 13, 3)).astype(np.float32)
    w = rng.normal(size=(3, 4, 3, 5)).astype(np.float32)
    b = rng.normal(size=5).astype(np.float32)
    y = networks.conv2d(networks.Conv(jnp.asarray(w), jnp.asarray(b), stride), jnp.asarray(x))
    expected = conv_reference(x, w, b, stride)
    assert y.shape == expected.shape == (2, (11 - 3) // stride + 1, (13 - 4) // stride + 1, 5)
    np.testing.assert_allclose(y, expected, rtol=1e-4, atol=1e-4)


def test_nature_cnn_has_the_nature_shapes_and_orthogonal_init() -> None:
    torso, (actor, critic) = networks.init_nature_cnn(jax.random.PRNGKey(0), (84, 84, 4), [(6, 0.01), (1, 1.0)])
    # 84 -> 20 -> 9 -> 7 under 8x8/4, 4x4/2, 3x3/1 unpadded convolutions.
    assert [(conv.w.shape, conv.stride) for conv in torso.convs] == [
        ((8, 8, 4, 32), 4),
        ((4, 4, 32, 64), 2),
        ((3, 3, 64, 64), 1),
    ]
    assert torso.dense.w.shape == (7 * 7 * 64, 512) and actor.w.shape == (512, 6) and critic.w.shape == (512, 1)
    layers = [(conv.w.reshape(-1, conv.w.shape[-1]), conv.b) for conv in torso.convs]
    layers += [(torso.dense.w, torso.dense.b), (actor.w, actor.b), (critic.w, critic.b)]
    for (w, b), gain in zip(layers, [np.sqrt(2.0)] * 4 + [0.01, 1.0]):
        w = np.asarray(w, np.float64) / gain
        gram = w @ w.T if w.shape[0] < w.shape[1] else w.T @ w
        np.testing.assert_allclose(gram, np.eye(len(gram)), atol=1e-5)
        assert not np.asarray(b).any()
    images = jnp.zeros((2, 3, 84, 84, 4), jnp.uint8)
    assert networks.nature_cnn(torso, images).shape == (2, 3, 512)


def test_nature_cnn_matches_a_reference_forward_pass() -> None:
    # 36x36 is the smallest image the three convolutions take: 36x44 -> 8x10 -> 3x4 -> 1x2.
    torso, _ = networks.init_nature_cnn(jax.random.PRNGKey(1), (36, 44, 2), [])
    # Non-zero biases, so that the reference checks where they go.
    rng = np.random.default_rng(0)
    torso = networks.NatureCNN(
        convs=tuple(conv.replace(b=jnp.asarray(rng.normal(size=conv.b.shape), jnp.float32)) for conv in torso.convs),
        dense=torso.dense.replace(b=jnp.asarray(rng.normal(size=512), jnp.float32)),
    )
    images = rng.integers(0, 256, size=(3, 36, 44, 2), dtype=np.uint8)
    x = images / 255.0
    for conv in torso.convs:
        x = np.maximum(conv_reference(x, np.asarray(conv.w), np.asarray(conv.b), conv.stride), 0.0)
    assert x.shape == (3, 1, 2, 64)
    expected = np.maximum(x.reshape(3, -1) @ np.asarray(torso.dense.w) + np.asarray(torso.dense.b), 0.0)
    np.testing.assert_allclose(networks.nature_cnn(torso, jnp.asarray(images)), expected, rtol=1e-4, atol=1e-4)


def test_nature_cnn_refuses_images_too_small_for_its_kernels() -> None:
    with pytest.raises(ValueError, match="too small for the Nature CNN"):
        networks.init_nature_cnn(jax.random.PRNGKey(0), (35, 84, 4), [(2, 0.01)])
