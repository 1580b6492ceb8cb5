"""Tic-tac-toe, and the k-in-a-row tables and board drawing shared with Connect Four."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState

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


def completes_line(board: jax.Array, cell: jax.Array, player: jax.Array, lines: np.ndarray, valid: np.ndarray) -> jax.Array:
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


@struct.dataclass
class TicTacToeGame:
    board: jax.Array  # int8 (9,), row-major cells: -1 empty, else the player (0 or 1) who marked it


class TicTacToe(TwoPlayerEnv[TicTacToeGame]):
    """Tic-tac-toe on a 3x3 board: three marks in a row, column or diagonal win.

    A two-player game (see `gymx.two_player`): player 0 (X) moves first.
    Observation: MultiBinary((3, 3, 2)) int8, from the mover's side: [its marks, the other's].
    Action: Discrete(9) int32, the cell row * 3 + col; a marked cell is illegal.
    Reward: float32, the mover's: +1 win, -1 loss (an illegal move loses), 0 draw or game on;
        `info["rewards"]` float32 (2,), both players'.
    Termination: a line of three, a full board (a draw), or an illegal move.
    State: `TwoPlayerState` with `current_player` int32 (), `legal_action_mask` bool (9,) and
        `game.board` int8 (9,).

        env = TicTacToe()
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 4)  # X in the centre; ts.obs is O's view

    Single-agent ids: `TicTacToe-v0` (vs `uniform_random_legal`) and `TicTacToeOnePly-v0` (vs
    the greedy `one_ply` opponent); see `gymx.two_player.VsOpponent`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}
    num_actions = 9
    cell = 48  # pixels per cell in rgb_array frames

    def __init__(self) -> None:
        self.lines, self.valid = lines_through_cells(3, 3, 3)

    def observation_space(self, params: object = None) -> spaces.MultiBinary:
        return spaces.MultiBinary((3, 3, 2))

    def _init_game(self, key: jax.Array, params: object) -> TicTacToeGame:
        return TicTacToeGame(board=jnp.full(9, EMPTY, jnp.int8))

    def _legal_actions(self, game: TicTacToeGame, player: jax.Array, params: object) -> jax.Array:
        return game.board == EMPTY

    def _apply_move(self, game: TicTacToeGame, action: jax.Array, player: jax.Array, params: object) -> TicTacToeGame:
        return TicTacToeGame(board=game.board.at[action].set(player.astype(jnp.int8)))

    def _outcome(self, game: TicTacToeGame, action: jax.Array, player: jax.Array, params: object) -> tuple[jax.Array, jax.Array]:
        won = completes_line(game.board, action, player, self.lines, self.valid)
        return jnp.where(won, player, -1), won | jnp.all(game.board != EMPTY)

    def _observe_for(self, game: TicTacToeGame, player: jax.Array, params: object) -> jax.Array:
        return planes(game.board, player, (3, 3))

    def render(self, state: TwoPlayerState[TicTacToeGame], params: object = None, mode: str = "rgb_array") -> str | jax.Array:
        """ansi: the board in X/O and whose turn it is (or the result); rgb_array: a 144x144 frame."""
        if mode == "ansi":
            board = np.asarray(state.game.board)
            rows = [" " + " | ".join(MARKS[v] if v >= 0 else " " for v in board[r * 3 : r * 3 + 3]) for r in range(3)]
            return "\n---+---+---\n".join(rows) + "\n" + status_line(state) + "\n"
        if mode != "rgb_array":
            return super().render(state, params, mode)
        index, dx, dy = pixel_cells(3, 3, self.cell)
        owner = state.game.board[index]
        radius, stroke = self.cell * 0.32, self.cell * 0.1
        cross = (np.abs(np.abs(dx) - np.abs(dy)) < stroke) & (np.maximum(np.abs(dx), np.abs(dy)) < radius)
        ring = np.abs(np.hypot(dx, dy) - radius) < stroke / 2
        frame = render.paint(render.blank(3 * self.cell, 3 * self.cell), cell_border(dx, dy, self.cell), render.BLACK)
        frame = render.paint(frame, (owner == 0) & cross, PLAYER_COLORS[0])
        return render.paint(frame, (owner == 1) & ring, PLAYER_COLORS[1])


def status_line(state: TwoPlayerState) -> str:
    """"X to move", "O wins" or "draw", for ansi boards."""
    if not bool(state.terminated):
        return f"{MARKS[int(state.current_player)]} to move"
    return "draw" if int(state.winner) < 0 else f"{MARKS[int(state.winner)]} wins"
