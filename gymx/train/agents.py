"""The algorithms by name: their config classes, packaged configs and constructors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jax

from gymx.train import config
from gymx.train.dqn import DQN, DQNConfig
from gymx.train.ppo import PPO, PPOConfig
from gymx.train.runner import Agent
from gymx.train.sac import SAC, SACConfig

ALGORITHMS: dict[str, tuple[type, type]] = {"ppo": (PPO, PPOConfig), "dqn": (DQN, DQNConfig), "sac": (SAC, SACConfig)}


def _entry(algo: str) -> tuple[type, type]:
    if algo not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algo!r}; choose one of {sorted(ALGORITHMS)}")
    return ALGORITHMS[algo]


def config_class(algo: str) -> type:
    return _entry(algo)[1]


def load_config(algo: str, env_id: str, path: str | Path | None = None, **overrides: Any) -> Any:
    """`algo`'s config for `env_id`: the packaged `configs/<algo>/<env_id>.toml` (or `path`) with `overrides`."""
    return config.load(config_class(algo), algo, env_id, path, **overrides)


def make(
    algo: str,
    env_id: str,
    cfg: Any = None,
    devices: list[jax.Device] | None = None,
    record_episodes: bool = True,
) -> Agent:
    """The agent of `algo` on `env_id` with `cfg` (default: the packaged config)."""
    agent_class, _ = _entry(algo)
    return agent_class(
        load_config(algo, env_id) if cfg is None else cfg, env_id, devices=devices, record_episodes=record_episodes
    )
