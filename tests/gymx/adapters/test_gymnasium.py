"""The Gymnasium adapters: API conformance for every id, registration and time limits, vector
autoreset modes, action validation, fresh output arrays, seeding."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from gymnasium.vector import AutoresetMode

import gymx
from gymx import spaces
from gymx.adapters.gymnasium import (
    GymnasiumEnv,
    GymnasiumVectorEnv,
    gymnasium_id,
    make_vec_env,
    register_gymnasium_envs,
)

IDS = sorted(gymx.registry)
CARTPOLE = "gymx/CartPole-v1"
# check_env's advice for non-normalised Box actions (Pendulum's [-2, 2] torque, as in Gymnasium).
# Warnings that Gymnasium's own envs of the same ids raise too: MountainCarContinuous's action
# space is not [-1, 1], CartPole's velocity bounds are infinite.
ALLOWED_WARNINGS = (
    "For Box action spaces, we recommend using a symmetric and normalized space",
    "A Box observation space minimum value is -infinity",
    "A Box observation space maximum value is infinity",
)
BALANCE_GAINS = np.array([0.1, 0.5, 10.0, 2.0])  # a linear controller that keeps CartPole up for 500 steps


def balance(obs: np.ndarray) -> np.ndarray:
    return (obs @ BALANCE_GAINS > 0).astype(np.int32)


@gymx.struct.dataclass
class ToyState:
    pos: jax.Array  # float32 (2,)
    t: jax.Array  # int32 (), steps taken


class ToyEnv(gymx.Env):
    """Every space kind at once (Dict observations, Tuple actions) and an info key; ends after 4 steps."""

    def observation_space(self, params: object = None) -> spaces.Dict:
        return spaces.Dict({"pos": spaces.Box(-10.0, 10.0, (2,)), "flags": spaces.MultiBinary(3)})

    def action_space(self, params: object = None) -> spaces.Tuple:
        return spaces.Tuple([spaces.Discrete(3), spaces.MultiDiscrete([2, 3]), spaces.Box(-1.0, 1.0, (2,))])

    def reset_env(self, key: jax.Array, params: object) -> ToyState:
        return ToyState(jax.random.uniform(key, (2,), jnp.float32, -1.0, 1.0), jnp.zeros((), jnp.int32))

    def step_env(self, state: ToyState, action: tuple, params: object) -> tuple[ToyState, jax.Array, dict]:
        choice, multi, push = action
        next_state = ToyState(state.pos + 0.1 * push + 0.01 * choice, state.t + 1)
        return next_state, jnp.sum(multi).astype(jnp.float32), {"hits": jnp.sum(multi).astype(jnp.int32)}

    def observe(self, state: ToyState, params: object) -> dict:
        return {"pos": state.pos, "flags": (jnp.arange(3) < state.t).astype(jnp.int8)}

    def is_terminal(self, state: ToyState, params: object) -> jax.Array:
        return state.t >= 4

    def reset_info(self, state: ToyState, params: object) -> dict:
        return {"hits": jnp.zeros((), jnp.int32)}


@pytest.fixture(scope="module")
def cartpole() -> Iterator[gymnasium.Env]:
    env = gymnasium.make(CARTPOLE)
    yield env
    env.close()


@pytest.fixture(scope="module")
def pendulum() -> Iterator[gymnasium.Env]:
    env = gymnasium.make("gymx/Pendulum-v1")
    yield env
    env.close()


def vec(autoreset_mode: AutoresetMode, num_envs: int = 2, max_episode_steps: int | None = 3) -> GymnasiumVectorEnv:
    return make_vec_env("CartPole-v1", num_envs, max_episode_steps=max_episode_steps, autoreset_mode=autoreset_mode)


@pytest.mark.filterwarnings("ignore:.*is out of date")
@pytest.mark.parametrize("env_id", IDS)
def test_check_env_passes_for_every_id(env_id: str) -> None:
    env = gymnasium.make(gymnasium_id(env_id)).unwrapped
    assert isinstance(env, GymnasiumEnv)
    assert (
        env.metadata["render_modes"] == list(gymx.make(env_id).metadata["render_modes"]) and "jax" not in env.metadata
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        check_env(env, skip_render_check=False)
    assert [str(w.message) for w in caught if not any(allowed in str(w.message) for allowed in ALLOWED_WARNINGS)] == []


def test_check_env_passes_for_composite_spaces() -> None:
    env = GymnasiumEnv(ToyEnv())
    assert isinstance(env.observation_space, gymnasium.spaces.Dict)
    assert isinstance(env.action_space, gymnasium.spaces.Tuple)
    check_env(env, skip_render_check=True)
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"is not in Tuple\(.*element 1: expected shape"):
        env.step((0, np.array([1]), np.zeros(2, np.float32)))


def test_vector_composite_spaces_and_info_masks() -> None:
    venv = GymnasiumVectorEnv(gymx.VecEnv(ToyEnv(), 2, gymx.AutoresetMode.SAME_STEP))
    venv.action_space.seed(0)
    obs, info = venv.reset(seed=0)
    assert obs["pos"].shape == (2, 2) and obs["flags"].dtype == np.int8
    assert set(info) == {"hits", "_hits"}
    for t in range(1, 5):
        obs, _reward, terminated, _truncated, info = venv.step(venv.action_space.sample())
        assert obs in venv.observation_space and terminated.all() == (t == 4)
    np.testing.assert_array_equal(info["_hits"], [True, True])
    np.testing.assert_array_equal(info["final_info"]["_hits"], [True, True])
    np.testing.assert_array_equal(info["final_obs"]["flags"], np.ones((2, 3)))
    np.testing.assert_array_equal(obs["flags"], np.zeros((2, 3)))  # already restarted
    bad = (np.array([0, 3]), np.zeros((2, 2), np.int32), np.zeros((2, 2), np.float32))
    with pytest.raises(ValueError, match=r"(?s)batch of actions .* is not in Tuple\(.*element 0: out of bounds"):
        venv.step(bad)


def test_registration_copies_the_gymx_spec() -> None:
    for env_id in IDS:
        gymx_spec, spec = gymx.registry[env_id], gymnasium.spec(gymnasium_id(env_id))
        assert (spec.max_episode_steps, spec.reward_threshold, spec.nondeterministic) == (
            gymx_spec.max_episode_steps,
            gymx_spec.reward_threshold,
            gymx_spec.nondeterministic,
        )
        assert spec.vector_entry_point is not None
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        register_gymnasium_envs()  # idempotent: no "Overriding environment" warning


def test_make_truncates_once_at_500(cartpole: gymnasium.Env) -> None:
    assert not isinstance(cartpole.unwrapped.gymx_env, gymx.wrappers.TimeLimit)  # Gymnasium's limit only
    obs, _ = cartpole.reset(seed=0)
    for t in range(1, 501):
        obs, _reward, terminated, truncated, _ = cartpole.step(int(balance(obs)))
        assert not terminated and truncated == (t == 500)


def test_make_max_episode_steps_override() -> None:
    env = gymnasium.make(CARTPOLE, max_episode_steps=3)
    env.reset(seed=0)
    assert [env.step(0)[3] for _ in range(3)] == [False, False, True]


def test_adapter_over_a_gymx_time_limit() -> None:
    env = GymnasiumEnv(gymx.make("CartPole-v1", max_episode_steps=3))
    env.reset(seed=0)
    assert [env.step(0)[3] for _ in range(3)] == [False, False, True]


def test_second_make_shares_the_compiled_env(cartpole: gymnasium.Env) -> None:
    assert gymnasium.make(CARTPOLE).unwrapped.gymx_env is cartpole.unwrapped.gymx_env


def test_render_modes_are_declared_honestly(cartpole: gymnasium.Env) -> None:
    cartpole.reset(seed=0)
    with pytest.warns(UserWarning, match="without specifying any render mode"):
        assert cartpole.render() is None
    with pytest.raises(ValueError, match="render_mode='human' is not supported"):
        GymnasiumEnv(gymx.make("CartPole-v1"), render_mode="human")
    rendering = gymnasium.make(gymnasium_id("CartPole-v1"), render_mode="rgb_array")
    rendering.reset(seed=0)
    frame = rendering.render()
    assert frame.shape == (400, 600, 3) and frame.dtype == np.uint8 and frame.flags.writeable


def test_step_returns_python_scalars_and_fresh_arrays(cartpole: gymnasium.Env) -> None:
    obs0, _ = cartpole.reset(seed=0)
    obs1, reward, terminated, truncated, info = cartpole.step(1)
    obs2, *_ = cartpole.step(1)
    assert type(reward) is float and type(terminated) is bool and type(truncated) is bool and info == {}
    assert obs1.dtype == np.float32 and obs1.flags.writeable
    assert not np.shares_memory(obs0, obs1) and not np.shares_memory(obs1, obs2)
    before = obs2.copy()
    obs1[:] = 99.0  # the caller owns its arrays
    np.testing.assert_array_equal(obs2, before)


def test_step_before_reset_raises() -> None:
    with pytest.raises(gymnasium.error.ResetNeeded):
        GymnasiumEnv(gymx.make("CartPole-v1")).step(0)


def test_reset_rejects_unknown_options(cartpole: gymnasium.Env) -> None:
    with pytest.raises(ValueError, match="no reset options"):
        cartpole.reset(options={"low": -0.1})


def test_close_releases_the_state_and_may_be_called_twice() -> None:
    env, venv = gymnasium.make(CARTPOLE), vec(AutoresetMode.NEXT_STEP)
    for closable, action in ((env, 0), (venv, np.zeros(venv.num_envs, np.int64))):
        first, _ = closable.reset(seed=0)
        closable.close()
        closable.close()
        with pytest.raises(gymnasium.error.ResetNeeded, match=r"step\(\) before reset\(\)"):
            closable.step(action)
        again, _ = closable.reset(seed=0)  # a closed env starts over from a reset, as a new one would
        np.testing.assert_array_equal(again, first)


@pytest.mark.parametrize(
    "action, reason",
    [
        (2, "out of bounds"),
        (np.array([0, 1]), "expected shape"),
        (1.0, "integer dtype"),
        (np.float32(0), "integer dtype"),
    ],
)
def test_bad_discrete_action_raises(cartpole: gymnasium.Env, action: object, reason: str) -> None:
    cartpole.reset(seed=0)
    with pytest.raises(ValueError, match=rf"action .* is not in {re.escape(str(cartpole.action_space))}: .*{reason}"):
        cartpole.step(action)
    cartpole.step(1)  # the env is still usable


@pytest.mark.parametrize(
    "action, reason",
    [([np.nan], "NaN"), ([2.5], "out of bounds"), (np.zeros(2), "expected shape"), (np.array(["a"]), "dtype")],
)
def test_bad_box_action_raises(pendulum: gymnasium.Env, action: object, reason: str) -> None:
    pendulum.reset(seed=0)
    with pytest.raises(ValueError, match=rf"is not in {re.escape(str(pendulum.action_space))}: .*{reason}"):
        pendulum.step(action)
    pendulum.step(np.array([0.5]))  # float64 casts to the float32 space


@pytest.mark.parametrize(
    "actions, reason",
    [
        (np.array([0, 2]), "out of bounds"),
        (np.array([0, 1, 1]), "expected shape"),
        (np.array([0.0, 1.0]), "integer dtype"),
    ],
)
def test_bad_batched_actions_raise(actions: np.ndarray, reason: str) -> None:
    venv = vec(AutoresetMode.NEXT_STEP)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=rf"actions .* is not in {re.escape(str(venv.action_space))}: .*{reason}"):
        venv.step(actions)


def test_nan_batched_box_actions_raise() -> None:
    venv = gymnasium.make_vec("gymx/Pendulum-v1", num_envs=2)
    venv.reset(seed=0)
    with pytest.raises(ValueError, match=rf"is not in {re.escape(str(venv.action_space))}: contains NaN"):
        venv.step(np.array([[0.0], [np.nan]], np.float32))


def test_seeding_is_deterministic(cartpole: gymnasium.Env) -> None:
    def trajectory(seed: int | None) -> np.ndarray:
        obs, _ = cartpole.reset(seed=seed)
        return np.stack([obs] + [cartpole.step(a)[0] for a in (0, 1, 1, 0)])

    first = trajectory(123)
    np.testing.assert_array_equal(first, trajectory(123))
    assert not np.array_equal(first, trajectory(124))
    cartpole.reset(seed=123)
    continued = trajectory(None)  # seed=None continues the stream: a new episode, the same each time
    cartpole.reset(seed=123)
    np.testing.assert_array_equal(continued, trajectory(None))
    assert not np.array_equal(continued, first)
    other = gymnasium.make(CARTPOLE)
    np.testing.assert_array_equal(other.reset(seed=123)[0], first[0])


def test_make_vec_next_step_truncates_at_500_then_resets() -> None:
    venv = gymnasium.make_vec(CARTPOLE, num_envs=2)
    assert isinstance(venv, GymnasiumVectorEnv)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    limit = venv.unwrapped.gymx_vec_env.env
    assert isinstance(limit, gymx.wrappers.TimeLimit) and limit.max_episode_steps == 500  # gymx's limit only
    obs, _ = venv.reset(seed=0)
    for t in range(1, 501):
        obs, reward, terminated, truncated, info = venv.step(balance(obs))
        assert not terminated.any() and truncated.all() == (t == 500)
    np.testing.assert_array_equal(info["episode_length"], [500, 500])
    np.testing.assert_array_equal(info["_episode_length"], [True, True])
    obs, reward, terminated, truncated, info = venv.step(np.zeros(2, np.int32))  # action ignored: reset
    assert np.all(np.abs(obs) <= 0.05) and obs.dtype == np.float32
    np.testing.assert_array_equal(reward, [0.0, 0.0])
    assert not terminated.any() and not truncated.any()
    np.testing.assert_array_equal(info["episode_length"], [0, 0])
    assert "final_obs" not in info


def test_same_step_final_obs_with_mask() -> None:
    venv = vec(AutoresetMode.SAME_STEP)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    venv.reset(seed=0)
    venv.step(np.ones(2, np.int32))
    venv.reset(options={"reset_mask": np.array([True, False])})  # env 0 restarts, env 1 is one step ahead
    obs, *_, info = venv.step(np.ones(2, np.int32))
    assert "final_obs" not in info
    obs, _reward, _terminated, truncated, info = venv.step(np.ones(2, np.int32))
    np.testing.assert_array_equal(truncated, [False, True])
    np.testing.assert_array_equal(info["_final_obs"], [False, True])
    np.testing.assert_array_equal(info["_final_info"], [False, True])
    assert info["final_obs"].shape == (2, 4) and np.all(np.abs(obs[1]) <= 0.05)  # env 1 already restarted
    assert np.any(np.abs(info["final_obs"][1]) > 0.05)
    np.testing.assert_array_equal(info["episode_length"], [2, 3])


def test_disabled_reset_mask() -> None:
    venv = vec(AutoresetMode.DISABLED)
    assert venv.metadata["autoreset_mode"] == AutoresetMode.DISABLED
    venv.reset(seed=0)
    for _ in range(3):
        obs, _reward, _terminated, truncated, _info = venv.step(np.zeros(2, np.int32))
    assert truncated.all()
    obs, _ = venv.reset(options={"reset_mask": np.array([False, True])})
    assert np.all(np.abs(obs[1]) <= 0.05)
    _, _, _, truncated, _ = venv.step(np.zeros(2, np.int32))
    np.testing.assert_array_equal(truncated, [True, False])  # env 0 was left finished
    with pytest.raises(ValueError, match="reset_mask"):
        venv.reset(options={"reset_mask": np.array([1, 0])})


def test_vector_outputs_are_fresh_arrays() -> None:
    venv = vec(AutoresetMode.NEXT_STEP)
    obs0, _ = venv.reset(seed=0)
    obs1, reward1, *_, info1 = venv.step(np.ones(2, np.int32))
    obs2, reward2, *_, info2 = venv.step(np.ones(2, np.int32))
    for a, b in ((obs0, obs1), (obs1, obs2), (reward1, reward2), (info1["episode_return"], info2["episode_return"])):
        assert not np.shares_memory(a, b) and b.flags.writeable


def test_vector_seeding() -> None:
    venv, wider = vec(AutoresetMode.NEXT_STEP), vec(AutoresetMode.NEXT_STEP, num_envs=3)
    first, _ = venv.reset(seed=7)
    np.testing.assert_array_equal(venv.reset(seed=7)[0], first)
    assert not np.array_equal(venv.reset(seed=8)[0], first)
    np.testing.assert_array_equal(wider.reset(seed=7)[0][:2], first)  # env i depends on (seed, i) only
    listed, _ = venv.reset(seed=[1, 2])
    np.testing.assert_array_equal(venv.reset(seed=[1, 3])[0][0], listed[0])
    continued, _ = venv.reset(seed=[None, 2])  # env 0 continues its stream, env 1 restarts from seed 2
    np.testing.assert_array_equal(continued[1], listed[1])
    assert not np.array_equal(continued[0], listed[0])
    one = vec(AutoresetMode.NEXT_STEP, num_envs=1)
    np.testing.assert_array_equal(one.reset(seed=[1])[0], one.reset(seed=1)[0])
    np.testing.assert_array_equal(one.reset(seed=1)[0][0], listed[0])


def test_vector_seeded_partial_reset() -> None:
    venv = vec(AutoresetMode.NEXT_STEP)
    first, _ = venv.reset(seed=7)
    stepped, *_ = venv.step(np.ones(2, np.int32))
    obs, info = venv.reset(seed=7, options={"reset_mask": np.array([False, True])})
    np.testing.assert_array_equal(obs, [stepped[0], first[1]])
    assert info == {}


def test_vector_env_renders_every_env() -> None:
    envs = gymnasium.make_vec(gymnasium_id("CartPole-v1"), num_envs=3, render_mode="rgb_array")
    assert envs.metadata["render_modes"] == ["rgb_array"] and envs.metadata["render_fps"] == 50
    envs.reset(seed=0)
    frames = envs.render()
    assert len(frames) == 3 and all(f.shape == (400, 600, 3) and f.dtype == np.uint8 for f in frames)
    with pytest.raises(ValueError, match="render_mode='ansi' is not supported"):
        gymnasium.make_vec(gymnasium_id("CartPole-v1"), num_envs=2, render_mode="ansi")


def test_params_can_change_between_episodes() -> None:
    env = GymnasiumEnv(gymx.make("CartPole-v1", max_episode_steps=-1))
    env.reset(seed=0)
    light, *_ = env.step(1)
    env.reset(seed=0)
    env.params = env.params.replace(masspole=0.5)
    heavy, *_ = env.step(1)
    assert not np.allclose(light, heavy)
    with pytest.raises(ValueError, match="structure and leaf shapes"):
        env.params = env.params.replace(masspole=np.ones(3))
