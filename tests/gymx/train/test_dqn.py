"""DQN: targets (plain and double), terminal handling, and a short learning run on CartPole-v1."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from gymx.train import agents, dqn, runner


def test_targets_bootstrap_unless_terminated_and_double_uses_the_online_argmax() -> None:
    rewards = jnp.asarray([1.0, 1.0])
    terminated = jnp.asarray([0.0, 1.0])
    next_q_target = jnp.asarray([[2.0, 5.0], [2.0, 5.0]])
    next_q_online = jnp.asarray([[9.0, 0.0], [9.0, 0.0]])
    plain = dqn.q_targets(rewards, terminated, next_q_target, next_q_online, 0.5, double=False)
    double = dqn.q_targets(rewards, terminated, next_q_target, next_q_online, 0.5, double=True)
    np.testing.assert_allclose(plain, [1.0 + 0.5 * 5.0, 1.0])
    np.testing.assert_allclose(double, [1.0 + 0.5 * 2.0, 1.0])


def test_replay_holds_true_next_observations_and_epsilon_decays() -> None:
    config = agents.load_config(
        "dqn", "CartPole-v1", total_steps=2560, learning_starts=10_000, hidden_sizes=(16,), buffer_size=4096
    )
    agent = dqn.DQN(config, "CartPole-v1")
    state, _ = jax.jit(agent.run)(jax.random.PRNGKey(0))
    data, size = state.buffer.data, int(state.buffer.size)
    assert size == 2560
    # Every stored next observation is one CartPole step from its observation (never a reset one).
    obs, next_obs = np.asarray(data.obs[:size]), np.asarray(data.next_obs[:size])
    np.testing.assert_allclose(next_obs[:, 0], obs[:, 0] + 0.02 * obs[:, 1], rtol=1e-5, atol=1e-6)
    assert np.asarray(data.terminated[:size]).any()
    assert float(agent.epsilon(0)) == 1.0 and np.isclose(float(agent.epsilon(config.total_steps)), config.epsilon_end)


def test_dqn_learns_cartpole() -> None:
    config = agents.load_config("dqn", "CartPole-v1", total_steps=40_000, hidden_sizes=(64, 64), gradient_steps=64)
    agent = dqn.DQN(config, "CartPole-v1")
    chunk_returns = []
    states, _ = runner.train_seeds(
        agent, [0], num_chunks=4, on_chunk=lambda report: chunk_returns.append(report.mean_return)
    )
    trained = runner.evaluate(agent, states, 20, jax.random.PRNGKey(1))
    # A uniformly random policy averages about 22 on CartPole-v1.
    assert max(chunk_returns[1:]) > 2 * chunk_returns[0] and trained.mean() > 100, (chunk_returns, trained.mean())


def test_keep_best_snapshot_is_the_policy_evaluated() -> None:
    config = agents.load_config(
        "dqn",
        "CartPole-v1",
        total_steps=5120,
        learning_starts=256,
        hidden_sizes=(16,),
        buffer_size=4096,
        gradient_steps=4,
        eval_period=2,
        eval_episodes=4,
    )
    agent = dqn.DQN(config, "CartPole-v1", record_episodes=False)
    state, _ = jax.jit(agent.run)(jax.random.PRNGKey(0))
    best, last = float(state.best_return), float(state.last_eval_return)
    assert np.isfinite(best) and best >= last and best >= 1.0
    # greedy_action acts with the kept snapshot, not the last parameters.
    assert agent.policy_params(state) is state.best_params
    off = dqn.DQN(dataclasses.replace(config, eval_period=0), "CartPole-v1", record_episodes=False)
    assert off.policy_params(state) is state.params
