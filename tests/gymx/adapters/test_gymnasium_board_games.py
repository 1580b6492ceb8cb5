"""The Gymnasium adapters over board games: the legal-move mask in info, and illegal moves refused
(with `illegal_action="mask"`) or played and lost (the default rule)."""

from __future__ import annotations

import re

import gymnasium
import numpy as np
import pytest

from gymx.adapters.gymnasium import make_vec_env


def test_info_mask_and_an_illegal_move_refused() -> None:
    env = gymnasium.make("gymx/TicTacToe-v0", illegal_action="mask")
    _, info = env.reset(seed=0)
    assert info["action_mask"].dtype == np.bool_ and info["action_mask"].all()
    _, _, _, _, info = env.step(4)
    taken = np.flatnonzero(~info["action_mask"]).tolist()
    assert len(taken) == 2 and 4 in taken  # the agent's stone and the opponent's reply
    legal = np.flatnonzero(info["action_mask"]).tolist()
    message = f"gymx: move 4 is illegal in TicTacToe-v0: the legal moves are {legal}"
    with pytest.raises(ValueError, match=re.escape(message)):
        env.step(4)
    _, reward, terminated, _, _ = env.step(legal[0])  # the refused move changed nothing
    assert not (terminated and reward < 0)


def test_default_rule_plays_an_illegal_move_and_loses() -> None:
    env = gymnasium.make("gymx/TicTacToe-v0")
    env.reset(seed=0)
    env.step(4)
    _, reward, terminated, _, info = env.step(4)
    assert terminated and reward == -1.0 and info["illegal_action"]


def test_vector_mask_is_the_next_moves_after_a_same_step_reset() -> None:
    venv = make_vec_env("Othello-v0", 2, autoreset_mode="SameStep", illegal_action="mask")
    _, info = venv.reset(seed=0)
    opening = info["action_mask"][0].copy()
    assert opening.sum() == 4 and info["action_mask"].shape == (2, 65)
    with pytest.raises(
        ValueError, match=r"env 1's move 0 is illegal in Othello-v0: the legal moves are \[19, 26, 37, 44\]"
    ):
        venv.step(np.array([np.flatnonzero(opening)[0], 0]))
    rng = np.random.default_rng(0)
    for _ in range(200):  # until some env finishes and restarts
        actions = np.array([rng.choice(np.flatnonzero(mask)) for mask in info["action_mask"]])
        _, _, terminated, truncated, info = venv.step(actions)
        if (done := terminated | truncated).any():
            break
    assert done.any()
    i = int(np.argmax(done))
    np.testing.assert_array_equal(info["action_mask"][i], opening)  # the new game's, not the finished one's
    assert info["final_info"]["action_mask"][i].all()  # the finished game's: all moves once terminal
