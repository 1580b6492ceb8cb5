"""Plain references for the Go kernels (`gymx.kernels.go`): flood fill from every point at once by
repeated dilation (N^2 masks of (N, N)), obviously correct and O(N^4) per sweep."""

from __future__ import annotations

import jax
import jax.numpy as jnp
from gymx.kernels.go import dilate


def _components_reference(board: jax.Array) -> jax.Array:
    """bool (N*N, N, N): row p is the component of point p (points of equal value reachable from p)."""
    size = board.shape[-1]
    same = board[None] == board.reshape(-1)[:, None, None]
    seeds = jnp.eye(size * size, dtype=jnp.bool_).reshape(-1, size, size)

    def grow(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        masks, _ = carry
        grown = dilate(masks) & same
        return grown, jnp.any(grown != masks)

    return jax.lax.while_loop(lambda carry: carry[1], grow, (seeds, jnp.asarray(True)))[0]


def label_reference(board: jax.Array) -> jax.Array:
    size = board.shape[-1]
    components = _components_reference(board)
    index = jnp.arange(size * size).reshape(size, size)
    return jnp.min(jnp.where(components, index, size * size), axis=(1, 2)).reshape(size, size).astype(jnp.int32)


def liberty_counts_reference(board: jax.Array) -> jax.Array:
    size = board.shape[-1]
    components = _components_reference(board)
    counts = jnp.sum(dilate(components) & (board == 0)[None], axis=(1, 2)).reshape(size, size)
    return jnp.where(board != 0, counts, 0).astype(jnp.int32)


def captures_reference(board: jax.Array, point: jax.Array, colour: jax.Array) -> jax.Array:
    """The opponent stones that had a liberty and have none once `colour` stands on `point`
    (random test boards may hold groups that never had one)."""
    size = board.shape[-1]
    placed = jnp.where(jnp.arange(size * size).reshape(size, size) == point, colour, board)
    return (placed == -colour) & (liberty_counts_reference(placed) == 0) & (liberty_counts_reference(board) > 0)


def area_score_reference(board: jax.Array) -> tuple[jax.Array, jax.Array]:
    empty = board == 0

    def reach(colour: int) -> jax.Array:
        def grow(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            mask, _ = carry
            grown = mask | (dilate(mask) & empty)
            return grown, jnp.any(grown != mask)

        return jax.lax.while_loop(lambda carry: carry[1], grow, (board == colour, jnp.asarray(True)))[0]

    black, white = reach(1), reach(-1)
    return (
        jnp.sum(black & ~(white & empty)).astype(jnp.int32),
        jnp.sum(white & ~(black & empty)).astype(jnp.int32),
    )
