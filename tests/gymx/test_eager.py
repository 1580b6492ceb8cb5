"""Eager calls run one cached compiled program; traced calls trace as written; one process can
make and check every registered id without running out of memory maps."""

from __future__ import annotations

import copy
import warnings

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env as gymnasium_check_env

import gymx
from gymx import spaces, struct
from gymx.testing import check_env

# One id of each family; InvertedPendulum-v5 is the MuJoCo id the default test run compiles.
ONE_PER_FAMILY = ["CartPole-v1", "FrozenLake-v1", "Copy-v0", "TicTacToe-v0", "InvertedPendulum-v5"]
# An id's check compiles a few dozen programs of a few maps each (about 100 to 400 maps measured,
# see benchmarks/RESULTS.md). A MuJoCo id's first render opens an OpenGL context, about 1,600
# to 2,200 maps more (and its first import about 700).
MAPS_PER_ID = 600
MAPS_PER_MUJOCO_ID = 3000


def maps() -> int:
    with open("/proc/self/maps") as file:
        return sum(1 for _ in file)


@struct.dataclass
class CountState:
    t: jax.Array


class TraceCounter(gymx.Env):
    """Counts how often its Python step and reset run, i.e. how often they are traced or run eagerly."""

    def __init__(self) -> None:
        self.resets = self.steps = 0

    def observation_space(self, params=None) -> spaces.Space:
        return spaces.Box(0, 1e6, (), jnp.float32)

    def action_space(self, params=None) -> spaces.Space:
        return spaces.Discrete(2)

    def reset_env(self, key, params) -> CountState:
        self.resets += 1
        return CountState(jnp.zeros((), jnp.int32))

    def step_env(self, state, action, params):
        self.steps += 1
        return CountState(state.t + action), jnp.float32(1.0), {}

    def observe(self, state, params) -> jax.Array:
        return state.t.astype(jnp.float32)

    def is_terminal(self, state, params) -> jax.Array:
        return jnp.zeros((), jnp.bool_)


def test_eager_calls_trace_once_and_match_the_traced_result() -> None:
    env = TraceCounter()
    state, ts = env.reset(jax.random.key(0))
    for action in (1, np.int64(1), jnp.int32(0), 1):
        state, ts = env.step(state, action)
    state, ts = env.reset(jax.random.key(1))
    # reset_info's abstract trace of step_env counts as one step trace.
    assert (env.resets, env.steps) == (1, 2)
    assert int(ts.obs) == 0
    eager = env.step(env.step(state, 1)[0], 1)
    traced = jax.jit(lambda s: env.step(env.step(s, 1)[0], 1))(state)
    assert jax.tree_util.tree_all(jax.tree_util.tree_map(np.array_equal, eager, traced))


def test_traced_calls_trace_as_written_without_retracing() -> None:
    env = TraceCounter()
    calls = {"n": 0}

    @jax.jit
    def run(key: jax.Array) -> jax.Array:
        calls["n"] += 1
        state, _ = env.reset(key)
        state = jax.lax.scan(lambda s, a: (env.step(s, a)[0], None), state, jnp.ones(5, jnp.int32))[0]
        return env.observe(state, env.default_params)

    assert float(run(jax.random.key(0))) == 5.0
    assert float(run(jax.random.key(1))) == 5.0
    assert calls["n"] == 1 and env.resets == 1
    batched = jax.vmap(lambda k: env.reset(k)[1].obs)(jax.random.split(jax.random.key(0), 3))
    assert batched.shape == (3,)


def test_a_copied_env_compiles_its_own_program() -> None:
    env = gymx.make("CartPole-v1", max_episode_steps=3)
    state, _ = env.reset(jax.random.key(0))
    env.step(state, 1)
    shorter = copy.copy(env)
    shorter.max_episode_steps = 1
    assert bool(shorter.step(state, 1)[1].truncated) and not bool(env.step(state, 1)[1].truncated)


def test_repeated_eager_vec_calls_add_no_maps() -> None:
    vec = gymx.make_vec("CartPole-v1", num_envs=4)
    action = jnp.array([0, 1, 1, 0])
    mask = jnp.array([True, False, True, False])
    frame_of = gymx.VecEnv(gymx.make("FrozenLake-v1"), 2)

    def calls() -> None:
        state, _ = vec.reset(jax.random.key(0))
        for _ in range(3):
            state, _ = vec.step(state, action)
        vec.reset_masked(state, mask)
        frame_state, _ = frame_of.reset(jax.random.key(0))
        frame_of.render(frame_state)

    calls()  # warm-up: compiles each program once
    before = maps()
    for _ in range(5):
        calls()
    # The old eager dispatch added 263 maps on the first VecEnv reset and step; repeating calls
    # leaves the count where it was, give or take the allocator's own maps.
    assert maps() - before <= 8


def make_and_check(env_ids: list[str]) -> None:
    for env_id in env_ids:
        before = maps()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Gymnasium's checker warns about float32 bounds and the like
            gymnasium_check_env(gymnasium.make(f"gymx/{env_id}").unwrapped)
        check_env(gymx.make(env_id), num_steps=20)
        added = maps() - before
        bound = (
            MAPS_PER_MUJOCO_ID
            if str(gymx.registry[env_id].entry_point).startswith("gymx.envs.mujoco.")
            else MAPS_PER_ID
        )
        assert added <= bound, f"{env_id} added {added} memory maps"


def test_one_process_makes_and_checks_one_id_per_family() -> None:
    make_and_check(ONE_PER_FAMILY)


@pytest.mark.full
@pytest.mark.timeout(7200)  # 52 ids, 22 of them MuJoCo programs compiling for a minute each on a 2-core CPU
def test_one_process_makes_and_checks_every_id() -> None:
    make_and_check(sorted(gymx.registry))
