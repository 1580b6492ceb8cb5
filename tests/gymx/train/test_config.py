"""Packaged configs: every one loads with every field, namespaced ids included; the Atari PPO settings."""

from __future__ import annotations

import dataclasses

import pytest

from gymx.train import agents, config
from gymx.train.ppo import PPOConfig


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_every_packaged_config_loads(algo: str) -> None:
    ids = config.available(algo)
    assert ids
    for env_id in ids:
        assert dataclasses.is_dataclass(agents.load_config(algo, env_id))


def test_available_lists_namespaced_ids_from_their_folders() -> None:
    assert {"ALE/Pong-v5", "CartPole-v1"} <= set(config.available("ppo"))


def test_the_pong_config_holds_the_standard_atari_ppo_settings() -> None:
    cfg = agents.load_config("ppo", "ALE/Pong-v5")
    assert cfg.total_steps * 4 == 10_000_000  # agent steps of 4 frames
    assert (cfg.num_envs, cfg.num_steps, cfg.update_epochs, cfg.num_minibatches) == (8, 128, 4, 4)
    assert (cfg.learning_rate, cfg.anneal_lr, cfg.gamma, cfg.gae_lambda) == (2.5e-4, True, 0.99, 0.95)
    assert (cfg.clip_eps, cfg.entropy_coef, cfg.value_coef, cfg.max_grad_norm) == (0.1, 0.01, 0.5, 0.5)
    assert (cfg.network, cfg.atari_preprocessing, cfg.frame_stack, cfg.clip_rewards) == ("nature_cnn", True, 4, True)
    assert not cfg.normalize_observations


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"network": "resnet"}, "network must be one of"),
        ({"hidden_sizes": (64,)}, "nature_cnn network has its own layers"),
        ({"normalize_observations": True}, "normalize_observations applies to flat observations"),
        ({"frame_stack": 0}, "frame_stack must be 1"),
        ({"atari_preprocessing": False, "terminal_on_life_loss": True}, "terminal_on_life_loss is an option"),
    ],
)
def test_ppo_config_refuses_inconsistent_image_settings(changes: dict, message: str) -> None:
    cfg = agents.load_config("ppo", "ALE/Pong-v5")
    with pytest.raises(ValueError, match=message):
        dataclasses.replace(cfg, **changes)


def test_a_config_file_missing_the_new_fields_names_them(tmp_path) -> None:
    text = (config.config_dir("ppo") / "CartPole-v1.toml").read_text()
    old = "\n".join(line for line in text.splitlines() if not line.startswith(("network", "frame_stack")))
    (tmp_path / "old.toml").write_text(old)
    with pytest.raises(ValueError, match=r"missing keys \['frame_stack', 'network'\]"):
        config.load(PPOConfig, "ppo", "CartPole-v1", tmp_path / "old.toml")
