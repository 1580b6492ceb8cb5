"""Step-by-step parity of the classic-control envs with Gymnasium's.

- Runs: `gymnasium.make(id).unwrapped` and the gymx env are driven with identical random
  actions for 1000 steps; Gymnasium's state is copied into gymx at every reset, and obs, reward
  and terminated are compared on every step. One episode in three starts from Gymnasium's own
  start distribution, the others from a wider one (`wide_start`), so that termination and
  walls are reached.
- Single steps from states drawn over the whole state box (`box_start`), to reach every branch.
- Time limits: `gymx.make(id)` against `gymnasium.make(id)`, wrappers included.

Gymnasium integrates in float64 and gymx in float32, hence the float32-level tolerances.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.classic_control.acrobot import AcrobotState
from gymx.envs.classic_control.cartpole import CartPoleState
from gymx.envs.classic_control.mountain_car import MountainCarState
from gymx.envs.classic_control.pendulum import PendulumState

import gymx

pytestmark = pytest.mark.filterwarnings("ignore:.*CartPole-v0 is out of date")

PARITY_STEPS = 1000
# Parity runs cut episodes here (the registered limit is tested on its own below), so that
# every run goes through several resets and both kinds of start.
PARITY_EPISODE_STEPS = 250
RTOL = 1e-5
ATOL = 1e-5
# Free-running float32 drifts from Gymnasium's float64 at a rate set by each system's
# stability. Measured with these runs' actions and starts (worst error over all steps, relative
# to max(1, |value|), after k steps without resynchronisation):
# - CartPole: 4e-7 (its episodes end within tens of steps under random actions).
# - MountainCar: 2e-6 after 200 steps. MountainCarContinuous: 2e-6 after 250 steps (1e-5
#   after 999, which these runs do not reach).
# - Pendulum: near the top it is an inverted pendulum, whose errors grow ~1.2x per step:
#   4e-6 (k=10), 3e-5 (20), 8e-5 (25), 1e-4 (100), 4e-3 (200). It is resynchronised from
#   Gymnasium's state every 10 steps.
# - Acrobot is chaotic: 8e-6 (k=10), 4e-5 (20), 3e-4 (40), 8e-4 (50), O(1) by ~100. It is
#   resynchronised every 10 steps and compared with atol 1e-4 (its velocities reach 28, where
#   one float32 ulp is 2e-6).
# Resynchronising copies Gymnasium's state into gymx before a step, as at a reset. A wrong
# term in a step shows at the first step after it, so this loses no power to find bugs.
ACROBOT_RESYNC_EVERY = 10
ACROBOT_ATOL = 1e-4
PENDULUM_RESYNC_EVERY = 10


def _f32(x: Any) -> jax.Array:
    return jnp.asarray(x, jnp.float32)


def _cartpole_state(s: np.ndarray) -> CartPoleState:
    return CartPoleState(x=_f32(s[0]), x_dot=_f32(s[1]), theta=_f32(s[2]), theta_dot=_f32(s[3]))


def _acrobot_state(s: np.ndarray) -> AcrobotState:
    return AcrobotState(theta1=_f32(s[0]), theta2=_f32(s[1]), theta1_dot=_f32(s[2]), theta2_dot=_f32(s[3]), key=None)


def _mountain_car_state(s: Any) -> MountainCarState:
    return MountainCarState(position=_f32(s[0]), velocity=_f32(s[1]))


def _continuous_mountain_car_state(s: np.ndarray) -> MountainCarState:
    return MountainCarState(position=_f32(s[0]), velocity=_f32(s[1]))


def _pendulum_state(s: np.ndarray) -> PendulumState:
    # Gymnasium's angle grows as the pendulum spins; wrapped before the cast, as gymx keeps it,
    # it loses no float32 resolution.
    return PendulumState(theta=_f32(np.mod(s[0] + np.pi, 2 * np.pi) - np.pi), theta_dot=_f32(s[1]))


def _discrete(n: int) -> Callable[[np.random.Generator], np.int32]:
    return lambda rng: np.int32(rng.integers(n))


def _box(high: float) -> Callable[[np.random.Generator], np.ndarray]:
    # 1.5x the action box, so that both envs' clipping is exercised too.
    return lambda rng: rng.uniform(-1.5 * high, 1.5 * high, (1,)).astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Case:
    env_id: str
    to_state: Callable[[Any], Any]  # Gymnasium's numpy state -> the gymx state dataclass
    wide_start: Callable[[np.random.Generator], np.ndarray]  # a Gymnasium state beyond its reset range
    box_start: Callable[[np.random.Generator], np.ndarray]  # anywhere in the state box, not terminal
    sample_action: Callable[[np.random.Generator], Any]
    terminates: bool = True  # whether random play must reach a terminal state
    kwargs: tuple = ()  # constructor kwargs, given to both gymx.make and gymnasium.make
    gymnasium_attrs: tuple = ()  # (name, value) set on Gymnasium's unwrapped env
    resync_every: int | None = None
    atol: float = ATOL
    landmarks: tuple = ()  # (name, predicate on Gymnasium's obs): branches (clips, walls) to reach

    @property
    def name(self) -> str:
        extra = dict(self.kwargs) | dict(self.gymnasium_attrs)
        return self.env_id + "".join(f"-{k}={v}" for k, v in extra.items())


def _wide_acrobot(rng: np.random.Generator) -> np.ndarray:
    """Lively swings, so that random play reaches the goal."""
    return _not_at_acrobot_goal(rng, [2.0, 2.0, 4.0, 4.0])


def _not_at_acrobot_goal(rng: np.random.Generator, high: list[float]) -> np.ndarray:
    """A state uniform in [-high, high] that is not at the goal already (gymx treats one that is
    as absorbing, while Gymnasium steps on from it)."""
    while True:
        state = rng.uniform(-1, 1, 4) * high
        if -np.cos(state[0]) - np.cos(state[0] + state[1]) <= 1.0:
            return state


def _at_speed_limit(index: int, limit: float) -> Callable[[np.ndarray], bool]:
    return lambda obs: abs(obs[index]) == np.float32(limit)


def _at_left_wall(obs: np.ndarray) -> bool:
    return obs[0] == np.float32(-1.2)


def _wide_mountain_car(goal: float) -> Callable[[np.random.Generator], np.ndarray]:
    """Either rolling towards the left wall or towards the goal, so that both are reached."""

    def draw(rng: np.random.Generator) -> np.ndarray:
        if rng.integers(2):
            return np.array([rng.uniform(-1.2, -0.9), rng.uniform(-0.07, 0.0)])
        return np.array([rng.uniform(0.2, goal), rng.uniform(0.0, 0.07)])

    return draw


def _cartpole_box(rng: np.random.Generator) -> np.ndarray:
    return rng.uniform(-1, 1, 4) * [2.4, 3.0, 0.2094, 3.0]


def _mountain_car_box(goal: float) -> Callable[[np.random.Generator], np.ndarray]:
    return lambda rng: np.array([rng.uniform(-1.2, goal), rng.uniform(-0.07, 0.07)])


def _pendulum_wide(rng: np.random.Generator) -> np.ndarray:
    # Several turns either way, to exercise the angle's wrapping.
    return np.array([rng.uniform(-3 * np.pi, 3 * np.pi), rng.uniform(-8, 8)])


CASES = [
    Case("CartPole-v0", _cartpole_state, lambda rng: rng.uniform(-0.2, 0.2, 4), _cartpole_box, _discrete(2)),
    Case("CartPole-v1", _cartpole_state, lambda rng: rng.uniform(-0.2, 0.2, 4), _cartpole_box, _discrete(2)),
    Case(
        "Acrobot-v1",
        _acrobot_state,
        _wide_acrobot,
        lambda rng: _not_at_acrobot_goal(rng, [np.pi, np.pi, 4 * np.pi, 9 * np.pi]),
        _discrete(3),
        resync_every=ACROBOT_RESYNC_EVERY,
        atol=ACROBOT_ATOL,
        landmarks=(
            ("theta1_dot clipped", _at_speed_limit(4, 4 * np.pi)),
            ("theta2_dot clipped", _at_speed_limit(5, 9 * np.pi)),
        ),
    ),
    Case(
        "MountainCar-v0",
        _mountain_car_state,
        _wide_mountain_car(0.5),
        _mountain_car_box(0.5),
        _discrete(3),
        landmarks=(("left wall", _at_left_wall),),
    ),
    Case(
        "MountainCarContinuous-v0",
        _continuous_mountain_car_state,
        _wide_mountain_car(0.45),
        _mountain_car_box(0.45),
        _box(1.0),
        landmarks=(("left wall", _at_left_wall),),
    ),
    Case(
        "Pendulum-v1",
        _pendulum_state,
        _pendulum_wide,
        _pendulum_wide,
        _box(2.0),
        terminates=False,
        resync_every=PENDULUM_RESYNC_EVERY,
        landmarks=(("theta_dot clipped", _at_speed_limit(2, 8.0)),),
    ),
]

# Constructor options and attributes, checked over shorter runs.
OPTION_CASES = [
    dataclasses.replace(CASES[2], gymnasium_attrs=(("book_or_nips", "nips"),)),
    dataclasses.replace(CASES[3], kwargs=(("goal_velocity", 0.01),)),
    dataclasses.replace(CASES[4], kwargs=(("goal_velocity", 0.01),)),
    dataclasses.replace(CASES[5], kwargs=(("g", 9.81),)),
]

_JITTED_STEPS: dict[tuple, Callable] = {}
_TRACES: dict[tuple, int] = {}


def _gymx_env(case: Case, unwrapped: bool) -> gymx.Env:
    gymx_kwargs = dict(case.kwargs) | dict(case.gymnasium_attrs)
    env = gymx.make(case.env_id, **gymx_kwargs)
    return env.unwrapped if unwrapped else env


def _jitted_step(case: Case, unwrapped: bool) -> Callable:
    """The env's step, compiled once per case for the whole module; `_TRACES` counts its traces."""
    cache_key = (case.name, unwrapped)
    if cache_key not in _JITTED_STEPS:
        env = _gymx_env(case, unwrapped)
        _TRACES[cache_key] = 0

        def step(state: Any, action: Any) -> Any:
            _TRACES[cache_key] += 1
            return env.step(state, action)

        _JITTED_STEPS[cache_key] = jax.jit(step)
    return _JITTED_STEPS[cache_key]


def _stacked_states(case: Case, numpy_states: list) -> Any:
    return jax.tree_util.tree_map(lambda *leaves: jnp.stack(leaves), *[case.to_state(s) for s in numpy_states])


def _gymnasium_env(case: Case) -> gymnasium.Env:
    env = gymnasium.make(case.env_id, **dict(case.kwargs))
    for attr, value in case.gymnasium_attrs:
        setattr(env.unwrapped, attr, value)
    return env


def _run_parity(case: Case, num_steps: int) -> int:
    """Runs both envs for `num_steps` steps, asserting parity; returns how many steps terminated."""
    gym_env = _gymnasium_env(case).unwrapped
    env = _gymx_env(case, unwrapped=True)
    params = env.default_params
    step = _jitted_step(case, unwrapped=True)
    limit = min(gymnasium.spec(case.env_id).max_episode_steps, PARITY_EPISODE_STEPS)
    rng = np.random.default_rng(0)
    episode, episode_steps, terminations, state = -1, limit, 0, None
    for t in range(num_steps):
        if episode_steps == limit:
            episode, episode_steps = episode + 1, 0
            gym_obs, _ = gym_env.reset(seed=episode)
            wide = episode % 3 != 0
            if wide:
                gym_env.state = case.wide_start(rng)
            state = case.to_state(gym_env.state)
            if not wide:
                np.testing.assert_allclose(env.observe(state, params), gym_obs, rtol=RTOL, atol=case.atol)
        elif case.resync_every and episode_steps % case.resync_every == 0:
            state = case.to_state(gym_env.state)
        action = case.sample_action(rng)
        gym_obs, gym_reward, gym_terminated, _, _ = gym_env.step(action)
        state, ts = step(state, action)
        where = f"{case.name}: step {t}, episode {episode}, step {episode_steps} of it"
        np.testing.assert_allclose(ts.obs, gym_obs, rtol=RTOL, atol=case.atol, err_msg=where)
        np.testing.assert_allclose(ts.reward, gym_reward, rtol=RTOL, atol=case.atol, err_msg=where)
        assert bool(ts.terminated) == gym_terminated, where
        assert ts.obs.dtype == jnp.float32 and ts.reward.dtype == jnp.float32
        episode_steps += 1
        if gym_terminated:
            terminations += 1
            episode_steps = limit
    return terminations


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_step_parity(case: Case):
    terminations = _run_parity(case, PARITY_STEPS)
    if case.terminates:
        assert terminations > 0, f"{case.name}: no episode terminated, so termination went untested"
    assert _TRACES[(case.name, True)] == 1, "the step retraced: a state leaf changed dtype or weak type"


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_one_step_parity_over_the_state_box(case: Case):
    """One step from each of many states drawn over the whole state box, gymx's steps vmapped.

    Long runs only visit what random play reaches; this reaches every branch (speed clips, walls,
    termination) and the fast, chaotic corners of Acrobot, whose free runs from there part from
    float64 within three steps."""
    num = 512
    gym_env = _gymnasium_env(case).unwrapped
    env = _gymx_env(case, unwrapped=True)
    rng = np.random.default_rng(1)
    starts = [case.box_start(rng) for _ in range(num)]
    actions = [case.sample_action(rng) for _ in range(num)]
    gym_obs, gym_rewards, gym_terminated, gym_states = [], [], [], []
    for i, (start, action) in enumerate(zip(starts, actions)):
        gym_env.reset(seed=i)  # also clears CartPole's count of steps past termination
        gym_env.state = start
        obs, reward, terminated, _, _ = gym_env.step(action)
        gym_obs.append(obs), gym_rewards.append(reward), gym_terminated.append(terminated)
        gym_states.append(np.array(gym_env.state, np.float64))
    cache_key = (case.name, "vmapped")
    if cache_key not in _JITTED_STEPS:
        _JITTED_STEPS[cache_key] = jax.jit(jax.vmap(env.step))
    next_states, ts = _JITTED_STEPS[cache_key](_stacked_states(case, starts), np.stack(actions))
    # The states too: some of a step's work (Acrobot's angle wrapping) does not show in the obs.
    expected_states = _stacked_states(case, gym_states)
    for got, want in zip(jax.tree_util.tree_leaves(next_states), jax.tree_util.tree_leaves(expected_states)):
        np.testing.assert_allclose(got, want, rtol=RTOL, atol=case.atol)
    np.testing.assert_allclose(ts.obs, np.stack(gym_obs), rtol=RTOL, atol=case.atol)
    np.testing.assert_allclose(ts.reward, gym_rewards, rtol=RTOL, atol=case.atol)
    np.testing.assert_array_equal(ts.terminated, gym_terminated)
    if case.terminates:
        assert any(gym_terminated), f"{case.name}: no step terminated"
    for name, reached in case.landmarks:
        assert any(reached(obs) for obs in gym_obs), f"{case.name}: no step reached {name!r}, so it went untested"


@pytest.mark.parametrize("case", OPTION_CASES, ids=lambda case: case.name)
def test_step_parity_with_options(case: Case):
    _run_parity(case, 300)


def _calm_action(env_id: str, obs: np.ndarray) -> Any:
    """An action that keeps each env from terminating, so that its time limit is reached."""
    if env_id.startswith("CartPole"):
        return np.int32(np.dot([1.0, 1.0, 10.0, 2.0], obs) > 0)  # a linear controller that balances
    if env_id in ("Acrobot-v1", "MountainCar-v0"):
        return np.int32(1)  # no torque / no push: it stays near the bottom
    return np.zeros((1,), np.float32)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_time_limit_parity(case: Case):
    """gymx.make's TimeLimit truncates at the same step as gymnasium.make's, with the same flags."""
    gym_env = gymnasium.make(case.env_id)
    env = _gymx_env(case, unwrapped=False)
    step = _jitted_step(case, unwrapped=False)
    limit = gymnasium.spec(case.env_id).max_episode_steps
    assert env.spec.max_episode_steps == limit and env.max_episode_steps == limit
    gym_obs, _ = gym_env.reset(seed=0)
    state, _ = env.reset(jax.random.key(0))
    for t in range(1, limit + 1):
        # What is compared is the time limit, not the dynamics: the balanced CartPole, open-loop
        # unstable, would drift apart within a few hundred steps, so the state is copied each step.
        state = state.replace(env_state=case.to_state(gym_env.unwrapped.state))
        action = _calm_action(case.env_id, gym_obs)
        gym_obs, _, gym_terminated, gym_truncated, _ = gym_env.step(action)
        state, ts = step(state, action)
        assert (bool(ts.terminated), bool(ts.truncated)) == (gym_terminated, gym_truncated), f"{case.name}: step {t}"
        if gym_terminated or gym_truncated:
            break
    assert t == limit and gym_truncated and not gym_terminated
