"""`evaluation_episodes`: the returns and lengths of evaluation episodes, against a plain step-by-step reference."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gymx
from gymx.train.episodes import episode_returns, evaluation_episodes
from gymx.vector import AutoresetMode, VecEnv

NUM_ENVS = 4


def reference_episodes(env: VecEnv, act, num_steps: int, key: jax.Array) -> tuple[np.ndarray, np.ndarray]:
    """Every one of `num_steps` steps played on the host, each return and length counted up to its episode's first done."""
    step = jax.jit(env.step)
    state, ts = env.reset(key)
    returns, lengths, finished = np.zeros(env.num_envs), np.zeros(env.num_envs, int), np.zeros(env.num_envs, bool)
    for _ in range(num_steps):
        state, ts = step(state, act(ts.obs))
        returns += np.where(finished, 0.0, np.asarray(ts.reward))
        lengths += ~finished
        finished |= np.asarray(ts.terminated | ts.truncated)
    return returns, lengths


def reference_returns(env: VecEnv, act, num_steps: int, key: jax.Array) -> np.ndarray:
    return reference_episodes(env, act, num_steps, key)[0]


@pytest.fixture(scope="module")
def env() -> VecEnv:
    return VecEnv(gymx.make("CartPole-v1"), NUM_ENVS, AutoresetMode.DISABLED)


def push_right(obs: jax.Array) -> jax.Array:
    return jnp.ones(obs.shape[0], jnp.int32)


def balance(obs: jax.Array) -> jax.Array:
    return (obs[:, 2] > 0).astype(jnp.int32)  # push toward the side the pole falls to: long, uneven episodes


@pytest.mark.parametrize(("policy", "num_steps"), [(push_right, 60), (balance, 300), (balance, 5)])
def test_returns_equal_a_reference_that_plays_every_step(env: VecEnv, policy, num_steps: int) -> None:
    # push_right: every episode ends in about 10 steps, long before num_steps (the loop stops early);
    # balance at 300 steps: episodes of different lengths; at 5 steps: none ends, num_steps cuts them.
    key = jax.random.key(3)
    got = jax.jit(evaluation_episodes, static_argnums=(0, 1, 2))(env, policy, num_steps, key)
    want, lengths = reference_episodes(env, policy, num_steps, key)
    np.testing.assert_array_equal(np.asarray(got.returns), want)
    np.testing.assert_array_equal(np.asarray(got.lengths), lengths)
    np.testing.assert_array_equal(np.asarray(got.first_obs), np.asarray(env.reset(key)[1].obs))
    if num_steps == 5:
        np.testing.assert_array_equal(want, 5.0)
    else:
        assert 0 < want.min() < num_steps


def test_returns_under_vmap_over_keys_equal_each_key_alone(env: VecEnv) -> None:
    # The loop's end is per batch under vmap (it runs until every member's episodes are done).
    keys = jax.random.split(jax.random.key(5), 3)
    play = jax.jit(jax.vmap(lambda key: episode_returns(env, balance, 300, key)))
    together = np.asarray(play(keys))
    for i, key in enumerate(keys):
        np.testing.assert_array_equal(together[i], reference_returns(env, balance, 300, key))


def test_the_loop_stops_once_every_episode_is_done(env: VecEnv) -> None:
    calls = []

    def counted(obs: jax.Array) -> jax.Array:
        jax.debug.callback(lambda: calls.append(1))
        return push_right(obs)

    key = jax.random.key(3)
    episode_returns(env, counted, 500, key)
    longest = int(reference_returns(env, push_right, 60, key).max())  # one reward per step of CartPole
    assert len(calls) == longest < 500
