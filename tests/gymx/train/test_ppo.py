"""PPO: GAE against a numpy reference, bootstrapping from the true last observation, losses, learning, seeds, images."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gymx
from gymx import spaces, struct
from gymx.core import Env
from gymx.train import agents, ppo, runner
from gymx.wrappers import AtariPreprocessing, FrameStack


def gae_reference(rewards, values, next_values, terminated, truncated, gamma, lam):
    """Per env, episode by episode: returns bootstrap from V(true next state) unless terminated."""
    steps, envs = rewards.shape
    advantages = np.zeros((steps, envs))
    for env in range(envs):
        running = 0.0
        for t in reversed(range(steps)):
            if terminated[t, env]:
                running = rewards[t, env] - values[t, env]
            elif truncated[t, env] or t == steps - 1:
                # The episode (or the rollout) stops here: bootstrap from the last state's value.
                running = rewards[t, env] + gamma * next_values[t, env] - values[t, env]
            else:
                delta = rewards[t, env] + gamma * next_values[t, env] - values[t, env]
                running = delta + gamma * lam * running
            advantages[t, env] = running
    return advantages, advantages + values


def test_gae_matches_reference_with_mid_rollout_truncation_and_termination() -> None:
    rng = np.random.default_rng(0)
    steps, envs = 12, 3
    rewards, values, next_values = (rng.normal(size=(steps, envs)) for _ in range(3))
    terminated = np.zeros((steps, envs), bool)
    truncated = np.zeros((steps, envs), bool)
    terminated[3, 0] = terminated[9, 1] = True  # termination mid-rollout
    truncated[6, 0] = truncated[4, 2] = True  # truncation mid-rollout
    terminated[8, 2] = truncated[8, 2] = True  # both at once: terminated wins, no bootstrap
    expected_adv, expected_ret = gae_reference(rewards, values, next_values, terminated, truncated, 0.97, 0.9)
    adv, ret = ppo.gae(
        jnp.asarray(rewards, jnp.float32),
        jnp.asarray(values, jnp.float32),
        jnp.asarray(next_values, jnp.float32),
        jnp.asarray(terminated, jnp.float32),
        jnp.asarray(terminated | truncated, jnp.float32),
        0.97,
        0.9,
    )
    np.testing.assert_allclose(adv, expected_adv, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(ret, expected_ret, rtol=1e-5, atol=1e-5)


def test_lambda_one_gives_discounted_returns_to_the_end_of_each_episode() -> None:
    rewards = jnp.ones((5, 1))
    terminated = jnp.asarray([0, 1, 0, 0, 0], jnp.float32)[:, None]
    zeros = jnp.zeros((5, 1))
    _, returns = ppo.gae(rewards, zeros, zeros, terminated, terminated, 0.5, 1.0)
    np.testing.assert_allclose(returns[:, 0], [1.5, 1.0, 1.75, 1.5, 1.0])


def test_rollout_bootstraps_from_the_true_last_observation() -> None:
    config = agents.load_config("ppo", "CartPole-v1", num_envs=4, num_steps=24, total_steps=96)
    agent = ppo.PPO(config, "CartPole-v1")
    agent.env = gymx.make_vec("CartPole-v1", 4, max_episode_steps=5)  # Truncates every 5 steps, mid-rollout.
    state = agent.init(jax.random.PRNGKey(0))
    _, _, trajectory, timesteps = jax.jit(agent._collect)(state, jax.random.PRNGKey(1))
    truncated = np.asarray(timesteps.truncated & ~timesteps.terminated)
    assert truncated[:-1].any()
    next_obs, obs = np.asarray(trajectory.next_obs), np.asarray(trajectory.obs)
    continuing = ~np.asarray(trajectory.done[:-1])
    np.testing.assert_array_equal(next_obs[:-1][continuing], obs[1:][continuing])
    # On a truncated step the bootstrap observation is the cut-off state, not the reset one.
    t, env = np.argwhere(truncated[:-1])[0]
    assert not np.allclose(next_obs[t, env], obs[t + 1, env])
    x, x_dot, theta, theta_dot = obs[t, env]  # Euler: positions move by tau times the old velocities.
    np.testing.assert_allclose(
        next_obs[t, env][[0, 2]], [x + 0.02 * x_dot, theta + 0.02 * theta_dot], rtol=1e-5, atol=1e-6
    )


def test_clipped_surrogate_loss_clips_in_the_direction_of_the_advantage() -> None:
    ratio = jnp.asarray([1.5, 0.5, 1.5, 0.5])
    advantages = jnp.asarray([1.0, 1.0, -1.0, -1.0])
    # min(r A, clip(r) A): [1.2, 0.5, -1.5, -0.8]
    np.testing.assert_allclose(
        ppo.clipped_surrogate_loss(ratio, advantages, 0.2), -np.mean([1.2, 0.5, -1.5, -0.8]), rtol=1e-6
    )


def test_running_stats_match_numpy_moments() -> None:
    data = np.random.default_rng(1).normal(3.0, 2.0, size=(300, 4)).astype(np.float32)
    stats = ppo.init_stats(4)
    for chunk in np.split(data, 3):
        stats = ppo.update_stats(stats, jnp.asarray(chunk))
    np.testing.assert_allclose(stats.mean, data.mean(0), rtol=1e-4)
    np.testing.assert_allclose(stats.var, data.var(0), rtol=1e-3)


def test_an_agent_among_seeds_matches_its_seed_alone_in_keys_and_to_rounding_in_floats() -> None:
    # What runner's docstring promises: identical keys, initial states and env streams, and
    # parameters equal to rounding (XLA:CPU's fused multiply-adds depend on the batch's size).
    config = agents.load_config("ppo", "CartPole-v1", total_steps=3 * 256, update_epochs=2)
    agent = ppo.PPO(config, "CartPole-v1")
    init = jax.jit(jax.vmap(agent.init))
    step = jax.jit(jax.vmap(lambda state: agent.train(state, 1)))
    # Each program finishes before the next is dispatched: two XLA:CPU programs running at once
    # on this 2-core machine have deadlocked (every runtime thread waiting, none computing).
    together, alone = (
        jax.block_until_ready(init(runner.seed_keys([0, 1, 2]))),
        jax.block_until_ready(init(runner.seed_keys([1]))),
    )
    for a, b in zip(jax.tree_util.tree_leaves(together), jax.tree_util.tree_leaves(alone)):
        np.testing.assert_array_equal(a[1], b[0])
    for iteration in range(3):
        together, _ = jax.block_until_ready(step(together))
        alone, _ = jax.block_until_ready(step(alone))
        np.testing.assert_array_equal(together.key[1], alone.key[0])
        np.testing.assert_array_equal(together.obs[1], alone.obs[0])
        for a, b in zip(jax.tree_util.tree_leaves(together.params), jax.tree_util.tree_leaves(alone.params)):
            np.testing.assert_allclose(a[1], b[0], rtol=0, atol=1e-6, err_msg=f"iteration {iteration + 1}")


@pytest.mark.parametrize("env_id", ["Pendulum-v1"])
def test_continuous_actions_train_and_stay_finite(env_id: str) -> None:
    config = agents.load_config(
        "ppo", env_id, num_envs=4, num_steps=32, num_minibatches=2, update_epochs=2, total_steps=256
    )
    agent = ppo.PPO(config, env_id)
    state, _logs = jax.jit(agent.run)(jax.random.PRNGKey(0))
    assert all(np.isfinite(leaf).all() for leaf in jax.tree_util.tree_leaves(state.params))
    assert float(state.obs_stats.count) > 256
    actions = agent.greedy_action(state, state.obs)
    assert actions.shape == (4, 1) and np.all(np.abs(actions) <= 2.0)


def test_ppo_learns_cartpole() -> None:
    # A greedy near-uniform policy already balances CartPole for a while (the argmax of tiny
    # logits is a linear controller), so progress is measured on the sampled training episodes.
    agent = agents.make("ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", total_steps=50_000))
    chunk_returns = []
    states, _ = runner.train_seeds(
        agent, [0], num_chunks=5, on_chunk=lambda report: chunk_returns.append(report.mean_return)
    )
    trained = runner.evaluate(agent, states, 20, jax.random.PRNGKey(1))
    assert chunk_returns[0] < 100, chunk_returns
    assert chunk_returns[-1] > 400, chunk_returns
    assert trained.mean() > 400, trained


# Images: the Nature CNN torso on a synthetic bandit, and the Atari config on Pong.

BANDIT_SIZE = 84


class BanditState(struct.PyTree):
    quadrant: jax.Array  # int32 (): the bright quadrant, 0-3 in reading order
    done: jax.Array  # bool ()


class QuadrantBandit(Env):
    """One step per episode: four dark frames but for one bright quadrant, drawn at reset; the action naming it earns 1."""

    def observation_space(self, params: object = None) -> spaces.Box:
        return spaces.Box(0, 255, (4, BANDIT_SIZE, BANDIT_SIZE), jnp.uint8)

    def action_space(self, params: object = None) -> spaces.Discrete:
        return spaces.Discrete(4)

    def reset_env(self, key: jax.Array, params: object) -> BanditState:
        return BanditState(jax.random.randint(key, (), 0, 4), jnp.zeros((), bool))

    def step_env(self, state: BanditState, action: jax.Array, params: object) -> tuple[BanditState, jax.Array, dict]:
        return state.replace(done=jnp.ones((), bool)), (action == state.quadrant).astype(jnp.float32), {}

    def observe(self, state: BanditState, params: object) -> jax.Array:
        lower = jnp.arange(BANDIT_SIZE) >= BANDIT_SIZE // 2
        bright = (lower[:, None] == (state.quadrant >= 2)) & (lower[None, :] == (state.quadrant % 2 == 1))
        return jnp.broadcast_to(jnp.where(bright, 255, 0).astype(jnp.uint8), (4, BANDIT_SIZE, BANDIT_SIZE))

    def is_terminal(self, state: BanditState, params: object) -> jax.Array:
        return state.done


@pytest.fixture
def quadrant_bandit() -> Iterator[str]:
    with gymx.namespace("testns"):
        gymx.register("QuadrantBandit-v0", QuadrantBandit)
    yield "testns/QuadrantBandit-v0"
    gymx.registry.pop("testns/QuadrantBandit-v0", None)


def test_ppo_with_the_nature_cnn_learns_which_quadrant_is_bright(quadrant_bandit: str) -> None:
    # Pong's settings (CNN, ReLU, clip 0.1, lr 2.5e-4) without its Atari wrappers, at a tiny batch
    # and a constant learning rate (annealed to zero over six iterations it would stop short).
    iterations = 6
    config = agents.load_config(
        "ppo",
        "ALE/Pong-v5",
        atari_preprocessing=False,
        frame_stack=1,
        num_envs=8,
        num_steps=4,
        num_minibatches=2,
        total_steps=32 * iterations,
        anneal_lr=False,
    )
    agent = ppo.PPO(config, quadrant_bandit)
    images = jnp.stack([QuadrantBandit().observe(BanditState(jnp.int32(q), jnp.bool_(False)), None) for q in range(4)])

    @jax.jit
    def run(key: jax.Array) -> tuple[ppo.PPOState, ppo.PPOState, jax.Array]:
        initial = agent.init(key)
        trained, logs = agent.train(initial, iterations)
        return initial, trained, logs.return_sum / logs.episodes

    initial, trained, mean_returns = run(jax.random.PRNGKey(0))
    correct = jnp.arange(4)

    def greedy_hits_and_probability(state: ppo.PPOState) -> tuple[int, float]:
        hits = int(jnp.sum(agent.greedy_action(state, images) == correct))
        logits = agent._policy_out(state.params, images)
        return hits, float(jnp.mean(jax.nn.softmax(logits)[correct, correct]))

    hits_before, p_before = greedy_hits_and_probability(initial)
    hits_after, p_after = greedy_hits_and_probability(trained)
    assert hits_before <= 2 and p_before < 0.3, (hits_before, p_before)  # near-uniform policy head
    assert hits_after == 4 and p_after > 0.7, (hits_after, p_after)
    assert mean_returns[-1] > mean_returns[0] + 0.3, mean_returns
    # Pixels reach the CNN raw: no running statistics kept.
    assert trained.obs_stats.mean.shape == (0,)


def test_ppo_builds_pongs_preprocessed_env_and_refuses_mismatched_networks() -> None:
    config = agents.load_config("ppo", "ALE/Pong-v5", num_envs=2, num_steps=2, total_steps=4)
    agent = ppo.PPO(config, "ALE/Pong-v5")
    assert isinstance(agent.env.env, FrameStack) and isinstance(agent.env.env.env, AtariPreprocessing)
    obs_space = agent.env.single_observation_space()
    assert obs_space.shape == (4, 84, 84) and obs_space.dtype == np.uint8
    assert agent.action_dim == 6
    with pytest.raises(ValueError, match="atari_preprocessing wraps an Atari env"):
        ppo.PPO(config, "CartPole-v1")
    no_wrappers = dataclasses.replace(config, atari_preprocessing=False, frame_stack=1)
    with pytest.raises(ValueError, match="nature_cnn network takes uint8 images"):
        ppo.PPO(no_wrappers, "CartPole-v1")
    with pytest.raises(ValueError, match="mlp network takes flat Box observations"):
        ppo.PPO(agents.load_config("ppo", "CartPole-v1", atari_preprocessing=True, frame_stack=4), "ALE/Pong-v5")


@pytest.mark.full
def test_ppo_runs_one_iteration_on_pong() -> None:
    # The Atari programs compile for minutes on a CPU (init, with its no-op bank, and one
    # iteration: about 3 + 2 minutes on a loaded 2-core machine), hence --all.
    config = agents.load_config("ppo", "ALE/Pong-v5", num_envs=2, num_steps=2, total_steps=4, update_epochs=1)
    agent = ppo.PPO(config, "ALE/Pong-v5")
    state = jax.jit(agent.init)(jax.random.PRNGKey(0))
    assert state.obs.shape == (2, 4, 84, 84) and state.obs.dtype == jnp.uint8
    # Reset padding: the stack holds the first frame four times, a screen with something on it.
    np.testing.assert_array_equal(state.obs[:, 0], state.obs[:, 3])
    assert int(state.obs.max()) > int(state.obs.min())
    after, logs = jax.jit(agent.iteration)(state)
    assert int(after.iteration) == 1 and logs.return_sum.shape == ()
    # Every weight and bias of the CNN and both heads moved (log_std is empty: discrete actions).
    before, trained = (
        jax.tree_util.tree_leaves((s.params.torso, s.params.actor, s.params.critic)) for s in (state, after)
    )
    assert all(not np.array_equal(a, b) and np.isfinite(a).all() for a, b in zip(trained, before))
    # Two agent steps are eight emulated frames: the newest frame moved on.
    assert not np.array_equal(after.obs[:, -1], state.obs[:, -1])
