"""The networks' initialisation: orthogonal layers with their gains, drawn once per key."""

from __future__ import annotations

import jax
import numpy as np

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
