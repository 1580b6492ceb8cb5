"""Go: the batched env against a plain-Python reference of the rules over random games, hand-built
positions for the hard cases, the two-player convention, opponents, rendering and check_env."""

from __future__ import annotations

import collections
import importlib.util
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.board_games.go import Go, GoParams, greedy_capture, make_vs_greedy
from gymx.kernels import go as kernel

from gymx.testing import check_env
from gymx.two_player import TwoPlayerState, kth_legal, make_vs_opponent

_reference_spec = importlib.util.spec_from_file_location(
    "go_reference", Path(__file__).resolve().parents[2] / "kernels" / "go_reference.py"
)
go_reference = importlib.util.module_from_spec(_reference_spec)
_reference_spec.loader.exec_module(go_reference)


class ReferenceGo:
    """The rules with lists and BFS, written to be obviously right rather than fast.

    A move is legal when the point is empty, the mover's stone has a liberty after the captures,
    and the board differs from the one before the opponent's last move (simple ko, stated as the
    position rule it is).
    """

    def __init__(self, size: int, komi: float, max_moves: int):
        self.size, self.komi, self.max_moves = size, komi, max_moves
        self.board = [0] * (size * size)
        self.boards = [tuple(self.board)]  # after every move, passes included
        self.passes = self.moves = 0

    def neighbours(self, p: int) -> list[int]:
        r, c = divmod(p, self.size)
        return [
            rr * self.size + cc
            for rr, cc in ((r - 1, c), (r + 1, c), (r, c - 1), (r, c + 1))
            if 0 <= rr < self.size and 0 <= cc < self.size
        ]

    def group(self, board: list[int], p: int) -> tuple[set[int], set[int]]:
        stones, liberties, todo = {p}, set(), [p]
        while todo:
            for q in self.neighbours(todo.pop()):
                if board[q] == 0:
                    liberties.add(q)
                elif board[q] == board[p] and q not in stones:
                    stones.add(q)
                    todo.append(q)
        return stones, liberties

    def after(self, p: int, colour: int) -> list[int] | None:
        """The board after `colour` plays `p`, or None if that is illegal."""
        if self.board[p] != 0:
            return None
        board = list(self.board)
        board[p] = colour
        for q in self.neighbours(p):
            if board[q] == -colour:
                stones, liberties = self.group(board, q)
                if not liberties:
                    for s in stones:
                        board[s] = 0
        if not self.group(board, p)[1]:
            return None  # suicide
        if len(self.boards) >= 2 and tuple(board) == self.boards[-2]:
            return None  # ko
        return board

    def legal(self, colour: int) -> list[bool]:
        return [self.after(p, colour) is not None for p in range(self.size * self.size)] + [True]

    def play(self, action: int, colour: int) -> None:
        if action == self.size * self.size:
            self.passes += 1
        else:
            self.board = self.after(action, colour)
            self.passes = 0
        self.moves += 1
        self.boards.append(tuple(self.board))

    @property
    def over(self) -> bool:
        return self.passes >= 2 or self.moves >= self.max_moves

    def margin(self) -> float:
        """Black's Tromp-Taylor area minus white's and komi."""
        area = {1: self.board.count(1), -1: self.board.count(-1)}
        seen: set[int] = set()
        for p in range(self.size * self.size):
            if self.board[p] == 0 and p not in seen:
                region, reaches, todo = {p}, set(), [p]
                while todo:
                    for q in self.neighbours(todo.pop()):
                        if self.board[q] == 0 and q not in region:
                            region.add(q)
                            todo.append(q)
                        elif self.board[q] != 0:
                            reaches.add(self.board[q])
                seen |= region
                if len(reaches) == 1:
                    area[reaches.pop()] += len(region)
        return area[1] - area[-1] - self.komi


def random_games(env: Go, num_games: int, seed: int, komi: float = 7.5) -> dict:
    """`num_games` random legal games of `max_moves` plies, every ply recorded (numpy)."""
    params = GoParams(komi=komi)

    def game(key: jax.Array) -> dict:
        state, _ = env.reset(key, params)

        def ply(state: TwoPlayerState, k: jax.Array) -> tuple:
            action = kth_legal(state.legal_action_mask, jax.random.uniform(k))
            next_state, ts = env.step(state, action, params)
            record = {
                "mask": state.legal_action_mask,
                "action": action,
                "board": next_state.game.board,
                "terminated": ts.terminated,
                "rewards": ts.info["rewards"],
                "reward": ts.reward,
                "margin": env.score_margin(next_state.game, params),
                "groups": next_state.game.groups,
                "liberties": next_state.game.liberties,
            }
            return next_state, record

        return jax.lax.scan(ply, state, jax.random.split(key, env.max_moves))[1]

    return jax.device_get(jax.jit(jax.vmap(game))(jax.random.split(jax.random.key(seed), num_games)))


def check_games(env: Go, record: dict, komi: float = 7.5) -> collections.Counter:
    """Replays every recorded game in the reference; returns counts of the hard cases met."""
    seen: collections.Counter = collections.Counter()
    n2 = env.size * env.size
    for g in range(record["action"].shape[0]):
        ref = ReferenceGo(env.size, komi, env.max_moves)
        last_single_capture = None
        for t in range(env.max_moves):
            colour = 1 - 2 * (t % 2)
            where = f"game {g} ply {t}"
            np.testing.assert_array_equal(record["mask"][g, t], ref.legal(colour), err_msg=where)
            action = int(record["action"][g, t])
            before = list(ref.board)
            ref.play(action, colour)
            np.testing.assert_array_equal(record["board"][g, t], ref.board, err_msg=where)
            captured = [p for p in range(n2) if before[p] == -colour and ref.board[p] == 0]
            seen["captures"] += bool(captured)
            groups_hit = {frozenset(ReferenceGo.group(ref, before, p)[0]) for p in captured}
            seen["multi-group captures"] += len(groups_hit) > 1
            seen["snapbacks"] += len(captured) > 1 and last_single_capture == action
            last_single_capture = captured[0] if len(captured) == 1 else None
            seen["kos"] += (
                t + 1 < env.max_moves
                and len(captured) == 1
                and not record["mask"][g, t + 1][captured[0]]
                and ref.board[captured[0]] == 0
            )
            assert bool(record["terminated"][g, t]) == ref.over, where
            if ref.over:
                margin = ref.margin()
                assert float(record["margin"][g, t]) == pytest.approx(margin), where
                winner_rewards = [0.0, 0.0] if margin == 0 else ([1.0, -1.0] if margin > 0 else [-1.0, 1.0])
                np.testing.assert_array_equal(record["rewards"][g, t], winner_rewards, err_msg=where)
                assert float(record["reward"][g, t]) == winner_rewards[t % 2]
                seen["two passes" if ref.passes >= 2 else "move limit"] += 1
                seen["draws"] += margin == 0
                break
            np.testing.assert_array_equal(record["rewards"][g, t], [0.0, 0.0], err_msg=where)
    return seen


@pytest.mark.parametrize("num_games", [400, pytest.param(3000, marks=pytest.mark.full)])
def test_random_9x9_games_match_reference(num_games: int) -> None:
    env = Go(9)
    seen = check_games(env, random_games(env, num_games, seed=0))
    # Random play reaches the hard cases often enough to test them all.
    for case in ("captures", "multi-group captures", "snapbacks", "kos", "two passes"):
        assert seen[case] > 0, (case, seen)


def test_whole_number_komi_draws_and_short_limit_match_reference() -> None:
    env = Go(9, max_moves=60)  # ends mostly by the move limit, mid-game
    seen = check_games(env, random_games(env, 150, seed=1, komi=0.0), komi=0.0)
    assert seen["move limit"] > 0 and seen["draws"] > 0, seen


@pytest.mark.parametrize(("size", "num_games"), [(13, 12), (19, 4)])
def test_random_large_board_games_match_reference(size: int, num_games: int) -> None:
    env = Go(size)
    check_games(env, random_games(env, num_games, seed=size))


def test_incremental_groups_match_a_fresh_labelling() -> None:
    env = Go(9)
    record = random_games(env, 50, seed=2)
    boards = record["board"].reshape(-1, 9, 9)
    labels = jax.vmap(kernel.label)(jnp.asarray(boards, jnp.int32))
    groups = record["groups"].reshape(-1, 81)
    labels = np.asarray(labels).reshape(-1, 81)
    stones = boards.reshape(-1, 81) != 0
    # Same partition: two stones share an env group id exactly when they share a component.
    for i in range(0, len(groups), 97):
        same_env = groups[i][:, None] == groups[i][None, :]
        same_fresh = labels[i][:, None] == labels[i][None, :]
        both = stones[i][:, None] & stones[i][None, :]
        np.testing.assert_array_equal(same_env & both, same_fresh & both)
    liberties = jax.vmap(go_reference.liberty_counts_reference)(jnp.asarray(boards[::97], jnp.int32))
    np.testing.assert_array_equal(record["liberties"].reshape(-1, 81)[::97], np.asarray(liberties).reshape(-1, 81))


def position(env: Go, rows: list[str], player: int = 0) -> TwoPlayerState:
    """A state from a drawing (X black, O white, . empty; rows from the top), `player` to move."""
    size = env.size
    board = np.zeros((size, size), np.int8)
    for r, row in enumerate(rows):
        for c, ch in enumerate(row.replace(" ", "")):
            board[r, c] = {".": 0, "X": 1, "O": -1}[ch]
    board = jnp.asarray(board)
    groups = jnp.where(board != 0, kernel.label(board), size * size)
    liberties = kernel.liberty_counts(board, groups)
    game = env._init_game(jax.random.key(0), env.default_params).replace(
        board=board.reshape(-1), groups=groups.reshape(-1).astype(jnp.int32), liberties=liberties.reshape(-1)
    )
    player = jnp.int32(player)
    return TwoPlayerState(
        current_player=player,
        legal_action_mask=env._legal_actions(game, player, env.default_params),
        winner=jnp.int32(-1),
        terminated=jnp.asarray(False),
        game=game,
    )


def at(r: int, c: int, size: int = 9) -> int:
    return r * size + c


ENV9 = Go(9)
step9 = jax.jit(ENV9.step)
PASS = 81


def test_simple_ko_bans_the_immediate_retake_only() -> None:
    state = position(ENV9, [". X O .", "X O . O", ". X O ."])
    state, _ = step9(state, at(1, 2))  # black captures the white stone at (1, 1)
    assert int(state.game.board[at(1, 1)]) == 0 and int(state.game.ko) == at(1, 1)
    assert not bool(state.legal_action_mask[at(1, 1)])  # white may not retake at once
    _, ts = step9(state, at(1, 1))
    assert bool(ts.terminated) and float(ts.reward) == -1.0 and ts.info["rewards"].tolist() == [1.0, -1.0]
    state, _ = step9(state, at(8, 8))  # a ko threat elsewhere ...
    state, _ = step9(state, at(8, 0))  # ... answered
    assert bool(state.legal_action_mask[at(1, 1)])  # now the retake is legal
    state, _ = step9(state, at(1, 1))
    assert int(state.game.board[at(1, 2)]) == 0 and int(state.game.ko) == at(1, 2)


def test_snapback_retake_is_not_a_ko() -> None:
    # White throws a stone in at (0, 1); black takes it at (1, 1) and is left with three stones
    # whose only liberty is (0, 1), where white takes them back at once: not a ko.
    state = position(ENV9, ["X . X . X", "X . O . .", "O O X . X", ". . X . O"], player=1)
    state, _ = step9(state, at(0, 1))
    state, _ = step9(state, at(1, 1))
    assert int(state.game.board[at(0, 1)]) == 0 and int(state.game.ko) == -1
    assert bool(state.legal_action_mask[at(0, 1)])
    state, ts = step9(state, at(0, 1))
    assert not bool(ts.terminated) and int(state.game.board[at(0, 1)]) == -1
    for p in (at(0, 0), at(1, 0), at(1, 1)):
        assert int(state.game.board[p]) == 0
    assert int(state.game.board[at(0, 2)]) == 1  # the black stone with its own liberty stays


def test_captures_several_groups_at_once() -> None:
    # Black at (1, 1) takes the white stones at (0, 1) and (1, 0) (two groups) and (1, 2)-(2, 2).
    state = position(ENV9, ["X O X .", "O . O X", "X O O X", ". X X ."])
    assert bool(state.legal_action_mask[at(1, 1)])
    state, ts = step9(state, at(1, 1))
    for p in (at(0, 1), at(1, 0), at(1, 2), at(2, 1), at(2, 2)):
        assert int(state.game.board[p]) == 0
    assert int(state.game.ko) == -1 and float(ts.reward) == 0.0


def test_suicide_single_and_multi_stone_is_illegal_but_capture_is_not() -> None:
    state = position(ENV9, [". O .", "O . O", ". O ."], player=0)
    assert not bool(state.legal_action_mask[at(1, 1)])  # one-stone suicide in the middle
    assert not bool(state.legal_action_mask[at(0, 0)])  # and in the corner
    assert bool(state.legal_action_mask[at(0, 2)])
    # Black at (0, 2) would join its two stones and leave the three without a liberty.
    multi = position(ENV9, ["X X . O", "O O O O"], player=0)
    assert not bool(multi.legal_action_mask[at(0, 2)])
    _, ts = step9(multi, at(0, 2))
    assert bool(ts.terminated) and float(ts.reward) == -1.0 and ts.info["rewards"].tolist() == [-1.0, 1.0]
    # The same shape is legal when it captures: the white stone at (0, 3) has (0, 2) as last liberty.
    capture = position(ENV9, ["X X . O X", "O O O X ."], player=0)
    assert bool(capture.legal_action_mask[at(0, 2)])
    after, _ = step9(capture, at(0, 2))
    assert int(after.game.board[at(0, 3)]) == 0 and int(after.game.liberties[at(0, 2)]) == 1


def test_scoring_with_territory_and_dame() -> None:
    # Black owns (2, 0) and (4, 0), white (2, 4) and (4, 4); the middle region touches both: dame.
    env = Go(5)
    rows = ["X X . O O", "X . . . O", ". X . O .", "X X . O O", ". X . O ."]
    state = position(env, rows)
    black_area, white_area = kernel.area_score(state.game.board.reshape(5, 5))
    assert (int(black_area), int(white_area)) == (9, 9)  # 7 stones + 2 territory each
    ref = ReferenceGo(5, 7.5, 50)
    ref.board = [int(v) for v in np.asarray(state.game.board)]
    assert float(env.score_margin(state.game)) == pytest.approx(ref.margin()) == -7.5
    # Two passes end the game and score it; komi decides: 7.5 white, -1.5 black, 0 a draw.
    for komi, rewards in ((7.5, [-1.0, 1.0]), (-1.5, [1.0, -1.0]), (0.0, [0.0, 0.0])):
        params = GoParams(komi=komi)
        s, ts = env.step(position(env, rows), 25, params)
        assert not bool(ts.terminated)
        s, ts = env.step(s, 25, params)
        assert bool(ts.terminated) and ts.info["rewards"].tolist() == rewards and float(ts.reward) == rewards[1]


def test_observations_are_the_movers_view() -> None:
    state, ts = ENV9.reset(jax.random.key(0))
    assert ts.obs.shape == (3, 9, 9) and ts.obs.dtype == jnp.float32 and float(ts.obs[2].sum()) == 81
    state, ts = step9(state, at(4, 4))  # black plays; white to move sees it as the opponent's
    assert float(ts.obs[1, 4, 4]) == 1.0 and float(ts.obs[0].sum()) == 0.0
    history = Go(9, observation="history", history_length=4)
    state, ts = history.reset(jax.random.key(0))
    assert ts.obs.shape == (9, 9, 9) and float(ts.obs[8].min()) == 1.0  # black to move
    state, ts = history.step(state, at(4, 4))
    state, ts = history.step(state, at(2, 2))  # black to move: own stone now, opponent's now and one ago
    assert float(ts.obs[0, 4, 4]) == 1.0 and float(ts.obs[1, 4, 4]) == 1.0 and float(ts.obs[2, 4, 4]) == 0.0
    assert float(ts.obs[4, 2, 2]) == 1.0 and float(ts.obs[5, 2, 2]) == 0.0 and float(ts.obs[8].min()) == 1.0


def test_greedy_capture_takes_the_biggest_capture() -> None:
    # Black can take one stone at (0, 2) or two at (1, 2).
    state = position(ENV9, ["X O . . .", ". X . . .", "X O O X .", ". X X . ."], player=0)
    moves = jax.vmap(lambda k: greedy_capture(k, state))(jax.random.split(jax.random.key(0), 20))
    assert set(np.asarray(moves).tolist()) == {at(1, 2)}
    # With no capture it does not fill its own eye at (0, 0).
    quiet = position(ENV9, [". X", "X ."], player=0)
    moves = jax.vmap(lambda k: greedy_capture(k, quiet))(jax.random.split(jax.random.key(1), 50))
    assert at(0, 0) not in set(np.asarray(moves).tolist())


def test_render_modes() -> None:
    state = position(ENV9, ["X O", ". X"])
    text = ENV9.render(state, mode="ansi")
    assert "9 X O ." in text and "black (X) to move" in text
    frame = jax.jit(lambda s: ENV9.render(s))(state)
    assert frame.shape == (216, 216, 3) and frame.dtype == jnp.uint8
    assert tuple(np.asarray(frame[12, 12])) == (0, 0, 0) and tuple(np.asarray(frame[12, 36])) == (255, 255, 255)


@pytest.mark.parametrize("size", [9, 19])
def test_check_env_single_agent(size: int) -> None:
    check_env(make_vs_opponent("gymx.envs.board_games.go:Go", "random", size=size), num_steps=40)


def test_check_env_two_player_and_variants() -> None:
    check_env(Go(9, observation="history"), num_steps=20)
    check_env(make_vs_greedy(9, agent_player=1), num_steps=20)
