"""Go's groups, liberties, captures and area score on an N x N board, as pure batched-friendly JAX.

A board is an int array (N, N): 0 empty, 1 black, -1 white (any two distinct non-zero values
work). Points are numbered row-major, `point = row * N + col`; `N * N` is the "no point" sentinel
(off the board, or the label of nothing). Every function takes one board and is meant to be
`vmap`ped; N is static (the array's shape).

- `label`: connected components of equal value (stone groups and empty regions at once), each
  point labelled with the smallest point index of its component.
- `liberty_counts`: per stone, the number of distinct liberties of its group, for any labelling
  of the groups by a point of the group (the env keeps its own incrementally merged labels).
- `captures`: the opponent stones a move removes.
- `area_score`: Tromp-Taylor area (stones plus empty regions that reach only that colour), on
  bitboards.

Each is checked against a plain flood-fill reference in the tests (tests/kernels/go_reference.py).

`label` is plain min-label propagation (each sweep: a point takes the smallest label among itself
and its equal-valued neighbours) in a `lax.while_loop` to a fixed point: under `vmap`, pointer
jumping's batched gather cost more than the sweeps it saved (timings: benchmarks/RESULTS.md).

The env does not call `label`: it merges its group labels incrementally, and scores with
`area_score`'s bitboard flood.

`liberty_counts` counts each liberty once by deduplicating the (at most four) group labels
around each empty point, then scatter-adds one per (empty point, distinct neighbouring group):
one scatter of 4 N^2 updates, exact counts without an (N^2, N^2) membership matrix.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np


@functools.cache
def neighbour_table(size: int) -> np.ndarray:
    """int32 (N*N + 1, 4): the up, down, left, right neighbours of each point, `N*N` off the board.

    Row `N*N` (the sentinel, also the pass action) has no neighbours, so gathers through it stay
    off the board. Built once per size on the host (cached; read-only).
    """
    points = size * size
    table = np.full((points + 1, 4), points, np.int32)
    for point in range(points):
        row, col = divmod(point, size)
        for k, (dr, dc) in enumerate(((-1, 0), (1, 0), (0, -1), (0, 1))):
            r, c = row + dr, col + dc
            if 0 <= r < size and 0 <= c < size:
                table[point, k] = r * size + c
    table.setflags(write=False)
    return table


def neighbours(x: jax.Array, fill: int | bool) -> jax.Array:
    """(4, N, N): each point's up, down, left and right neighbour's value, `fill` off the board."""
    padded = jnp.pad(x, 1, constant_values=fill)
    return jnp.stack([padded[:-2, 1:-1], padded[2:, 1:-1], padded[1:-1, :-2], padded[1:-1, 2:]])


def dilate(mask: jax.Array) -> jax.Array:
    """`mask` (..., N, N) grown by one point in the four directions."""
    padded = jnp.pad(mask, [(0, 0)] * (mask.ndim - 2) + [(1, 1), (1, 1)])
    return mask | padded[..., :-2, 1:-1] | padded[..., 2:, 1:-1] | padded[..., 1:-1, :-2] | padded[..., 1:-1, 2:]


def label(board: jax.Array) -> jax.Array:
    """int32 (N, N): each point's component of 4-connected equal values, as its smallest point index."""
    size = board.shape[-1]
    sentinel = size * size
    same = neighbours(board, 2) == board[None]  # 2 is no board value: off-board points never match
    start = jnp.arange(sentinel, dtype=jnp.int32).reshape(size, size)

    def sweep(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        labels, _ = carry
        hooked = jnp.minimum(labels, jnp.min(jnp.where(same, neighbours(labels, sentinel), sentinel), axis=0))
        return hooked, jnp.any(hooked != labels)

    return jax.lax.while_loop(lambda carry: carry[1], sweep, (start, jnp.asarray(True)))[0]


def liberty_counts(board: jax.Array, groups: jax.Array) -> jax.Array:
    """int32 (N, N): per stone, its group's number of distinct liberties; 0 on empty points.

    `groups`: int32 (N, N), any labelling of the stone groups by a point index in [0, N*N) shared
    by the whole group (`label(board)` is one), and `N*N` on empty points.
    """
    size = board.shape[-1]
    sentinel = size * size
    around = jnp.where(board[None] == 0, neighbours(groups, sentinel), sentinel)  # groups next to each empty point
    distinct = [around[0]]
    for k in range(1, 4):
        repeated = jnp.any(jnp.stack([around[k] == around[j] for j in range(k)]), axis=0)
        distinct.append(jnp.where(repeated, sentinel, around[k]))
    counts = jnp.zeros(sentinel + 1, jnp.int32).at[jnp.stack(distinct).reshape(-1)].add(1)
    return jnp.where(board != 0, counts[groups], 0)


def captures(
    board: jax.Array, groups: jax.Array, liberties: jax.Array, point: jax.Array, colour: jax.Array
) -> jax.Array:
    """bool (N, N): the stones that `colour` playing on the empty `point` (flat index) captures.

    A group is captured when its last liberty is filled: the opponent groups next to `point` that
    have exactly one liberty (`point` itself). `groups` and `liberties` as `liberty_counts` takes
    and returns them. A `point` of `N*N` (no point) captures nothing.
    """
    size = board.shape[-1]
    sentinel = size * size
    around = jnp.asarray(neighbour_table(size))[point]
    flat_board = jnp.append(board.reshape(-1), 0)
    in_atari = (flat_board[around] == -colour) & (jnp.append(liberties.reshape(-1), 0)[around] == 1)
    doomed = jnp.where(in_atari, jnp.append(groups.reshape(-1), sentinel)[around], sentinel)
    return (board == -colour) & jnp.any(groups[None] == doomed[:, None, None], axis=0)


def _bitboard(mask: jax.Array) -> jax.Array:
    """uint32 (N,): bool (N, N) packed a row per word, column c in bit c (N <= 32)."""
    bits = jnp.left_shift(jnp.uint32(1), jnp.arange(mask.shape[-1], dtype=jnp.uint32))
    return jnp.sum(jnp.where(mask, bits, jnp.uint32(0)), axis=-1, dtype=jnp.uint32)


def area_score(board: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Tromp-Taylor area (black, white), int32: stones plus the empty regions that reach only that colour.

    On bitboards (a uint32 per row): the empty points that reach black are a flood from the empty
    neighbours of black stones through empty points, four shifts and ORs a sweep, to a fixed
    point; likewise white. A board without stones floods in no sweeps, so scoring only finished
    games (the others passed as empty boards) keeps a batched loop as short as they need.
    """
    size = board.shape[-1]
    full = jnp.uint32((1 << size) - 1)
    zero_row = jnp.zeros(1, jnp.uint32)
    black, white, empty = _bitboard(board == 1), _bitboard(board == -1), _bitboard(board == 0)

    def grow(rows: jax.Array) -> jax.Array:
        below, above = jnp.concatenate([rows[1:], zero_row]), jnp.concatenate([zero_row, rows[:-1]])
        return rows | below | above | ((rows << 1) & full) | (rows >> 1)

    def reached_from(stones: jax.Array) -> jax.Array:
        def sweep(carry: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
            region, _ = carry
            grown = grow(region) & empty
            return grown, jnp.any(grown != region)

        return jax.lax.while_loop(lambda carry: carry[1], sweep, (grow(stones) & empty, jnp.asarray(True)))[0]

    def count(rows: jax.Array) -> jax.Array:
        return jnp.sum(jax.lax.population_count(rows)).astype(jnp.int32)

    reaches_black, reaches_white = reached_from(black), reached_from(white)
    return count(black) + count(reaches_black & ~reaches_white), count(white) + count(reaches_white & ~reaches_black)
