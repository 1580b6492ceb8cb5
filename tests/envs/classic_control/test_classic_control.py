"""The classic-control envs on their own: registration, spaces, start states, params, options."""

from __future__ import annotations

import math

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.classic_control.acrobot import Acrobot, AcrobotState, _wrap
from gymx.envs.classic_control.cartpole import CartPole, CartPoleState
from gymx.envs.classic_control.continuous_mountain_car import ContinuousMountainCar
from gymx.envs.classic_control.mountain_car import MountainCar, MountainCarState
from gymx.envs.classic_control.pendulum import Pendulum, PendulumState

import gymx

pytestmark = pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")

IDS = ["CartPole-v0", "CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1"]
KEY_MAKERS = {"key": jax.random.key, "PRNGKey": jax.random.PRNGKey}


def _f32(x: float) -> jax.Array:
    return jnp.asarray(x, jnp.float32)


def _raw(x):
    return jax.random.key_data(x) if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key) else x


def _leaves_equal(a, b) -> bool:
    leaves_a, leaves_b = jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)
    return len(leaves_a) == len(leaves_b) and all(np.array_equal(_raw(x), _raw(y)) for x, y in zip(leaves_a, leaves_b))


@pytest.mark.parametrize("env_id", IDS)
def test_registration_matches_gymnasium(env_id: str):
    ours, theirs = gymx.spec(env_id), gymnasium.spec(env_id)
    assert (ours.max_episode_steps, ours.reward_threshold) == (theirs.max_episode_steps, theirs.reward_threshold)
    env = gymx.make(env_id)
    assert isinstance(env, gymx.wrappers.TimeLimit) and env.max_episode_steps == theirs.max_episode_steps


@pytest.mark.parametrize(
    "env_id, which",
    [(env_id, which) for env_id in IDS if env_id != "CartPole-v0" for which in ("obs", "action")],
)
def test_spaces_match_gymnasium(env_id: str, which: str):
    env, gym_env = gymx.make(env_id), gymnasium.make(env_id)
    ours = (env.observation_space() if which == "obs" else env.action_space()).to_gymnasium()
    theirs = gym_env.observation_space if which == "obs" else gym_env.action_space
    assert type(ours) is type(theirs)
    if isinstance(theirs, gymnasium.spaces.Discrete):
        # gymx's Discrete is int32 (JAX's default integer) where Gymnasium's is int64.
        assert (ours.n, ours.start) == (theirs.n, theirs.start)
    else:
        assert (ours.shape, ours.dtype) == (theirs.shape, theirs.dtype)
        np.testing.assert_array_equal(ours.low, theirs.low)
        np.testing.assert_array_equal(ours.high, theirs.high)


# Per env: each state field's start range (low, high); low == high means a constant.
START_RANGES = {
    "CartPole-v1": {"x": (-0.05, 0.05), "x_dot": (-0.05, 0.05), "theta": (-0.05, 0.05), "theta_dot": (-0.05, 0.05)},
    "Acrobot-v1": {"theta1": (-0.1, 0.1), "theta2": (-0.1, 0.1), "theta1_dot": (-0.1, 0.1), "theta2_dot": (-0.1, 0.1)},
    "MountainCar-v0": {"position": (-0.6, -0.4), "velocity": (0.0, 0.0)},
    "MountainCarContinuous-v0": {"position": (-0.6, -0.4), "velocity": (0.0, 0.0)},
    "Pendulum-v1": {"theta": (-math.pi, math.pi), "theta_dot": (-1.0, 1.0)},
}


@pytest.mark.parametrize("env_id", START_RANGES)
def test_start_states_are_uniform_in_gymnasiums_ranges(env_id: str):
    num = 4096
    env = gymx.make(env_id).unwrapped
    states = {name: jax.vmap(env.reset)(jax.random.split(make_key(7), num))[0] for name, make_key in KEY_MAKERS.items()}
    assert _leaves_equal(states["key"], states["PRNGKey"]), "the two key kinds must give the same starts"
    uniform_fields = []
    for field, (low, high) in START_RANGES[env_id].items():
        values = np.asarray(getattr(states["key"], field))
        assert values.shape == (num,) and values.dtype == np.float32, field
        if low == high:
            assert np.all(values == low), field
            continue
        span = high - low
        uniform_fields.append(values)
        # Tolerances are 5 or more standard errors of each statistic for 4096 uniform draws.
        assert low <= values.min() < low + 0.005 * span and high - 0.005 * span < values.max() <= high, field
        assert abs(values.mean() - (low + high) / 2) < 0.03 * span, field
        assert abs(values.std() - span / math.sqrt(12)) < 0.05 * span / math.sqrt(12), field
        counts, _ = np.histogram(values, bins=10, range=(low, high))
        assert np.all(np.abs(counts - num / 10) < 0.25 * num / 10), (field, counts)
    if len(uniform_fields) > 1:
        correlation = np.corrcoef(np.stack(uniform_fields)) - np.eye(len(uniform_fields))
        assert np.abs(correlation).max() < 0.1, "the start variables must be drawn independently"


# Per env: a physical param, three values of it, and an action to apply.
PARAM_SWEEPS = {
    "CartPole-v1": ("gravity", (9.8, 3.0, 20.0), 1),
    "Acrobot-v1": ("gravity", (9.8, 3.0, 20.0), 2),
    "MountainCar-v0": ("gravity", (0.0025, 0.001, 0.004), 2),
    "MountainCarContinuous-v0": ("power", (0.0015, 0.0005, 0.003), np.array([0.5], np.float32)),
    "Pendulum-v1": ("g", (10.0, 5.0, 15.0), np.array([1.0], np.float32)),
}


@pytest.mark.parametrize("env_id", PARAM_SWEEPS)
def test_params_are_traced(env_id: str):
    field, values, action = PARAM_SWEEPS[env_id]
    env = gymx.make(env_id).unwrapped
    state, _ = env.reset(jax.random.key(3))
    traces = 0

    @jax.jit
    def run(params):
        nonlocal traces
        traces += 1

        def one_step(_, carry):
            return env.step(carry, action, params)[0]

        return env.observe(jax.lax.fori_loop(0, 10, one_step, state), params)

    per_value = [env.default_params.replace(**{field: value}) for value in values]
    single = [np.asarray(run(params)) for params in per_value]
    assert traces == 1, "one compiled step must serve every param value"
    batched = jax.vmap(run)(jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *per_value))
    np.testing.assert_allclose(batched, np.stack(single), rtol=1e-6, atol=1e-7)
    for i in range(len(values)):
        for j in range(i):
            assert not np.allclose(single[i], single[j]), f"{field}={values[i]} and {values[j]} gave the same run"


@pytest.mark.parametrize(
    "env_id, kwargs, match",
    [
        ("Acrobot-v1", {"book_or_nips": "paper"}, "book_or_nips"),
        ("Acrobot-v1", {"torque_noise_max": -0.1}, "torque_noise_max"),
        ("Acrobot-v1", {"torque_noise_max": float("inf")}, "torque_noise_max"),
        ("Acrobot-v1", {"torque_noise_max": "lots"}, "torque_noise_max"),
        ("MountainCar-v0", {"goal_velocity": float("nan")}, "goal_velocity"),
        ("MountainCar-v0", {"goal_velocity": "fast"}, "goal_velocity"),
        ("MountainCarContinuous-v0", {"goal_velocity": None}, "goal_velocity"),
        ("Pendulum-v1", {"g": "earth"}, "g must be"),
        ("Pendulum-v1", {"g": float("inf")}, "g must be"),
        ("CartPole-v1", {"kinematics_integrator": "rk4"}, "kinematics_integrator"),
    ],
)
def test_bad_constructor_args_raise_value_error(env_id: str, kwargs: dict, match: str):
    with pytest.raises(ValueError, match=match):
        gymx.make(env_id, **kwargs)


def test_constructor_options_set_default_params():
    assert gymx.make("Pendulum-v1", g=9.81).default_params.g == 9.81
    assert gymx.make("MountainCar-v0", goal_velocity=0.02).default_params.goal_velocity == 0.02
    assert gymx.make("MountainCarContinuous-v0", goal_velocity=0.02).default_params.goal_velocity == 0.02


@pytest.mark.parametrize("env_id", IDS[1:])
@pytest.mark.parametrize("key_kind", KEY_MAKERS)
def test_batched_rollout(env_id: str, key_kind: str):
    """Jitted, vmapped and scanned with either key kind: obs stay in the observation space, dtypes
    are float32, and info keys are the same on reset and step."""
    vec = gymx.make_vec(env_id, 8)
    space = vec.single_observation_space()

    def policy(key, obs):
        return vec.action_space().sample(key)

    run = gymx.rollout(vec, policy, KEY_MAKERS[key_kind](0), 60)
    obs = np.asarray(run.timesteps.obs)
    assert obs.dtype == np.float32 and run.timesteps.reward.dtype == jnp.float32
    assert np.all(obs >= space.low) and np.all(obs <= space.high)
    assert jax.tree_util.tree_structure(run.first.info) == jax.tree_util.tree_structure(
        jax.tree_util.tree_map(lambda x: x[0], run.timesteps.info)
    )


# Per env: a state past its goal or failure line.
TERMINAL_STATES = {
    "CartPole-v1": CartPoleState(x=_f32(2.5), x_dot=_f32(0.1), theta=_f32(0.0), theta_dot=_f32(0.0)),
    "Acrobot-v1": AcrobotState(
        theta1=_f32(math.pi - 0.1), theta2=_f32(0.2), theta1_dot=_f32(1.0), theta2_dot=_f32(-1.0), key=None
    ),
    "MountainCar-v0": MountainCarState(position=_f32(0.55), velocity=_f32(0.01)),
    "MountainCarContinuous-v0": MountainCarState(position=_f32(0.5), velocity=_f32(0.01)),
}


@pytest.mark.parametrize("env_id", TERMINAL_STATES)
def test_terminal_states_absorb(env_id: str):
    env = gymx.make(env_id).unwrapped
    state = TERMINAL_STATES[env_id]
    action = env.action_space().sample(jax.random.key(0))
    next_state, ts = env.step(state, action)
    assert _leaves_equal(next_state, state)
    assert bool(ts.terminated) and float(ts.reward) == 0.0
    assert all(float(v) == 0.0 for v in ts.info.values())


def test_continuous_mountain_car_reward_terms():
    env = ContinuousMountainCar()
    _, reset_ts = env.reset(jax.random.key(0))
    state = MountainCarState(position=jnp.float32(0.44), velocity=jnp.float32(0.07))
    # Past the throttle's clip, traced (an eager step refuses it): the dynamics see 1, the cost sees 2.
    with pytest.raises(ValueError, match=r"out of bounds"):
        env.step(state, jnp.array([2.0]))
    _, ts = jax.jit(env.step)(state, jnp.array([2.0]))
    assert bool(ts.terminated)
    assert set(ts.info) == set(reset_ts.info) == {"reward_goal", "reward_ctrl"}
    np.testing.assert_allclose([ts.info["reward_goal"], ts.info["reward_ctrl"]], [100.0, -0.4], rtol=1e-6)
    np.testing.assert_allclose(ts.reward, 99.6, rtol=1e-6)


def test_pendulum_reward_terms_and_no_termination():
    env = Pendulum()
    _, reset_ts = env.reset(jax.random.key(0))
    state = PendulumState(theta=jnp.float32(7.0), theta_dot=jnp.float32(-3.0))
    # A torque past the bound, traced (an eager step refuses it): the dynamics and the cost see it clipped to 2.
    next_state, ts = jax.jit(env.step)(state, jnp.array([5.0]))
    assert set(ts.info) == set(reset_ts.info) == {"reward_angle", "reward_velocity", "reward_ctrl"}
    expected = {"reward_angle": -((7.0 - 2 * math.pi) ** 2), "reward_velocity": -0.9, "reward_ctrl": -0.004}
    for name, value in expected.items():
        np.testing.assert_allclose(ts.info[name], value, rtol=1e-5, err_msg=name)
    np.testing.assert_allclose(ts.reward, sum(expected.values()), rtol=1e-5)
    assert -math.pi <= float(next_state.theta) < math.pi
    assert not bool(ts.terminated)


def test_acrobot_has_no_key_without_noise():
    state, _ = Acrobot().reset(jax.random.key(0))
    assert state.key is None
    assert jax.tree_util.tree_leaves(state) == [state.theta1, state.theta2, state.theta1_dot, state.theta2_dot]


@pytest.mark.parametrize("key_kind", KEY_MAKERS)
def test_acrobot_torque_noise(key_kind: str):
    noisy, quiet = Acrobot(torque_noise_max=0.5), Acrobot()
    key = KEY_MAKERS[key_kind](1)
    noisy_state, _ = noisy.reset(key)
    quiet_state, _ = quiet.reset(key)
    step = jax.jit(noisy.step)
    state_a, ts_a = step(noisy_state, 1)
    state_b, _ts_b = step(noisy_state, 1)
    assert _leaves_equal(state_a, state_b), "noise must come from the state's key alone"
    assert not np.array_equal(jax.random.key_data(state_a.key), jax.random.key_data(noisy_state.key))
    assert _leaves_equal(quiet_state, noisy_state.replace(key=None)), "a key gives the same start with or without noise"
    _, quiet_ts = quiet.step(quiet_state, 1)
    assert not np.allclose(ts_a.obs, quiet_ts.obs), "with noise, zero torque must not be exactly zero"
    vec = gymx.VecEnv(noisy, 4)
    vec_state, _ = vec.reset(key)
    vec_state, vec_ts = jax.jit(vec.step)(vec_state, jnp.ones(4, jnp.int32))
    assert vec_ts.obs.shape == (4, 6) and len(np.unique(np.asarray(vec_ts.obs[:, 4]))) == 4


def test_acrobot_nips_dynamics_differ_from_book():
    state = AcrobotState(theta1=_f32(0.5), theta2=_f32(0.3), theta1_dot=_f32(2.0), theta2_dot=_f32(0.0), key=None)
    book = Acrobot().step(state, 2)[1].obs
    nips = Acrobot(book_or_nips="nips").step(state, 2)[1].obs
    assert not np.allclose(book, nips)


def test_acrobot_wrap_keeps_bounds_and_moves_by_whole_turns():
    x = jnp.array([-math.pi, math.pi, 0.5, math.pi + 0.25, -math.pi - 0.25, 5 * math.pi + 0.5], jnp.float32)
    expected = np.array([-math.pi, math.pi, 0.5, -math.pi + 0.25, math.pi - 0.25, -math.pi + 0.5], np.float32)
    np.testing.assert_allclose(_wrap(x, -jnp.pi, jnp.pi), expected, atol=1e-6)


def test_classes_are_the_registered_entry_points():
    for env_id, cls in [
        ("CartPole-v1", CartPole),
        ("Acrobot-v1", Acrobot),
        ("MountainCar-v0", MountainCar),
        ("MountainCarContinuous-v0", ContinuousMountainCar),
        ("Pendulum-v1", Pendulum),
    ]:
        assert type(gymx.make(env_id).unwrapped) is cls
