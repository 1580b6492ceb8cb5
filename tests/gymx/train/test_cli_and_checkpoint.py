"""Checkpoint round trip, the `gymx train` / `gymx eval` commands, configs as data, and sharding over devices."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import jax
import numpy as np
import pytest
from safetensors import safe_open
from safetensors.numpy import load_file, save_file

from gymx.cli import main
from gymx.monitor import export_gym_files, load_results
from gymx.train import agents, checkpoint, config, rundir, runner
from gymx.train.ppo import PPOConfig


def test_checkpoint_round_trip(tmp_path: Path) -> None:
    agent = agents.make(
        "dqn", "CartPole-v1", agents.load_config("dqn", "CartPole-v1", total_steps=512, buffer_size=1024)
    )
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([4, 5]))
    path = checkpoint.save(tmp_path / "dqn.safetensors", agent, states, [4, 5])
    loaded_agent, loaded, seeds = checkpoint.load(path)
    assert seeds == [4, 5] and loaded_agent.algo == "dqn" and loaded_agent.config == agent.config
    assert jax.tree_util.tree_structure(loaded) == jax.tree_util.tree_structure(states)
    for a, b in zip(jax.tree_util.tree_leaves(states), jax.tree_util.tree_leaves(loaded)):
        np.testing.assert_array_equal(a, b)


def test_checkpoint_is_a_safetensors_file_other_tools_read(tmp_path: Path) -> None:
    agent = agents.make("sac", "Pendulum-v1", agents.load_config("sac", "Pendulum-v1", total_steps=64, buffer_size=64))
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([0]))
    path = checkpoint.save(tmp_path / "sac.safetensors", agent, states, [0], {"iterations_done": 0})
    # Plain safetensors: the leaves by name, gymx's description as JSON in the header's metadata.
    tensors = load_file(path)
    leaves = jax.tree_util.tree_leaves(states)
    assert sorted(tensors) == sorted(f"leaf_{i}" for i in range(len(leaves)))
    for i, leaf in enumerate(leaves):
        np.testing.assert_array_equal(tensors[f"leaf_{i}"], leaf)
    with safe_open(str(path), framework="np") as file:
        meta = json.loads(file.metadata()["gymx"])
    assert (meta["format"], meta["algo"], meta["env_id"], meta["seeds"]) == (2, "sac", "Pendulum-v1", [0])
    assert meta["config"] == config.to_dict(agent.config) and meta["run"] == {"iterations_done": 0}


def test_npz_checkpoints_of_earlier_versions_load_and_do_not_resume(tmp_path: Path) -> None:
    # Format 1, as gymx wrote it before safetensors: an .npz of the leaves and a JSON `meta` string.
    agent = agents.make("ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", hidden_sizes=(8,)))
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([3]))
    meta = {"format": 1, "algo": "ppo", "env_id": "CartPole-v1", "seeds": [3], "config": config.to_dict(agent.config)}
    leaves = {f"leaf_{i}": np.asarray(leaf) for i, leaf in enumerate(jax.tree_util.tree_leaves(states))}
    np.savez(tmp_path / "checkpoint.npz", meta=np.asarray(json.dumps(meta)), **leaves)  # type: ignore[arg-type]
    loaded = checkpoint.read(tmp_path / "checkpoint.npz")
    assert loaded.seeds == [3] and loaded.agent.config == agent.config
    for a, b in zip(jax.tree_util.tree_leaves(states), jax.tree_util.tree_leaves(loaded.states)):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(rundir.RunDirError, match=r"checkpoint\.npz of an earlier gymx, which --resume cannot continue"):
        rundir.resume(tmp_path, {})


def test_checkpoint_that_does_not_fit_the_config_fails_loudly(tmp_path: Path) -> None:
    agent = agents.make("ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", hidden_sizes=(8,)))
    states = jax.vmap(agent.init)(runner.seed_keys([0]))
    path = checkpoint.save(tmp_path / "ppo.safetensors", agent, states, [0])
    with safe_open(str(path), framework="np") as file:
        meta = json.loads(file.metadata()["gymx"])
    meta["config"]["hidden_sizes"] = [16]
    save_file(load_file(path), tmp_path / "bad.safetensors", metadata={"gymx": json.dumps(meta)})
    with pytest.raises(ValueError, match="expected float32"):
        checkpoint.load(tmp_path / "bad.safetensors")


def test_configs_are_complete_data_files() -> None:
    assert {"CartPole-v1", "Pendulum-v1"} <= set(config.available("ppo")) and "CartPole-v1" in config.available("dqn")
    with pytest.raises(ValueError, match="unknown keys \\['gama'\\]"):
        agents.load_config("ppo", "CartPole-v1", gama=0.9)
    with pytest.raises(FileNotFoundError, match="configs exist for"):
        agents.load_config("dqn", "Pendulum-v1")
    cfg = agents.load_config("ppo", "CartPole-v1")
    assert isinstance(cfg, PPOConfig) and isinstance(cfg.hidden_sizes, tuple)
    with pytest.raises(AttributeError):
        cfg.gamma = 0.5  # type: ignore[misc]


def test_train_writes_a_monitor_directory_then_eval_reads_its_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # What the training loop itself counted, chunk by chunk, per seed.
    counted = np.zeros(2, np.int64)
    real_train_seeds = runner.train_seeds

    def counting(agent, seeds, chunks, on_chunk, states):  # type: ignore[no-untyped-def]
        def count_then_log(report: runner.ChunkReport) -> None:
            counted[:] += np.asarray(report.logs.episodes).sum(axis=1)
            on_chunk(report)

        return real_train_seeds(agent, seeds, chunks, count_then_log, states)

    monkeypatch.setattr(runner, "train_seeds", counting)
    out = tmp_path / "run"
    args = [
        "train",
        "ppo",
        "CartPole-v1",
        "--seeds",
        "2",
        "--total-steps",
        "2048",
        "--chunks",
        "2",
        "--out",
        str(out),
        "--eval-episodes",
        "4",
        "--quiet",
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "mean return" in printed and (out / "learning_curve.png").stat().st_size > 1000
    assert not list(out.glob("*.jsonl"))

    results = load_results(str(out))
    assert [(m["run_id"], m["seed"], m["algorithm_id"], m["mode"], m["closed"]) for m in results.manifests] == [
        ("seed0", 0, "ppo", "training", True),
        ("seed1", 1, "ppo", "training", True),
    ]
    runs = results.runs()
    assert [len(run) for run in runs] == counted.tolist() and counted.min() > 0
    for run in runs:
        order = np.argsort(run.episode)
        np.testing.assert_array_equal(run.episode[order], np.arange(len(run)))
        np.testing.assert_array_equal(run.returns, run.lengths)  # CartPole: +1 per step
        assert run.steps.max() <= 2048 and run.env_index.min() >= 0 and run.env_index.max() < 8
        for env in np.unique(run.env_index):  # each env's episodes numbered 0, 1, ... in the order they ended
            mine = np.sort(run.env_episode[run.env_index == env])
            np.testing.assert_array_equal(mine, np.arange(len(mine)))

    assert main(["plot", str(out), "--out", str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").stat().st_size > 1000
    assert main(["monitor", "summary", str(out)]) == 0
    table = capsys.readouterr().out
    assert "seed0" in table and "seed1" in table and "did not close" not in table
    written = export_gym_files(str(out), str(tmp_path / "gym"))
    stats = json.loads((tmp_path / "gym" / "openaigym.episode_batch.seed1.stats.json").read_text())
    assert len(written) == 4 and len(stats["episode_rewards"]) == counted[1] and set(stats["episode_types"]) == {"t"}

    assert main(["eval", str(out / "checkpoint.safetensors"), "--episodes", "3"]) == 0
    assert "mean return" in capsys.readouterr().out


def test_env_batch_shards_over_two_devices() -> None:
    # One agent whose env batch (and so its rollout) is split over two host devices, against
    # the same agent on one device.
    script = textwrap.dedent(
        """
        import jax, numpy as np
        from gymx.train import agents
        assert jax.device_count() == 2
        cfg = agents.load_config("ppo", "CartPole-v1", total_steps=256)
        results = []
        for devices in (jax.devices(), jax.devices()[:1]):
            agent = agents.make("ppo", "CartPole-v1", cfg, devices=devices)
            state, _ = jax.jit(agent.run)(jax.random.PRNGKey(0))
            results.append(state)
        assert len(results[0].obs.sharding.device_set) == 2, results[0].obs.sharding
        np.testing.assert_allclose(results[0].obs, results[1].obs, rtol=1e-4, atol=1e-4)
        print("ok")
        """
    )
    env = {**os.environ, "XLA_FLAGS": "--xla_force_host_platform_device_count=2", "JAX_PLATFORMS": "cpu"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and "ok" in result.stdout, result.stderr[-3000:]
