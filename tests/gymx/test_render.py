"""The pure-JAX rasterizer against plain numpy references, and batched rendering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

import gymx
from gymx import render


def covered(frame: jax.Array, color: tuple[int, int, int]) -> np.ndarray:
    return np.all(np.asarray(frame) == np.asarray(color, np.uint8), axis=-1)


def pixel_centers(height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    x = np.arange(width)[None, :] + 0.5
    y = (height - 1 - np.arange(height))[:, None] + 0.5
    return np.broadcast_to(x, (height, width)), np.broadcast_to(y, (height, width))


def test_polygon_matches_half_plane_reference() -> None:
    vertices = np.array([[3.0, 2.0], [20.0, 5.0], [15.0, 18.0], [4.0, 12.0]])
    frame = jax.jit(lambda v: render.polygon(render.blank(24, 30), v, (9, 9, 9)))(vertices)
    x, y = pixel_centers(24, 30)
    inside = np.ones_like(x, bool)
    for (x0, y0), (x1, y1) in zip(vertices, np.roll(vertices, -1, axis=0)):
        inside &= (x1 - x0) * (y - y0) - (y1 - y0) * (x - x0) >= 0  # counter-clockwise vertices
    np.testing.assert_array_equal(covered(frame, (9, 9, 9)), inside)
    reversed_frame = render.polygon(render.blank(24, 30), vertices[::-1], (9, 9, 9))
    np.testing.assert_array_equal(np.asarray(reversed_frame), np.asarray(frame))


def test_circle_line_and_rotation() -> None:
    x, y = pixel_centers(20, 20)
    frame = render.circle(render.blank(20, 20), jnp.asarray([10.0, 6.0]), 4.0, (1, 2, 3))
    np.testing.assert_array_equal(covered(frame, (1, 2, 3)), (x - 10) ** 2 + (y - 6) ** 2 <= 16)
    frame = render.line(render.blank(20, 20), jnp.asarray([2.0, 10.0]), jnp.asarray([18.0, 10.0]), (1, 2, 3), 2.0)
    np.testing.assert_array_equal(covered(frame, (1, 2, 3)), (np.abs(y - 10) <= 1) & (x >= 1) & (x <= 19))
    np.testing.assert_allclose(render.rotate(jnp.asarray([1.0, 0.0]), jnp.pi / 2), [0.0, 1.0], atol=1e-6)


def test_tile_places_frames_row_by_row() -> None:
    frames = jnp.stack([render.blank(3, 4, (i, i, i)) for i in (10, 20, 30)])
    grid = np.asarray(render.tile(frames, columns=2, gap=1, background=(7, 8, 9)))
    assert grid.shape == (7, 9, 3)
    assert grid[0, 0, 0] == 10 and grid[0, 5, 0] == 20 and grid[4, 0, 0] == 30
    np.testing.assert_array_equal(grid[3, :], np.tile([7, 8, 9], (9, 1)))  # the gap row
    np.testing.assert_array_equal(grid[4:, 5:], np.broadcast_to([7, 8, 9], (3, 4, 3)))  # the empty cell


def test_cartpole_frame_follows_the_cart_and_pole() -> None:
    env = gymx.make("CartPole-v1").unwrapped
    state, _ = env.reset(jax.random.key(0))
    draw = jax.jit(env.render)
    for x in (-1.0, 0.0, 1.5):
        frame = draw(state.replace(x=jnp.float32(x), theta=jnp.float32(0.0)))
        cart_columns = np.flatnonzero(covered(frame, render.BLACK)[400 - 100 - 10])  # a row inside the cart
        np.testing.assert_allclose(cart_columns.mean(), 300 + x * 600 / 4.8, atol=1.0)
    tilted = covered(draw(state.replace(x=jnp.float32(0.0), theta=jnp.float32(0.2))), (202, 152, 101))
    rows, columns = np.nonzero(tilted)
    assert (
        columns[rows.argmin()] > 310
    )  # positive theta (falling right) leans the top to the right, as Gymnasium draws it


def test_batched_render_equals_single_frames() -> None:
    vec = gymx.make_vec("Pendulum-v1", 4)
    state, _ = vec.reset(jax.random.key(1))
    grid = np.asarray(jax.jit(lambda s: vec.render(s, env_indices=[0, 3], columns=2))(state))
    single = [np.asarray(vec.env.render(jax.tree_util.tree_map(lambda x, i=i: x[i], state.env_state))) for i in (0, 3)]
    assert grid.shape == (500, 1002, 3)
    np.testing.assert_array_equal(grid[:, :500], single[0])
    np.testing.assert_array_equal(grid[:, 502:], single[1])
