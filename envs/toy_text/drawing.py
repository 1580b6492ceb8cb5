"""rgb_array frames of the toy-text envs, in pure JAX so `jax.vmap(env.render)` draws a batch.

Frames are uint8 (height, width, 3), row 0 at the top. Grids are drawn one colour per cell and
blown up; text is a 3x5 pixel font scaled up, enough for card values and sums.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

Color = tuple[int, int, int]
GRID_LINE: Color = (180, 200, 230)

# Glyphs 0-9, then "A" (ace) and blank: 5 rows of 3 bits, most significant bit on the left.
_GLYPH_ROWS = [
    (7, 5, 5, 5, 7), (2, 6, 2, 2, 7), (7, 1, 7, 4, 7), (7, 1, 7, 1, 7), (5, 5, 7, 1, 1),
    (7, 4, 7, 1, 7), (7, 4, 7, 5, 7), (7, 1, 1, 1, 1), (7, 5, 7, 5, 7), (7, 5, 7, 1, 7),
    (2, 5, 7, 5, 5), (0, 0, 0, 0, 0),
]  # fmt: skip
FONT = np.array([[[(row >> (2 - bit)) & 1 for bit in range(3)] for row in glyph] for glyph in _GLYPH_ROWS], np.bool_)
ACE, BLANK = 10, 11  # glyph indices of "A" and of an empty cell


def grid(colors: ArrayLike, cell: int) -> jax.Array:
    """(rows, cols, 3) uint8 cell colours as a (rows * cell, cols * cell, 3) frame with grid lines."""
    frame = jnp.repeat(jnp.repeat(jnp.asarray(colors, jnp.uint8), cell, axis=0), cell, axis=1)
    rows = (np.arange(frame.shape[0]) % cell == 0)[:, None]
    cols = (np.arange(frame.shape[1]) % cell == 0)[None, :]
    return jnp.where((rows | cols)[..., None], jnp.asarray(GRID_LINE, jnp.uint8), frame)


def box(
    frame: jax.Array, top: jax.Array | int, left: jax.Array | int, height: int, width: int, color: Color | jax.Array
) -> jax.Array:
    """Fills `height` x `width` pixels from (top, left); the corner and colour may be traced, the size not."""
    rows = jnp.arange(frame.shape[0])[:, None] - top
    cols = jnp.arange(frame.shape[1])[None, :] - left
    inside = (rows >= 0) & (rows < height) & (cols >= 0) & (cols < width)
    return jnp.where(inside[..., None], jnp.asarray(color, jnp.uint8), frame)


def cell_marker(
    frame: jax.Array, row: jax.Array | int, col: jax.Array | int, cell: int, margin: int, color: Color | jax.Array
) -> jax.Array:
    """A square inset by `margin` pixels in grid cell (row, col)."""
    return box(frame, row * cell + margin, col * cell + margin, cell - 2 * margin, cell - 2 * margin, color)


def glyph(frame: jax.Array, index: jax.Array | int, top: int, left: int, scale: int, color: Color) -> jax.Array:
    """Draws glyph `index` (0-9 a digit, `ACE`, `BLANK`; may be traced) at a fixed place."""
    mask = jnp.repeat(jnp.repeat(jnp.asarray(FONT)[index], scale, axis=0), scale, axis=1)
    patch = frame[top : top + 5 * scale, left : left + 3 * scale]
    patch = jnp.where(mask[..., None], jnp.asarray(color, jnp.uint8), patch)
    return frame.at[top : top + 5 * scale, left : left + 3 * scale].set(patch)


def number(frame: jax.Array, value: jax.Array, top: int, left: int, scale: int, color: Color) -> jax.Array:
    """A value in 0..99 as two digits, the tens blank when zero."""
    tens = jnp.where(value >= 10, value // 10, BLANK)
    frame = glyph(frame, tens, top, left, scale, color)
    return glyph(frame, value % 10, top, left + 4 * scale, scale, color)
