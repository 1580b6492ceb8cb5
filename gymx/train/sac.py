"""Soft Actor-Critic (Haarnoja et al., 2018) over a gymx `VecEnv`, the whole loop compiled.

One iteration: `train_frequency` batched steps in `num_envs` envs, each added to a replay buffer
held on the device, then (once the buffer holds `learning_starts` transitions) `gradient_steps`
updates on uniformly sampled minibatches. Until then the envs act uniformly at random over the
action box, so the first updates see the whole box rather than one untrained policy's corner.

One update, in order: the twin critics regress on the soft Bellman target
r + gamma * (1 - terminated) * (min_i Q_target_i(s', a') - alpha * log pi(a'|s')), a' ~ pi(s');
the actor then minimises E[alpha * log pi(a|s) - min_i Q_i(s, a)] against the updated critics
(reparameterised samples, so the gradient flows through a); the temperature follows
log_alpha <- log_alpha - lr * d/d(log_alpha) [-log_alpha * (log pi(a|s) + target_entropy)] with
target entropy -action_dim (the SAC v2 rule, Haarnoja et al., 2018b); last, the target critics
move towards the critics by Polyak averaging with `tau`. The critics and their targets are one
MLP each with a leading axis of 2 on every leaf (the twins), evaluated with one `vmap`.

The policy is a tanh-squashed diagonal Gaussian in the unit box [-1, 1]^d; the env gets its
samples mapped affinely onto its action box, which must be bounded. Log-probabilities, the
replay buffer's actions and the entropy target all live in the unit box, so one config serves
envs whose boxes differ only in scale.

Episode boundaries: transitions keep the true next observation (`info["final_obs"]` of gymx's
`SAME_STEP` auto-reset) and `terminated`, so targets bootstrap through time-limit truncations
and not past terminal states.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gymx import spaces, struct
from gymx.train import distributed, networks, replay
from gymx.train.episodes import IterationLog, iteration_log
from gymx.vector import AutoresetMode, VecState, make_vec

# The actor's log standard deviation is clipped to this range: wide enough for near-uniform
# exploration in the unit box, narrow enough that log-probabilities stay finite in float32.
LOG_STD_MIN, LOG_STD_MAX = -5.0, 2.0


@dataclasses.dataclass(frozen=True)
class SACConfig:
    total_steps: int  # env steps per agent (all envs together), rounded down to whole iterations
    num_envs: int
    train_frequency: int  # batched env steps per iteration
    gradient_steps: int  # updates per iteration
    buffer_size: int
    batch_size: int
    learning_starts: int  # transitions in the buffer before the first update; uniform random actions until then
    learning_rate: float  # Adam's, for the actor, the critics and the temperature alike
    gamma: float
    tau: float  # target <- tau * online + (1 - tau) * target, after every update
    initial_alpha: float  # the entropy temperature's starting value
    hidden_sizes: tuple[int, ...]
    activation: str

    def __post_init__(self) -> None:
        if self.num_iterations < 1:
            raise ValueError(
                f"total_steps={self.total_steps} is less than one iteration ({self.steps_per_iteration} steps)"
            )
        if self.activation not in networks.ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(networks.ACTIVATIONS)}, got {self.activation!r}")
        if self.num_envs > self.buffer_size:
            raise ValueError("buffer_size must hold at least one batched step")
        if not 0.0 < self.tau <= 1.0:
            raise ValueError(f"tau must be in (0, 1], got {self.tau}")
        if self.initial_alpha <= 0.0:
            raise ValueError(f"initial_alpha must be positive, got {self.initial_alpha}")

    @property
    def steps_per_iteration(self) -> int:
        return self.num_envs * self.train_frequency

    @property
    def num_iterations(self) -> int:
        return self.total_steps // self.steps_per_iteration


# The squashed Gaussian and the target update: small pure functions, tested on their own.


def squashed_gaussian_log_prob(mean: jax.Array, log_std: jax.Array, pre_tanh: jax.Array) -> jax.Array:
    """log-density of a = tanh(u) at u = `pre_tanh`, u ~ N(mean, exp(log_std)^2) per dim; all (..., d) -> (...).

    Change of variables: log p(a) = log N(u) - sum_d log(1 - tanh(u_d)^2), with
    log(1 - tanh(u)^2) = 2 * (log 2 - u - softplus(-2u)), exact and finite where tanh(u) rounds to +-1.
    """
    log_det = 2.0 * (np.log(2.0) - pre_tanh - jax.nn.softplus(-2.0 * pre_tanh))
    return networks.gaussian_log_prob(mean, log_std, pre_tanh) - jnp.sum(log_det, axis=-1)


def squashed_gaussian_sample(key: jax.Array, mean: jax.Array, log_std: jax.Array) -> tuple[jax.Array, jax.Array]:
    """(a, log p(a)): a reparameterised sample in (-1, 1)^d, differentiable in `mean` and `log_std`."""
    pre_tanh = networks.gaussian_sample(key, mean, log_std)
    return jnp.tanh(pre_tanh), squashed_gaussian_log_prob(mean, log_std, pre_tanh)


def soft_update(online: Any, target: Any, tau: float) -> Any:
    """Polyak averaging, leaf by leaf: tau * online + (1 - tau) * target."""
    return jax.tree_util.tree_map(lambda new, old: tau * new + (1.0 - tau) * old, online, target)


# State.


class SACParams(struct.PyTree):
    actor: networks.MLP  # obs -> (mean, log_std) of the pre-tanh Gaussian, (..., 2 * action_dim)
    critic: networks.MLP  # (obs, action) -> Q; every leaf has a leading axis of 2, the twin critics
    log_alpha: jax.Array  # float32 (): log of the entropy temperature


class Learner(struct.PyTree):
    """What the updates change: the networks, their targets and their optimiser states."""

    params: SACParams
    target_critic: networks.MLP  # Polyak average of `params.critic`, same twin layout
    actor_opt_state: Any
    critic_opt_state: Any
    alpha_opt_state: Any


class SACState(struct.PyTree):
    learner: Learner
    buffer: replay.ReplayBuffer  # actions stored in the unit box
    env_state: VecState
    obs: jax.Array  # (num_envs, obs_dim)
    key: jax.Array  # raw uint32 PRNG key data
    iteration: jax.Array  # int32 (): iterations done


class SAC:
    """A SAC agent for one env id with bounded continuous actions: the static half of a training run.

    The dynamic half is a `SACState`; every method is a pure function of it, safe to jit and vmap.
    """

    algo = "sac"

    def __init__(
        self, config: SACConfig, env_id: str, devices: list[jax.Device] | None = None, record_episodes: bool = True
    ):
        self.config = config
        self.env_id = env_id
        self.record_episodes = record_episodes
        self.env = make_vec(env_id, config.num_envs, AutoresetMode.SAME_STEP, devices=devices)
        obs_space, action_space = self.env.single_observation_space(), self.env.single_action_space()
        if not isinstance(obs_space, spaces.Box) or len(obs_space.shape) != 1:
            raise ValueError(f"SAC here takes flat Box observations; {env_id} has {obs_space!r}")
        if not isinstance(action_space, spaces.Box) or len(action_space.shape) != 1:
            raise ValueError(
                f"SAC needs continuous (flat Box) actions; {env_id} has {action_space!r} (for Discrete actions use dqn or ppo)"
            )
        if not action_space.is_bounded():
            raise ValueError(f"SAC squashes actions into a bounded box; {env_id} has {action_space!r}")
        self.obs_dim = obs_space.shape[0]
        self.action_dim = action_space.shape[0]
        self.target_entropy = -float(self.action_dim)
        # The affine map from the unit box onto the env's box.
        self.action_scale = np.asarray((action_space.high - action_space.low) / 2.0, np.float32)
        self.action_offset = np.asarray((action_space.high + action_space.low) / 2.0, np.float32)
        self.optimizer = optax.adam(config.learning_rate)

    @property
    def steps_per_iteration(self) -> int:
        return self.config.train_frequency

    @property
    def num_iterations(self) -> int:
        return self.config.num_iterations

    def init(self, key: jax.Array) -> SACState:
        """A fresh agent, an empty buffer and reset envs from one PRNG key."""
        key, net_key, env_key = jax.random.split(key, 3)
        hidden = list(self.config.hidden_sizes)
        critic_sizes = [self.obs_dim + self.action_dim, *hidden, 1]
        # A small head gain starts every state near mean 0, std 1: a wide policy over the unit box.
        actor, *critics = networks.init_mlps(
            net_key, [([self.obs_dim, *hidden, 2 * self.action_dim], 0.01), (critic_sizes, 1.0), (critic_sizes, 1.0)]
        )
        critic = jax.tree_util.tree_map(lambda *layers: jnp.stack(layers), *critics)  # the twin critics, stacked
        params = SACParams(
            actor=actor, critic=critic, log_alpha=jnp.asarray(np.log(self.config.initial_alpha), jnp.float32)
        )
        env_state, ts = self.env.reset(env_key)
        example = replay.Transitions(
            obs=ts.obs[0],
            action=jnp.zeros(self.action_dim, jnp.float32),
            reward=jnp.zeros(()),
            next_obs=ts.obs[0],
            terminated=jnp.zeros((), bool),
        )
        learner = Learner(
            params=params,
            target_critic=critic,
            actor_opt_state=self.optimizer.init(actor),
            critic_opt_state=self.optimizer.init(critic),
            alpha_opt_state=self.optimizer.init(params.log_alpha),
        )
        return SACState(
            learner=learner,
            buffer=replay.init_buffer(self.config.buffer_size, example),
            env_state=env_state,
            obs=ts.obs,
            key=key,
            iteration=jnp.zeros((), jnp.int32),
        )

    # Policy and critics.

    def _actor_out(self, actor: networks.MLP, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = networks.mlp(actor, obs, self.config.activation)
        mean, log_std = out[..., : self.action_dim], out[..., self.action_dim :]
        return mean, jnp.clip(log_std, LOG_STD_MIN, LOG_STD_MAX)

    def _sample(self, key: jax.Array, actor: networks.MLP, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(actions in the unit box, their log-probabilities) of the stochastic policy."""
        mean, log_std = self._actor_out(actor, obs)
        return squashed_gaussian_sample(key, mean, log_std)

    def _q(self, critic: networks.MLP, obs: jax.Array, action: jax.Array) -> jax.Array:
        """(2, ...) values of both twins."""
        inputs = jnp.concatenate([obs, action], axis=-1)
        return jax.vmap(lambda twin: networks.mlp(twin, inputs, self.config.activation)[..., 0])(critic)

    def _env_action(self, unit_action: jax.Array) -> jax.Array:
        return unit_action * self.action_scale + self.action_offset

    def greedy_action(self, state: SACState, obs: jax.Array) -> jax.Array:
        """The deterministic policy used for evaluation: the squashed Gaussian mean, mapped onto the env's box."""
        mean, _ = self._actor_out(state.learner.params.actor, obs)
        return self._env_action(jnp.tanh(mean))

    # Losses.

    def critic_loss(
        self,
        critic: networks.MLP,
        target_critic: networks.MLP,
        actor: networks.MLP,
        log_alpha: jax.Array,
        batch: replay.Transitions,
        key: jax.Array,
    ) -> jax.Array:
        """Summed mean squared soft Bellman errors of the twins; the targets are constants."""
        next_action, next_log_prob = self._sample(key, actor, batch.next_obs)
        next_q = jnp.min(self._q(target_critic, batch.next_obs, next_action), axis=0)
        soft_value = next_q - jnp.exp(log_alpha) * next_log_prob
        targets = batch.reward + self.config.gamma * (1.0 - batch.terminated.astype(jnp.float32)) * soft_value
        q = self._q(critic, batch.obs, batch.action)
        return 0.5 * jnp.sum(jnp.mean((q - jax.lax.stop_gradient(targets)) ** 2, axis=-1))

    def actor_loss(
        self, actor: networks.MLP, critic: networks.MLP, log_alpha: jax.Array, obs: jax.Array, key: jax.Array
    ) -> tuple[jax.Array, jax.Array]:
        """(E[alpha log pi(a|s) - min_i Q_i(s, a)], the samples' log-probabilities for the temperature's update)."""
        action, log_prob = self._sample(key, actor, obs)
        q = jnp.min(self._q(critic, obs, action), axis=0)
        return jnp.mean(jnp.exp(log_alpha) * log_prob - q), log_prob

    def alpha_loss(self, log_alpha: jax.Array, log_prob: jax.Array) -> jax.Array:
        """-log_alpha * E[log pi + target_entropy]: alpha grows while the entropy is below its target."""
        return -log_alpha * jnp.mean(jax.lax.stop_gradient(log_prob) + self.target_entropy)

    # Training.

    def _update(self, learner: Learner, buffer: replay.ReplayBuffer, key: jax.Array) -> Learner:
        """One gradient step of the critics, the actor and the temperature, then the target update."""
        batch_key, critic_key, actor_key = jax.random.split(key, 3)
        # Each device of the env batch takes a block of the minibatch: data-parallel gradients.
        batch = distributed.constrain_samples(
            replay.sample(buffer, batch_key, self.config.batch_size), self.env.devices
        )
        params = learner.params
        # The temperature of this step's critic and actor losses is the one before its own update.
        log_alpha = jax.lax.stop_gradient(params.log_alpha)

        critic_grads = jax.grad(self.critic_loss)(
            params.critic, learner.target_critic, params.actor, log_alpha, batch, critic_key
        )
        updates, critic_opt_state = self.optimizer.update(critic_grads, learner.critic_opt_state, params.critic)
        critic = optax.apply_updates(params.critic, updates)

        actor_grads, log_prob = jax.grad(self.actor_loss, has_aux=True)(
            params.actor, critic, log_alpha, batch.obs, actor_key
        )
        updates, actor_opt_state = self.optimizer.update(actor_grads, learner.actor_opt_state, params.actor)
        actor = optax.apply_updates(params.actor, updates)

        alpha_grad = jax.grad(self.alpha_loss)(params.log_alpha, log_prob)
        updates, alpha_opt_state = self.optimizer.update(alpha_grad, learner.alpha_opt_state, params.log_alpha)

        return Learner(
            params=SACParams(actor=actor, critic=critic, log_alpha=optax.apply_updates(params.log_alpha, updates)),
            target_critic=soft_update(critic, learner.target_critic, self.config.tau),
            actor_opt_state=actor_opt_state,
            critic_opt_state=critic_opt_state,
            alpha_opt_state=alpha_opt_state,
        )

    def _collect(self, state: SACState, key: jax.Array) -> tuple[SACState, IterationLog]:
        """`train_frequency` batched steps (uniformly random before `learning_starts`), each added to the buffer."""
        cfg = self.config

        def one_step(carry: tuple[VecState, jax.Array, replay.ReplayBuffer], step_key: jax.Array) -> Any:
            env_state, obs, buffer = carry
            policy_key, uniform_key = jax.random.split(step_key)
            sampled, _ = self._sample(policy_key, state.learner.params.actor, obs)
            uniform = jax.random.uniform(uniform_key, sampled.shape, sampled.dtype, -1.0, 1.0)
            action = jnp.where(buffer.size < cfg.learning_starts, uniform, sampled)
            env_state, ts = self.env.step(env_state, self._env_action(action))
            buffer = replay.add(buffer, replay.Transitions(obs, action, ts.reward, ts.info["final_obs"], ts.terminated))
            return (env_state, ts.obs, buffer), ts.replace(obs=None)

        keys = jax.random.split(key, cfg.train_frequency)
        (env_state, obs, buffer), timesteps = jax.lax.scan(one_step, (state.env_state, state.obs, state.buffer), keys)
        return state.replace(env_state=env_state, obs=obs, buffer=buffer), iteration_log(
            timesteps, self.record_episodes
        )

    def _learn(self, state: SACState, key: jax.Array) -> SACState:
        """`gradient_steps` updates on sampled minibatches."""
        # Only the learner is carried: the buffer is read, never copied through the loop.
        learner, _ = jax.lax.scan(
            lambda carry, k: (self._update(carry, state.buffer, k), None),
            state.learner,
            jax.random.split(key, self.config.gradient_steps),
        )
        return state.replace(learner=learner)

    def learning(self, iteration: jax.Array) -> jax.Array:
        """Whether iteration `iteration` (from 0) learns: `replay.learning_started` for this config."""
        cfg = self.config
        return replay.learning_started(iteration, cfg.learning_starts, cfg.buffer_size, cfg.steps_per_iteration)

    def iteration(self, state: SACState) -> tuple[SACState, IterationLog]:
        key, collect_key, learn_key = jax.random.split(state.key, 3)
        learning = self.learning(state.iteration)
        state, log = self._collect(state, collect_key)
        state = jax.lax.cond(learning, self._learn, lambda s, _: s, state, learn_key)
        return state.replace(key=key, iteration=state.iteration + 1), log

    def train(self, state: SACState, num_iterations: int) -> tuple[SACState, IterationLog]:
        """`num_iterations` iterations in one `lax.scan`; logs are stacked over iterations."""
        return jax.lax.scan(lambda s, _: self.iteration(s), state, None, length=num_iterations)

    def run(self, key: jax.Array) -> tuple[SACState, IterationLog]:
        """A whole training run from a key (`config.num_iterations` iterations): vmap this over seeds."""
        return self.train(self.init(key), self.num_iterations)
