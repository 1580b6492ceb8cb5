"""Checkpoints and evaluation of agents whose state holds typed PRNG keys and whose env is not `make(env_id)`.

The env here keeps a typed key of gymx.random's `hashed_counter` implementation (which JAX cannot
look up by name) in its state, as an Atari env does, and PPO trains on it frame-stacked: what
Pong needs, without an emulator.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

import gymx
from gymx import spaces, struct
from gymx.core import Env
from gymx.random import fast_key
from gymx.train import agents, checkpoint, ppo, runner
from gymx.wrappers import TimeLimit

FRAME = 36  # the smallest square frame the Nature CNN's three convolutions take
EPISODE_STEPS = 3
SEEDS = [0, 1]


class KeyedState(struct.PyTree):
    key: jax.Array  # typed hashed_counter key: the frames and the rewarded action are drawn from it
    t: jax.Array  # int32 (): steps taken


class KeyedFrames(Env):
    """Random uint8 frames drawn from a typed key in the state; the action equal to a hidden bit earns 1; 3 steps."""

    def observation_space(self, params: object = None) -> spaces.Box:
        return spaces.Box(0, 255, (FRAME, FRAME), jnp.uint8)

    def action_space(self, params: object = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key: jax.Array, params: object) -> KeyedState:
        return KeyedState(fast_key(key), jnp.zeros((), jnp.int32))

    def step_env(self, state: KeyedState, action: jax.Array, params: object) -> tuple[KeyedState, jax.Array, dict]:
        key, draw = jax.random.split(state.key)
        reward = (action == jax.random.bits(draw, dtype=jnp.uint32) % 2).astype(jnp.float32)
        return KeyedState(key, state.t + 1), reward, {}

    def observe(self, state: KeyedState, params: object) -> jax.Array:
        return jax.random.bits(state.key, (FRAME, FRAME), jnp.uint8)

    def is_terminal(self, state: KeyedState, params: object) -> jax.Array:
        return state.t >= EPISODE_STEPS


@pytest.fixture(scope="module")
def keyed_frames() -> Iterator[str]:
    with gymx.namespace("testns"):
        gymx.register("KeyedFrames-v0", KeyedFrames, max_episode_steps=5)
    yield "testns/KeyedFrames-v0"
    gymx.registry.pop("testns/KeyedFrames-v0", None)


@pytest.fixture(scope="module")
def agent(keyed_frames: str) -> ppo.PPO:
    # Pong's network without its Atari wrappers: two stacked frames, 2 envs x 2 steps, 2 iterations.
    cfg = agents.load_config(
        "ppo",
        "ALE/Pong-v5",
        atari_preprocessing=False,
        frame_stack=2,
        num_envs=2,
        num_steps=2,
        num_minibatches=1,
        update_epochs=1,
        total_steps=8,
    )
    return ppo.PPO(cfg, keyed_frames)


@pytest.fixture(scope="module")
def states(agent: ppo.PPO) -> Any:
    return jax.jit(jax.vmap(agent.init))(runner.seed_keys(SEEDS))


def is_key(leaf: Any) -> bool:
    return jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key)


def assert_same_states(a: Any, b: Any) -> None:
    def same(x: Any, y: Any) -> None:
        assert is_key(x) == is_key(y) and x.dtype == y.dtype
        if is_key(x):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        np.testing.assert_array_equal(x, y)

    jax.tree_util.tree_map(same, a, b)  # raises if their structures differ


def test_typed_keys_round_trip_with_their_implementation(agent: ppo.PPO, states: Any, tmp_path: Path) -> None:
    keys = [leaf for leaf in jax.tree_util.tree_leaves(states) if is_key(leaf)]
    assert [str(jax.random.key_impl(leaf)) for leaf in keys] == ["hc"]
    path = checkpoint.save(tmp_path / "ppo.safetensors", agent, states, SEEDS)
    loaded_agent, loaded, seeds = checkpoint.load(path)
    assert seeds == SEEDS and loaded_agent.config == agent.config
    assert_same_states(states, loaded)
    # The file holds the keys' raw data, readable by any safetensors reader.
    with safe_open(str(path), framework="np") as file:
        impls = json.loads(file.metadata()["gymx"])["key_impls"]
    (index,) = [int(i) for i in impls]
    assert impls == {str(index): "hc"}
    np.testing.assert_array_equal(load_file(path)[f"leaf_{index}"], jax.random.key_data(keys[0]))


def test_saved_key_data_must_match_the_states_keys(agent: ppo.PPO, states: Any, tmp_path: Path) -> None:
    path = checkpoint.save(tmp_path / "ppo.safetensors", agent, states, SEEDS)
    with safe_open(str(path), framework="np") as file:
        meta = json.loads(file.metadata()["gymx"])
    (index,) = meta["key_impls"]
    for impls, error in [
        ({index: "threefry2x32"}, f"leaf {index} holds threefry2x32 PRNG keys, expected key<hc>"),
        ({}, f"leaf {index} holds plain arrays, expected key<hc>"),
        ({index: "hc", "0": "hc"}, "leaf 0 holds hc PRNG keys, expected float32"),
    ]:
        save_file(
            load_file(path), tmp_path / "bad.safetensors", metadata={"gymx": json.dumps({**meta, "key_impls": impls})}
        )
        with pytest.raises(checkpoint.CheckpointError, match=error):
            checkpoint.load(tmp_path / "bad.safetensors")


def test_resuming_from_a_checkpoint_with_typed_keys_continues_the_run(agent: ppo.PPO, tmp_path: Path) -> None:
    whole, _ = runner.train_seeds(agent, SEEDS, num_chunks=2)

    def save_and_stop(report: runner.ChunkReport) -> bool:
        checkpoint.save(tmp_path / "checkpoint.safetensors", agent, report.states, SEEDS)
        return True

    runner.train_seeds(agent, SEEDS, num_chunks=2, on_chunk=save_and_stop)
    saved = checkpoint.read(tmp_path / "checkpoint.safetensors")
    assert int(np.asarray(saved.states.iteration)[0]) == 1
    resumed, _ = runner.train_seeds(saved.agent, SEEDS, num_chunks=2, states=saved.states)
    assert_same_states(whole, resumed)


def test_best_policy_plays_the_training_env_and_keeps_typed_keys(agent: ppo.PPO, states: Any) -> None:
    best = runner.BestPolicy(agent, SEEDS, num_episodes=2)
    best.consider(states, 0)
    assert np.all((0 <= best.returns) & (best.returns <= EPISODE_STEPS))
    later = jax.jit(jax.vmap(agent.init))(runner.seed_keys([7, 8]))
    kept = best.offer(later, np.array([np.inf, -np.inf]), 1)
    assert kept.tolist() == [True, False]
    pick = lambda new, old: jnp.stack([new[0], old[1]])
    assert_same_states(best.states, jax.tree_util.tree_map(pick, later, states))


def test_evaluation_plays_the_training_env_to_its_time_limit(agent: ppo.PPO, states: Any) -> None:
    # The stacked frames the CNN was built for; make(env_id) alone gives single frames.
    returns = runner.evaluate(agent, states, 3, jax.random.PRNGKey(0))
    assert returns.shape == (len(SEEDS), 3) and np.all((0 <= returns) & (returns <= EPISODE_STEPS))
    np.testing.assert_array_equal(returns, runner.evaluate(agent, states, 3, jax.random.PRNGKey(0)))


def test_episode_step_bound_of_time_limits_and_atari_frame_limits() -> None:
    pong = agents.load_config("ppo", "ALE/Pong-v5")
    # ALE v5: 108,000 emulated frames, 4 a step (the env's frameskip, or AtariPreprocessing's).
    assert ppo.make_env("ALE/Pong-v5", pong).episode_step_bound() == 27_000
    assert gymx.make("ALE/Pong-v5").episode_step_bound() == 27_000
    assert gymx.make("ALE/Pong-v5", frameskip=1).episode_step_bound() == 108_000
    assert gymx.make("ALE/Pong-v5", frameskip=3).episode_step_bound() == 36_000
    assert gymx.make("ALE/Pong-v5", max_num_frames_per_episode=0).episode_step_bound() is None
    assert gymx.make("ALE/Pong-v5", max_episode_steps=100).episode_step_bound() == 100
    assert gymx.make("CartPole-v1").episode_step_bound() == 500
    # The bound is what wraps the env, not what its spec says.
    assert gymx.make("CartPole-v1", max_episode_steps=-1).episode_step_bound() is None
    assert TimeLimit(gymx.make("CartPole-v1"), 800).episode_step_bound() == 500


OLD_PPO_DEFAULTS = {
    "network": "mlp",
    "clip_rewards": False,
    "atari_preprocessing": False,
    "terminal_on_life_loss": False,
    "frame_stack": 1,
}


def test_checkpoints_saved_before_the_cnn_fields_load_with_the_old_behaviour(tmp_path: Path) -> None:
    agent = agents.make("ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", hidden_sizes=(8,)))
    assert {name: getattr(agent.config, name) for name in OLD_PPO_DEFAULTS} == OLD_PPO_DEFAULTS
    states = jax.vmap(agent.init)(runner.seed_keys([0]))
    path = checkpoint.save(tmp_path / "ppo.safetensors", agent, states, [0])
    with safe_open(str(path), framework="np") as file:
        meta = json.loads(file.metadata()["gymx"])
    old = {name: value for name, value in meta["config"].items() if name not in OLD_PPO_DEFAULTS}
    save_file(load_file(path), tmp_path / "old.safetensors", metadata={"gymx": json.dumps({**meta, "config": old})})
    loaded = checkpoint.read(tmp_path / "old.safetensors")
    assert loaded.agent.config == agent.config
    assert_same_states(states, loaded.states)
    # A key no version of the config had is still refused.
    unknown = {**old, "gama": 0.9}
    save_file(load_file(path), tmp_path / "bad.safetensors", metadata={"gymx": json.dumps({**meta, "config": unknown})})
    with pytest.raises(checkpoint.CheckpointError, match=r"unknown keys \['gama'\]"):
        checkpoint.read(tmp_path / "bad.safetensors")
