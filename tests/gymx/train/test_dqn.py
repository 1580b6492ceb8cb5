"""DQN: targets (plain and double), terminal handling, and a short learning run on CartPole-v1."""

from __future__ import annotations

import dataclasses
import operator

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


def same(a: object, b: object) -> bool:
    return all(np.array_equal(x, y) for x, y in zip(jax.tree_util.tree_leaves(a), jax.tree_util.tree_leaves(b)))


def test_seeds_through_the_runner_match_their_runs_alone_and_branch_at_the_right_iterations() -> None:
    # 16 transitions per iteration: the buffer holds learning_starts=40 after the third iteration's
    # collection, so updates start at iteration 3, the target is copied (tau=1) after every even
    # iteration, and the best snapshot is evaluated after iterations 4 and 6.
    config = agents.load_config(
        "dqn",
        "CartPole-v1",
        total_steps=96,
        num_envs=2,
        train_frequency=8,
        gradient_steps=2,
        buffer_size=256,
        batch_size=8,
        learning_starts=40,
        hidden_sizes=(8,),
        target_update_period=2,
        tau=1.0,
        eval_period=2,
        eval_episodes=2,
    )
    agent = dqn.DQN(config, "CartPole-v1", record_episodes=False)
    seeds = [0, 1]
    together: list[dqn.DQNState] = []  # after each iteration, batched over the seeds
    copy = lambda tree: jax.tree_util.tree_map(np.array, tree)  # the next chunk reuses the report's buffers
    runner.train_seeds(agent, seeds, num_chunks=6, on_chunk=lambda report: together.append(copy(report.states)))
    assert len(together) == 6
    init, one_iteration = jax.jit(agent.init), jax.jit(lambda state: agent.train(state, 1)[0])
    for column, seed in enumerate(seeds):
        state = init(jax.random.PRNGKey(seed))
        initial = state.params
        for iteration, batched in enumerate(together, start=1):
            target = state.target_params
            state = one_iteration(state)
            vmapped = jax.tree_util.tree_map(operator.itemgetter(column), batched)
            where = f"seed {seed}, iteration {iteration}"
            assert int(vmapped.iteration) == int(state.iteration) == iteration, where
            np.testing.assert_array_equal(vmapped.key, state.key, err_msg=where)
            for name in ("params", "target_params", "best_params", "last_eval_return"):
                for a, b in zip(*(jax.tree_util.tree_leaves(getattr(run, name)) for run in (vmapped, state))):
                    np.testing.assert_allclose(a, b, rtol=0, atol=1e-5, err_msg=f"{name}, {where}")
            # The alone run branches where the buffer's fill says; the first checks hold among seeds
            # only to rounding, so they are made on the run alone.
            assert same(state.params, initial) == (iteration < 3), where
            assert same(state.target_params, state.params if iteration % 2 == 0 else target), where
            assert np.isnan(state.last_eval_return) == (iteration < 4), where
            assert same(state.best_params, state.params if iteration == 4 else initial) or iteration > 4, where
