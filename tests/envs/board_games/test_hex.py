"""Hex: the batched env against a plain-Python reference of the rules over thousands of random
moves (legal ones, some illegal ones, the swap now and then), scripted positions (straight and
winding wins, the swap rule, illegal moves), the one-ply opponent, registration, rendering and
check_env."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.board_games.hex import Hex, neighbour_table

import gymx
from gymx import spaces
from gymx.testing import check_env
from gymx.two_player import VsOpponent, kth_legal, one_ply, uniform_random_legal

HEX5, HEX11 = Hex(size=5), Hex()
STEP = {HEX5: jax.jit(HEX5.step), HEX11: jax.jit(HEX11.step)}
# (row, col) steps from a cell to its six neighbours.
SIDES = ((-1, 0), (-1, 1), (0, -1), (0, 1), (1, -1), (1, 0))
RED, BLUE, EMPTY_COLOR = (200, 40, 40), (40, 80, 200), (235, 215, 170)


class ReferenceHex:
    """The rules with lists and a flood fill, written to be obviously right rather than fast."""

    def __init__(self, size: int, swap: bool):
        self.size, self.swap = size, swap
        self.num_actions = size * size + int(swap)
        self.board = [[-1] * size for _ in range(size)]
        self.player, self.moves, self.over, self.winner = 0, 0, False, -1

    def cells(self) -> list[tuple[int, int]]:
        return [(r, c) for r in range(self.size) for c in range(self.size)]

    def neighbours(self, r: int, c: int) -> list[tuple[int, int]]:
        near = [(r + dr, c + dc) for dr, dc in SIDES]
        return [(y, x) for y, x in near if 0 <= y < self.size and 0 <= x < self.size]

    def legal(self) -> list[bool]:
        if self.over:
            return [True] * self.num_actions
        empty = [self.board[r][c] == -1 for r, c in self.cells()]
        return empty + [self.moves == 1] * self.swap

    def component(self, r: int, c: int) -> set[tuple[int, int]]:
        """The cells of the group of the stone on (r, c)."""
        seen, todo = {(r, c)}, [(r, c)]
        while todo:
            for y, x in self.neighbours(*todo.pop()):
                if (y, x) not in seen and self.board[y][x] == self.board[r][c]:
                    seen.add((y, x))
                    todo.append((y, x))
        return seen

    def has_won(self, player: int) -> bool:
        """Player 0: a group on the top and bottom rows; player 1: on the left and right columns."""
        for start in range(self.size):
            r, c = (0, start) if player == 0 else (start, 0)
            if self.board[r][c] == player:
                group = self.component(r, c)
                if any((y if player == 0 else x) == self.size - 1 for y, x in group):
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
            if action == self.size * self.size:
                # The swap: the only stone leaves and comes back mirrored, the mover's.
                [(r, c)] = [(r, c) for r, c in self.cells() if self.board[r][c] >= 0]
                self.board[r][c] = -1
                self.board[c][r] = mover
            else:
                self.board[action // self.size][action % self.size] = mover
            self.moves += 1
            if self.has_won(mover):
                self.over, self.winner = True, mover
        self.player = 1 - mover
        if self.winner < 0:
            return [0.0, 0.0]
        return [1.0 if p == self.winner else -1.0 for p in range(2)]

    def observation(self) -> np.ndarray:
        board = np.array(self.board)
        stones = [board == self.player, board == 1 - self.player]
        flags = [
            np.full_like(board, self.player == 1),
            np.full_like(board, self.swap and self.moves == 1),
        ]
        return np.stack(stones + flags, axis=-1).astype(np.int8)

    def groups(self) -> set[frozenset]:
        """Every group, as a set of cell indices."""
        groups, grouped = set(), set()
        for r, c in self.cells():
            if self.board[r][c] >= 0 and (r, c) not in grouped:
                group = self.component(r, c)
                grouped |= group
                groups.add(frozenset(y * self.size + x for y, x in group))
        return groups


def random_games(env: Hex, num_games: int, illegal_rate: float, seed: int) -> dict:
    """`num_games` games of N*N + 2 moves each (every game is over by then; absorbing after),
    batched: the actions and what the env reports after each, each (moves + 1, num_games, ...),
    the reset first (action -2 there). The swap is played half the times it is legal."""
    cells = env.size * env.size

    def record(state, ts, action):
        return {
            "action": action,
            "board": state.game.board,
            "groups": state.game.groups,
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
            pick_key, swap_key, illegal_key, any_key = jax.random.split(key, 4)
            mask = state.legal_action_mask
            action = kth_legal(mask[:, :cells], jax.random.uniform(pick_key, (num_games,)))
            if env.swap:
                swap = mask[:, cells] & jax.random.bernoulli(swap_key, 0.5, (num_games,))
                action = jnp.where(swap, cells, action)
            # Some moves are drawn from [-1, num_actions]: occupied cells, a swap out of turn,
            # out of range.
            anything = jax.random.randint(any_key, (num_games,), -1, env.num_actions + 1)
            illegal = jax.random.bernoulli(illegal_key, illegal_rate, (num_games,))
            action = jnp.where(illegal, anything, action)
            state, ts = jax.vmap(env.step)(state, action)
            return state, record(state, ts, action)

        first = record(state, ts, jnp.full(num_games, -2, jnp.int32))
        _, steps = jax.lax.scan(move, state, jax.random.split(key, cells + 2))
        return jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, steps)

    return jax.tree_util.tree_map(np.asarray, play(jax.random.key(seed)))


def check_against_reference(env: Hex, num_games: int, illegal_rate: float, seed: int) -> dict:
    """Replays every game in the reference and compares everything after every move, and that
    the env's group labels split the stones as the flood fill does; counts how games ended."""
    games = random_games(env, num_games, illegal_rate, seed)
    seen = {"moves": 0, "swaps": 0, "won by 0": 0, "won by 1": 0, "illegal": 0}
    for g in range(num_games):
        ref = ReferenceHex(env.size, env.swap)
        for t in range(games["action"].shape[0]):
            where = f"game {g} move {t}"
            if ref.over:
                # Absorbing from here on: the same state, zero rewards.
                for name, value in games.items():
                    expected = 0 if name.startswith("reward") else value[t - 1, g]
                    assert name == "action" or (value[t:, g] == expected).all(), where
                break
            rewards = [0.0, 0.0]
            if t > 0:
                action, mover = int(games["action"][t, g]), ref.player
                legal = 0 <= action < ref.num_actions and ref.legal()[action]
                rewards = ref.play(action)
                seen["moves"] += 1
                seen["swaps"] += legal and action == env.size * env.size
                if ref.over:
                    seen[f"won by {ref.winner}" if legal else "illegal"] += 1
                assert float(games["reward"][t, g]) == rewards[mover], where
            expected = {
                "board": np.ravel(ref.board),
                "mask": ref.legal(),
                "obs": ref.observation(),
                "rewards": rewards,
                "player": ref.player,
                "winner": ref.winner,
                "terminated": ref.over,
            }
            for name, value in expected.items():
                np.testing.assert_array_equal(games[name][t, g], value, err_msg=f"{where}: {name}")
            labels = games["groups"][t, g]
            groups = {frozenset(np.flatnonzero(labels == k).tolist()) for k in set(labels.tolist()) - {0}}
            assert groups == ref.groups(), where
    return seen


@pytest.mark.parametrize(
    "size, swap, num_games, illegal_rate",
    [(5, True, 256, 0.02), (11, True, 64, 0.003), (4, False, 256, 0.02)],
)
def test_matches_the_reference(size: int, swap: bool, num_games: int, illegal_rate: float) -> None:
    env = Hex(size=size, swap=swap)
    seen = check_against_reference(env, num_games, illegal_rate, seed=size)
    ended = seen["won by 0"] + seen["won by 1"] + seen["illegal"]
    assert ended == num_games and seen["moves"] > 2000, seen
    assert min(seen["won by 0"], seen["won by 1"]) > num_games // 5, seen
    assert seen["illegal"] > 0, seen
    assert seen["swaps"] > num_games // 5 if swap else seen["swaps"] == 0, seen


def play(env: Hex, moves: list[int]):
    """The state and last TimeStep after `moves` from the start."""
    state, ts = env.reset(jax.random.key(0))
    for move in moves:
        state, ts = STEP[env](state, move)
    return state, ts


def assert_won(env: Hex, moves: list[int], winner: int) -> None:
    _, ts = play(env, moves[:-1])
    assert not bool(ts.terminated)
    state, ts = play(env, moves)
    assert bool(ts.terminated) and float(ts.reward) == 1.0
    assert int(state.winner) == winner
    assert ts.info["rewards"].tolist() == ([1.0, -1.0] if winner == 0 else [-1.0, 1.0])
    assert state.legal_action_mask.all()


def test_straight_wins() -> None:
    # 5x5, cell r * 5 + c. X: the left column; O: the right one, which joins nothing for O.
    assert_won(HEX5, [0, 4, 5, 9, 10, 14, 15, 19, 20], winner=0)
    # 11x11. O: row 5, left to right; X: the top row, which joins nothing for X.
    assert_won(HEX11, [m for c in range(11) for m in (c, 55 + c)], winner=1)


def test_chains_follow_the_hex_neighbours() -> None:
    # X down the short diagonal (0, 4) (1, 3) ... (4, 0): each step is a (+1, -1) neighbour.
    assert_won(HEX5, [4, 0, 8, 1, 12, 2, 16, 3, 20], winner=0)
    # X down the long diagonal (0, 0) (1, 1) ... (4, 4): no two of its cells touch.
    _, ts = play(HEX5, [0, 1, 6, 2, 12, 3, 18, 9, 24])
    assert not bool(ts.terminated)


def test_winding_chain_won_by_joining_two_groups() -> None:
    # X:  . . O O O     (0, 0) (1, 0) (1, 1) form one group, (1, 3) (2, 3) (3, 2) (3, 1) (3, 0)
    #     X X * X .     (4, 0) another; X's last stone * = (1, 2) joins them, top to bottom,
    #     O O . X .     along a path that runs right, then down and back left.
    #     X X X . .
    #     X O O O O
    x = [0, 5, 6, 8, 13, 17, 16, 15, 20, 7]
    o = [2, 3, 4, 10, 11, 21, 22, 23, 24]
    moves = [m for pair in zip(x, o) for m in pair] + [x[-1]]
    assert_won(HEX5, moves, winner=0)
    groups = np.asarray(play(HEX5, moves)[0].game.groups)
    # One group, labelled after the newest stone (cell 7 + 1).
    assert set(groups[x].tolist()) == {8}


def test_swap_takes_over_the_first_stone_mirrored() -> None:
    state, ts = play(HEX5, [8])  # X on (1, 3)
    assert bool(state.legal_action_mask[25]) and int(state.current_player) == 1
    # O's view: O (player 1) to move, may swap.
    assert ts.obs[..., 2].all() and ts.obs[..., 3].all()
    state, ts = STEP[HEX5](state, 25)
    expected = np.full(25, -1)
    expected[16] = 1  # O's stone on (3, 1)
    np.testing.assert_array_equal(state.game.board, expected)
    assert int(state.current_player) == 0 and not bool(ts.terminated)
    assert not state.legal_action_mask[25] and state.legal_action_mask[:25].sum() == 24
    # X's view: O's stone, no swap.
    assert ts.obs[3, 1].tolist() == [0, 1, 0, 0] and not ts.obs[..., 3].any()
    # A stone on the long diagonal stays where it is and changes hands.
    board = np.asarray(play(HEX5, [12, 25])[0].game.board)
    assert board[12] == 1 and (board >= 0).sum() == 1


# The swap as the first move, as the third, and a second swap.
@pytest.mark.parametrize("moves", [[25], [8, 3, 25], [8, 25, 25]])
def test_swap_is_legal_only_as_the_second_move(moves: list[int]) -> None:
    before, _ = play(HEX5, moves[:-1])
    assert not bool(before.legal_action_mask[25])
    state, ts = play(HEX5, moves)
    assert bool(ts.terminated) and int(state.winner) == 1 - int(before.current_player)
    assert float(ts.reward) == -1.0
    np.testing.assert_array_equal(state.game.groups, before.game.groups)


def test_without_the_swap_rule() -> None:
    env = Hex(size=5, swap=False)
    step = jax.jit(env.step)
    state, ts = env.reset(jax.random.key(0))
    assert env.action_space() == spaces.Discrete(25)
    assert state.legal_action_mask.shape == (25,)
    state, ts = step(state, 8)
    assert not ts.obs[..., 3].any() and state.legal_action_mask.sum() == 24
    _, ts = step(state, 25)  # out of range
    assert bool(ts.terminated) and ts.info["rewards"].tolist() == [1.0, -1.0]


# An occupied cell; out of range on each side.
@pytest.mark.parametrize("illegal", [8, -1, 26])
def test_illegal_move_loses(illegal: int) -> None:
    before, _ = play(HEX5, [8, 12])
    state, ts = play(HEX5, [8, 12, illegal])
    assert bool(ts.terminated) and int(state.winner) == 1 and float(ts.reward) == -1.0
    assert ts.info["rewards"].tolist() == [-1.0, 1.0]
    # Nothing was played, and the game is over for good.
    np.testing.assert_array_equal(state.game.groups, before.game.groups)
    again, again_ts = STEP[HEX5](state, 0)
    assert float(again_ts.reward) == 0.0 and bool(again_ts.terminated)
    assert int(again.winner) == 1


def test_observation_planes_and_tables() -> None:
    state, ts = play(HEX5, [8, 12])  # X on (1, 3), O on (2, 2); X to move
    assert ts.obs.shape == (5, 5, 4) and ts.obs.dtype == jnp.int8
    assert ts.obs[1, 3].tolist() == [1, 0, 0, 0]
    assert ts.obs[2, 2].tolist() == [0, 1, 0, 0]
    o_view = HEX5.observe_for(state, 1)
    np.testing.assert_array_equal(o_view[..., :2], ts.obs[..., 1::-1])
    assert o_view[..., 2].all()
    assert HEX11.observation_space() == spaces.MultiBinary((11, 11, 4))
    assert HEX11.action_space() == spaces.Discrete(122)
    assert HEX11.label_dtype == np.int8 and Hex(size=13).label_dtype == np.int16
    table = neighbour_table(5)
    degree = (table[:25] < 25).sum(axis=1)
    assert degree[0] == degree[24] == 2 and degree[4] == degree[20] == 3
    assert degree[12] == 6
    # Symmetric: every cell is among its neighbours' neighbours.
    assert all(a in table[b] for a in range(25) for b in table[a] if b < 25)


def pixel_of(r: int, c: int) -> tuple[int, int]:
    """The (row, column) pixel at the centre of cell (r, c) of an 11x11 rgb_array frame."""
    radius = 24 / np.sqrt(3)
    return round(24 + radius + 1.5 * radius * r), round(24 + 12 + 24 * (c + r / 2))


def test_render() -> None:
    # X on (1, 3), O swaps it to (3, 1), X on (0, 0); O to move.
    state, _ = play(HEX5, [8, 25, 0])
    assert HEX5.render(state, mode="ansi") == (
        "   a b c d e\n"
        " 1 X . . . .\n"
        " 2  . . . . .\n"
        " 3   . . . . .\n"
        " 4    . O . . .\n"
        " 5     . . . . .\n"
        "X: top-bottom, O: left-right\n"
        "O to move\n"
    )
    text = HEX5.render(play(HEX5, [8])[0], mode="ansi")
    assert text.endswith("\nO to move (may swap: action 25)\n")
    text = HEX5.render(play(HEX5, [0, 4, 5, 9, 10, 14, 15, 19, 20])[0], mode="ansi")
    assert text.endswith("\nX wins\n")
    frame = np.asarray(jax.jit(HEX11.render)(play(HEX11, [60, 0])[0]))
    assert frame.shape == (284, 432, 3) and frame.dtype == np.uint8
    assert tuple(frame[pixel_of(5, 5)]) == RED and tuple(frame[pixel_of(0, 0)]) == BLUE
    assert tuple(frame[pixel_of(0, 1)]) == EMPTY_COLOR
    # The cells outside the edges: X's red above and below, O's blue left and right.
    assert tuple(frame[pixel_of(-1, 3)]) == RED
    assert tuple(frame[pixel_of(3, -1)]) == BLUE
    batch, _ = jax.vmap(HEX5.reset)(jax.random.split(jax.random.key(0), 3))
    assert jax.vmap(HEX5.render)(batch).shape[0] == 3


# X: (0, 0) (1, 0) (2, 0) (4, 0), one cell, (3, 0) = 15, short of joining top and bottom;
# O: three stones in the right column.
THREAT = [0, 4, 5, 9, 10, 14, 20]


# X to move wins at 15; after an X move elsewhere, O blocks 15.
@pytest.mark.parametrize("moves", [THREAT, [*THREAT, 24]])
def test_one_ply_wins_then_blocks(moves: list[int]) -> None:
    state, _ = play(HEX5, moves)
    opponent = jax.jit(jax.vmap(one_ply(HEX5), in_axes=(0, None)))
    actions = opponent(jax.random.split(jax.random.key(0), 32), state)
    assert set(np.asarray(actions).tolist()) == {15}


@pytest.mark.parametrize("env_id", ["Hex11x11-v0", "Hex11x11OnePly-v0"])
def test_registered_ids(env_id: str) -> None:
    env = gymx.make(env_id)
    assert isinstance(env, VsOpponent) and isinstance(env.env, Hex)
    assert env.spec.id == env_id
    assert env.observation_space() == spaces.MultiBinary((11, 11, 4))
    assert env.action_space() == spaces.Discrete(122)
    assert ("OnePly" in env_id) == (env.opponent is not uniform_random_legal)


def test_random_seat_and_masked_illegal_moves_pass_check_env() -> None:
    # Both ids with the default seat and illegal mode are checked with every registered id.
    env = gymx.make("Hex11x11-v0", agent_player="random", illegal_action="mask")
    check_env(env, num_steps=40)


def test_bare_game_passes_check_env() -> None:
    check_env(HEX5, num_steps=60)
