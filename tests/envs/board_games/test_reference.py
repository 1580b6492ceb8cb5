"""The batched JAX games against plain-Python references of their rules, over thousands of random
games: the same legal moves, board, player to move, winner, rewards and observations after every
move, with random legal moves and some illegal ones (occupied cells, full columns, out of range)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
from gymx.envs.board_games.connect_four import ConnectFour
from gymx.envs.board_games.tic_tac_toe import TicTacToe

from gymx.two_player import kth_legal


class ReferenceKInARow:
    """k in a row on a rows x cols board, as lists and loops; `gravity` drops a mark to the lowest
    empty row of the chosen column (Connect Four), else the action is the cell (tic-tac-toe)."""

    def __init__(self, rows: int, cols: int, k: int, gravity: bool):
        self.rows, self.cols, self.k, self.gravity = rows, cols, k, gravity
        self.num_actions = cols if gravity else rows * cols
        self.board = [[-1] * cols for _ in range(rows)]
        self.player, self.over, self.winner = 0, False, -1

    def legal(self) -> list[bool]:
        if self.over:
            return [True] * self.num_actions
        if self.gravity:
            return [self.board[0][c] == -1 for c in range(self.cols)]
        return [self.board[r][c] == -1 for r in range(self.rows) for c in range(self.cols)]

    def has_k_in_a_row(self, player: int) -> bool:
        for r in range(self.rows):
            for c in range(self.cols):
                for dr, dc in ((0, 1), (1, 0), (1, 1), (1, -1)):
                    cells = [(r + i * dr, c + i * dc) for i in range(self.k)]
                    if all(0 <= y < self.rows and 0 <= x < self.cols and self.board[y][x] == player for y, x in cells):
                        return True
        return False

    def play(self, action: int) -> list[float]:
        """Plays the mover's action; returns both players' rewards."""
        if self.over:
            return [0.0, 0.0]
        mover = self.player
        if not (0 <= action < self.num_actions and self.legal()[action]):
            self.over, self.winner = True, 1 - mover
        else:
            if self.gravity:
                row, col = max(r for r in range(self.rows) if self.board[r][action] == -1), action
            else:
                row, col = divmod(action, self.cols)
            self.board[row][col] = mover
            if self.has_k_in_a_row(mover):
                self.over, self.winner = True, mover
            elif all(v != -1 for line in self.board for v in line):
                self.over = True
        self.player = 1 - mover
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0 if p == self.winner else -1.0 for p in range(2)]

    def planes(self) -> np.ndarray:
        board = np.array(self.board)
        return np.stack([board == self.player, board == 1 - self.player], axis=-1).astype(np.int8)


def random_games(env, num_games: int, num_moves: int, illegal_rate: float, seed: int) -> dict:
    """`num_games` games of `num_moves` moves each (absorbing once over), batched: the actions and
    everything the env reports after each move, each (num_moves + 1, num_games, ...) with the
    reset first (action -2 there)."""

    def record(state, ts, action):
        return {
            "action": action,
            "board": state.game.board,
            "mask": state.legal_action_mask,
            "player": state.current_player,
            "winner": state.winner,
            "terminated": ts.terminated,
            "reward": ts.reward,
            "rewards": ts.info["rewards"],
            "obs": ts.obs,
        }

    @jax.jit
    def play(key):
        state, ts = jax.vmap(env.reset)(jax.random.split(key, num_games))

        def move(state, key):
            pick_key, illegal_key, any_key = jax.random.split(key, 3)
            legal = kth_legal(state.legal_action_mask, jax.random.uniform(pick_key, (num_games,)))
            # Some moves are drawn from [-1, num_actions]: occupied cells, full columns, out of range.
            anything = jax.random.randint(any_key, (num_games,), -1, env.num_actions + 1)
            action = jnp.where(jax.random.uniform(illegal_key, (num_games,)) < illegal_rate, anything, legal)
            state, ts = jax.vmap(env.step)(state, action)
            return state, record(state, ts, action)

        first = record(state, ts, jnp.full(num_games, -2, jnp.int32))
        _, steps = jax.lax.scan(move, state, jax.random.split(key, num_moves))
        return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, steps)

    return jax.tree_util.tree_map(np.asarray, play(jax.random.key(seed)))


def check_against_reference(env, reference, num_games: int, illegal_rate: float, seed: int) -> dict:
    """Replays every game in the reference and compares every recorded field; returns counts of
    how the games ended."""
    probe = reference()
    moves = probe.rows * probe.cols + 1  # every cell filled, then a step of the absorbing state
    games = random_games(env, num_games, moves, illegal_rate, seed)
    expected = {name: np.zeros_like(value) for name, value in games.items() if name != "action"}
    endings = {"won": 0, "draw": 0, "illegal": 0}
    for g in range(num_games):
        ref = reference()
        for t in range(moves + 1):
            rewards, reward = [0.0, 0.0], 0.0
            if t > 0 and ref.over:  # absorbing: `play` would change nothing and return zeros
                for name in expected:
                    expected[name][t, g] = expected[name][t - 1, g]
                expected["reward"][t, g], expected["rewards"][t, g] = 0.0, 0.0
                continue
            if t > 0:
                action, mover, was_over = int(games["action"][t, g]), ref.player, ref.over
                legal_before = 0 <= action < ref.num_actions and ref.legal()[action]
                rewards = ref.play(action)
                reward = rewards[mover]
                if ref.over and not was_over:
                    endings["illegal" if not legal_before else "won" if ref.winner >= 0 else "draw"] += 1
            row = {"board": np.ravel(ref.board), "mask": ref.legal(), "player": ref.player, "winner": ref.winner}
            row |= {"terminated": ref.over, "reward": reward, "rewards": rewards, "obs": ref.planes()}
            for name, value in row.items():
                expected[name][t, g] = value
    for name, value in expected.items():
        wrong = np.argwhere((games[name] != value).reshape(moves + 1, num_games, -1).any(-1))
        assert len(wrong) == 0, (
            f"{name} differs first at (move, game) {tuple(wrong[0])}: {games[name][tuple(wrong[0])]} != {value[tuple(wrong[0])]}"
        )
    return endings


def test_tic_tac_toe_matches_the_reference() -> None:
    endings = check_against_reference(TicTacToe(), lambda: ReferenceKInARow(3, 3, 3, gravity=False), 4096, 0.05, seed=0)
    assert min(endings.values()) > 100, endings  # every way to end is exercised


def test_connect_four_matches_the_reference() -> None:
    endings = check_against_reference(
        ConnectFour(), lambda: ReferenceKInARow(6, 7, 4, gravity=True), 2048, 0.02, seed=1
    )
    assert endings["won"] > 1000 and endings["illegal"] > 100 and endings["draw"] >= 1, endings


def test_connect_four_legal_play_matches_the_reference() -> None:
    """Only legal moves, so more games run long and some fill the board."""
    endings = check_against_reference(ConnectFour(), lambda: ReferenceKInARow(6, 7, 4, gravity=True), 1024, 0.0, seed=2)
    assert endings["illegal"] == 0 and endings["won"] + endings["draw"] == 1024 and endings["draw"] >= 1, endings
