"""The PettingZoo adapters: PettingZoo's own API, parallel-API and seed tests for every board game,
and the classic-game conventions (masks, rewards, illegal moves, one move per parallel step)."""

from __future__ import annotations

import functools
import warnings

import numpy as np
import pytest

pytest.importorskip("pettingzoo")

from pettingzoo.test import api_test, parallel_api_test, seed_test

from gymx.adapters.pettingzoo import aec_env, parallel_env, two_player_game

# Every two-player board game, by the single-agent id it is reached through.
GAME_IDS = ["TicTacToe-v0", "ConnectFour-v0", "Othello-v0", "Hex11x11-v0", "Go9x9-v0"]


@pytest.fixture(autouse=True)
def _quiet_api_test_advice():
    # PettingZoo's tests advise against Dict observations, which its own classic games use too.
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Observation", category=UserWarning)
        yield


@pytest.mark.parametrize("env_id", GAME_IDS)
def test_pettingzoo_api_tests(env_id: str) -> None:
    api_test(aec_env(env_id), num_cycles=300)
    parallel_api_test(parallel_env(env_id), num_cycles=300)


def test_seed_test() -> None:
    seed_test(functools.partial(aec_env, "ConnectFour-v0"), num_cycles=60)


def play(env, *moves: int) -> None:
    for move in moves:
        env.step(move)


def test_aec_masks_views_and_a_won_game() -> None:
    env = aec_env("TicTacToe-v0")
    env.reset(seed=0)
    assert env.agent_selection == "player_0"
    play(env, 0, 4)
    mine, other = env.observe("player_0"), env.observe("player_1")
    assert mine["action_mask"].dtype == np.int8 and mine["action_mask"].tolist() == [0, 1, 1, 1, 0, 1, 1, 1, 1]
    assert not other["action_mask"].any()  # not its turn
    # Each agent sees the board from its own side: its stones in plane 0.
    assert mine["observation"][0, 0].tolist() == [1, 0] and other["observation"][0, 0].tolist() == [0, 1]
    np.testing.assert_array_equal(
        other["observation"], np.asarray(env.game.observe_for(env._game.state, 1, env._game.params))
    )
    play(env, 1, 5, 2)  # X completes the top row
    observation, reward, termination, truncation, _ = env.last()
    assert env.agent_selection == "player_1" and termination and not truncation and reward == -1.0
    assert env.rewards == {"player_0": 1.0, "player_1": -1.0} and not observation["action_mask"].any()
    env.step(None)
    assert env.agents == ["player_0"] and env._cumulative_rewards["player_0"] == 1.0
    env.step(None)
    assert env.agents == []


def test_aec_illegal_move_loses() -> None:
    env = aec_env("TicTacToe-v0")
    env.reset(seed=0)
    play(env, 4, 4)  # O plays on X's stone
    assert all(env.terminations.values()) and env.rewards == {"player_0": 1.0, "player_1": -1.0}


def test_out_of_range_action_raises_naming_the_agent() -> None:
    env = aec_env("TicTacToe-v0")
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"player_0's action 9 is not in Discrete\(9\)"):
        env.step(9)


def test_parallel_step_plays_only_the_mover() -> None:
    env = parallel_env("TicTacToe-v0")
    observations, _ = env.reset(seed=0)
    assert observations["player_0"]["action_mask"].all() and not observations["player_1"]["action_mask"].any()
    observations, rewards, terminations, _, _ = env.step({"player_0": 4, "player_1": 0})
    board = np.asarray(env._game.state.game.board)
    assert (board >= 0).sum() == 1 and board[4] == 0  # one stone, X's; O's action was ignored
    assert observations["player_1"]["action_mask"].tolist() == [1, 1, 1, 1, 0, 1, 1, 1, 1]
    with pytest.raises(ValueError, match="mover 'player_1'"):
        env.step({"player_0": 0})
    for move in (0, 8, 1, 3, 2):  # O, X, O, X, O: O completes the top row
        mover = "player_1" if move in (0, 1, 2) else "player_0"
        observations, rewards, terminations, _, _ = env.step({mover: move})
    assert rewards == {"player_0": -1.0, "player_1": 1.0} and all(terminations.values()) and env.agents == []
    with pytest.raises(RuntimeError, match="reset"):
        env.step({"player_0": 0})


def test_reset_seed_is_reproducible_and_options_are_accepted() -> None:
    env = parallel_env("Go9x9-v0")
    first, _ = env.reset(seed=3, options={"anything": 1})
    again, _ = env.reset(seed=3)
    np.testing.assert_array_equal(first["player_0"]["observation"], again["player_0"]["observation"])
    assert first["player_0"]["action_mask"].shape == (82,) and first["player_0"]["action_mask"].all()


def test_render_and_spaces() -> None:
    env = aec_env("ConnectFour-v0", render_mode="ansi")
    env.reset(seed=0)
    env.step(3)
    text = env.render()
    assert isinstance(text, str) and text.count("X") == 1
    assert env.observation_space("player_0") is env.observation_space("player_0")
    assert env.action_space("player_1").n == 7
    with pytest.raises(ValueError, match="render_mode='human' is not supported"):
        aec_env("ConnectFour-v0", render_mode="human")


def test_game_kwargs_and_non_games() -> None:
    assert two_player_game("Go9x9-v0", size=5).num_actions == 26
    with pytest.raises(ValueError, match="not a two-player game"):
        two_player_game("CartPole-v1")
