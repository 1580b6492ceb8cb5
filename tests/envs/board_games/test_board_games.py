"""Tic-tac-toe and Connect Four on their own: scripted positions (wins along every kind of line,
draws, illegal moves), the one-ply opponent, registration, spaces and rendering."""

from __future__ import annotations

import jax
import numpy as np
import pytest
from gymx.envs.board_games.connect_four import ConnectFour
from gymx.envs.board_games.grid import lines_through_cells
from gymx.envs.board_games.tic_tac_toe import TicTacToe

import gymx
from gymx import spaces
from gymx.testing import check_env
from gymx.two_player import VsOpponent, one_ply

IDS = ["TicTacToe-v0", "TicTacToeOnePly-v0", "ConnectFour-v0", "ConnectFourOnePly-v0"]
TTT, C4 = TicTacToe(), ConnectFour()
STEP = {TTT: jax.jit(TTT.step), C4: jax.jit(C4.step)}


def play(env, moves: list[int]):
    """The state and last TimeStep after `moves` from the start."""
    state, ts = env.reset(jax.random.key(0))
    for move in moves:
        state, ts = STEP[env](state, move)
    return state, ts


# Tic-tac-toe cells:  0 1 2 / 3 4 5 / 6 7 8; X (player 0) moves first.
@pytest.mark.parametrize(
    "moves, winner",
    [
        ([0, 3, 1, 4, 2], 0),  # X: top row
        ([0, 1, 3, 2, 6], 0),  # X: left column
        ([1, 0, 2, 4, 3, 8], 1),  # O: main diagonal
        ([0, 2, 1, 4, 8, 6], 1),  # O: anti-diagonal
        ([3, 0, 4, 1, 5], 0),  # X: middle row
    ],
)
def test_tic_tac_toe_wins(moves: list[int], winner: int) -> None:
    state, ts = play(TTT, moves[:-1])
    assert not bool(ts.terminated) and int(state.current_player) == winner
    state, ts = play(TTT, moves)
    assert bool(ts.terminated) and int(state.winner) == winner
    assert float(ts.reward) == 1.0  # the mover's
    np.testing.assert_array_equal(ts.info["rewards"], [1.0, -1.0] if winner == 0 else [-1.0, 1.0])
    assert state.legal_action_mask.all()


def test_tic_tac_toe_draw() -> None:
    state, ts = play(TTT, [0, 1, 2, 4, 3, 5, 7, 6, 8])  # X O X / X O O / O X X
    assert bool(ts.terminated) and int(state.winner) == -1 and float(ts.reward) == 0.0
    np.testing.assert_array_equal(ts.info["rewards"], [0.0, 0.0])
    assert TTT.render(state, mode="ansi").strip().endswith("draw")


@pytest.mark.parametrize("illegal", [4, 9, -1])  # an occupied cell, out of range on each side
def test_tic_tac_toe_illegal_move_loses(illegal: int) -> None:
    before, _ = play(TTT, [4])
    state, ts = play(TTT, [4, illegal])
    assert bool(ts.terminated) and int(state.winner) == 0
    assert float(ts.reward) == -1.0
    np.testing.assert_array_equal(ts.info["rewards"], [1.0, -1.0])
    np.testing.assert_array_equal(state.game.board, before.game.board)  # nothing was played


def test_tic_tac_toe_observation_is_the_movers_view() -> None:
    state, ts = play(TTT, [4])  # X in the centre; O to move
    assert int(state.current_player) == 1
    assert ts.obs[1, 1].tolist() == [0, 1]  # the centre is the opponent's
    np.testing.assert_array_equal(TTT.observe_for(state, 0)[..., ::-1], ts.obs)


# Connect Four columns 0..6; discs fall to the bottom (row 5).
@pytest.mark.parametrize(
    "moves, winner",
    [
        ([0, 1, 0, 1, 0, 1, 0], 0),  # vertical
        ([6, 0, 6, 1, 5, 2, 5, 3], 1),  # horizontal, on the bottom row
        ([0, 1, 1, 2, 2, 3, 2, 3, 3, 6, 3], 0),  # rising diagonal (0,5) (1,4) (2,3) (3,2)
        ([6, 5, 5, 4, 4, 3, 4, 3, 3, 0, 3], 0),  # falling diagonal
    ],
)
def test_connect_four_wins(moves: list[int], winner: int) -> None:
    _, ts = play(C4, moves[:-1])
    assert not bool(ts.terminated)
    state, ts = play(C4, moves)
    assert bool(ts.terminated) and int(state.winner) == winner and float(ts.reward) == 1.0
    assert state.legal_action_mask.all()


def test_connect_four_full_column_is_illegal() -> None:
    state, ts = play(C4, [3, 3, 3, 3, 3, 3])
    assert not bool(ts.terminated)
    np.testing.assert_array_equal(state.legal_action_mask, [True, True, True, False, True, True, True])
    state, ts = STEP[C4](state, 3)
    assert bool(ts.terminated) and int(state.winner) == 1 and float(ts.reward) == -1.0


def test_connect_four_draw_fills_the_board() -> None:
    moves = [int(c) for c in "361313645534311043046626105524515600224220"]  # 42 moves, no four in a row
    _, ts = play(C4, moves[:-1])
    assert not bool(ts.terminated)
    state, ts = play(C4, moves)
    assert bool(ts.terminated) and int(state.winner) == -1 and float(ts.reward) == 0.0
    assert (np.asarray(state.game.board) >= 0).all()


def test_line_tables() -> None:
    lines, valid = lines_through_cells(6, 7, 4)
    assert valid.sum(axis=1).max() == 13 and valid.sum(axis=1).min() == 3  # central cells (4 + 3 + 3 + 3), corners
    assert len({tuple(line) for cell_lines, ok in zip(lines, valid) for line in cell_lines[ok]}) == 69
    _, valid = lines_through_cells(3, 3, 3)
    assert valid.sum() == 8 * 3


@pytest.mark.parametrize(
    "env, moves, best",
    [
        (TTT, [0, 3, 1, 4], [2]),  # X to move: win at 2 (ignores the block at 5)
        (TTT, [0, 4, 8, 2], [6]),  # X to move: no win; block O's diagonal at 6
        (C4, [3, 0, 3, 0, 3, 1], [3]),  # X to move: complete the column
        (C4, [0, 3, 0, 3, 6, 3], [3]),  # X to move: block O's column
        (C4, [1, 1, 2, 2, 3, 3], [0, 4]),  # X: both ends of its open three win
    ],
)
def test_one_ply_wins_then_blocks(env, moves: list[int], best: list[int]) -> None:
    state, _ = play(env, moves)
    opponent = jax.jit(jax.vmap(one_ply(env), in_axes=(0, None)))
    actions = opponent(jax.random.split(jax.random.key(0), 64), state)
    assert set(np.asarray(actions).tolist()) == set(best)


def test_one_ply_plays_uniformly_without_threats() -> None:
    state, _ = play(C4, [])
    actions = jax.jit(jax.vmap(one_ply(C4), in_axes=(0, None)))(jax.random.split(jax.random.key(1), 700), state)
    counts = np.bincount(np.asarray(actions), minlength=7)
    assert counts.min() > 60, counts


@pytest.mark.parametrize("env_id", IDS)
def test_registered_ids(env_id: str) -> None:
    env = gymx.make(env_id)
    assert isinstance(env, VsOpponent) and env.spec.id == env_id and env.spec.max_episode_steps is None
    shape, actions = ((3, 3, 2), 9) if env_id.startswith("TicTacToe") else ((6, 7, 2), 7)
    assert env.observation_space() == spaces.MultiBinary(shape) and env.action_space() == spaces.Discrete(actions)
    assert ("OnePly" in env_id) == (env.opponent is not gymx.two_player.uniform_random_legal)


@pytest.mark.parametrize("kwargs", [{"agent_player": 1}, {"agent_player": "random", "illegal_action": "mask"}])
def test_seats_and_illegal_modes_pass_check_env(kwargs: dict) -> None:
    check_env(gymx.make("ConnectFourOnePly-v0", **kwargs), num_steps=50)


def test_bare_games_pass_check_env() -> None:
    check_env(TTT, num_steps=50)
    check_env(C4, num_steps=50)


def test_render() -> None:
    state, _ = play(C4, [3, 3, 4])
    text = C4.render(state, mode="ansi")
    assert text.splitlines()[-3:] == [". . . X X . .", "0 1 2 3 4 5 6", "O to move"]
    assert text.splitlines()[-4] == ". . . O . . ."
    frame = np.asarray(jax.jit(C4.render)(state))
    assert frame.shape == (288, 336, 3) and frame.dtype == np.uint8
    assert tuple(frame[288 - 24, 3 * 48 + 24]) == (220, 40, 40)  # a red disc at the bottom of column 3
    assert tuple(frame[288 - 72, 3 * 48 + 24]) == (240, 200, 40)  # a yellow one above it
    state, _ = play(TTT, [4, 0])
    assert TTT.render(state, mode="ansi").splitlines()[:3] == [" O |   |  ", "---+---+---", "   | X |  "]
    frame = np.asarray(TTT.render(state))
    assert frame.shape == (144, 144, 3) and tuple(frame[72, 72]) == (200, 40, 40)  # the X's centre
    # A whole batch renders under vmap, as `VecEnv.render` needs.
    batch, _ = jax.vmap(C4.reset)(jax.random.split(jax.random.key(0), 3))
    assert jax.vmap(C4.render)(batch).shape == (3, 288, 336, 3)
