"""SAC: the squashed Gaussian and the target update against numpy, seeds, bad input, `gymx train sac`, and learning Pendulum-v1."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from safetensors.numpy import load_file

from gymx.cli import main
from gymx.monitor import load_results
from gymx.train import agents, checkpoint, config, replay, runner, sac

# Small enough to compile and run in seconds; learning starts within the first iterations.
TINY = {
    "total_steps": 96,
    "num_envs": 4,
    "train_frequency": 4,
    "gradient_steps": 2,
    "buffer_size": 256,
    "batch_size": 16,
    "learning_starts": 32,
    "hidden_sizes": (16, 16),
}


Run = Callable[[jax.Array], tuple[sac.SACState, Any]]


@pytest.fixture(scope="module")
def tiny_agent() -> sac.SAC:
    return sac.SAC(agents.load_config("sac", "Pendulum-v1", **TINY), "Pendulum-v1")


@pytest.fixture(scope="module")
def tiny_run(tiny_agent: sac.SAC) -> Run:
    return jax.jit(tiny_agent.run)


def reference_squashed_log_prob(mean: np.ndarray, log_std: np.ndarray, action: np.ndarray) -> np.ndarray:
    """log p(a) of a = tanh(u), u ~ N(mean, std^2), by the inverse map: p_u(atanh a) * d(atanh a)/da, in float64."""
    u = np.arctanh(action)
    std = np.exp(log_std)
    log_normal = -0.5 * ((u - mean) / std) ** 2 - log_std - 0.5 * np.log(2 * np.pi)
    return np.sum(log_normal - np.log1p(-(action**2)), axis=-1)


def test_squashed_gaussian_log_prob_matches_numpy() -> None:
    rng = np.random.default_rng(0)
    mean = rng.normal(size=(6, 3))
    log_std = rng.uniform(-2.0, 0.5, size=(6, 3))
    # Up to |u| = 4, where 1 - tanh(u)^2 is 1.3e-3: the naive float32 formula already loses digits there.
    pre_tanh = rng.uniform(-4.0, 4.0, size=(6, 3))
    expected = reference_squashed_log_prob(mean, log_std, np.tanh(pre_tanh))
    got = sac.squashed_gaussian_log_prob(
        jnp.asarray(mean, jnp.float32), jnp.asarray(log_std, jnp.float32), jnp.asarray(pre_tanh, jnp.float32)
    )
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    # Far out (|u| = 12, tanh(u) rounds to 1 in float32) the log-density stays finite.
    far = sac.squashed_gaussian_log_prob(jnp.zeros((1, 1)), jnp.zeros(1), jnp.full((1, 1), 12.0))
    assert np.isfinite(far).all()


def test_squashed_gaussian_density_integrates_to_one_and_samples_carry_their_log_prob() -> None:
    # One dim: the density over a in (-1, 1), evaluated through u = atanh(a), has total mass 1.
    actions = np.linspace(-1 + 1e-6, 1 - 1e-6, 200_001)
    density = np.exp(
        sac.squashed_gaussian_log_prob(
            jnp.asarray([0.3]), jnp.asarray([-0.2]), jnp.asarray(np.arctanh(actions))[:, None]
        )
    )
    assert abs(np.trapezoid(np.asarray(density, np.float64), actions) - 1.0) < 1e-3
    action, log_prob = sac.squashed_gaussian_sample(
        jax.random.PRNGKey(0), jnp.zeros((1000, 2)), jnp.asarray([0.0, -1.0])
    )
    assert np.all(np.abs(action) < 1.0)
    expected = reference_squashed_log_prob(np.zeros((1000, 2)), np.array([0.0, -1.0]), np.asarray(action, np.float64))
    np.testing.assert_allclose(log_prob, expected, rtol=1e-3, atol=1e-3)


def test_soft_update_matches_numpy_and_tau_one_copies() -> None:
    rng = np.random.default_rng(1)
    online = {"w": rng.normal(size=(2, 4, 3)).astype(np.float32), "b": rng.normal(size=(2, 3)).astype(np.float32)}
    target = {"w": rng.normal(size=(2, 4, 3)).astype(np.float32), "b": rng.normal(size=(2, 3)).astype(np.float32)}
    updated = sac.soft_update(online, target, 0.005)
    for name in online:
        expected = 0.005 * online[name].astype(np.float64) + 0.995 * target[name].astype(np.float64)
        np.testing.assert_allclose(updated[name], expected, rtol=1e-6, atol=1e-7)
    copied = sac.soft_update(online, target, 1.0)
    for name in online:
        np.testing.assert_array_equal(copied[name], online[name])


def test_an_update_moves_the_targets_by_polyak_averaging_and_the_temperature_towards_the_entropy_target(
    tiny_agent: sac.SAC, tiny_run: Run
) -> None:
    state, _ = tiny_run(jax.random.PRNGKey(0))
    before = jax.jit(tiny_agent.init)(jax.random.PRNGKey(0)).learner  # fresh optimisers: Adam's first step
    key = jax.random.PRNGKey(5)
    after = jax.jit(tiny_agent._update)(before, state.buffer, key)
    tau = tiny_agent.config.tau
    for critic, old_target, new_target in zip(
        jax.tree_util.tree_leaves(after.params.critic),
        jax.tree_util.tree_leaves(before.target_critic),
        jax.tree_util.tree_leaves(after.target_critic),
    ):
        expected = tau * np.asarray(critic, np.float64) + (1 - tau) * np.asarray(old_target, np.float64)
        np.testing.assert_allclose(new_target, expected, rtol=1e-5, atol=1e-6)
    # The twins are two networks, not one: their parameters differ.
    first_layer = after.params.critic[0].w
    assert first_layer.shape[0] == 2 and not np.allclose(first_layer[0], first_layer[1])
    # The temperature's gradient is -(E[log pi] + target_entropy), with the actor's samples of this update
    # (the same keys as `_update`); Adam's first step moves log_alpha by the learning rate against it.
    batch_key, _, actor_key = jax.random.split(key, 3)
    obs = replay.sample(state.buffer, batch_key, tiny_agent.config.batch_size).obs
    _, log_prob = tiny_agent.actor_loss(
        before.params.actor, after.params.critic, before.params.log_alpha, obs, actor_key
    )
    gap = float(jnp.mean(log_prob)) + tiny_agent.target_entropy
    assert tiny_agent.target_entropy == -1.0
    np.testing.assert_allclose(
        after.params.log_alpha - before.params.log_alpha, np.sign(gap) * tiny_agent.config.learning_rate, rtol=1e-3
    )


def test_runs_are_deterministic_per_seed_and_differ_between_seeds(tiny_agent: sac.SAC, tiny_run: Run) -> None:
    first, _ = tiny_run(jax.random.PRNGKey(0))
    again, _ = tiny_run(jax.random.PRNGKey(0))
    other, _ = tiny_run(jax.random.PRNGKey(1))
    for a, b in zip(jax.tree_util.tree_leaves(first), jax.tree_util.tree_leaves(again)):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.learner.params.actor[0].w, other.learner.params.actor[0].w)
    assert int(first.buffer.size) == TINY["total_steps"] and int(first.iteration) == tiny_agent.num_iterations
    # Learning started: the parameters moved from their initial values, and stayed finite.
    initial = jax.jit(tiny_agent.init)(jax.random.PRNGKey(0))
    assert not np.allclose(first.learner.params.actor[0].w, initial.learner.params.actor[0].w)
    assert all(np.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(first.learner))
    # Actions in the buffer live in the unit box; the env's box is [-2, 2].
    actions = np.asarray(first.buffer.data.action)
    assert actions.shape == (TINY["buffer_size"], 1) and np.abs(actions).max() <= 1.0
    greedy = tiny_agent.greedy_action(first, first.obs)
    assert greedy.shape == (4, 1) and np.abs(np.asarray(greedy)).max() <= 2.0


def test_an_agent_among_seeds_matches_its_seed_alone(tiny_agent: sac.SAC) -> None:
    # runner's promise: identical keys and env streams, parameters equal to rounding.
    init = jax.jit(jax.vmap(tiny_agent.init))
    step = jax.jit(jax.vmap(lambda state: tiny_agent.train(state, 2)))
    # One program at a time: two XLA:CPU programs at once have deadlocked on a 2-core machine.
    together = jax.block_until_ready(init(runner.seed_keys([0, 1, 2])))
    alone = jax.block_until_ready(init(runner.seed_keys([1])))
    for a, b in zip(jax.tree_util.tree_leaves(together), jax.tree_util.tree_leaves(alone)):
        np.testing.assert_array_equal(a[1], b[0])
    for rounds in range(3):  # 6 iterations: updates from the third on
        together, _ = jax.block_until_ready(step(together))
        alone, _ = jax.block_until_ready(step(alone))
        np.testing.assert_array_equal(together.key[1], alone.key[0])
        np.testing.assert_allclose(together.obs[1], alone.obs[0], rtol=0, atol=1e-5)
        for a, b in zip(
            jax.tree_util.tree_leaves(together.learner.params), jax.tree_util.tree_leaves(alone.learner.params)
        ):
            np.testing.assert_allclose(a[1], b[0], rtol=0, atol=1e-5, err_msg=f"after {2 * (rounds + 1)} iterations")


def test_discrete_actions_and_bad_configs_are_refused_by_name(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = agents.load_config("sac", "Pendulum-v1", **TINY)
    with pytest.raises(ValueError, match=r"SAC needs continuous \(flat Box\) actions; CartPole-v1 has Discrete\(2\)"):
        sac.SAC(cfg, "CartPole-v1")
    with pytest.raises(ValueError, match="tau must be in"):
        dataclasses.replace(cfg, tau=0.0)
    with pytest.raises(ValueError, match="less than one iteration"):
        dataclasses.replace(cfg, total_steps=8)
    with pytest.raises(ValueError, match="initial_alpha must be positive"):
        dataclasses.replace(cfg, initial_alpha=0.0)
    with pytest.raises(FileNotFoundError, match="no sac config for 'CartPole-v1'"):
        agents.load_config("sac", "CartPole-v1")
    # Every packaged config is complete and valid for its env (no env is built).
    assert {"Pendulum-v1", "HopperFast-v5"} <= set(config.available("sac"))
    for env_id in config.available("sac"):
        assert isinstance(agents.load_config("sac", env_id), sac.SACConfig)
    # The command line says the same in one line, before creating any run folder.
    toml = tmp_path / "sac.toml"
    toml.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in config.to_dict(cfg).items()))
    out = tmp_path / "run"
    assert main(["train", "sac", "CartPole-v1", "--config", str(toml), "--out", str(out), "--quiet"]) == 2
    error = capsys.readouterr().err
    assert error.startswith("gymx train: SAC needs continuous") and "Discrete(2)" in error and not out.exists()


# Three compiles of the SAC chunk (about 2 minutes on a loaded 2-core CPU): with --all.
@pytest.mark.full
def test_gymx_train_sac_logs_episodes_keeps_the_best_and_resumes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Pendulum episodes are 200 steps: 4 envs x 200 steps per chunk end 4 episodes per seed each chunk.
    small = dataclasses.replace(
        agents.load_config("sac", "Pendulum-v1", **TINY), total_steps=1600, train_frequency=50, learning_starts=200
    )
    toml = tmp_path / "sac.toml"
    toml.write_text("\n".join(f"{k} = {json.dumps(v)}" for k, v in config.to_dict(small).items()))
    common = ["--config", str(toml), "--seeds", "2", "--chunks", "2", "--select-episodes", "2", "--eval-episodes", "2"]
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert main(["train", "sac", "Pendulum-v1", *common, "--out", str(whole), "--quiet", "--no-plot"]) == 0
    printed = capsys.readouterr().out
    assert "sac on Pendulum-v1: 2 seed(s) x 1,600 env steps" in printed and "greedy policy (best" in printed

    # Stopped after the first chunk's checkpoint, then resumed: the same files as the run in one go.
    real_update = runner.ProgressBar.update

    def interrupt(self: runner.ProgressBar, *args: float) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(runner.ProgressBar, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        main(["train", "sac", "Pendulum-v1", *common, "--out", str(cut), "--quiet", "--no-plot"])
    monkeypatch.setattr(runner.ProgressBar, "update", real_update)
    assert checkpoint.read(cut / "checkpoint.safetensors").run["iterations_done"] == 4
    assert main(["train", "sac", "Pendulum-v1", "--out", str(cut), "--resume", "--quiet", "--no-plot"]) == 0
    for name in ("checkpoint.safetensors", "best.safetensors"):
        expected, resumed = load_file(whole / name), load_file(cut / name)
        assert expected.keys() == resumed.keys()
        for key in expected:
            np.testing.assert_array_equal(resumed[key], expected[key], err_msg=f"{name} {key}")

    assert main(["eval", str(whole / "best.safetensors"), "--episodes", "2"]) == 0
    assert "sac on Pendulum-v1, seeds [0, 1]" in capsys.readouterr().out
    runs = load_results(str(whole)).runs()
    assert [len(run) for run in runs] == [8, 8] and all(np.all(run.lengths == 200) for run in runs)


@pytest.mark.full
def test_sac_learns_pendulum() -> None:
    # A uniformly random policy averages about -1200 on Pendulum-v1; the packaged config reaches
    # a greedy mean above -200 in 10k env steps (benchmarks/RESULTS.md, "Training: SAC (CPU)").
    cfg = agents.load_config("sac", "Pendulum-v1", total_steps=10_000)
    agent = agents.make("sac", "Pendulum-v1", cfg, record_episodes=False)
    chunk_returns: list[float] = []
    states, _ = runner.train_seeds(agent, [0], num_chunks=5, on_chunk=lambda r: chunk_returns.append(r.mean_return))
    trained = runner.evaluate(agent, states, 20, jax.random.PRNGKey(1))
    assert chunk_returns[0] < -900, chunk_returns
    assert trained.mean() > -300, (chunk_returns, trained.mean())
