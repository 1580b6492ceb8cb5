"""The algorithmic tasks on their own: registration, targets, the original's canned interactions,
input distributions, construction errors, rendering."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.algorithmic.copy_ import Copy
from gymx.envs.algorithmic.duplicated_input import DuplicatedInput
from gymx.envs.algorithmic.repeat_copy import RepeatCopy
from gymx.envs.algorithmic.reverse import Reverse
from gymx.envs.algorithmic.reversed_addition import ReversedAddition
from gymx.envs.algorithmic.tape import AlgorithmicEnv, TapeState

import gymx
from gymx import spaces

LEFT, RIGHT, UP, DOWN = 0, 1, 2, 3
# id: (base, moves, reward threshold, starting min_length)
REGISTERED = {
    "Copy-v0": (5, 2, 25.0, 2),
    "DuplicatedInput-v0": (5, 2, 9.0, 2),
    "RepeatCopy-v0": (5, 2, 75.0, 2),
    "Reverse-v0": (2, 2, 25.0, 1),
    "ReversedAddition-v0": (3, 4, 25.0, 2),
    "ReversedAddition3-v0": (3, 4, 25.0, 2),
}


def canned(env: AlgorithmicEnv, data: list) -> TapeState:
    """A fresh episode on `data` (a list of symbols, or of columns for a grid), as the original
    tests' `imprint`; the target comes from the env's own rule."""
    columns = [column if env.rows > 1 else [column] for column in data]
    tape = np.full((env.rows, env.max_input_length), env.base, np.int32)
    tape[:, : len(columns)] = np.array(columns, np.int32).T
    target, target_length = env._target(jnp.asarray(tape), jnp.int32(len(columns)))
    zero = jnp.zeros((), jnp.int32)
    return TapeState(
        tape=jnp.asarray(tape),
        input_length=jnp.int32(len(columns)),
        target=target.astype(jnp.int32),
        target_length=jnp.asarray(target_length, jnp.int32),
        read_column=zero,
        read_row=zero,
        write_head=zero,
        time=zero,
        wrong_write=jnp.zeros((), jnp.bool_),
    )


def target(env: AlgorithmicEnv, data: list) -> list[int]:
    state = canned(env, data)
    return [int(s) for s in state.target[: int(state.target_length)]]


def play(env: AlgorithmicEnv, state: TapeState, actions: list) -> list[tuple[int, float, bool]]:
    step = jax.jit(env.step)
    out = []
    for action in actions:
        state, ts = step(state, tuple(np.int32(a) for a in action))
        out.append((int(ts.obs), float(ts.reward), bool(ts.terminated)))
    return out


@pytest.mark.parametrize("env_id", REGISTERED)
def test_registration_and_spaces(env_id: str) -> None:
    base, moves, threshold, start = REGISTERED[env_id]
    spec = gymx.spec(env_id)
    assert (spec.max_episode_steps, spec.reward_threshold) == (200, threshold)
    env = gymx.make(env_id)
    assert isinstance(env, gymx.wrappers.TimeLimit) and env.max_episode_steps == 200
    assert env.observation_space() == spaces.Discrete(base + 1)
    assert env.action_space() == spaces.Tuple([spaces.Discrete(moves), spaces.Discrete(2), spaces.Discrete(base)])
    assert env.default_params.min_length == start
    assert env.metadata["render_modes"] == ["ansi", "rgb_array"] and env.metadata["render_fps"] > 0
    assert env.unwrapped.rows == (3 if env_id == "ReversedAddition3-v0" else 2 if "Addition" in env_id else 1)


def test_targets_follow_the_original_rules() -> None:
    # The original tests' TestTargets cases.
    reverse = Reverse()
    for data, expected in [
        ([0], [0]),
        ([0, 1], [1, 0]),
        ([1, 1], [1, 1]),
        ([1, 0, 1], [1, 0, 1]),
        ([0, 0, 1, 1], [1, 1, 0, 0]),
    ]:
        assert target(reverse, data) == expected
    addition = ReversedAddition(base=3)
    for grid, expected in [
        ([[1, 1], [1, 1]], [2, 2]),
        ([[2, 2], [0, 1]], [1, 2]),
        ([[2, 1], [1, 1], [1, 1], [1, 0]], [0, 0, 0, 2]),
    ]:
        assert target(addition, grid) == expected
    assert target(ReversedAddition(rows=3, base=3), [[2, 2, 2], [2, 2, 2]]) == [0, 2, 2]  # a final carry of 2
    assert target(Copy(), [0, 1, 2]) == [0, 1, 2]
    assert target(DuplicatedInput(duplication=2), [0, 0, 0, 0, 1, 1]) == [0, 0, 1]
    assert target(RepeatCopy(), [0, 1, 2]) == [0, 1, 2, 2, 1, 0, 0, 1, 2]
    longest = list(range(5)) * 6 + [4, 4]
    assert target(RepeatCopy(), longest) == longest + longest[::-1] + longest


def test_successful_interaction_and_fail_fast() -> None:
    env = Copy(base=2)
    assert play(env, canned(env, [0, 1]), [(RIGHT, 1, 0), (LEFT, 1, 1)]) == [(1, 1.0, False), (0, 1.0, True)]
    assert play(env, canned(env, [0, 1]), [(RIGHT, 1, 1)]) == [(1, -0.5, True)]
    # Walking off the left end reads blank; walking back reads the tape again.
    walk = play(env, canned(env, [0, 1]), [(LEFT, 0, 0), (LEFT, 0, 0), (RIGHT, 0, 0), (RIGHT, 0, 0)])
    assert walk == [(2, 0.0, False), (2, 0.0, False), (2, 0.0, False), (0, 0.0, False)]


def test_grid_navigation_and_success() -> None:
    # The grid  0 1 2 / 3 4 5  (columns [0, 3], [1, 4], [2, 5]); 6 is blank.
    env = ReversedAddition(rows=2, base=6)
    moves = [(DOWN, 3), (UP, 0), (RIGHT, 1), (DOWN, 4), (DOWN, 6), (RIGHT, 6), (UP, 5), (UP, 2), (LEFT, 1)]
    result = play(env, canned(env, [[0, 3], [1, 4], [2, 5]]), [(m, 0, 0) for m, _ in moves])
    assert result == [(obs, 0.0, False) for _, obs in moves]
    env = ReversedAddition(rows=2, base=3)
    state = canned(env, [[1, 2], [1, 0], [2, 2]])
    assert target(env, [[1, 2], [1, 0], [2, 2]]) == [0, 2, 1, 1]
    result = play(env, state, [(LEFT, 1, digit) for digit in [0, 2, 1, 1]])
    assert [r for _, r, _ in result] == [1.0] * 4 and [d for _, _, d in result] == [False] * 3 + [True]


@pytest.mark.parametrize(
    "env, data, limit", [(Copy(), [1, 2, 3], 10), (RepeatCopy(), [1, 2], 12), (ReversedAddition(), [[1, 2], [0, 0]], 8)]
)
def test_time_limit(env: AlgorithmicEnv, data: list, limit: int) -> None:
    state = canned(env, data)
    assert int(env.time_limit(state)) == limit
    idle = play(env, state, [(LEFT, 0, 0)] * (limit + 1))
    assert idle[:-1] == [(env.base, 0.0, False)] * limit and idle[-1] == (env.base, -1.0, True)
    # A write that completes the target on the step past the limit still earns -1.
    first = [(RIGHT, 1, int(s)) for s in canned(env, data).target[: int(state.target_length) - 1]]
    wait = [(RIGHT, 0, 0)] * (limit - len(first))
    last = [(RIGHT, 1, int(state.target[int(state.target_length) - 1]))]
    rewards = [r for _, r, _ in play(env, state, first + wait + last)]
    assert rewards == [1.0] * len(first) + [0.0] * len(wait) + [-1.0]


def _inputs(env: AlgorithmicEnv, min_length: np.ndarray) -> TapeState:
    keys = jax.random.split(jax.random.key(0), len(min_length))
    params = env.default_params.replace(min_length=jnp.asarray(min_length, jnp.int32))
    return jax.device_get(jax.jit(jax.vmap(env.reset_env))(keys, params))


@pytest.mark.parametrize("make_env", [Copy, ReversedAddition])
def test_inputs_are_uniform(make_env) -> None:
    env, num = make_env(), 3000
    state = _inputs(env, np.full(num, 7))
    counts = np.bincount(state.input_length, minlength=10)
    # Lengths 7 + U{0, 1, 2}; tolerances are about 5 standard errors.
    assert counts[:7].sum() == 0 and counts[10:].sum() == 0 and np.all(np.abs(counts[7:10] - num / 3) < 130), counts
    symbols = state.tape[:, :, :7]
    frequencies = np.bincount(symbols.ravel(), minlength=env.base) / symbols.size
    assert len(frequencies) == env.base and np.all(np.abs(frequencies - 1 / env.base) < 0.01), frequencies
    # Different rows and columns are drawn independently.
    assert abs(np.corrcoef(symbols[:, 0, 0], symbols[:, env.rows - 1, 1])[0, 1]) < 0.06


def test_duplicated_input_lengths_and_pairs() -> None:
    env = DuplicatedInput()
    # Size 5, 6, 7 rounds down to 4, 6, 6; size 1, 2, 3 to 2 (raised to the duplication first).
    state = _inputs(env, np.array([5] * 900 + [1] * 300))
    lengths = state.input_length
    assert set(lengths[900:].tolist()) == {2} and set(lengths[:900].tolist()) == {4, 6}
    assert 250 < np.sum(lengths[:900] == 4) < 350
    pairs = state.tape[:, 0, : env.max_input_length].reshape(len(lengths), -1, 2)
    assert np.all(pairs[..., 0] == pairs[..., 1])
    assert np.array_equal(state.target_length, lengths // 2)
    assert env.max_input_length == 32 and env.max_target_length == 16
    assert DuplicatedInput(duplication=3).max_input_length == 30


def test_min_length_is_traced_per_env_and_clipped() -> None:
    env = Copy()
    state = _inputs(env, np.array([0, 1, 15, 30, 31, 1000] * 50))
    lengths = state.input_length.reshape(50, 6)
    low = np.array([1, 1, 15, 30, 30, 30])
    assert np.all(lengths >= low) and np.all(lengths <= low + 2)
    assert state.tape.shape[1:] == (1, 32) and state.target.shape[1:] == (32,)


def test_reset_is_deterministic_and_reports_the_target_length() -> None:
    env = gymx.make("RepeatCopy-v0")
    reset = jax.jit(env.reset)
    (first, ts), (again, _) = reset(jax.random.key(3)), reset(jax.random.key(3))
    assert all(np.array_equal(a, b) for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(again)))
    other, _ = reset(jax.random.key(4))
    assert not np.array_equal(first.env_state.tape, other.env_state.tape)
    assert int(ts.info["target_length"]) == 3 * int(first.env_state.input_length) > 0


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: Copy(base=1), r"base must be in \[2, 26\], got 1"),
        (lambda: Copy(base=27), r"base must be in \[2, 26\]"),
        (lambda: Copy(base=2.5), "base must be an integer"),
        (lambda: Copy(length_cap=1), "length_cap must be >= 2"),
        (lambda: Reverse(length_cap=0), "length_cap must be >= 1"),
        (lambda: DuplicatedInput(duplication=0), "duplication must be >= 1"),
        (lambda: ReversedAddition(base=11), r"base must be in \[2, 10\]"),
        (lambda: ReversedAddition(rows=4, base=3), "rows must be <= base, got rows=4, base=3"),
        (lambda: ReversedAddition(rows=0), "rows must be >= 1, got 0"),
        (lambda: gymx.make("Copy-v0", base=0), "base must be"),
    ],
)
def test_bad_construction_arguments(make, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        make()


def test_ansi_rendering() -> None:
    env = Copy(base=2)
    step = jax.jit(env.step)
    state, _ = step(canned(env, [0, 1]), (RIGHT, 1, 0))
    assert env.render(state, mode="ansi") == (
        "Total length of input instance: 2, step: 1\n"
        + "=" * 42
        + "\nObservation Tape    :   A\x1b[42mB\x1b[0m  \n"
        + "Output Tape         :   A\n"
        + "Targets             :   AB  \n"
    )
    wrong, _ = step(state, (LEFT, 1, 0))
    assert "Output Tape         :   A\x1b[41m?\x1b[0m\n" in env.render(wrong, mode="ansi")
    grid = ReversedAddition()
    text = gymx.make("ReversedAddition-v0").render(
        gymx.wrappers.TimeLimitState(canned(grid, [[1, 2], [1, 0], [2, 2]]), jnp.int32(0)), mode="ansi"
    )
    assert "Observation Grid    :        \n" in text and "  \x1b[42m1\x1b[0m12  \n" in text and "  202  \n" in text
    assert "Targets             :   0211  \n" in text
    with pytest.raises(NotImplementedError, match="human"):
        env.render(state, mode="human")


def test_rgb_rendering_under_jit_and_vmap() -> None:
    env = RepeatCopy()
    state = canned(env, [0, 1, 2])
    frame = np.asarray(env.render(state))
    assert frame.dtype == np.uint8 and frame.shape == (4 * 12, (3 * 32 + 4) * 12, 3)
    head = frame[12 * 0 : 12, 12 * 2 : 12 * 3]  # input row, column 0 (two blank columns to its left)
    assert np.all(head[0] == 0) and np.all(head[:, 0] == 0)  # framed in black
    moved, _ = jax.jit(env.step)(state, (RIGHT, 1, 0))
    frames = jax.jit(jax.vmap(env.render))(jax.tree_util.tree_map(lambda a, b: jnp.stack([a, b]), state, moved))
    assert np.array_equal(frames[0], frame) and not np.array_equal(frames[1], frame)
    grid = ReversedAddition(rows=3)
    assert np.asarray(grid.render(canned(grid, [[0, 1, 2]]))).shape == (8 * 12, 37 * 12, 3)
    venv = gymx.VecEnv(grid, 4)
    tiled = venv.render(venv.reset(jax.random.key(0))[0])
    assert tiled.dtype == jnp.uint8 and tiled.shape == (2 * 8 * 12 + 2, 2 * 37 * 12 + 2, 3)
