"""Othello: the batched bitboard env against a plain-Python reference of the rules over random
games, scripted positions (the opening, flips in several directions, a forced pass, the game's
ends, illegal moves), the one-ply opponent, registration, check_env and rendering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.board_games.othello import Othello

import gymx
from gymx import spaces
from gymx.testing import check_env
from gymx.two_player import VsOpponent, kth_legal, one_ply

ENV = Othello()
STEP = jax.jit(ENV.step)
FROM_BOARD = jax.jit(ENV.from_board)
PASS = 64
# Random games last 60 placements and a few passes (fewer if they end early).
NUM_GAMES, NUM_MOVES = 64, 100
DIRECTIONS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


class ReferenceOthello:
    """The rules with lists and loops, written to be obviously right rather than fast."""

    def __init__(self) -> None:
        self.board = [[-1] * 8 for _ in range(8)]
        self.board[3][3] = self.board[4][4] = 1  # white on d4 and e5
        self.board[3][4] = self.board[4][3] = 0  # black on e4 and d5
        self.player, self.over, self.winner = 0, False, -1
        self.mask = self.legal_for(0)

    def flipped_by(self, row: int, col: int, player: int) -> list[tuple[int, int]]:
        """The discs `player` flips by placing at (row, col); none if the cell is taken."""
        if self.board[row][col] != -1:
            return []
        flipped = []
        for dr, dc in DIRECTIONS:
            line, r, c = [], row + dr, col + dc
            while 0 <= r < 8 and 0 <= c < 8 and self.board[r][c] == 1 - player:
                line.append((r, c))
                r, c = r + dr, c + dc
            if line and 0 <= r < 8 and 0 <= c < 8 and self.board[r][c] == player:
                flipped += line
        return flipped

    def legal_for(self, player: int) -> list[bool]:
        cells = [bool(self.flipped_by(r, c, player)) for r in range(8) for c in range(8)]
        return [*cells, not any(cells)]

    def legal(self) -> list[bool]:
        return [True] * 65 if self.over else self.mask

    def play(self, action: int) -> list[float]:
        """Plays the mover's action; returns both players' rewards."""
        if self.over:
            return [0.0, 0.0]
        mover = self.player
        if not (0 <= action <= PASS and self.mask[action]):
            self.over, self.winner = True, 1 - mover
        else:
            if action != PASS:
                row, col = divmod(action, 8)
                for r, c in [*self.flipped_by(row, col, mover), (row, col)]:
                    self.board[r][c] = mover
            self.mask = self.legal_for(1 - mover)
            if self.mask[PASS] and self.legal_for(mover)[PASS]:
                self.over = True
                black, white = (sum(row.count(p) for row in self.board) for p in (0, 1))
                self.winner = 0 if black > white else 1 if white > black else -1
        self.player = 1 - mover
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0 if p == self.winner else -1.0 for p in range(2)]

    def planes(self) -> np.ndarray:
        board = np.array(self.board)
        planes = [board == self.player, board == 1 - self.player]
        return np.stack(planes, axis=-1).astype(np.int8)


def record(state, ts, action) -> dict:
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
def random_games(key: jax.Array, illegal_rate: jax.Array) -> dict:
    """NUM_GAMES games of NUM_MOVES moves (absorbing once over), every move recorded, each field
    (NUM_MOVES + 1, NUM_GAMES, ...) with the reset first (action -2 there). A move is uniform over
    the legal actions, or with probability `illegal_rate` uniform over [-1, 65]: mostly taken or
    unflanking cells, sometimes an untimely pass or an action out of range."""
    state, ts = jax.vmap(ENV.reset)(jax.random.split(key, NUM_GAMES))

    def move(state, key):
        pick_key, illegal_key, any_key = jax.random.split(key, 3)
        u = jax.random.uniform(pick_key, (NUM_GAMES,))
        legal = kth_legal(state.legal_action_mask, u)
        anything = jax.random.randint(any_key, (NUM_GAMES,), -1, PASS + 2)
        illegal = jax.random.uniform(illegal_key, (NUM_GAMES,)) < illegal_rate
        action = jnp.where(illegal, anything, legal)
        state, ts = jax.vmap(ENV.step)(state, action)
        return state, record(state, ts, action)

    first = record(state, ts, jnp.full(NUM_GAMES, -2, jnp.int32))
    _, steps = jax.lax.scan(move, state, jax.random.split(key, NUM_MOVES))
    return jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, steps)


def check_against_reference(seed: int, illegal_rate: float) -> dict:
    """Replays every game in the reference and compares every recorded field after every move;
    returns counts of what the games went through."""
    games = jax.device_get(random_games(jax.random.key(seed), illegal_rate))
    expected = {k: np.zeros_like(v) for k, v in games.items() if k != "action"}
    seen = dict.fromkeys(("moves", "passes", "illegal", "won", "draw"), 0)
    for g in range(NUM_GAMES):
        ref = ReferenceOthello()
        for t in range(NUM_MOVES + 1):
            rewards = [0.0, 0.0]
            reward = 0.0
            if t > 0 and not ref.over:
                action, mover = int(games["action"][t, g]), ref.player
                legal_before = 0 <= action <= PASS and ref.mask[action]
                rewards = ref.play(action)
                reward = rewards[mover]
                seen["moves"] += 1
                seen["passes"] += action == PASS and legal_before
                if ref.over and not legal_before:
                    seen["illegal"] += 1
                elif ref.over:
                    seen["won" if ref.winner >= 0 else "draw"] += 1
            row = {
                "board": np.ravel(ref.board),
                "mask": ref.legal(),
                "player": ref.player,
                "winner": ref.winner,
                "terminated": ref.over,
                "reward": reward,
                "rewards": rewards,
                "obs": ref.planes(),
            }
            for name, value in row.items():
                expected[name][t, g] = value
        assert ref.over or illegal_rate > 0, f"game {g} did not end in {NUM_MOVES} moves"
    for name, value in expected.items():
        differs = games[name] != value
        wrong = np.argwhere(differs.reshape(NUM_MOVES + 1, NUM_GAMES, -1).any(-1))
        if len(wrong):
            at = tuple(wrong[0])
            raise AssertionError(f"{name} differs first at (move, game) {at}: {games[name][at]} != {value[at]}")
    return seen


def test_legal_play_matches_the_reference() -> None:
    """256 games played out: every game ends, some with passes on the way, some drawn."""
    seen = dict.fromkeys(("moves", "passes", "illegal", "won", "draw"), 0)
    for seed in range(4):
        for name, count in check_against_reference(seed, 0.0).items():
            seen[name] += count
    assert seen["moves"] > 15000 and seen["illegal"] == 0, seen
    assert seen["won"] + seen["draw"] == 4 * NUM_GAMES, seen
    assert seen["passes"] > 50 and seen["draw"] > 5, seen


@pytest.mark.parametrize(("seed", "illegal_rate"), [(4, 0.01), (5, 0.05)])
def test_illegal_moves_match_the_reference(seed: int, illegal_rate: float) -> None:
    seen = check_against_reference(seed, illegal_rate)
    assert seen["moves"] > 1000 and seen["illegal"] > 10 and seen["won"] > 0, seen


def board_of(text: str) -> np.ndarray:
    """int8 (64,) from 8 rows of X (black), O (white) and . (empty), row 0 first."""
    rows = text.split()
    assert len(rows) == 8 and all(len(row) == 8 for row in rows)
    return np.array([{"X": 0, "O": 1, ".": -1}[v] for row in rows for v in row], np.int8)


def cell(name: str) -> int:
    """The action of a cell named file and rank, e.g. "d3": column d, row 3 (index 2)."""
    return (int(name[1]) - 1) * 8 + "abcdefgh".index(name[0])


def legal_cells(state) -> list[int]:
    return np.flatnonzero(np.asarray(state.legal_action_mask)).tolist()


def test_opening_moves_and_start_position() -> None:
    state, ts = ENV.reset(jax.random.key(0))
    assert legal_cells(state) == [cell(c) for c in ("d3", "c4", "f5", "e6")]
    start = board_of("........ " * 3 + "...OX... ...XO... " + "........ " * 3)
    np.testing.assert_array_equal(state.game.board, start)
    np.testing.assert_array_equal(ts.obs[..., 0], (start == 0).reshape(8, 8))  # black's
    state, ts = STEP(state, cell("d3"))  # flips d4
    after = board_of("........ ........ ...X.... ...XX... ...XO... " + "........ " * 3)
    np.testing.assert_array_equal(state.game.board, after)
    assert int(state.current_player) == 1 and not bool(ts.terminated)
    assert float(ts.reward) == 0.0 and ts.info["rewards"].tolist() == [0.0, 0.0]
    assert legal_cells(state) == [cell("c3"), cell("e3"), cell("c5")]
    np.testing.assert_array_equal(ts.obs[..., 0], (after == 1).reshape(8, 8))  # white's
    np.testing.assert_array_equal(ENV.observe_for(state, 0)[..., ::-1], ts.obs)


def test_a_placement_flips_every_flanked_line_and_nothing_else() -> None:
    # X on d4 closes e4-f4 (east, by g4), d5-d6 (south, by d7), c3 (north-west, by b2)
    # and e5-f6 (south-east, by g7); c4-b4-a4 (west) runs into the edge and d3-d2
    # (north) into an empty cell, so those stay O.
    before = """
        ........
        .X.O....
        ..OO....
        OOO.OOX.
        ...OO...
        ...O.O..
        ...X..X.
        ........
    """
    after = """
        ........
        .X.O....
        ..XO....
        OOOXXXX.
        ...XX...
        ...X.X..
        ...X..X.
        ........
    """
    state, ts = STEP(FROM_BOARD(board_of(before), 0), cell("d4"))
    np.testing.assert_array_equal(state.game.board, board_of(after))
    assert not bool(ts.terminated) and int(state.current_player) == 1


def test_forced_pass_is_the_only_legal_action() -> None:
    # O cannot flank X's lone corner disc; X can take b1 by playing c1.
    board = board_of("XO...... " + "........ " * 6 + ".......O")
    state = FROM_BOARD(board, 1)
    assert legal_cells(state) == [PASS] and not bool(state.terminated)
    passed, ts = STEP(state, PASS)
    np.testing.assert_array_equal(passed.game.board, board)
    assert int(passed.current_player) == 0 and legal_cells(passed) == [cell("c1")]
    assert not bool(ts.terminated) and float(ts.reward) == 0.0
    _, ts = STEP(passed, PASS)  # X may not pass while it can place
    assert bool(ts.terminated) and ts.info["rewards"].tolist() == [-1.0, 1.0]
    _, ts = STEP(state, cell("c1"))  # O may not place where it flanks nothing
    assert bool(ts.terminated) and ts.info["rewards"].tolist() == [1.0, -1.0]


@pytest.mark.parametrize(
    ("last_rows", "winner"),
    [
        (".......O ......OO", -1),  # X 3, O 3: a draw
        ("........ ......OO", 0),  # X 3, O 2: the mover wins
        ("......OO ......OO", 1),  # X 3, O 4: the mover ends the game and loses
    ],
)
def test_the_game_ends_when_neither_player_can_place(last_rows: str, winner: int) -> None:
    # X's c1 takes b1; then X holds a1-c1 on the top edge and O a block in the
    # bottom-right corner, and neither player can close a line of the other's discs.
    state = FROM_BOARD(board_of("XO...... " + "........ " * 5 + last_rows), 0)
    assert legal_cells(state) == [cell("c1")]
    state, ts = STEP(state, cell("c1"))
    rewards = {-1: [0.0, 0.0], 0: [1.0, -1.0], 1: [-1.0, 1.0]}[winner]
    assert bool(ts.terminated) and int(state.winner) == winner
    assert ts.info["rewards"].tolist() == rewards and float(ts.reward) == rewards[0]
    assert bool(state.legal_action_mask.all())
    status = ENV.render(state, mode="ansi").splitlines()[-1]
    assert status == {-1: "draw", 0: "X wins", 1: "O wins"}[winner]


# A cell that flanks nothing, a taken cell, a pass with placements left, out of range.
@pytest.mark.parametrize("illegal", [0, cell("d4"), PASS, -1, PASS + 1])
def test_illegal_move_loses_and_changes_nothing(illegal: int) -> None:
    start, _ = ENV.reset(jax.random.key(0))
    state, ts = STEP(start, illegal)
    assert bool(ts.terminated) and int(state.winner) == 1 and float(ts.reward) == -1.0
    assert ts.info["rewards"].tolist() == [-1.0, 1.0]
    np.testing.assert_array_equal(state.game.board, start.game.board)


def test_one_ply_takes_the_winning_move() -> None:
    # X's c1 flips b1 (west) and b2 (south-west): O has no disc left, X wins. X's c3
    # flips b2 alone, and the game goes on.
    state = FROM_BOARD(board_of("XO...... .O...... X....... " + "........ " * 5), 0)
    assert legal_cells(state) == [cell("c1"), cell("c3")]
    opponent = jax.jit(jax.vmap(one_ply(ENV), in_axes=(0, None)))
    actions = opponent(jax.random.split(jax.random.key(0), 64), state)
    assert set(np.asarray(actions).tolist()) == {cell("c1")}


def test_render() -> None:
    state, _ = ENV.reset(jax.random.key(0))
    empty = [f"{rank} . . . . . . . ." for rank in range(1, 9)]
    rows = [*empty[:3], "4 . . . O X . . .", "5 . . . X O . . .", *empty[5:]]
    lines = ["  a b c d e f g h", *rows, "X 2, O 2", "X to move"]
    assert ENV.render(state, mode="ansi") == "\n".join(lines) + "\n"
    frame = np.asarray(jax.jit(ENV.render)(state))
    assert frame.shape == (320, 320, 3) and frame.dtype == np.uint8

    def centre(name: str) -> list[int]:
        return frame[cell(name) // 8 * 40 + 20, cell(name) % 8 * 40 + 20].tolist()

    assert centre("e4") == [20, 20, 20] and centre("d4") == [245, 245, 245]
    assert centre("a1") == [30, 120, 60] and frame[0, 0].tolist() == [0, 0, 0]
    batch, _ = jax.vmap(ENV.reset)(jax.random.split(jax.random.key(0), 2))
    assert jax.vmap(ENV.render)(batch).shape == (2, 320, 320, 3)


@pytest.mark.parametrize("env_id", ["Othello-v0", "OthelloOnePly-v0"])
def test_registered_ids(env_id: str) -> None:
    env = gymx.make(env_id)
    assert isinstance(env, VsOpponent) and env.spec.id == env_id
    assert env.spec.max_episode_steps is None
    assert env.observation_space() == spaces.MultiBinary((8, 8, 2))
    assert env.action_space() == spaces.Discrete(65)
    one_ply_opponent = env.opponent is not gymx.two_player.uniform_random_legal
    assert ("OnePly" in env_id) == one_ply_opponent


def test_check_env() -> None:
    # The registered ids get check_env from the registry-wide tests, through the adapter too.
    check_env(ENV, num_steps=100)
