"""Hex on an N x N rhombus (11 x 11 by default), with the swap (pie) rule.

Cells are numbered row-major, `cell = row * N + col`, row 0 at the top. Each row is drawn half a
cell to the right of the one above, so cell (r, c) touches the six cells (r-1, c), (r-1, c+1),
(r, c-1), (r, c+1), (r+1, c-1) and (r+1, c). Player 0 (X, red) moves first and wins by joining the
top row to the bottom row with a chain of its stones; player 1 (O, blue) wins by joining the left
column to the right column. A full board always holds exactly one such chain: no draws.

Swap rule (`swap=True`, the default, as in Pgx's hex): the extra action N*N is legal only as the
second move of the game. Player 1 then takes over player 0's first stone: the stone on (r, c)
leaves the board and a stone of player 1 stands on (c, r), its mirror image in the long diagonal
(top-left to bottom-right corner), which is the same move for player 1's goal. Then it is player
0's turn, with one stone on the board, player 1's. Every other move places a stone.

Wins are found incrementally, without a flood fill or any loop: every stone holds its group's
label, `cell + 1` of the group's newest stone, positive for player 0 and negative for player 1,
so labels never clash. A new stone relabels its own neighbours' groups to its own label in one
masked select over the board (six comparisons per cell), and the move wins when that label is on
both of the mover's edges. The swap is the same placement, on the mirrored cell, after the only
stone has left the board.

Why this formulation: it was the fastest of the label layouts tried (int8 signed labels in one
array, the swap as a placement writing one board per move), and faster than Pgx's hex step
(timings: benchmarks/RESULTS.md, board games).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.board_games.grid import EMPTY, MARKS, PLAYER_COLORS, status_line

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState

SIDES = (
    (-1, 0),
    (-1, 1),
    (0, -1),
    (0, 1),
    (1, -1),
    (1, 0),
)  # (row, col) steps to neighbours
EMPTY_COLOR, OUTLINE_COLOR = (
    (235, 215, 170),
    (60, 50, 40),
)  # rgb_array: empty cells, outlines


class HexGame(struct.PyTree):
    # int8 (N*N,) (int16 above 11x11), row-major cells, row 0 at the top: 0 empty, else the
    # label of the stone's group, cell + 1 of one of its stones, > 0 player 0's, < 0 player 1's.
    groups: jax.Array
    # int32 (), moves played, the swap included (the swap is legal when it is 1).
    num_moves: jax.Array

    @property
    def board(self) -> jax.Array:
        """int8 (N*N,): -1 empty, else the player (0 or 1) whose stone it is."""
        return jnp.where(self.groups == 0, EMPTY, self.groups < 0).astype(jnp.int8)


def neighbour_table(size: int) -> np.ndarray:
    """int32 (N*N + 1, 6): the six neighbours of each cell, `N*N` where off the board.

    Row `N*N` (the swap action) has no neighbours, so gathers through it stay off the board.
    """
    cells = size * size
    table = np.full((cells + 1, 6), cells, np.int32)
    for cell in range(cells):
        row, col = divmod(cell, size)
        for k, (dr, dc) in enumerate(SIDES):
            if 0 <= row + dr < size and 0 <= col + dc < size:
                table[cell, k] = (row + dr) * size + col + dc
    return table


@functools.cache
def hex_pixels(size: int, cell: int) -> dict[str, np.ndarray]:
    """Host tables of an rgb_array frame of the N x N board, with pointy-top hexagons `cell`
    pixels wide, each row half a cell right of the one above. Per pixel: `index` int32 (h, w),
    the cell it lies in (0 off the board); bool (h, w) masks `on_board`, `outline` (the hexagons'
    borders), `rows_edge` (the cells just outside the top and bottom rows, player 0's edges) and
    `columns_edge` (just outside the left and right columns, player 1's). Cached per size."""
    radius = cell / np.sqrt(3)  # centre to corner
    pitch = 1.5 * radius  # from one row's centres to the next's
    margin = cell  # room for the cells outside the edges
    height = int(np.ceil(pitch * (size - 1) + 2 * radius + 2 * margin))
    width = int(np.ceil(cell * (size + (size - 1) / 2) + 2 * margin))
    y, x = np.mgrid[:height, :width] + 0.5
    # Pixel centres relative to the centre of cell (0, 0).
    y, x = y - margin - radius, x - margin - cell / 2
    # Fractional (row, col) rounded to the hexagon containing the pixel: round the three cube
    # coordinates, then recompute the one that moved most, so that they still sum to zero.
    row_f = y / pitch
    col_f = x / cell - row_f / 2
    third_f = -row_f - col_f
    row, col, third = np.round(row_f), np.round(col_f), np.round(third_f)
    moved_row, moved_col = np.abs(row - row_f), np.abs(col - col_f)
    moved_third = np.abs(third - third_f)
    fix_row = (moved_row > moved_col) & (moved_row > moved_third)
    fix_col = ~fix_row & (moved_col > moved_third)
    row = np.where(fix_row, -col - third, row).astype(np.int32)
    col = np.where(fix_col, -row - third, col).astype(np.int32)
    dx, dy = x - cell * (col + row / 2), y - pitch * row
    # Distance from the centre in the hexagon's own norm: cell / 2 on its border.
    hex_norm = np.maximum(np.abs(dx), np.abs(dx) / 2 + np.abs(dy) * np.sqrt(3) / 2)
    inside_rows, inside_cols = (row >= 0) & (row < size), (col >= 0) & (col < size)
    on_board = inside_rows & inside_cols
    # The cells outside each edge that touch it (the two acute corners' cells touch none).
    above = (row == -1) & (col >= 0) & (col <= size)
    below = (row == size) & (col >= -1) & (col < size)
    return {
        "index": np.where(on_board, row * size + col, 0).astype(np.int32),
        "on_board": on_board,
        "outline": on_board & (hex_norm > cell / 2 - 1.5),
        "rows_edge": above | below,
        "columns_edge": inside_rows & ((col == -1) | (col == size)),
    }


class Hex(TwoPlayerEnv[HexGame]):
    """Hex on an N x N rhombus (N = `size`, static, default 11): players take turns placing a
    stone on an empty cell; player 0 wins by joining the top and bottom rows with a chain of its
    stones, player 1 by joining the left and right columns. No draws. Neighbours and the swap rule
    (`swap`, static, default True): see the module docstring.

    A two-player game (see `gymx.two_player`): player 0 (X, red) moves first.
    Observation: MultiBinary((N, N, 4)) int8, from the mover's side, row 0 at the top: [its
        stones, the other player's stones, all ones if the mover is player 1 (joins left and
        right) else zeros, all ones after the first move while the swap may be played (zeros
        with `swap=False`)]. Pgx's four planes, as int8: the stones alone say neither which edges
        the mover joins nor whether it may swap.
    Action: Discrete(N*N + 1) int32 with the swap rule: the cell row * N + col, or N*N to swap
        (legal only as the second move); Discrete(N*N) without. An occupied cell is illegal.
    Reward: float32, the mover's: +1 win, -1 loss (an illegal move loses), else 0;
        `info["rewards"]` float32 (2,), both players'.
    Termination: a winning chain, or an illegal move; never truncated. At most N*N + 1 moves.
    State: `TwoPlayerState` with `current_player` int32 (), `legal_action_mask` bool
        (num_actions,) and `game: HexGame`: `groups` int8 (N*N,) (signed group labels; int16 above
        11x11), `num_moves` int32 (), and the property `board` int8 (N*N,) (-1 empty, else the
        owner).

        env = Hex()  # 11 x 11, swap rule on
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 60)  # X in the centre; ts.obs is O's view
        state, ts = env.step(state, 121)  # O swaps: O's stone in the centre, X to move

    Single-agent ids: `Hex11x11-v0` (vs `uniform_random_legal`) and `Hex11x11OnePly-v0` (vs the
    greedy `one_ply` opponent); see `gymx.two_player.VsOpponent`.
    """

    metadata: dict = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}
    cell = 24  # rgb_array hexagon width in pixels

    def __init__(self, size: int = 11, swap: bool = True):
        if size < 1:
            raise ValueError(f"size must be at least 1, got {size}")
        self.size = size
        self.swap = swap
        self.num_actions = size * size + int(swap)
        self.neighbours = neighbour_table(size)
        # Labels run over ±1 .. ±N*N, so N*N + 1 is none (nor is its negation); the label
        # type is the narrowest signed type that holds it.
        self.no_label = size * size + 1
        self.label_dtype = np.min_scalar_type(-self.no_label)

    def observation_space(self, params: object = None) -> spaces.MultiBinary:
        return spaces.MultiBinary((self.size, self.size, 4))

    def _init_game(self, key: jax.Array, params: object) -> HexGame:
        cells = self.size * self.size
        zero_moves = jnp.zeros((), jnp.int32)
        return HexGame(groups=jnp.zeros(cells, self.label_dtype), num_moves=zero_moves)

    def _swap_legal(self, game: HexGame) -> jax.Array:
        return jnp.asarray(self.swap) & (game.num_moves == 1)

    def _label(self, cell: jax.Array, player: jax.Array) -> jax.Array:
        """The label of `player`'s group whose newest stone is on `cell`."""
        return ((1 - 2 * player) * (cell + 1)).astype(self.label_dtype)

    def _legal_actions(self, game: HexGame, player: jax.Array, params: object) -> jax.Array:
        empty = game.groups == 0
        return jnp.append(empty, self._swap_legal(game)) if self.swap else empty

    def _apply_move(self, game: HexGame, action: jax.Array, player: jax.Array, params: object) -> HexGame:
        cells = self.size * self.size
        groups, cell = game.groups, action
        if self.swap:
            # The only stone leaves, then the swap is a placement on its mirror image: no
            # second board to compute and select from.
            swapping = action == cells
            first = jnp.argmax(groups != 0)
            mirrored = (first % self.size) * self.size + first // self.size
            groups = groups.at[jnp.where(swapping, first, cells)].set(0, mode="drop")
            cell = jnp.where(swapping, mirrored, action)
        label = self._label(cell, player)
        neighbours = jnp.asarray(self.neighbours)[cell]
        around = groups.at[neighbours].get(mode="fill", fill_value=0)
        joined = jnp.where(jnp.sign(around) == jnp.sign(label), around, self.no_label)
        merged = jnp.any(groups[None] == joined[:, None], axis=0)
        merged |= jnp.arange(cells) == cell
        moves = game.num_moves + 1
        return HexGame(groups=jnp.where(merged, label, groups), num_moves=moves)

    def _outcome(
        self, game: HexGame, action: jax.Array, player: jax.Array, params: object
    ) -> tuple[jax.Array, jax.Array]:
        # The new stone's group carries its label; the swap's label (N*N + 1) is no group's.
        label = self._label(action, player)
        grid = game.groups.reshape(self.size, self.size)
        top_to_bottom = jnp.any(grid[0] == label) & jnp.any(grid[-1] == label)
        left_to_right = jnp.any(grid[:, 0] == label) & jnp.any(grid[:, -1] == label)
        won = jnp.where(player == 0, top_to_bottom, left_to_right)
        return jnp.where(won, player, -1).astype(jnp.int32), won

    def _observe_for(self, game: HexGame, player: jax.Array, params: object) -> jax.Array:
        shape = (self.size, self.size)
        sign = (1 - 2 * player).astype(self.label_dtype)
        # Positive on the viewer's stones, negative on the other player's.
        signed = game.groups.reshape(*shape, 1) * sign
        stones = jnp.concatenate([signed > 0, signed < 0], axis=-1)
        flags = jnp.broadcast_to(jnp.stack([player == 1, self._swap_legal(game)]), (*shape, 2))
        return jnp.concatenate([stones, flags], axis=-1).astype(jnp.int8)

    def render(
        self,
        state: TwoPlayerState[HexGame],
        params: object = None,
        mode: str = "rgb_array",
    ) -> str | jax.Array:
        """ansi: the rhombus in X/O/. (each row shifted half a cell right) with column letters,
        row numbers, the players' edges and whose turn it is (or the result); rgb_array:
        hexagonal cells, red and blue stones, each player's edges in its colour (284x432 at
        11x11)."""
        if mode == "ansi":
            return self._ansi(state)
        if mode != "rgb_array":
            return super().render(state, params, mode)
        pixels = hex_pixels(self.size, self.cell)
        on_board, owner = pixels["on_board"], state.game.board[pixels["index"]]
        height, width = on_board.shape
        frame = render.blank(height, width, render.WHITE)
        frame = render.paint(frame, pixels["rows_edge"], PLAYER_COLORS[0])
        frame = render.paint(frame, pixels["columns_edge"], PLAYER_COLORS[1])
        frame = render.paint(frame, on_board & (owner == EMPTY), EMPTY_COLOR)
        frame = render.paint(frame, on_board & (owner == 0), PLAYER_COLORS[0])
        frame = render.paint(frame, on_board & (owner == 1), PLAYER_COLORS[1])
        return render.paint(frame, pixels["outline"], OUTLINE_COLOR)

    def _ansi(self, state: TwoPlayerState[HexGame]) -> str:
        board = np.asarray(state.game.board).reshape(self.size, self.size)
        letters = "abcdefghijklmnopqrstuvwxyz"
        lines = ["   " + " ".join(letters[c % 26] for c in range(self.size))]
        for r in range(self.size):
            cells = " ".join(MARKS[v] if v >= 0 else "." for v in board[r])
            lines.append(f"{r + 1:>2} " + " " * r + cells)
        lines.append("X: top-bottom, O: left-right")
        status = status_line(state)
        if not bool(state.terminated) and bool(self._swap_legal(state.game)):
            status += f" (may swap: action {self.size * self.size})"
        return "\n".join([*lines, status]) + "\n"
