"""The float32 sine/cosine kernel against its plain `jax.numpy` reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.kernels import trig

sin_cos = jax.jit(trig.sin_cos)


@pytest.mark.parametrize("limit", [1.0, 10.0, 1000.0, trig.MAX_ACCURATE_ABS])
def test_matches_jnp_sin_cos(limit: float) -> None:
    x = jnp.linspace(-limit, limit, 1_000_003, dtype=jnp.float32)
    sin, cos = sin_cos(x)
    np.testing.assert_allclose(sin, jnp.sin(x), rtol=0, atol=2e-7)
    np.testing.assert_allclose(cos, jnp.cos(x), rtol=0, atol=2e-7)


def test_octant_boundaries_and_signs() -> None:
    quarter = np.float32(np.pi / 4)
    x = jnp.asarray(
        [
            0.0,
            -0.0,
            quarter,
            -quarter,
            2 * quarter,
            3 * quarter,
            4 * quarter,
            5 * quarter,
            6 * quarter,
            7 * quarter,
            8 * quarter,
        ],
        jnp.float32,
    )
    x = jnp.concatenate([x, jnp.nextafter(x, jnp.inf), jnp.nextafter(x, -jnp.inf), -x])
    sin, cos = sin_cos(x)
    np.testing.assert_allclose(sin, jnp.sin(x), atol=2e-7)
    np.testing.assert_allclose(cos, jnp.cos(x), atol=2e-7)
    assert float(sin_cos(jnp.float32(0.0))[0]) == 0.0 and float(sin_cos(jnp.float32(0.0))[1]) == 1.0


def test_keeps_float32_and_shape() -> None:
    sin, cos = sin_cos(jnp.zeros((3, 2), jnp.float32))
    assert sin.dtype == cos.dtype == jnp.float32 and sin.shape == cos.shape == (3, 2)


def test_wrap_angle_matches_mod_reference() -> None:
    x = jnp.linspace(-50.0, 50.0, 200_001, dtype=jnp.float32)
    wrapped = jax.jit(trig.wrap_angle)(x)
    reference = jnp.mod(x + jnp.pi, 2 * jnp.pi) - jnp.pi
    assert float(wrapped.min()) >= -np.pi - 1e-6 and float(wrapped.max()) <= np.pi + 1e-6
    # Equal as angles (a value at the seam may land on either end).
    np.testing.assert_allclose(jnp.sin(wrapped), jnp.sin(reference), atol=2e-6)
    np.testing.assert_allclose(jnp.cos(wrapped), jnp.cos(reference), atol=2e-6)
    inside = jnp.abs(reference) < 3.1
    np.testing.assert_allclose(wrapped[inside], reference[inside], atol=2e-6)
