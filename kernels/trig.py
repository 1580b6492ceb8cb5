"""float32 sine and cosine with one shared range reduction, for envs that call them every step.

Why: XLA:CPU lowers `jnp.sin`/`jnp.cos` to calls that cost 15-18 ns per element on the CI's CPU
and keep the surrounding fused loop from vectorising, which made them most of a Pendulum or
Acrobot step. This is the classic Cephes `sinf`/`cosf` scheme: reduce |x| by multiples of pi/4
(pi/4 split in three parts so the reduction is exact for |x| < 8192), then minimax
polynomials on [-pi/4, pi/4]. Absolute error below 2e-7 for |x| < 8192, tested against
`jnp.sin`/`jnp.cos`; beyond that the reduction loses bits (no env here gets near it: their
angles are wrapped or bounded).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

_FOUR_OVER_PI = np.float32(4 / np.pi)
# pi/4 = _DP1 + _DP2 + _DP3, each with few enough bits that j * _DPk is exact in float32.
_DP1, _DP2, _DP3 = np.float32(0.78515625), np.float32(2.4187564849853515625e-4), np.float32(3.77489497744594108e-8)
_SIN_COEFFS = (np.float32(-1.9515295891e-4), np.float32(8.3321608736e-3), np.float32(-1.6666654611e-1))
_COS_COEFFS = (np.float32(2.443315711809948e-5), np.float32(-1.388731625493765e-3), np.float32(4.166664568298827e-2))

MAX_ACCURATE_ABS = 8192.0


def sin_cos(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(sin(x), cos(x)) in float32."""
    x = jnp.asarray(x, jnp.float32)
    magnitude = jnp.abs(x)
    octant = (magnitude * _FOUR_OVER_PI).astype(jnp.int32)
    octant = (octant + 1) & ~1  # even, so the remainder lies in [-pi/4, pi/4]
    multiple = octant.astype(jnp.float32)
    r = ((magnitude - multiple * _DP1) - multiple * _DP2) - multiple * _DP3
    z = r * r
    a, b, c = _SIN_COEFFS
    sin_r = ((a * z + b) * z + c) * z * r + r
    a, b, c = _COS_COEFFS
    cos_r = ((a * z + b) * z + c) * z * z - 0.5 * z + 1.0
    quadrant = (octant >> 1) & 3  # |x| = quadrant * pi/2 + r (mod 2 pi)
    odd = (quadrant & 1) == 1
    sin_abs = jnp.where(odd, cos_r, sin_r)
    cos_x = jnp.where(odd, sin_r, cos_r)
    sin_abs = jnp.where(quadrant >= 2, -sin_abs, sin_abs)
    cos_x = jnp.where((quadrant == 1) | (quadrant == 2), -cos_x, cos_x)
    return jnp.where(x < 0, -sin_abs, sin_abs), cos_x


def sin(x: jax.Array) -> jax.Array:
    return sin_cos(x)[0]


def cos(x: jax.Array) -> jax.Array:
    return sin_cos(x)[1]


def wrap_angle(x: jax.Array) -> jax.Array:
    """`x` wrapped into [-pi, pi): `floor` instead of `jnp.mod`, which is several times slower on CPU."""
    two_pi = np.float32(2 * np.pi)
    shifted = x + np.float32(np.pi)
    return shifted - two_pi * jnp.floor(shifted / two_pi) - np.float32(np.pi)
