"""Tic-tac-toe: three in a row on a 3x3 board."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.board_games.grid import (
    EMPTY,
    MARKS,
    PLAYER_COLORS,
    cell_border,
    completes_line,
    lines_through_cells,
    pixel_cells,
    planes,
    status_line,
)

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState


class TicTacToeGame(struct.PyTree):
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

    def _outcome(
        self, game: TicTacToeGame, action: jax.Array, player: jax.Array, params: object
    ) -> tuple[jax.Array, jax.Array]:
        won = completes_line(game.board, action, player, self.lines, self.valid)
        return jnp.where(won, player, -1), won | jnp.all(game.board != EMPTY)

    def _observe_for(self, game: TicTacToeGame, player: jax.Array, params: object) -> jax.Array:
        return planes(game.board, player, (3, 3))

    def render(
        self, state: TwoPlayerState[TicTacToeGame], params: object = None, mode: str = "rgb_array"
    ) -> str | jax.Array:
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
