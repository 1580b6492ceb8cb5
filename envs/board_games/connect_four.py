"""Connect Four: drop discs into a 6x7 upright grid; four in a row wins."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.board_games.grid import (
    EMPTY,
    MARKS,
    completes_line,
    lines_through_cells,
    pixel_cells,
    planes,
    status_line,
)

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState

ROWS, COLS = 6, 7
DISC_COLORS = ((220, 40, 40), (240, 200, 40))  # rgb_array discs of player 0 (red) and player 1 (yellow)
BOARD_COLOR, HOLE_COLOR = (30, 80, 200), (255, 255, 255)


class ConnectFourGame(struct.PyTree):
    board: (
        jax.Array
    )  # int8 (42,), row-major cells, row 0 at the top: -1 empty, else the player (0 or 1) whose disc it is
    heights: jax.Array  # int8 (7,), discs in each column (a disc dropped into column c lands in row 5 - heights[c])


class ConnectFour(TwoPlayerEnv[ConnectFourGame]):
    """Connect Four: players take turns dropping a disc into one of 7 columns of a 6-row grid; the
    disc falls to the lowest empty row. Four discs of one player in a row, column or diagonal win.

    A two-player game (see `gymx.two_player`): player 0 (X, red) moves first.
    Observation: MultiBinary((6, 7, 2)) int8, from the mover's side: [its discs, the other's],
        row 0 at the top (as Pgx's).
    Action: Discrete(7) int32, the column; a full column is illegal.
    Reward: float32, the mover's: +1 win, -1 loss (an illegal move loses), 0 draw or game on;
        `info["rewards"]` float32 (2,), both players'.
    Termination: four in a row, a full board (a draw, after 42 moves), or an illegal move.
    State: `TwoPlayerState` with `current_player` int32 (), `legal_action_mask` bool (7,),
        `game.board` int8 (42,) and `game.heights` int8 (7,).

        env = ConnectFour()
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 3)  # X in the middle column

    Single-agent ids: `ConnectFour-v0` (vs `uniform_random_legal`) and `ConnectFourOnePly-v0`
    (vs the greedy `one_ply` opponent); see `gymx.two_player.VsOpponent`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}
    num_actions = COLS
    cell = 48  # pixels per cell in rgb_array frames

    def __init__(self) -> None:
        self.lines, self.valid = lines_through_cells(ROWS, COLS, 4)

    def observation_space(self, params: object = None) -> spaces.MultiBinary:
        return spaces.MultiBinary((ROWS, COLS, 2))

    def _init_game(self, key: jax.Array, params: object) -> ConnectFourGame:
        return ConnectFourGame(board=jnp.full(ROWS * COLS, EMPTY, jnp.int8), heights=jnp.zeros(COLS, jnp.int8))

    def _legal_actions(self, game: ConnectFourGame, player: jax.Array, params: object) -> jax.Array:
        return game.heights < ROWS

    def _apply_move(
        self, game: ConnectFourGame, action: jax.Array, player: jax.Array, params: object
    ) -> ConnectFourGame:
        height = game.heights[action].astype(jnp.int32)
        return ConnectFourGame(
            board=game.board.at[(ROWS - 1 - height) * COLS + action].set(player.astype(jnp.int8)),
            heights=game.heights.at[action].add(1),
        )

    def _outcome(
        self, game: ConnectFourGame, action: jax.Array, player: jax.Array, params: object
    ) -> tuple[jax.Array, jax.Array]:
        # The disc just dropped is the top one of its column.
        cell = (ROWS - game.heights[action].astype(jnp.int32)) * COLS + action
        won = completes_line(game.board, cell, player, self.lines, self.valid)
        return jnp.where(won, player, -1), won | jnp.all(game.heights == ROWS)

    def _observe_for(self, game: ConnectFourGame, player: jax.Array, params: object) -> jax.Array:
        return planes(game.board, player, (ROWS, COLS))

    def render(
        self, state: TwoPlayerState[ConnectFourGame], params: object = None, mode: str = "rgb_array"
    ) -> str | jax.Array:
        """ansi: the grid in X/O/. with column numbers and whose turn it is (or the result);
        rgb_array: a 336x288 frame, red and yellow discs in a blue board."""
        if mode == "ansi":
            board = np.asarray(state.game.board).reshape(ROWS, COLS)
            rows = [" ".join(MARKS[v] if v >= 0 else "." for v in row) for row in board]
            return "\n".join([*rows, " ".join(str(c) for c in range(COLS)), status_line(state)]) + "\n"
        if mode != "rgb_array":
            return super().render(state, params, mode)
        index, dx, dy = pixel_cells(ROWS, COLS, self.cell)
        hole = np.hypot(dx, dy) < self.cell * 0.4
        owner = state.game.board[index]
        frame = render.blank(ROWS * self.cell, COLS * self.cell, BOARD_COLOR)
        frame = render.paint(frame, hole & (owner == EMPTY), HOLE_COLOR)
        frame = render.paint(frame, hole & (owner == 0), DISC_COLORS[0])
        return render.paint(frame, hole & (owner == 1), DISC_COLORS[1])
