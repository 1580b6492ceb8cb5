"""Exporting a checkpoint's greedy policy: only the MLPs the policy spec describes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import jax
import jax.numpy as jnp
import pytest

import gymx
from gymx import spaces, struct
from gymx.core import Env
from gymx.scoreboard import policy
from gymx.train import agents, checkpoint, ppo, runner

FRAME = 36  # the smallest square frame the Nature CNN takes


class BlankState(struct.PyTree):
    done: jax.Array  # bool ()


class BlankFrames(Env):
    """One step per episode on a dark (36, 36) frame."""

    def observation_space(self, params: object = None) -> spaces.Box:
        return spaces.Box(0, 255, (FRAME, FRAME), jnp.uint8)

    def action_space(self, params: object = None) -> spaces.Discrete:
        return spaces.Discrete(2)

    def reset_env(self, key: jax.Array, params: object) -> BlankState:
        return BlankState(jnp.zeros((), bool))

    def step_env(self, state: BlankState, action: jax.Array, params: object) -> tuple[BlankState, jax.Array, dict]:
        return BlankState(jnp.ones((), bool)), jnp.zeros((), jnp.float32), {}

    def observe(self, state: BlankState, params: object) -> jax.Array:
        return jnp.zeros((FRAME, FRAME), jnp.uint8)

    def is_terminal(self, state: BlankState, params: object) -> jax.Array:
        return state.done


@pytest.fixture
def blank_frames() -> Iterator[str]:
    with gymx.namespace("testns"):
        gymx.register("BlankFrames-v0", BlankFrames)
    yield "testns/BlankFrames-v0"
    gymx.registry.pop("testns/BlankFrames-v0", None)


def test_a_nature_cnn_checkpoint_is_refused_by_name(blank_frames: str, tmp_path: Path) -> None:
    cfg = agents.load_config(
        "ppo", "ALE/Pong-v5", atari_preprocessing=False, frame_stack=1, num_envs=2, num_steps=2, total_steps=4
    )
    agent = ppo.PPO(cfg, blank_frames)
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([0]))
    path = checkpoint.save(tmp_path / "checkpoint.safetensors", agent, states, [0])
    # Its actor is only the CNN's linear head: exported as an MLP it would read raw pixels.
    with pytest.raises(policy.PolicyError, match="uses the nature_cnn network; uploaded policies are MLPs"):
        policy.from_checkpoint(str(path))
