"""The dm_env adapter: dm_env's own conformance mixin, discounts at termination and truncation,
specs from gymx spaces, restarts after LAST, bad actions, seeding."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("dm_env")

import dm_env
from absl.testing import absltest
from dm_env import specs, test_utils

from gymx import spaces
from gymx.adapters.dm_env import DmEnv, make, space_to_spec

BALANCE_GAINS = np.array([0.1, 0.5, 10.0, 2.0])  # a linear controller that keeps CartPole up for 500 steps


def balance(obs: np.ndarray) -> np.int32:
    return np.int32(obs @ BALANCE_GAINS > 0)


class CartPoleConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    """dm_env's contract over episodes that terminate (random pushes end CartPole within ~60 steps)."""

    def make_object_under_test(self) -> DmEnv:
        return make("CartPole-v1", seed=0)

    def make_action_sequence(self):
        rng = np.random.default_rng(0)
        for _ in range(200):
            yield np.int32(rng.integers(2))


class PendulumConformance(test_utils.EnvironmentTestMixin, absltest.TestCase):
    """dm_env's contract with Box actions over episodes that a time limit truncates."""

    def make_object_under_test(self) -> DmEnv:
        return make("Pendulum-v1", seed=0, max_episode_steps=7)

    def make_action_sequence(self):
        rng = np.random.default_rng(0)
        for _ in range(30):
            yield rng.uniform(-2.0, 2.0, size=(1,)).astype(np.float32)


def test_termination_is_last_with_discount_zero() -> None:
    env = make("CartPole-v1", seed=1)
    timestep = env.reset()
    assert timestep.first() and timestep.reward is None and timestep.discount is None
    steps = []
    while not timestep.last():
        timestep = env.step(np.int32(1))  # always push right: the pole falls within ~10 steps
        steps.append(timestep)
    assert 5 < len(steps) < 30
    assert all(s.mid() and s.discount == 1.0 and s.reward == 1.0 for s in steps[:-1])
    assert steps[-1].discount == 0.0 and steps[-1].discount.dtype == np.float32
    assert steps[-1].reward == 1.0  # CartPole pays the step that drops the pole


def test_truncation_is_last_with_discount_one() -> None:
    env = make("CartPole-v1", seed=1, max_episode_steps=12)
    timestep = env.reset()
    for t in range(12):
        timestep = env.step(balance(timestep.observation))
        assert timestep.last() == (t == 11)
    assert timestep.discount == 1.0 and timestep.reward == 1.0


def test_step_after_last_starts_a_new_episode() -> None:
    env = make("CartPole-v1", seed=2, max_episode_steps=3)
    env.reset()
    for _ in range(3):
        last = env.step(np.int32(0))
    assert last.last()
    first = env.step(np.int32(0))  # the action is ignored
    assert first.first() and first.reward is None
    assert not np.array_equal(first.observation, last.observation)
    assert env.step(np.int32(0)).mid()


def test_fresh_env_steps_into_first() -> None:
    assert make("CartPole-v1").step(np.int32(0)).first()


def test_observations_match_the_gymx_env() -> None:
    """The adapter adds nothing to the dynamics: its observations are the env's own from the same state."""
    env = make("CartPole-v1", seed=3)
    timestep = env.reset()
    state = env._state
    for action in (0, 1, 1, 0):
        timestep = env.step(np.int32(action))
        state, ts = env.gymx_env.step(state, action, env.gymx_env.default_params)
        np.testing.assert_array_equal(timestep.observation, np.asarray(ts.obs))
        assert timestep.observation.dtype == np.float32


def test_seed_decides_the_episodes() -> None:
    first = [make("CartPole-v1", seed=5).reset().observation for _ in range(2)]
    other = make("CartPole-v1", seed=6).reset().observation
    np.testing.assert_array_equal(first[0], first[1])
    assert not np.array_equal(first[0], other)
    env = make("CartPole-v1", seed=5)
    assert not np.array_equal(env.reset().observation, env.reset().observation)  # each reset a new key


def test_specs_from_spaces() -> None:
    env = make("CartPole-v1")
    assert env.action_spec() == specs.DiscreteArray(2, dtype=np.int32, name="action")
    obs_spec = env.observation_spec()
    assert isinstance(obs_spec, specs.BoundedArray) and obs_spec.shape == (4,) and obs_spec.dtype == np.float32
    assert np.isinf(obs_spec.maximum[1]) and obs_spec.maximum[0] == pytest.approx(4.8)
    assert env.reward_spec() == specs.Array((), np.float32, name="reward")
    assert env.discount_spec().minimum == 0.0 and env.discount_spec().maximum == 1.0


def test_composite_space_specs() -> None:
    space = spaces.Dict(
        {
            "cell": spaces.Discrete(4, start=1),
            "pair": spaces.Tuple([spaces.MultiDiscrete([2, 3]), spaces.MultiBinary(2)]),
        }
    )
    spec = space_to_spec(space)
    cell, (multi, binary) = spec["cell"], spec["pair"]
    assert isinstance(cell, specs.BoundedArray) and (cell.minimum, cell.maximum) == (1, 4)
    np.testing.assert_array_equal(multi.maximum, [1, 2])
    assert binary.dtype == np.int8 and binary.maximum == 1
    for value, space_value in ((cell.generate_value(), 1), (binary.generate_value(), np.zeros(2))):
        np.testing.assert_array_equal(value, space_value)


def test_bad_action_raises_naming_the_space() -> None:
    env = make("CartPole-v1")
    env.reset()
    with pytest.raises(ValueError, match=r"action 2 is not in Discrete\(2\)"):
        env.step(2)


def test_board_game_observations_and_last_info() -> None:
    env = make("TicTacToe-v0", seed=0)
    timestep = env.reset()
    assert timestep.observation.dtype == np.int8 and timestep.observation.shape == (3, 3, 2)
    assert env.last_info["action_mask"].all()
    timestep = env.step(np.int32(4))
    assert timestep.step_type is dm_env.StepType.MID and not env.last_info["action_mask"][4]
