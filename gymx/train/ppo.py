"""Proximal Policy Optimisation (Schulman et al., 2017) over a gymx `VecEnv`, the whole loop compiled.

One iteration: roll the policy out for `num_steps` steps in `num_envs` envs (a `lax.scan`),
compute GAE advantages, then `update_epochs` passes of clipped-objective minibatch updates
(nested `lax.scan`s). `PPO.train(state, n)` scans n iterations, so any number of iterations is
one jitted call, and `jax.vmap(agent.run)(keys)` trains one agent per key in one program.

Episode boundaries (gymx's `SAME_STEP` auto-reset): on a done step `ts.obs` is already the next
episode's first observation, and `ts.info["final_obs"]` is the true last observation of the
episode that ended. The value target bootstraps from V(final_obs) on every step: on ordinary
steps final_obs is the next observation, on a truncated step it is the state the time limit cut
off (whose value is real), and on a terminated step the bootstrap is multiplied by zero. The GAE
recursion itself stops at every done, so advantages never leak across episodes.

Observation normalisation (optional, flat observations only): running mean and variance of
every observation seen; the statistics are frozen during a rollout and its update (so stored
log-probs stay valid) and updated after it.

Networks: separate actor and critic MLPs on flat observations (`network = "mlp"`), or the
Nature-DQN CNN (Mnih et al., 2015) on uint8 images as a torso that actor and critic share, each
with its own linear head (`network = "nature_cnn"`). The env is `make(env_id)`, or for Atari
(`atari_preprocessing`) gymx's `AtariPreprocessing` of `make(env_id, frameskip=1)` (no-op starts,
4-frame skip with max-pooling, 84x84 grey), then `FrameStack(frame_stack)` when that is above 1:
observations (frame_stack, 84, 84), which the CNN reads with the frames as channels.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from gymx import spaces, struct
from gymx.core import Env, TimeStep
from gymx.registration import make, spec
from gymx.train import distributed, networks
from gymx.train.episodes import IterationLog, iteration_log
from gymx.vector import AutoresetMode, VecEnv, VecState
from gymx.wrappers import AtariPreprocessing, FrameStack

NETWORKS = ("mlp", "nature_cnn")


@dataclasses.dataclass(frozen=True)
class PPOConfig:
    total_steps: int  # env steps per agent (all envs together), rounded down to whole iterations
    num_envs: int
    num_steps: int  # rollout length per env and iteration
    update_epochs: int
    num_minibatches: int
    gamma: float
    gae_lambda: float
    clip_eps: float
    value_coef: float
    entropy_coef: float
    max_grad_norm: float
    learning_rate: float
    anneal_lr: bool  # linearly to zero over the run
    network: str  # "mlp": actor and critic MLPs on flat observations; "nature_cnn": a shared CNN torso on images
    hidden_sizes: tuple[int, ...]  # the MLPs' hidden layers; empty for the CNN
    activation: str  # the MLPs'; the CNN is ReLU throughout
    normalize_observations: bool  # flat observations only
    normalize_advantages: bool  # per minibatch
    reward_scale: float  # multiplies rewards in the value targets only; logged returns are unscaled
    clip_rewards: bool  # the value targets see sign(reward), as Atari agents train (after any reward_scale)
    initial_log_std: float  # continuous actions: the Gaussian's starting log standard deviation
    atari_preprocessing: bool  # wrap the (Atari) env in AtariPreprocessing, made with frameskip=1
    terminal_on_life_loss: bool  # AtariPreprocessing's: a lost life ends the episode (needs atari_preprocessing)
    frame_stack: int  # observations are the last frame_stack frames (FrameStack); 1: no stacking

    def __post_init__(self) -> None:
        if self.batch_size % self.num_minibatches:
            raise ValueError(
                f"num_envs * num_steps = {self.batch_size} must divide into {self.num_minibatches} minibatches"
            )
        if self.num_iterations < 1:
            raise ValueError(f"total_steps={self.total_steps} is less than one iteration ({self.batch_size} steps)")
        if self.activation not in networks.ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(networks.ACTIVATIONS)}, got {self.activation!r}")
        if self.network not in NETWORKS:
            raise ValueError(f"network must be one of {list(NETWORKS)}, got {self.network!r}")
        if self.network == "nature_cnn" and (self.hidden_sizes or self.activation != "relu"):
            raise ValueError(
                "the nature_cnn network has its own layers and ReLUs: set hidden_sizes = [] and activation = 'relu', "
                f"got hidden_sizes={list(self.hidden_sizes)} and activation={self.activation!r}"
            )
        if self.network == "nature_cnn" and self.normalize_observations:
            raise ValueError(
                "normalize_observations applies to flat observations; the nature_cnn scales pixels by 1/255"
            )
        if self.frame_stack < 1:
            raise ValueError(f"frame_stack must be 1 (no stacking) or more, got {self.frame_stack}")
        if self.terminal_on_life_loss and not self.atari_preprocessing:
            raise ValueError("terminal_on_life_loss is an option of atari_preprocessing, which is false")

    @property
    def batch_size(self) -> int:
        return self.num_envs * self.num_steps

    @property
    def num_iterations(self) -> int:
        return self.total_steps // self.batch_size


# Losses and targets: small pure functions, tested on their own.


def gae(
    rewards: jax.Array,
    values: jax.Array,
    next_values: jax.Array,
    terminated: jax.Array,
    done: jax.Array,
    gamma: float,
    lam: float,
) -> tuple[jax.Array, jax.Array]:
    """Generalised advantage estimates and value targets, all arrays (T, ...) over time.

    delta_t = r_t + gamma * (1 - terminated_t) * V(s'_t) - V(s_t), with s'_t the true next state;
    A_t = delta_t + gamma * lam * (1 - done_t) * A_{t+1}. Returns (advantages, advantages + values).
    """
    deltas = rewards + gamma * (1.0 - terminated) * next_values - values
    decay = gamma * lam * (1.0 - done)

    def backward(next_advantage: jax.Array, step: tuple[jax.Array, jax.Array]) -> tuple[jax.Array, jax.Array]:
        delta, keep = step
        advantage = delta + keep * next_advantage
        return advantage, advantage

    _, advantages = jax.lax.scan(backward, jnp.zeros_like(deltas[0]), (deltas, decay), reverse=True)
    return advantages, advantages + values


def clipped_surrogate_loss(ratio: jax.Array, advantages: jax.Array, clip_eps: float) -> jax.Array:
    """-E[min(r A, clip(r, 1 - eps, 1 + eps) A)]."""
    clipped = jnp.clip(ratio, 1.0 - clip_eps, 1.0 + clip_eps)
    return -jnp.mean(jnp.minimum(ratio * advantages, clipped * advantages))


def value_loss(values: jax.Array, targets: jax.Array) -> jax.Array:
    return 0.5 * jnp.mean((values - targets) ** 2)


def normalize_advantages(advantages: jax.Array) -> jax.Array:
    return (advantages - advantages.mean()) / (advantages.std() + 1e-8)


# Observation normalisation.


class RunningStats(struct.PyTree):
    mean: jax.Array  # (obs_dim,)
    var: jax.Array  # (obs_dim,)
    count: jax.Array  # float32 ()


def init_stats(obs_dim: int) -> RunningStats:
    # A tiny prior count keeps the first update's division finite.
    return RunningStats(jnp.zeros(obs_dim), jnp.ones(obs_dim), jnp.asarray(1e-4, jnp.float32))


def update_stats(stats: RunningStats, batch: jax.Array) -> RunningStats:
    """Chan et al.'s parallel merge of the running moments with those of `batch` (M, obs_dim)."""
    batch_mean, batch_var, batch_count = batch.mean(0), batch.var(0), batch.shape[0]
    delta = batch_mean - stats.mean
    count = stats.count + batch_count
    mean = stats.mean + delta * batch_count / count
    m2 = stats.var * stats.count + batch_var * batch_count + delta**2 * stats.count * batch_count / count
    return RunningStats(mean, m2 / count, count)


def normalize(stats: RunningStats, obs: jax.Array) -> jax.Array:
    return jnp.clip((obs - stats.mean) / jnp.sqrt(stats.var + 1e-8), -10.0, 10.0)


# State.


class ActorCritic(struct.PyTree):
    torso: networks.NatureCNN | tuple[()]  # images -> features the heads share; () for the MLPs on flat obs
    actor: networks.MLP  # features -> logits (discrete) or action mean (continuous)
    critic: networks.MLP  # features -> value
    log_std: jax.Array  # (action_dim,) for continuous actions, (0,) for discrete


class PPOState(struct.PyTree):
    params: ActorCritic
    opt_state: Any
    obs_stats: RunningStats
    env_state: VecState
    obs: jax.Array  # (num_envs, *obs_shape): the observations the next actions are chosen from
    key: jax.Array  # raw uint32 PRNG key data
    iteration: jax.Array  # int32 (): iterations done


class Transition(struct.PyTree):
    obs: jax.Array  # raw observation the action was chosen from
    action: jax.Array
    log_prob: jax.Array
    reward: jax.Array
    terminated: jax.Array
    done: jax.Array
    next_obs: jax.Array  # raw true next observation (info["final_obs"])


class Batch(struct.PyTree):
    obs: jax.Array  # normalised (flat) or raw (images)
    action: jax.Array
    log_prob: jax.Array
    advantage: jax.Array
    target: jax.Array


def make_env(env_id: str, config: PPOConfig) -> Env:
    """The single env PPO trains on: `make(env_id)`, or Atari preprocessing of it; then the frame stack."""
    if config.atari_preprocessing:
        if "frameskip" not in spec(env_id).kwargs:
            raise ValueError(f"atari_preprocessing wraps an Atari env (an ALE/... id); {env_id} is not one")
        env: Env = AtariPreprocessing(make(env_id, frameskip=1), terminal_on_life_loss=config.terminal_on_life_loss)
    else:
        env = make(env_id)
    return FrameStack(env, config.frame_stack) if config.frame_stack > 1 else env


class PPO:
    """A PPO agent for one env id: the static half (config, env, optimiser) of a training run.

    The dynamic half is a `PPOState`; every method is a pure function of it, safe to jit and vmap.
    """

    algo = "ppo"

    def __init__(
        self, config: PPOConfig, env_id: str, devices: list[jax.Device] | None = None, record_episodes: bool = True
    ):
        self.config = config
        self.env_id = env_id
        self.record_episodes = record_episodes
        self.env = VecEnv(make_env(env_id, config), config.num_envs, AutoresetMode.SAME_STEP, devices=devices)
        obs_space, action_space = self.env.single_observation_space(), self.env.single_action_space()
        if config.network == "mlp" and not (isinstance(obs_space, spaces.Box) and len(obs_space.shape) == 1):
            raise ValueError(
                f"the mlp network takes flat Box observations; {env_id} has {obs_space!r} (images take nature_cnn)"
            )
        if config.network == "nature_cnn" and not (
            isinstance(obs_space, spaces.Box) and obs_space.dtype == jnp.uint8 and len(obs_space.shape) in (2, 3)
        ):
            raise ValueError(
                f"the nature_cnn network takes uint8 images, (height, width) or (frames, height, width); "
                f"{env_id} has {obs_space!r}"
            )
        self.obs_shape: tuple[int, ...] = obs_space.shape
        # Images are never normalised: their statistics are empty.
        self.obs_dim = obs_space.shape[0] if config.network == "mlp" else 0
        self.discrete = isinstance(action_space, spaces.Discrete)
        if not self.discrete and not (isinstance(action_space, spaces.Box) and len(action_space.shape) == 1):
            raise ValueError(f"PPO here takes Discrete or flat Box actions; {env_id} has {action_space!r}")
        self.action_space = action_space
        self.action_dim = action_space.n if isinstance(action_space, spaces.Discrete) else action_space.shape[0]
        updates = config.num_iterations * config.update_epochs * config.num_minibatches
        learning_rate = (
            optax.linear_schedule(config.learning_rate, 0.0, updates) if config.anneal_lr else config.learning_rate
        )
        self.optimizer = optax.chain(
            optax.clip_by_global_norm(config.max_grad_norm), optax.adam(learning_rate, eps=1e-5)
        )

    @property
    def steps_per_iteration(self) -> int:
        return self.config.num_steps

    @property
    def num_iterations(self) -> int:
        return self.config.num_iterations

    # Policy and value.

    def init(self, key: jax.Array) -> PPOState:
        """A fresh agent and its envs from one PRNG key."""
        key, net_key, env_key = jax.random.split(key, 3)
        torso: networks.NatureCNN | tuple[()]
        actor: networks.MLP
        critic: networks.MLP
        if self.config.network == "nature_cnn":
            frames = self.obs_shape[0] if len(self.obs_shape) == 3 else 1
            height, width = self.obs_shape[-2:]
            torso, (actor_head, critic_head) = networks.init_nature_cnn(
                net_key, (height, width, frames), [(self.action_dim, 0.01), (1, 1.0)]
            )
            actor, critic = (actor_head,), (critic_head,)
        else:
            hidden = list(self.config.hidden_sizes)
            torso = ()
            actor, critic = networks.init_mlps(
                net_key, [([self.obs_dim, *hidden, self.action_dim], 0.01), ([self.obs_dim, *hidden, 1], 1.0)]
            )
        params = ActorCritic(
            torso=torso,
            actor=actor,
            critic=critic,
            log_std=jnp.full((0 if self.discrete else self.action_dim,), self.config.initial_log_std, jnp.float32),
        )
        env_state, ts = self.env.reset(env_key)
        return PPOState(
            params=params,
            opt_state=self.optimizer.init(params),
            obs_stats=init_stats(self.obs_dim),
            env_state=env_state,
            obs=ts.obs,
            key=key,
            iteration=jnp.zeros((), jnp.int32),
        )

    def _normalize(self, stats: RunningStats, obs: jax.Array) -> jax.Array:
        return normalize(stats, obs) if self.config.normalize_observations else obs

    def _heads(self, params: ActorCritic, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        """(policy output, value) of (normalised) observations; the CNN's features are computed once for both."""
        features = obs
        if isinstance(params.torso, networks.NatureCNN):
            # FrameStack's frames lead; the CNN takes them as channels, last.
            images = jnp.moveaxis(obs, -3, -1) if len(self.obs_shape) == 3 else obs[..., None]
            features = networks.nature_cnn(params.torso, images)
        policy_out = networks.mlp(params.actor, features, self.config.activation)
        return policy_out, networks.mlp(params.critic, features, self.config.activation)[..., 0]

    # Each of these needs one head; the compiler drops the computation of the other.
    def _policy_out(self, params: ActorCritic, obs: jax.Array) -> jax.Array:
        return self._heads(params, obs)[0]

    def _value(self, params: ActorCritic, obs: jax.Array) -> jax.Array:
        return self._heads(params, obs)[1]

    def _sampling_noise(self, key: jax.Array) -> jax.Array:
        """The noise of a whole rollout's actions, (num_steps, num_envs, action_dim): Gumbel for the
        categorical's argmax(logits + g), standard normal for the Gaussian's mean + std * n.

        Drawn at once, not step by step inside the rollout's loop: every draw is a PRNG hash the
        compiler unrolls, and one draw outside the loop replaces two (split the keys, then sample).
        """
        shape = (self.config.num_steps, self.config.num_envs, self.action_dim)
        return jax.random.gumbel(key, shape) if self.discrete else jax.random.normal(key, shape)

    def _sample(self, noise: jax.Array, params: ActorCritic, obs: jax.Array) -> tuple[jax.Array, jax.Array]:
        out = self._policy_out(params, obs)
        if self.discrete:
            action = jnp.argmax(out + noise, axis=-1).astype(jnp.int32)
            return action, networks.categorical_log_prob(out, action)
        action = out + jnp.exp(params.log_std) * noise
        return action, networks.gaussian_log_prob(out, params.log_std, action)

    def _log_prob_entropy(self, params: ActorCritic, out: jax.Array, action: jax.Array) -> tuple[jax.Array, jax.Array]:
        if self.discrete:
            return networks.categorical_log_prob(out, action), networks.categorical_entropy(out)
        return networks.gaussian_log_prob(out, params.log_std, action), networks.gaussian_entropy(out, params.log_std)

    def _env_action(self, action: jax.Array) -> jax.Array:
        # The Gaussian's samples are unbounded; the env gets them clipped to its box, while the
        # update keeps the unclipped sample whose log-probability was recorded.
        if self.discrete:
            return action
        box = self.action_space
        assert isinstance(box, spaces.Box), "PPO's continuous actions come from a Box"
        return jnp.clip(action, box.low, box.high)

    def greedy_action(self, state: PPOState, obs: jax.Array) -> jax.Array:
        """The deterministic policy used for evaluation: argmax logits, or the clipped Gaussian mean."""
        out = self._policy_out(state.params, self._normalize(state.obs_stats, obs))
        return jnp.argmax(out, axis=-1).astype(jnp.int32) if self.discrete else self._env_action(out)

    # Training.

    def _collect(self, state: PPOState, key: jax.Array) -> tuple[VecState, jax.Array, Transition, TimeStep]:
        """`num_steps` batched steps of the sampling policy, with statistics frozen at `state.obs_stats`."""

        def one_step(carry: tuple[VecState, jax.Array], noise: jax.Array) -> tuple[tuple[VecState, jax.Array], Any]:
            env_state, obs = carry
            action, log_prob = self._sample(noise, state.params, self._normalize(state.obs_stats, obs))
            env_state, ts = self.env.step(env_state, self._env_action(action))
            transition = Transition(
                obs=obs,
                action=action,
                log_prob=log_prob,
                reward=ts.reward,
                terminated=ts.terminated,
                done=ts.done,
                next_obs=ts.info["final_obs"],
            )
            return (env_state, ts.obs), (transition, ts.replace(obs=None))

        noise = self._sampling_noise(key)
        (env_state, obs), (transitions, timesteps) = jax.lax.scan(one_step, (state.env_state, state.obs), noise)
        return env_state, obs, transitions, timesteps

    def _batch(self, params: ActorCritic, stats: RunningStats, trajectory: Transition) -> Batch:
        """The update's samples: normalised observations, GAE advantages and value targets, flattened over (T, N)."""
        cfg = self.config
        obs = self._normalize(stats, trajectory.obs)
        values = self._value(params, obs)
        next_values = self._value(params, self._normalize(stats, trajectory.next_obs))
        rewards = trajectory.reward * cfg.reward_scale
        advantages, targets = gae(
            jnp.sign(rewards) if cfg.clip_rewards else rewards,
            values,
            next_values,
            trajectory.terminated.astype(jnp.float32),
            trajectory.done.astype(jnp.float32),
            cfg.gamma,
            cfg.gae_lambda,
        )
        batch = Batch(obs, trajectory.action, trajectory.log_prob, advantages, targets)
        return jax.tree_util.tree_map(lambda x: x.reshape(cfg.batch_size, *x.shape[2:]), batch)

    def loss(self, params: ActorCritic, batch: Batch) -> jax.Array:
        cfg = self.config
        out, values = self._heads(params, batch.obs)
        log_prob, entropy = self._log_prob_entropy(params, out, batch.action)
        advantages = normalize_advantages(batch.advantage) if cfg.normalize_advantages else batch.advantage
        policy = clipped_surrogate_loss(jnp.exp(log_prob - batch.log_prob), advantages, cfg.clip_eps)
        value = value_loss(values, batch.target)
        return policy + cfg.value_coef * value - cfg.entropy_coef * jnp.mean(entropy)

    def _epoch(
        self, carry: tuple[ActorCritic, Any], key: jax.Array | None, batch: Batch
    ) -> tuple[tuple[ActorCritic, Any], None]:
        """One pass over the batch in minibatches shuffled by `key` (None: one, the batch), one optimiser step each."""
        cfg = self.config
        if key is not None:
            order = jax.random.permutation(key, cfg.batch_size)
            batch = jax.tree_util.tree_map(lambda x: x[order], batch)
        minibatches = jax.tree_util.tree_map(lambda x: x.reshape(cfg.num_minibatches, -1, *x.shape[1:]), batch)
        # Each device of the env batch takes a block of every minibatch: data-parallel gradients.
        minibatches = distributed.constrain_samples(minibatches, self.env.devices, axis=1)

        def step(carry: tuple[ActorCritic, Any], minibatch: Batch) -> tuple[tuple[ActorCritic, Any], None]:
            params, opt_state = carry
            grads = jax.grad(self.loss)(params, minibatch)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        return jax.lax.scan(step, carry, minibatches)

    def iteration(self, state: PPOState) -> tuple[PPOState, IterationLog]:
        """One rollout and its update."""
        cfg = self.config
        key, rollout_key, epochs_key = jax.random.split(state.key, 3)
        env_state, obs, trajectory, timesteps = self._collect(state, rollout_key)
        batch = self._batch(state.params, state.obs_stats, trajectory)
        # One minibatch is the whole batch, whose order no loss depends on: no shuffle (a sort
        # and a PRNG hash fewer to compile).
        epoch_keys = jax.random.split(epochs_key, cfg.update_epochs) if cfg.num_minibatches > 1 else None
        (params, opt_state), _ = jax.lax.scan(
            lambda carry, k: self._epoch(carry, k, batch),
            (state.params, state.opt_state),
            epoch_keys,
            length=cfg.update_epochs,
        )
        stats = state.obs_stats
        if cfg.normalize_observations:
            stats = update_stats(stats, trajectory.obs.reshape(-1, self.obs_dim))
        new_state = PPOState(params, opt_state, stats, env_state, obs, key, state.iteration + 1)
        return new_state, iteration_log(timesteps, self.record_episodes)

    def train(self, state: PPOState, num_iterations: int) -> tuple[PPOState, IterationLog]:
        """`num_iterations` iterations in one `lax.scan`; logs are stacked over iterations."""
        return jax.lax.scan(lambda s, _: self.iteration(s), state, None, length=num_iterations)

    def run(self, key: jax.Array) -> tuple[PPOState, IterationLog]:
        """A whole training run from a key (`config.num_iterations` iterations): vmap this over seeds."""
        return self.train(self.init(key), self.num_iterations)
