from __future__ import annotations

import itertools
import os
import re
import subprocess
import sys
import textwrap
from functools import cache

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from gymx.envs.classic_control.cartpole import CartPoleParams

import gymx

NUM_ENVS = 8


@cache
def compiled(mode: str, num_envs: int = NUM_ENVS, max_episode_steps: int | None = None):
    vec = gymx.make_vec("CartPole-v1", num_envs, autoreset_mode=mode, max_episode_steps=max_episode_steps)
    return vec, jax.jit(vec.reset), jax.jit(vec.step)


def per_env_actions(t: int, num_envs: int) -> jax.Array:
    """Env i's action at step t depends only on (i, t)."""
    return jax.vmap(lambda i: jax.random.bernoulli(jax.random.fold_in(jax.random.key(t), i)).astype(jnp.int32))(
        jnp.arange(num_envs)
    )


def run(mode: str, num_steps: int, num_envs: int = NUM_ENVS, max_episode_steps: int | None = None):
    _vec, reset, step = compiled(mode, num_envs, max_episode_steps)
    state, ts = reset(jax.random.key(42))
    out = [(state, ts)]
    for t in range(num_steps):
        state, ts = step(state, per_env_actions(t, num_envs))
        out.append((state, ts))
    return out


def test_same_step_resets_with_fresh_random_starts_and_keeps_final_obs() -> None:
    single = gymx.make("CartPole-v1")
    trajectory = run("same_step", 120)
    starts = []
    for t, ((prev_state, _), (state, ts)) in enumerate(itertools.pairwise(trajectory)):
        done = np.asarray(ts.terminated | ts.truncated)
        # final_obs is what stepping the single env from the previous state gives.
        _, expected = jax.vmap(single.step)(prev_state.env_state, per_env_actions(t, NUM_ENVS))
        np.testing.assert_allclose(ts.info["final_obs"], expected.obs, rtol=1e-5, atol=1e-6)
        np.testing.assert_array_equal(ts.terminated, expected.terminated)
        for i in np.flatnonzero(done):
            assert not np.allclose(ts.obs[i], expected.obs[i]), "a done env must return its new first observation"
            assert np.all(np.abs(ts.obs[i]) <= 0.05)
            assert int(state.env_state.elapsed_steps[i]) == 0
            starts.append(tuple(np.asarray(ts.obs[i])))
    assert len(starts) >= 10
    assert len(set(starts)) == len(starts), "every reset must draw a new random start"


def test_episode_statistics_count_each_episode() -> None:
    trajectory = run("same_step", 120)
    lengths = np.zeros(NUM_ENVS, int)
    for _, ts in trajectory[1:]:
        lengths += 1
        np.testing.assert_array_equal(ts.info["episode_length"], lengths)
        np.testing.assert_allclose(ts.info["episode_return"], lengths)  # CartPole pays 1 per step
        lengths[np.asarray(ts.terminated | ts.truncated)] = 0


def test_next_step_resets_on_the_step_after_done() -> None:
    trajectory = run("next_step", 120)
    pending = np.zeros(NUM_ENVS, bool)
    for _, ts in trajectory[1:]:
        if pending.any():
            assert np.all(np.asarray(ts.reward)[pending] == 0.0)
            assert not np.asarray(ts.terminated | ts.truncated)[pending].any()
            assert np.all(np.abs(np.asarray(ts.obs)[pending]) <= 0.05)
            assert np.all(np.asarray(ts.info["episode_length"])[pending] == 0)
        pending = np.asarray(ts.terminated | ts.truncated)
    assert "final_obs" not in trajectory[-1][1].info


def test_disabled_keeps_finished_envs_until_reset_masked() -> None:
    vec, _reset, step = compiled("disabled")
    trajectory = run("disabled", 60)
    state, ts = trajectory[-1]
    finished = np.asarray(ts.terminated)
    assert finished.any()
    _again_state, again = step(state, jnp.zeros(NUM_ENVS, jnp.int32))
    assert np.all(np.asarray(again.terminated)[finished]) and np.all(np.asarray(again.reward)[finished] == 0)
    np.testing.assert_array_equal(np.asarray(again.obs)[finished], np.asarray(ts.obs)[finished])
    reset_state, reset_ts = jax.jit(vec.reset_masked)(state, jnp.asarray(finished))
    np.testing.assert_array_equal(np.asarray(reset_ts.obs)[~finished], np.asarray(ts.obs)[~finished])
    assert np.all(np.abs(np.asarray(reset_ts.obs)[finished]) <= 0.05)
    assert not np.asarray(reset_ts.terminated).any()
    np.testing.assert_array_equal(reset_state.episode, np.asarray(state.episode) + finished)
    with pytest.raises(ValueError, match="reset mask must have shape"):
        vec.reset_masked(state, jnp.ones(3, bool))


def test_env_trajectory_depends_only_on_seed_and_index() -> None:
    small, large = run("same_step", 60, num_envs=4), run("same_step", 60, num_envs=16)
    for (_, ts_small), (_, ts_large) in zip(small, large):
        for a, b in zip(jax.tree_util.tree_leaves(ts_small), jax.tree_util.tree_leaves(ts_large)):
            np.testing.assert_array_equal(a, np.asarray(b)[:4])


def test_per_env_params_are_batched() -> None:
    vec, _reset, _step = compiled("same_step")
    gravity = jnp.linspace(1.0, 30.0, NUM_ENVS)
    params = CartPoleParams(gravity=gravity)
    state, ts = jax.jit(vec.reset)(jax.random.key(0), params)
    _stepped, ts = jax.jit(vec.step)(state, jnp.zeros(NUM_ENVS, jnp.int32), params)
    single = gymx.make("CartPole-v1")
    for i in (0, NUM_ENVS - 1):
        one = jax.tree_util.tree_map(lambda x, i=i: x[i], state.env_state)
        _, expected = single.step(one, 0, CartPoleParams(gravity=gravity[i]))
        np.testing.assert_allclose(ts.obs[i], expected.obs, rtol=1e-6)
    with pytest.raises(ValueError, match="matches neither"):
        vec.reset(jax.random.key(0), CartPoleParams(gravity=jnp.ones(3)))


def test_vec_step_compiles_once() -> None:
    vec = gymx.make_vec("CartPole-v1", 4)
    traces = []

    @jax.jit
    def step(state, action):
        traces.append(1)
        return vec.step(state, action)

    state, _ = vec.reset(jax.random.key(0))
    for t in range(3):
        state, _ = step(state, per_env_actions(t, 4))
    assert len(traces) == 1


def test_rollout_scans_a_policy_without_retracing() -> None:
    vec = gymx.make_vec("CartPole-v1", 4)
    traces = []

    def policy(key, obs):
        traces.append(1)
        return vec.action_space().sample(key)

    first = gymx.rollout(vec, policy, jax.random.key(3), 50)
    second = gymx.rollout(vec, policy, jax.random.key(3), 50)
    assert len(traces) == 1
    assert first.timesteps.obs.shape == (50, 4, 4) and first.actions.shape == (50, 4)
    assert bool(first.timesteps.done.any())
    for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(second)):
        np.testing.assert_array_equal(a, b)


def test_bad_vec_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="num_envs must be positive"):
        gymx.make_vec("CartPole-v1", 0)
    with pytest.raises(ValueError, match="unknown autoreset_mode"):
        gymx.make_vec("CartPole-v1", 2, autoreset_mode="sometimes")


MULTI_DEVICE = textwrap.dedent(
    """
    import jax, numpy as np, gymx
    assert jax.local_device_count() == 4
    def policy(key, obs):
        return (obs[:, 2] > 0).astype(np.int32)
    runs = []
    for devices in (jax.devices()[:1], jax.devices()):
        vec = gymx.VecEnv(gymx.make("CartPole-v1"), 8, devices=devices)
        out = gymx.rollout(vec, policy, jax.random.key(7), 80)
        runs.append(out)
    assert len(runs[1].timesteps.obs.sharding.device_set) == 4
    for a, b in zip(jax.tree_util.tree_leaves(runs[0]), jax.tree_util.tree_leaves(runs[1])):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    print("same results on 1 and 4 devices")
    """
)


def test_sharded_batch_matches_one_device() -> None:
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=4", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", MULTI_DEVICE], env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "same results on 1 and 4 devices" in result.stdout


@pytest.mark.parametrize("num_envs", [2.5, "4", True, np.float64(2), None])
def test_num_envs_must_be_an_int(num_envs: object) -> None:
    with pytest.raises(TypeError, match=f"num_envs must be an int, got {re.escape(repr(num_envs))}"):
        gymx.make_vec("CartPole-v1", num_envs=num_envs)


@pytest.mark.parametrize("num_envs", [0, -3])
def test_num_envs_must_be_positive(num_envs: int) -> None:
    with pytest.raises(ValueError, match=f"num_envs must be positive, got {num_envs}"):
        gymx.make_vec("CartPole-v1", num_envs=num_envs)


def test_numpy_integer_num_envs_is_accepted() -> None:
    assert gymx.make_vec("CartPole-v1", num_envs=np.int64(3)).num_envs == 3
