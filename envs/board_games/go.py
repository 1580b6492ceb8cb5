"""Go on a 9x9, 13x13 or 19x19 board: Tromp-Taylor area scoring, simple ko, no resignation.

Rules, as played here (the choices a batched, fixed-shape env has to make):

- Black (player 0) moves first. A move puts a stone on an empty point; opponent groups left
  without a liberty are removed; a move that leaves its own group without a liberty (suicide,
  of one stone or several) is illegal, as in Tromp-Taylor's Japanese-compatible variant.
- Ko: **simple ko**. A move that captures exactly one stone with a single stone that is then left
  with exactly one liberty makes the captured point illegal for the opponent's next move (which
  is the same as banning a move that recreates the position before the opponent's last move).
  Longer cycles (triple ko, sending-two-returning-one) are not banned; the move limit ends them.
  Why not positional superko: it needs a hash history, and it cannot be exact in the legal-action
  mask without trying every move (Pgx ends the game with a loss instead); simple ko keeps the
  mask exact, so the agent is never punished for a move the mask allowed.
- Pass is always legal. Two passes in a row end the game.
- The game also ends after `max_moves` moves (passes included; default 2 * N * N, Pgx's limit).
  That end is a **termination**, scored as after two passes: the game's outcome is final and
  nothing is left to bootstrap, and the cap is part of the rules (an ordinary `TimeLimit`
  wrapper would truncate instead).
- Scoring (Tromp-Taylor area): a player's stones plus the empty points whose region reaches only
  that player's stones; white adds `komi` (a traced param, default 7.5). More points wins (+1 /
  -1); equal points (only possible with a whole-number komi) is a draw (0 / 0).
- No resignation (the original Gym env had a resign action): resigning is never better for a
  learner than playing on, and a fixed-shape action space loses nothing without it.
- An illegal action (an occupied point, suicide, the ko point, or outside [0, N*N]) ends the game
  with -1 for the mover (the `gymx.two_player` convention).

Groups are kept incrementally: each stone carries its group's id (a point of the group) and its
group's liberty count, so a move merges ids with one masked select, captures the adjacent
opponent groups that had one liberty, and recounts liberties once (`gymx.kernels.go`); the
legal-action mask is then shifts of those counts.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from gymx.kernels import go as kernel

from gymx import render, spaces, struct
from gymx.two_player import TwoPlayerEnv, TwoPlayerState, kth_legal, make_vs_opponent

STONES = ".XO"  # ansi: empty, black, white
OFF_BOARD = 2  # padding value of the board: no colour, never empty


class GoParams(struct.PyTree):
    komi: float = 7.5  # points added to white's area


class GoGame(struct.PyTree):
    board: jax.Array  # int8 (N*N,), row-major points: 0 empty, 1 black, -1 white
    groups: jax.Array  # int32 (N*N,), each stone's group id (a point of the group); N*N on empty points
    liberties: jax.Array  # int32 (N*N,), each stone's group's number of liberties; 0 on empty points
    ko: jax.Array  # int32 (), the point the player to move may not play (simple ko); -1 if none
    passes: jax.Array  # int32 (), consecutive passes just played (2 ends the game)
    num_moves: jax.Array  # int32 (), moves played, passes included
    history: jax.Array  # int8 (history_length, N*N), the last boards, newest first (empty without history planes)


class Go(TwoPlayerEnv[GoGame]):
    """Go on an N x N board (N a constructor arg: 9, 13 or 19), two players, area scoring.

    A two-player game (see `gymx.two_player`): player 0 is black and moves first, player 1 white.
    Observation: float32, from the side of the player to move (`observation="planes"`, default):
        Box(0, 1, (3, N, N)): [the mover's stones, the opponent's stones, empty points], the
        original Gym Go env's three planes (for black to move, exactly its (black, white, empty)).
        `observation="history"`: Box(0, 1, (2k + 1, N, N)) with k = `history_length` (default 8,
        AlphaGo Zero's and Pgx's 17 planes): the mover's stones in the last k positions (newest
        first), then the opponent's, then a plane of ones when black is to move (zeros for white).
        Positions before the start are empty.
    Action: Discrete(N*N + 1) int32: point row * N + col, or N*N to pass. No resign action.
    Reward: float32, the mover's: +1 win, -1 loss (an illegal move loses), 0 draw or game on;
        `info["rewards"]` float32 (2,), both players'.
    Termination: two passes in a row, `max_moves` moves (scored: see the module docstring), or an
        illegal move. Never truncated.
    Params: `GoParams(komi=7.5)`, traced.
    State: `TwoPlayerState` with `current_player` int32 (), `legal_action_mask` bool (N*N + 1,)
        (occupied, suicide and ko points are illegal; pass is always legal) and `game: GoGame`.

        env = Go(size=9)
        state, ts = env.reset(jax.random.key(0))
        state, ts = env.step(state, 40)  # black on tengen; ts.obs is white's view

    Single-agent ids (`VsOpponent`): Go9x9-v0, Go13x13-v0, Go19x19-v0 against a uniformly random
    legal opponent, Go9x9Greedy-v0 against `greedy_capture`.
    """

    metadata = {"render_modes": ["ansi", "rgb_array"], "render_fps": 4}

    def __init__(
        self, size: int = 9, observation: str = "planes", history_length: int = 8, max_moves: int | None = None
    ):
        if not 2 <= size <= 32:
            raise ValueError(f"size must be in [2, 32] (a board row is a 32-bit word when scoring), got {size}")
        if observation not in ("planes", "history"):
            raise ValueError(f"observation must be 'planes' or 'history', got {observation!r}")
        if observation == "history" and history_length < 1:
            raise ValueError(f"history_length must be at least 1, got {history_length}")
        self.size = size
        self.observation = observation
        self.history_length = history_length if observation == "history" else 0
        self.max_moves = 2 * size * size if max_moves is None else max_moves
        self.num_actions = size * size + 1
        self.neighbours = kernel.neighbour_table(size)  # the pass row has only off-board neighbours

    @property
    def default_params(self) -> GoParams:
        return GoParams()

    def observation_space(self, params: GoParams | None = None) -> spaces.Box:
        planes = 3 if self.observation == "planes" else 2 * self.history_length + 1
        return spaces.Box(0.0, 1.0, (planes, self.size, self.size), jnp.float32)

    def _init_game(self, key: jax.Array, params: GoParams) -> GoGame:
        points = self.size * self.size
        return GoGame(
            board=jnp.zeros(points, jnp.int8),
            groups=jnp.full(points, points, jnp.int32),
            liberties=jnp.zeros(points, jnp.int32),
            ko=jnp.full((), -1, jnp.int32),
            passes=jnp.zeros((), jnp.int32),
            num_moves=jnp.zeros((), jnp.int32),
            history=jnp.zeros((self.history_length, points), jnp.int8),
        )

    def _legal_actions(self, game: GoGame, player: jax.Array, params: GoParams) -> jax.Array:
        # An empty point is legal unless it is the ko point or suicide; it is not suicide when a
        # neighbour is empty, is the mover's group with another liberty, or is an opponent group
        # whose last liberty it is (a capture).
        colour = (1 - 2 * player).astype(jnp.int8)
        board = game.board.reshape(self.size, self.size)
        around = kernel.neighbours(board, OFF_BOARD)
        liberties = kernel.neighbours(game.liberties.reshape(self.size, self.size), 0)
        breathes = (around == 0) | ((around == colour) & (liberties > 1)) | ((around == -colour) & (liberties == 1))
        legal = (board == 0) & jnp.any(breathes, axis=0)
        legal = legal.reshape(-1) & (jnp.arange(self.size * self.size) != game.ko)
        return jnp.append(legal, True)

    def _apply_move(self, game: GoGame, action: jax.Array, player: jax.Array, params: GoParams) -> GoGame:
        n, points = self.size, self.size * self.size
        colour = (1 - 2 * player).astype(jnp.int8)
        square = (n, n)
        # A pass (action N*N) places nothing: its neighbour row is all off-board and no point matches it.
        captured = kernel.captures(
            game.board.reshape(square), game.groups.reshape(square), game.liberties.reshape(square), action, colour
        ).reshape(-1)
        placed = jnp.arange(points) == action
        around = jnp.asarray(self.neighbours)[action]
        own = jnp.append(game.board, OFF_BOARD)[around] == colour
        joined = jnp.where(own, jnp.append(game.groups, points)[around], -1)  # own groups the stone connects
        merged = placed | ((game.board == colour) & jnp.any(game.groups[None] == joined[:, None], axis=0))
        board = jnp.where(placed, colour, jnp.where(captured, 0, game.board)).astype(jnp.int8)
        groups = jnp.where(merged, action, jnp.where(captured, points, game.groups))
        liberties = kernel.liberty_counts(board.reshape(square), groups.reshape(square)).reshape(-1)
        # Simple ko: one stone captured by a lone stone left in atari; retaking at once would
        # recreate the previous position.
        lone_in_atari = ~jnp.any(own) & (jnp.append(liberties, 0)[action] == 1)
        ko = jnp.where((jnp.sum(captured) == 1) & lone_in_atari, jnp.argmax(captured), -1).astype(jnp.int32)
        is_pass = action == points
        return GoGame(
            board=board,
            groups=groups,
            liberties=liberties,
            ko=ko,
            passes=jnp.where(is_pass, game.passes + 1, 0).astype(jnp.int32),
            num_moves=game.num_moves + 1,
            history=jnp.concatenate([board[None], game.history[:-1]]) if self.history_length else game.history,
        )

    def _outcome(
        self, game: GoGame, action: jax.Array, player: jax.Array, params: GoParams
    ) -> tuple[jax.Array, jax.Array]:
        over = (game.passes >= 2) | (game.num_moves >= self.max_moves)
        # Only finished games are scored: the rest pass an empty board, which the scoring flood
        # fills in no sweeps, so a batch's loop lasts only as long as its finished boards need.
        scored = game.replace(board=jnp.where(over, game.board, 0).astype(game.board.dtype))
        margin = self.score_margin(scored, params)  # black's area minus white's area and komi
        winner = jnp.where(margin > 0, 0, jnp.where(margin < 0, 1, -1))
        return jnp.where(over, winner, -1).astype(jnp.int32), over

    def score_margin(self, game: GoGame, params: GoParams | None = None) -> jax.Array:
        """float32 (): black's Tromp-Taylor area minus white's area and komi (> 0: black is ahead)."""
        params = self.default_params if params is None else params
        black, white = kernel.area_score(game.board.reshape(self.size, self.size))
        return (black - white).astype(jnp.float32) - params.komi

    def _observe_for(self, game: GoGame, player: jax.Array, params: GoParams) -> jax.Array:
        colour = (1 - 2 * player).astype(jnp.int8)
        square = (-1, self.size, self.size)
        if self.observation == "planes":
            board = game.board[None]
            return jnp.concatenate([board == colour, board == -colour, board == 0]).reshape(square).astype(jnp.float32)
        black_to_move = jnp.broadcast_to(player == 0, (1, self.size * self.size))
        planes = jnp.concatenate([game.history == colour, game.history == -colour, black_to_move])
        return planes.reshape(square).astype(jnp.float32)

    def render(
        self, state: TwoPlayerState[GoGame], params: GoParams | None = None, mode: str = "rgb_array"
    ) -> str | jax.Array:
        """ansi: the board in . X O with coordinates and the status; rgb_array: a wooden board with stones."""
        if mode == "ansi":
            return self._ansi(state)
        if mode != "rgb_array":
            return super().render(state, params, mode)
        cell = 24
        side = cell * self.size
        y, x = np.mgrid[:side, :side] + 0.5
        point = (y // cell).astype(np.int32) * self.size + (x // cell).astype(np.int32)
        dx, dy = x % cell - cell / 2, y % cell - cell / 2
        # Grid lines run between the first and last point of each row and column.
        inside_x = (x >= cell / 2 - 1) & (x <= side - cell / 2 + 1)
        inside_y = (y >= cell / 2 - 1) & (y <= side - cell / 2 + 1)
        grid = ((np.abs(dx) < 1) & inside_y) | ((np.abs(dy) < 1) & inside_x)
        disc = np.hypot(dx, dy) < cell * 0.45
        stones = state.game.board[point]
        frame = render.paint(render.blank(side, side, (220, 179, 92)), grid, render.BLACK)
        frame = render.paint(frame, disc & (stones == 1), render.BLACK)
        return render.paint(frame, disc & (stones == -1), render.WHITE)

    def _ansi(self, state: TwoPlayerState[GoGame]) -> str:
        board = np.asarray(state.game.board).reshape(self.size, self.size)
        columns = "ABCDEFGHJKLMNOPQRST"[: self.size]  # Go coordinates skip I
        lines = ["   " + " ".join(columns)]
        for row in range(self.size):
            lines.append(f"{self.size - row:2d} " + " ".join(STONES[v] for v in board[row]))
        if bool(state.terminated):
            winner = int(state.winner)
            status = "draw" if winner < 0 else f"{'black (X)' if winner == 0 else 'white (O)'} wins"
        else:
            status = f"{'black (X)' if int(state.current_player) == 0 else 'white (O)'} to move"
        return "\n".join(lines) + f"\n{status}, move {int(state.game.num_moves)}\n"


def greedy_capture(key: jax.Array, state: TwoPlayerState[GoGame], params: GoParams | None = None) -> jax.Array:
    """An opponent: the legal move that captures the most stones (ties uniform); with no capture,
    a uniform legal move that does not fill one of its own eyes (an empty point whose every
    neighbour is its own stone); with none of those, pass. int32 ().

    Works for any board size (read from the state).
    """
    game = state.game
    points = game.board.shape[0]
    size = round(points**0.5)
    colour = (1 - 2 * state.current_player).astype(jnp.int8)
    board = game.board.reshape(size, size)
    groups = game.groups.reshape(size, size)
    # Stones a move captures: the sizes of the distinct adjacent opponent groups in atari.
    group_sizes = jnp.zeros(points + 1, jnp.int32).at[game.groups].add(1)
    around = kernel.neighbours(board, OFF_BOARD)
    around_groups = kernel.neighbours(groups, points)
    doomed = (around == -colour) & (kernel.neighbours(game.liberties.reshape(size, size), 0) == 1)
    gain = jnp.zeros((size, size), jnp.int32)
    for k in range(4):
        repeated = jnp.zeros((size, size), jnp.bool_)
        for j in range(k):
            repeated |= doomed[j] & (around_groups[j] == around_groups[k])
        gain += jnp.where(doomed[k] & ~repeated, group_sizes[around_groups[k]], 0)
    legal = state.legal_action_mask[:points]
    gain = jnp.where(legal, gain.reshape(-1), 0)
    own_eye = jnp.all((around == colour) | (around == OFF_BOARD), axis=0).reshape(-1)
    calm = legal & ~own_eye
    best = legal & (gain == jnp.max(gain)) & (jnp.max(gain) > 0)
    choices = jnp.where(jnp.any(best), best, calm)
    move = kth_legal(choices, jax.random.uniform(key))
    return jnp.where(jnp.any(choices), move, points).astype(jnp.int32)


def make_vs_greedy(size: int = 9, **kwargs: Any) -> object:
    """The registry's entry point of the single-agent ids against `greedy_capture`."""
    return make_vs_opponent(Go, greedy_capture, size=size, **kwargs)
