"""A small pure-JAX rasterizer, so frames of many envs are drawn on device inside `jit`.

Frames are uint8 (height, width, 3) arrays. Shapes are given in pixel coordinates with the
origin at the bottom-left corner and y pointing up (the convention of Gymnasium's classic-control
drawings); a pixel is covered when its centre lies inside the shape. Every function is pure and
jit-able, so `jax.vmap(env.render)` draws a whole batch, and `tile` lays frames out in a grid.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np

Color = tuple[int, int, int]
Scalar = float | jax.Array
WHITE: Color = (255, 255, 255)
BLACK: Color = (0, 0, 0)


def blank(height: int, width: int, color: Color = WHITE) -> jax.Array:
    return jnp.broadcast_to(jnp.asarray(color, jnp.uint8), (height, width, 3))


def _pixel_centers(canvas: jax.Array) -> tuple[jax.Array, jax.Array]:
    height, width = canvas.shape[:2]
    x = jnp.arange(width, dtype=jnp.float32)[None, :] + 0.5
    y = (height - 1 - jnp.arange(height, dtype=jnp.float32))[:, None] + 0.5
    return x, y


def paint(canvas: jax.Array, mask: jax.Array | np.ndarray, color: Color) -> jax.Array:
    return jnp.where(mask[..., None], jnp.asarray(color, jnp.uint8), canvas)


def rotate(points: jax.Array, angle: jax.Array) -> jax.Array:
    """`points` (..., 2) turned counter-clockwise by `angle` radians about the origin."""
    cos, sin = jnp.cos(angle), jnp.sin(angle)
    x, y = points[..., 0], points[..., 1]
    return jnp.stack([x * cos - y * sin, x * sin + y * cos], axis=-1)


def polygon(canvas: jax.Array, vertices: jax.Array, color: Color) -> jax.Array:
    """Fills the convex polygon with `vertices` (k, 2), listed in either winding order."""
    x, y = _pixel_centers(canvas)
    start = jnp.asarray(vertices, jnp.float32)
    end = jnp.roll(start, -1, axis=0)
    # The sign of each edge's cross product with the pixel: inside means the same sign for all.
    cross = (end[:, 0] - start[:, 0])[:, None, None] * (y - start[:, 1][:, None, None]) - (end[:, 1] - start[:, 1])[
        :, None, None
    ] * (x - start[:, 0][:, None, None])
    inside = jnp.all(cross >= 0, axis=0) | jnp.all(cross <= 0, axis=0)
    return paint(canvas, inside, color)


def corners(left: Scalar, bottom: Scalar, right: Scalar, top: Scalar) -> jax.Array:
    """The (4, 2) corners of an axis-aligned box, for `polygon` after a `rotate`."""
    left, bottom, right, top = (jnp.asarray(v, jnp.float32) for v in (left, bottom, right, top))
    return jnp.stack(
        [jnp.stack([left, bottom]), jnp.stack([left, top]), jnp.stack([right, top]), jnp.stack([right, bottom])]
    )


def rectangle(canvas: jax.Array, left: Scalar, bottom: Scalar, right: Scalar, top: Scalar, color: Color) -> jax.Array:
    return polygon(canvas, corners(left, bottom, right, top), color)


def circle(canvas: jax.Array, center: jax.Array, radius: float | jax.Array, color: Color) -> jax.Array:
    x, y = _pixel_centers(canvas)
    return paint(canvas, (x - center[0]) ** 2 + (y - center[1]) ** 2 <= radius**2, color)


def _segment_distance(x: jax.Array, y: jax.Array, start: jax.Array, end: jax.Array) -> jax.Array:
    direction = end - start
    length_squared = jnp.maximum(jnp.sum(direction**2), 1e-12)
    along = jnp.clip(((x - start[0]) * direction[0] + (y - start[1]) * direction[1]) / length_squared, 0.0, 1.0)
    return jnp.hypot(x - (start[0] + along * direction[0]), y - (start[1] + along * direction[1]))


def polyline(canvas: jax.Array, points: jax.Array, color: Color, width: float = 1.0) -> jax.Array:
    """Draws the open polyline through `points` (k, 2) with the given stroke width."""
    x, y = _pixel_centers(canvas)
    points = jnp.asarray(points, jnp.float32)
    distance = jax.vmap(lambda a, b: _segment_distance(x, y, a, b))(points[:-1], points[1:])
    return paint(canvas, jnp.min(distance, axis=0) <= width / 2, color)


def line(canvas: jax.Array, start: jax.Array, end: jax.Array, color: Color, width: float = 1.0) -> jax.Array:
    return polyline(canvas, jnp.stack([jnp.asarray(start, jnp.float32), jnp.asarray(end, jnp.float32)]), color, width)


def tile(frames: jax.Array, columns: int | None = None, gap: int = 2, background: Color = BLACK) -> jax.Array:
    """Lays `frames` (n, h, w, 3) out row by row in a grid (about square by default), `gap` pixels apart."""
    count, height, width, _ = frames.shape
    columns = columns or math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    cell = jnp.zeros((rows * columns, height + gap, width + gap, 3), jnp.uint8).at[:count, :height, :width].set(frames)
    covered = jnp.zeros((rows * columns, height + gap, width + gap), jnp.bool_).at[:count, :height, :width].set(True)

    def grid(cells: jax.Array) -> jax.Array:
        cells = cells.reshape(rows, columns, height + gap, width + gap, *cells.shape[3:]).swapaxes(1, 2)
        return cells.reshape(rows * (height + gap), columns * (width + gap), *cells.shape[4:])[
            : -gap or None, : -gap or None
        ]

    return paint(grid(cell), ~grid(covered), background)
