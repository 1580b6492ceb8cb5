"""Othello (Reversi) on an 8x8 board, its moves computed on bitboards.

A player's discs are a 64-bit bitboard held in two uint32 words (JAX has no 64-bit integers
unless x64 is on): bit b of word w is cell 32 * w + b, row-major with row 0 at the top. Moving
every disc one cell in a direction is a rotation of the 64 bits and a mask that drops the discs
that went off the board, done for all 8 directions at once along a last axis of 8. A player's
legal placements are 6 such steps along the opponent's discs from its own, the discs a placement
flips the same from the placed disc: a few hundred integer operations per board, which XLA fuses
into one loop, and no work per cell.
"""

from __future__ import annotations

from typing import NamedTuple, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.board_games.grid import (
    EMPTY,
    MARKS,
    cell_border,
    pixel_cells,
    status_line,
)

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState

SIDE = 8
CELLS = SIDE * SIDE
PASS = CELLS  # the action that passes
WORD_BITS = 32
FILES = "abcdefgh"  # ansi column names
# rgb_array discs of player 0 (black) and player 1 (white).
DISC_COLORS = ((20, 20, 20), (245, 245, 245))
BOARD_COLOR = (30, 120, 60)  # rgb_array green baize

BIT_INDEX = np.arange(WORD_BITS, dtype=np.uint32)
Cells = TypeVar("Cells", np.ndarray, jax.Array)


def to_bitboard(cells: Cells) -> Cells:
    """uint32 (..., 2): the bitboard words of bool (..., 64) row-major cells (numpy in, numpy out)."""
    words = cells.reshape(*cells.shape[:-1], 2, WORD_BITS).astype(np.uint32)
    return (words << BIT_INDEX).sum(axis=-1, dtype=np.uint32)


def to_cells(words: jax.Array) -> jax.Array:
    """bool (..., 64): the row-major cells of bitboard words uint32 (..., 2)."""
    cells = (words[..., None] >> BIT_INDEX) & 1
    return cells.astype(jnp.bool_).reshape(*words.shape[:-1], CELLS)


def _direction_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The 8 directions as rotations of the 64-bit board, one row each: whether the rotation
    swaps the two words bool (8,), the rotation left of the (swapped) words uint32 (8,), and the
    bitboard of the cells a moved disc may land on uint32 (8, 2).

    Rotating left by 8 * row step + column step (mod 64) moves every disc one cell that way. A
    disc that left the board (or wrapped round a row's end) lands on a cell whose neighbour in
    the opposite direction is off the board, which the mask leaves out."""
    steps = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]
    row_step, col_step = np.array(steps).T[..., None]  # (8, 1) each
    rotations = (SIDE * row_step[:, 0] + col_step[:, 0]) % CELLS
    rows, cols = np.divmod(np.arange(CELLS), SIDE)
    from_rows, from_cols = rows - row_step, cols - col_step  # (8, 64)
    lands = (from_rows >= 0) & (from_rows < SIDE) & (from_cols >= 0) & (from_cols < SIDE)
    # Every rotation is a whole word swap plus 1 to 31 bits, so no shift below is by 0 or 32.
    return (
        rotations >= WORD_BITS,
        (rotations % WORD_BITS).astype(np.uint32),
        to_bitboard(lands),
    )


SWAPS, ROTATIONS, LANDS = _direction_tables()
# [player, cell]: the start position's discs.
START_CELLS = np.zeros((2, CELLS), np.bool_)
START_CELLS[0, [3 * SIDE + 4, 4 * SIDE + 3]] = True  # black on e4 and d5
START_CELLS[1, [3 * SIDE + 3, 4 * SIDE + 4]] = True  # white on d4 and e5


class Bits(NamedTuple):
    """Bitboards of any batch shape as their two uint32 words: bit b of `low` is cell b, of
    `high` cell 32 + b. The words stay separate arrays inside a move, so XLA fuses the whole move
    into one loop instead of materialising a stacked array after every shift."""

    low: jax.Array
    high: jax.Array

    @staticmethod
    def of(words: jax.Array) -> Bits:
        """From uint32 (..., 2) words [low, high]."""
        return Bits(words[..., 0], words[..., 1])

    def words(self) -> jax.Array:
        """uint32 (..., 2) [low, high]."""
        return jnp.stack([self.low, self.high], axis=-1)

    def __and__(self, other: Bits) -> Bits:
        return Bits(self.low & other.low, self.high & other.high)

    def __or__(self, other: Bits) -> Bits:
        return Bits(self.low | other.low, self.high | other.high)

    def __invert__(self) -> Bits:
        return Bits(~self.low, ~self.high)

    def any(self) -> jax.Array:
        """bool (...): whether any cell is set."""
        return (self.low | self.high) != 0

    def where(self, condition: jax.Array) -> Bits:
        """These bits where `condition`, else none."""
        return Bits(jnp.where(condition, self.low, 0), jnp.where(condition, self.high, 0))

    def each_way(self) -> Bits:
        """The same bits once per direction, on a new last axis (of size 1, broadcast to 8)."""
        return Bits(self.low[..., None], self.high[..., None])

    def union(self) -> Bits:
        """The union over the last axis (the directions)."""
        return Bits(
            jnp.bitwise_or.reduce(self.low, axis=-1),
            jnp.bitwise_or.reduce(self.high, axis=-1),
        )


def step_each_way(bits: Bits) -> Bits:
    """Bits (..., 8): the discs of `bits` (..., 8 or 1) moved one cell in each direction."""
    first = jnp.where(SWAPS, bits.high, bits.low)
    second = jnp.where(SWAPS, bits.low, bits.high)
    low = (first << ROTATIONS) | (second >> (WORD_BITS - ROTATIONS))
    high = (second << ROTATIONS) | (first >> (WORD_BITS - ROTATIONS))
    return Bits(low & LANDS[:, 0], high & LANDS[:, 1])


def opponent_runs(start: Bits, opponent: Bits) -> Bits:
    """Bits (..., 8): for each direction, the `opponent` discs in unbroken lines that start
    next to a disc of `start` and go that way (`start` and `opponent` (...))."""
    opponent = opponent.each_way()
    run = step_each_way(start.each_way()) & opponent
    # A flanked line has at most 6 discs: its two ends lie on the 8-cell board too.
    for _ in range(SIDE - 3):
        run |= step_each_way(run) & opponent
    return run


def placements(own: Bits, opponent: Bits) -> Bits:
    """The empty cells where the owner of `own` flanks a line of `opponent`."""
    empty = ~(own | opponent)
    return step_each_way(opponent_runs(own, opponent)).union() & empty


def flips(own: Bits, opponent: Bits, placed: Bits) -> Bits:
    """The `opponent` discs that a disc `placed` flanks together with `own`."""
    run = opponent_runs(placed, opponent)
    closed = (step_each_way(run) & own.each_way()).any()
    return run.where(closed).union()


def disc_counts(discs: jax.Array) -> jax.Array:
    """int32 (..., 2): each player's number of discs, from bitboard words uint32 (..., 2, 2)."""
    return jnp.sum(jax.lax.population_count(discs), axis=-1).astype(jnp.int32)


class OthelloGame(struct.PyTree):
    # uint32 (2, 2), each player's discs as a bitboard [player, word]: bit b of word w is cell
    # 32 * w + b, row-major with row 0 at the top.
    discs: jax.Array
    # uint32 (2, 2), each player's legal placements on this board, as `discs`. Kept because the
    # end test needs both players' and the next mask one of them: computed once per move.
    placements: jax.Array

    @property
    def board(self) -> jax.Array:
        """int8 (..., 64), row-major cells: -1 empty, else the player (0 or 1) whose disc it is."""
        black, white = to_cells(self.discs[..., 0, :]), to_cells(self.discs[..., 1, :])
        return jnp.where(black, 0, jnp.where(white, 1, EMPTY)).astype(jnp.int8)


def game_from_discs(discs: jax.Array) -> OthelloGame:
    """The game with these discs (uint32 (..., 2, 2)) and both players' placements on them."""
    # Each player's own discs against the other player's, both players at once.
    own, opponent = Bits.of(discs), Bits.of(discs[..., ::-1, :])
    return OthelloGame(discs=discs, placements=placements(own, opponent).words())


class Othello(TwoPlayerEnv[OthelloGame]):
    """Othello (Reversi): players place discs on an 8x8 board; a placement must flank at least one
    straight line (any of 8 directions) of the opponent's discs with one of the mover's, and every
    line it flanks flips to the mover. With no such placement the player passes.

    A two-player game (see `gymx.two_player`): player 0 (black, X) moves first, from white on d4
    and e5 and black on e4 and d5 (the four centre cells; row 0, the top row, is rank 1).
    Observation: MultiBinary((8, 8, 2)) int8, from the mover's side: [its discs, the other's],
        row 0 at the top (as Pgx's).
    Action: Discrete(65) int32: cell row * 8 + col, or 64 to pass. A placement that flanks no line
        is illegal; pass is legal exactly when the mover has no legal placement, and is then its
        only legal action.
    Reward: float32, the mover's: +1 win, -1 loss (an illegal move loses), 0 draw or game on;
        `info["rewards"]` float32 (2,), both players'. More discs wins; equal counts draw.
    Termination: neither player has a legal placement (a full board included), or an illegal
        move. Never truncated (a game has at most 60 placements, and a pass is always followed
        by a placement).
    State: `TwoPlayerState` with `current_player` int32 (), `legal_action_mask` bool (65,) and
        `game: OthelloGame`: bitboards `discs` and `placements` uint32 (2, 2) [player, word];
        `game.board` is the int8 (64,) board (-1 empty, else the player). `from_board(board,
        player)` sets up any position.

        env = Othello()
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 19)  # black on d3 flips d4; ts.obs is white's view

    Single-agent ids: `Othello-v0` (vs `uniform_random_legal`) and `OthelloOnePly-v0` (vs the
    greedy `one_ply` opponent: a placement that ends the game with more discs if it has one,
    else one on a cell where the agent's placement would do so, else uniform); see
    `gymx.two_player.VsOpponent`.
    """

    metadata: dict = {"render_modes": ["ansi", "rgb_array"], "render_fps": 2}
    num_actions = CELLS + 1
    cell = 40  # pixels per cell in rgb_array frames

    def observation_space(self, params: object = None) -> spaces.MultiBinary:
        return spaces.MultiBinary((SIDE, SIDE, 2))

    def from_board(self, board: np.ndarray | jax.Array, player: int) -> TwoPlayerState[OthelloGame]:
        """The state with `board` (int8 (64,) or (8, 8): -1 empty, else the player whose disc it
        is) and `player` to move; terminated (and scored) if neither player can place."""
        board = jnp.asarray(board).reshape(CELLS)
        game = game_from_discs(to_bitboard(jnp.stack([board == 0, board == 1])))
        mover = jnp.int32(player)
        winner, over = self._outcome(game, jnp.int32(PASS), mover, None)
        return TwoPlayerState(
            current_player=mover,
            legal_action_mask=self._legal_actions(game, mover, None) | over,
            winner=winner.astype(jnp.int32),
            terminated=over,
            game=game,
        )

    def _init_game(self, key: jax.Array, params: object) -> OthelloGame:
        return game_from_discs(jnp.asarray(to_bitboard(START_CELLS)))

    def _legal_actions(self, game: OthelloGame, player: jax.Array, params: object) -> jax.Array:
        placeable = to_cells(jnp.where(player == 0, game.placements[0], game.placements[1]))
        return jnp.append(placeable, ~jnp.any(placeable))

    def _apply_move(self, game: OthelloGame, action: jax.Array, player: jax.Array, params: object) -> OthelloGame:
        # Pass and actions outside the board set no bit; a disc flanking nothing is not placed
        # either, so `one_ply` trying every cell for either player sees only real moves.
        bit = jnp.left_shift(jnp.uint32(1), (action % WORD_BITS).astype(jnp.uint32))
        placed = Bits(
            jnp.where(action // WORD_BITS == 0, bit, 0),
            jnp.where(action // WORD_BITS == 1, bit, 0),
        )
        mine_first = jnp.where(player == 0, game.discs, game.discs[::-1])
        own, opponent = Bits.of(mine_first[0]), Bits.of(mine_first[1])
        flipped = flips(own, opponent, placed)
        placed = placed.where(flipped.any())
        mine_first = jnp.stack([(own | placed | flipped).words(), (opponent & ~flipped).words()])
        return game_from_discs(jnp.where(player == 0, mine_first, mine_first[::-1]))

    def _outcome(
        self, game: OthelloGame, action: jax.Array, player: jax.Array, params: object
    ) -> tuple[jax.Array, jax.Array]:
        over = ~jnp.any(game.placements != 0)
        black, white = disc_counts(game.discs)
        leader = jnp.where(black > white, 0, jnp.where(white > black, 1, -1))
        return jnp.where(over, leader, -1), over

    def _observe_for(self, game: OthelloGame, player: jax.Array, params: object) -> jax.Array:
        mine_first = jnp.where(player == 0, game.discs, game.discs[::-1])
        return jnp.moveaxis(to_cells(mine_first), 0, -1).reshape(SIDE, SIDE, 2).astype(jnp.int8)

    def render(
        self,
        state: TwoPlayerState[OthelloGame],
        params: object = None,
        mode: str = "rgb_array",
    ) -> str | jax.Array:
        """ansi: the board in X (black) / O (white) / . with files a-h and ranks 1-8, the disc
        counts and whose turn it is (or the result); rgb_array: a 320x320 frame, black and white
        discs on a green board."""
        if mode == "ansi":
            board = np.asarray(state.game.board).reshape(SIDE, SIDE)
            rows = [f"{r + 1} " + " ".join(MARKS[v] if v >= 0 else "." for v in row) for r, row in enumerate(board)]
            black, white = (int(n) for n in disc_counts(state.game.discs))
            lines = [
                "  " + " ".join(FILES),
                *rows,
                f"X {black}, O {white}",
                status_line(state),
            ]
            return "\n".join(lines) + "\n"
        if mode != "rgb_array":
            return super().render(state, params, mode)
        index, dx, dy = pixel_cells(SIDE, SIDE, self.cell)
        disc = np.hypot(dx, dy) < self.cell * 0.4
        owner = state.game.board[index]
        frame = render.paint(
            render.blank(SIDE * self.cell, SIDE * self.cell, BOARD_COLOR),
            cell_border(dx, dy, self.cell),
            render.BLACK,
        )
        frame = render.paint(frame, disc & (owner == 0), DISC_COLORS[0])
        return render.paint(frame, disc & (owner == 1), DISC_COLORS[1])
