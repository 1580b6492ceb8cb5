"""The two-player convention (`TwoPlayerEnv`'s bookkeeping), the opponents and `VsOpponent`,
played on tic-tac-toe (cells 0 1 2 / 3 4 5 / 6 7 8, X = player 0 moves first)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.board_games.tic_tac_toe import TicTacToe

from gymx.two_player import VsOpponent, kth_legal, make_vs_opponent, one_ply, rewards_of, uniform_random_legal

GAME = TicTacToe()


def scripted(*moves: int):
    """An opponent that plays the first of `moves` that is legal."""
    order = jnp.asarray(moves, jnp.int32)

    def opponent(key, state, params):
        return order[jnp.argmax(state.legal_action_mask[order])]

    return opponent


def test_bookkeeping_of_a_move() -> None:
    state, ts = GAME.reset(jax.random.key(0))
    assert state.current_player.dtype == jnp.int32 and state.legal_action_mask.dtype == jnp.bool_
    assert ts.info["rewards"].dtype == jnp.float32 and ts.info["rewards"].shape == (2,)
    state, ts = GAME.step(state, 4)
    assert int(state.current_player) == 1 and int(state.winner) == -1 and not bool(state.terminated)
    assert not bool(state.legal_action_mask[4]) and int(state.legal_action_mask.sum()) == 8
    assert float(ts.reward) == 0.0 and ts.info["rewards"].tolist() == [0.0, 0.0]


def test_illegal_move_ends_the_game_and_absorbs() -> None:
    state, _ = GAME.reset(jax.random.key(0))
    state, _ = GAME.step(state, 4)
    ended, ts = GAME.step(state, 4)
    assert bool(ts.terminated) and int(ended.winner) == 0 and float(ts.reward) == -1.0
    assert ts.info["rewards"].tolist() == [1.0, -1.0] and bool(ended.legal_action_mask.all())
    again, ts = GAME.step(ended, 0)
    assert float(ts.reward) == 0.0 and ts.info["rewards"].tolist() == [0.0, 0.0] and bool(ts.terminated)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(lambda a, b: bool((a == b).all()), again, ended))


def test_rewards_of() -> None:
    assert rewards_of(jnp.int32(-1)).tolist() == [0.0, 0.0]
    assert rewards_of(jnp.int32(0)).tolist() == [1.0, -1.0]
    assert rewards_of(jnp.int32(1)).tolist() == [-1.0, 1.0]


def test_kth_legal_is_uniform_over_the_legal_actions() -> None:
    mask = jnp.asarray([False, True, True, False, True])
    actions = kth_legal(mask, jax.random.uniform(jax.random.key(0), (3000,)))
    counts = np.bincount(np.asarray(actions), minlength=5)
    assert counts[0] == counts[3] == 0 and all(900 < c < 1100 for c in counts[[1, 2, 4]]), counts
    assert int(kth_legal(mask, jnp.float32(0.9999))) == 4


def test_uniform_random_legal_picks_legal_actions() -> None:
    state, _ = GAME.reset(jax.random.key(0))
    for move in (0, 4, 8):
        state, _ = GAME.step(state, move)
    actions = jax.vmap(uniform_random_legal, in_axes=(0, None))(jax.random.split(jax.random.key(0), 200), state)
    assert set(np.asarray(actions).tolist()) == {1, 2, 3, 5, 6, 7}


def test_agent_first_the_opponent_replies_in_step() -> None:
    env = VsOpponent(GAME, scripted(0, 1, 2, 3, 5, 6, 7, 8), agent_player=0)
    state, ts = env.reset(jax.random.key(0))
    assert int(state.agent_player) == 0 and int((state.env_state.game.board >= 0).sum()) == 0
    state, ts = env.step(state, 4)
    assert np.asarray(state.env_state.game.board).tolist() == [1, -1, -1, -1, 0, -1, -1, -1, -1]
    assert int(state.env_state.current_player) == 0 and ts.obs[1, 1].tolist() == [1, 0]  # the agent's view
    assert ts.info["action_mask"].tolist() == [False, True, True, True, False, True, True, True, True]
    state, ts = env.step(state, 3)  # O answers at 1
    state, ts = env.step(state, 5)  # X: middle row
    assert bool(ts.terminated) and float(ts.reward) == 1.0
    assert np.asarray(state.env_state.game.board)[2] == -1  # the opponent did not move after the end


def test_agent_second_the_opponent_opens_in_reset_and_can_win() -> None:
    env = VsOpponent(GAME, scripted(0, 1, 2), agent_player=1)
    state, ts = env.reset(jax.random.key(0))
    assert int(state.agent_player) == 1 and np.asarray(state.env_state.game.board).tolist()[0] == 0
    assert int(state.env_state.current_player) == 1 and ts.obs[0, 0].tolist() == [0, 1] and not bool(ts.terminated)
    state, ts = env.step(state, 4)
    state, ts = env.step(state, 5)  # the opponent completes the top row
    assert bool(ts.terminated) and float(ts.reward) == -1.0 and int(state.env_state.winner) == 0
    assert bool(ts.info["action_mask"].all())


def test_random_seat() -> None:
    env = VsOpponent(GAME, uniform_random_legal, agent_player="random")
    states, _ts = jax.vmap(env.reset)(jax.random.split(jax.random.key(0), 200))
    seats = np.asarray(states.agent_player)
    assert 60 < seats.sum() < 140
    # Whoever the agent is, it is to move, and the opponent has opened exactly when it is second.
    np.testing.assert_array_equal(states.env_state.current_player, seats)
    np.testing.assert_array_equal((np.asarray(states.env_state.game.board) >= 0).sum(axis=1), seats)


def test_illegal_agent_move_loses() -> None:
    env = VsOpponent(GAME, scripted(0, 1, 2), illegal_action="lose")
    state, _ = env.reset(jax.random.key(0))
    state, _ = env.step(state, 4)
    state, ts = env.step(state, 0)  # taken by the opponent
    assert bool(ts.terminated) and float(ts.reward) == -1.0 and bool(ts.info["illegal_action"])
    assert int(state.env_state.winner) == 1


@pytest.mark.parametrize("illegal", [0, 9])
def test_illegal_agent_move_is_rejected_when_masking(illegal: int) -> None:
    env = VsOpponent(GAME, scripted(0, 1, 2), illegal_action="mask")
    state, _ = env.reset(jax.random.key(0))
    state, ts = env.step(state, 4)
    if illegal >= env.action_space().n:  # outside the action space: an eager step refuses it, a traced one masks it
        with pytest.raises(ValueError, match="not in Discrete"):
            env.step(state, illegal)
    rejected, again = jax.jit(env.step)(state, illegal)
    assert bool(again.info["illegal_action"]) and not bool(again.terminated) and float(again.reward) == 0.0
    np.testing.assert_array_equal(again.obs, ts.obs)
    np.testing.assert_array_equal(rejected.env_state.game.board, state.env_state.game.board)
    state, ts = env.step(rejected, 8)
    assert not bool(ts.info["illegal_action"]) and int((state.env_state.game.board >= 0).sum()) == 4


def test_the_one_ply_opponent_blocks_and_wins() -> None:
    """X (the agent) threatens the top row; one_ply blocks it, then wins with its own diagonal."""
    env = VsOpponent(GAME, one_ply(GAME), agent_player=0)
    step = jax.jit(env.step)
    for seed in range(64):
        state, _ = env.reset(jax.random.key(seed))
        state, _ = step(state, 0)
        if int(state.env_state.game.board[4]) != 1:  # the opponent's first reply is random; script needs the centre
            continue
        state, _ = step(state, 1)
        assert int(state.env_state.game.board[2]) == 1  # blocked
        state, ts = step(state, 3)  # X ignores O's diagonal 2-4-6 threat
        assert bool(ts.terminated) and float(ts.reward) == -1.0 and int(state.env_state.game.board[6]) == 1
        return
    pytest.fail("no seed gave the opponent the centre")


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="agent_player"):
        VsOpponent(GAME, uniform_random_legal, agent_player=2)
    with pytest.raises(ValueError, match="illegal_action"):
        VsOpponent(GAME, uniform_random_legal, illegal_action="raise")
    with pytest.raises(ValueError, match="opponent"):
        make_vs_opponent(TicTacToe, opponent="minimax")
    assert make_vs_opponent("gymx.envs.board_games.tic_tac_toe:TicTacToe", agent_player=1).agent_player == 1
