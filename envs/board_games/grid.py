"""What the grid board games share: cell marks, k-in-a-row tables, observation planes, board
drawing and the status line of ansi boards."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gymx.two_player import TwoPlayerState

EMPTY = -1
MARKS = "XO"  # player 0's and player 1's marks in ansi boards
PLAYER_COLORS = ((200, 40, 40), (40, 80, 200))  # rgb_array marks of player 0 and player 1


def lines_through_cells(rows: int, cols: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Every line of `k` cells in a row (horizontal, vertical, both diagonals) through each cell.

    Returns (lines int32 (rows * cols, m, k), valid bool (rows * cols, m)): cell c's lines as
    row-major cell indices, padded to the largest count m with invalid rows (all cell c), so a
    move's win test is one gather of m * k cells instead of every line of the board.
    """
    all_lines = []
    for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
        for r in range(rows):
            for c in range(cols):
                end_r, end_c = r + dr * (k - 1), c + dc * (k - 1)
                if 0 <= end_r < rows and 0 <= end_c < cols:
                    all_lines.append([(r + dr * i) * cols + c + dc * i for i in range(k)])
    through = [[line for line in all_lines if cell in line] for cell in range(rows * cols)]
    m = max(len(t) for t in through)
    lines = np.array([t + [[cell] * k] * (m - len(t)) for cell, t in enumerate(through)], np.int32)
    valid = np.array([[i < len(t) for i in range(m)] for t in through], np.bool_)
    return lines, valid


def completes_line(
    board: jax.Array, cell: jax.Array, player: jax.Array, lines: np.ndarray, valid: np.ndarray
) -> jax.Array:
    """Whether `player` owns every cell of some line through `cell` on `board` (flat, int8)."""
    owned = jnp.all(board[jnp.asarray(lines)[cell]] == player, axis=-1)
    return jnp.any(owned & jnp.asarray(valid)[cell])


def planes(board: jax.Array, player: jax.Array, shape: tuple[int, int]) -> jax.Array:
    """int8 (rows, cols, 2): [`player`'s stones, the other player's], as Pgx's observations."""
    return jnp.stack([board == player, board == 1 - player], axis=-1).reshape(*shape, 2).astype(jnp.int8)


def pixel_cells(rows: int, cols: int, cell: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For a (rows * cell, cols * cell) frame: each pixel's cell index (row-major, row 0 at the top)
    and its offsets (dx right, dy down) from that cell's centre, in pixels."""
    y, x = np.mgrid[: rows * cell, : cols * cell] + 0.5
    index = (y // cell).astype(np.int32) * cols + (x // cell).astype(np.int32)
    return index, (x % cell - cell / 2).astype(np.float32), (y % cell - cell / 2).astype(np.float32)


def cell_border(dx: np.ndarray, dy: np.ndarray, cell: int) -> np.ndarray:
    """The outermost pixel ring of every cell (grid lines 2 pixels wide, 1 at the frame's edge)."""
    return (np.abs(dx) > cell / 2 - 1.5) | (np.abs(dy) > cell / 2 - 1.5)


def status_line(state: TwoPlayerState) -> str:
    """ "X to move", "O wins" or "draw", for ansi boards."""
    if not bool(state.terminated):
        return f"{MARKS[int(state.current_player)]} to move"
    return "draw" if int(state.winner) < 0 else f"{MARKS[int(state.winner)]} wins"
