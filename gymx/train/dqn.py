"""Deep Q-learning (Mnih et al., 2015) over a gymx `VecEnv`, the whole loop compiled.

One iteration: `train_frequency` epsilon-greedy batched steps in `num_envs` envs, each added to
a replay buffer held on the device, then (once the buffer holds `learning_starts` transitions)
`gradient_steps` Huber-loss updates on uniformly sampled minibatches, then, every
`target_update_period` iterations, a Polyak update of the target network (`tau` = 1 copies it).
Epsilon decays linearly over the first `exploration_fraction` of the run. With `double_dqn` the
target's action is chosen by the online network and valued by the target network (van Hasselt
et al., 2016).

Keeping the best snapshot (optional, `eval_period` > 0): DQN on CartPole is known to reach the
maximum return and then lose it again (the Q-function keeps moving after the policy is perfect).
Every `eval_period` iterations, inside the compiled loop, the current greedy policy plays
`eval_episodes` fresh episodes (a batch without auto-reset, up to the env's time limit, each
evaluation on new keys drawn from the agent's own key); when their mean return is at least the
best so far, the parameters are copied to `best_params`. `greedy_action`, the policy evaluated
and deployed, then acts with `best_params`, the usual "keep the best evaluated model" practice
(SB3's EvalCallback with `best_model_save_path`). The selection episodes are never the ones a
final evaluation reports: that evaluation draws its own fresh episodes.

Episode boundaries: transitions keep the true next observation (`info["final_obs"]` of gymx's
`SAME_STEP` auto-reset) and `terminated`, so targets bootstrap through time-limit truncations
and not past terminal states.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import optax

from gymx import spaces, struct
from gymx.registration import make
from gymx.train import distributed, networks, replay
from gymx.train.episodes import IterationLog, episode_returns, iteration_log
from gymx.vector import AutoresetMode, VecEnv, VecState, make_vec


@dataclasses.dataclass(frozen=True)
class DQNConfig:
    total_steps: int  # env steps per agent (all envs together), rounded down to whole iterations
    num_envs: int
    train_frequency: int  # batched env steps per iteration
    gradient_steps: int  # updates per iteration
    buffer_size: int
    batch_size: int
    learning_starts: int  # transitions in the buffer before the first update
    learning_rate: float
    anneal_lr: bool  # linearly to zero over the run
    max_grad_norm: float
    gamma: float
    target_update_period: int  # iterations between target updates
    tau: float  # target <- tau * online + (1 - tau) * target
    double_dqn: bool
    epsilon_start: float
    epsilon_end: float
    exploration_fraction: float  # of total_steps over which epsilon decays
    hidden_sizes: tuple[int, ...]
    activation: str
    eval_period: int  # iterations between in-loop greedy evaluations that keep the best snapshot; 0: off
    eval_episodes: int  # episodes per in-loop evaluation

    def __post_init__(self) -> None:
        if self.num_iterations < 1:
            raise ValueError(
                f"total_steps={self.total_steps} is less than one iteration ({self.steps_per_iteration} steps)"
            )
        if self.activation not in networks.ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(networks.ACTIVATIONS)}, got {self.activation!r}")
        if self.num_envs > self.buffer_size:
            raise ValueError("buffer_size must hold at least one batched step")
        if self.eval_period < 0 or (self.eval_period and self.eval_episodes < 1):
            raise ValueError("eval_period must be >= 0 and eval_episodes >= 1 when evaluating")

    @property
    def steps_per_iteration(self) -> int:
        return self.num_envs * self.train_frequency

    @property
    def num_iterations(self) -> int:
        return self.total_steps // self.steps_per_iteration


def q_targets(
    rewards: jax.Array,
    terminated: jax.Array,
    next_q_target: jax.Array,
    next_q_online: jax.Array | None,
    gamma: float,
    double: bool,
) -> jax.Array:
    """r + gamma * (1 - terminated) * Q_target(s', a*), a* = argmax of Q_online (double) or of Q_target."""
    chooser = next_q_target
    if double:
        assert next_q_online is not None, "double Q-learning chooses with the online network's values"
        chooser = next_q_online
    best = jnp.argmax(chooser, axis=-1)
    next_value = jnp.take_along_axis(next_q_target, best[:, None], axis=-1)[:, 0]
    return rewards + gamma * (1.0 - terminated) * next_value


def td_loss(q_taken: jax.Array, targets: jax.Array) -> jax.Array:
    """Huber loss (delta 1) between Q(s, a) and fixed targets."""
    return jnp.mean(optax.huber_loss(q_taken, jax.lax.stop_gradient(targets)))


class DQNState(struct.PyTree):
    params: networks.MLP
    target_params: networks.MLP
    opt_state: Any
    buffer: replay.ReplayBuffer
    env_state: VecState
    obs: jax.Array  # (num_envs, obs_dim)
    key: jax.Array  # raw uint32 PRNG key data
    iteration: jax.Array  # int32 (): iterations done
    best_params: networks.MLP  # the parameters of the best in-loop evaluation (`params` when eval_period is 0)
    best_return: jax.Array  # float32 (): that evaluation's mean return (-inf before the first)
    last_eval_return: jax.Array  # float32 (): the latest in-loop evaluation's mean return (nan before the first)


class DQN:
    """A DQN agent for one env id with discrete actions: the static half of a training run.

    The dynamic half is a `DQNState`; every method is a pure function of it, safe to jit and vmap.
    """

    algo = "dqn"

    def __init__(
        self, config: DQNConfig, env_id: str, devices: list[jax.Device] | None = None, record_episodes: bool = True
    ):
        self.config = config
        self.env_id = env_id
        self.record_episodes = record_episodes
        self.env = make_vec(env_id, config.num_envs, AutoresetMode.SAME_STEP, devices=devices)
        obs_space, action_space = self.env.single_observation_space(), self.env.single_action_space()
        if (
            not isinstance(action_space, spaces.Discrete)
            or not isinstance(obs_space, spaces.Box)
            or len(obs_space.shape) != 1
        ):
            raise ValueError(
                f"DQN here takes flat Box observations and Discrete actions; {env_id} has {obs_space!r}, {action_space!r}"
            )
        self.obs_dim = obs_space.shape[0]
        self.num_actions = action_space.n
        updates = config.num_iterations * config.gradient_steps
        learning_rate = (
            optax.linear_schedule(config.learning_rate, 0.0, updates) if config.anneal_lr else config.learning_rate
        )
        self.optimizer = optax.chain(optax.clip_by_global_norm(config.max_grad_norm), optax.adam(learning_rate))
        self.epsilon = optax.linear_schedule(
            config.epsilon_start, config.epsilon_end, int(config.exploration_fraction * config.total_steps)
        )
        self.eval_env: VecEnv | None = None
        if config.eval_period:
            # Unconstrained (one device): it plays on the training envs' devices, whatever their count.
            self.eval_env = VecEnv(
                make(env_id), config.eval_episodes, AutoresetMode.DISABLED, devices=self.env.devices[:1]
            )
            limit = self.eval_env.env.episode_step_bound()
            if limit is None:
                raise ValueError(f"{env_id} has no time limit: in-loop evaluation needs one")
            self.eval_steps = int(limit)

    @property
    def steps_per_iteration(self) -> int:
        return self.config.train_frequency

    @property
    def num_iterations(self) -> int:
        return self.config.num_iterations

    def init(self, key: jax.Array) -> DQNState:
        """A fresh agent, an empty buffer and reset envs from one PRNG key."""
        key, net_key, env_key = jax.random.split(key, 3)
        params = networks.init_mlp(net_key, [self.obs_dim, *self.config.hidden_sizes, self.num_actions], head_gain=1.0)
        env_state, ts = self.env.reset(env_key)
        example = replay.Transitions(
            obs=ts.obs[0],
            action=jnp.zeros((), jnp.int32),
            reward=jnp.zeros(()),
            next_obs=ts.obs[0],
            terminated=jnp.zeros((), bool),
        )
        return DQNState(
            params=params,
            target_params=params,
            opt_state=self.optimizer.init(params),
            buffer=replay.init_buffer(self.config.buffer_size, example),
            env_state=env_state,
            obs=ts.obs,
            key=key,
            iteration=jnp.zeros((), jnp.int32),
            best_params=params,
            best_return=jnp.full((), -jnp.inf, jnp.float32),
            last_eval_return=jnp.full((), jnp.nan, jnp.float32),
        )

    def _q(self, params: networks.MLP, obs: jax.Array) -> jax.Array:
        return networks.mlp(params, obs, self.config.activation)

    def policy_params(self, state: DQNState) -> networks.MLP:
        """The parameters the agent acts with: the best evaluated snapshot when evaluating in the loop."""
        return state.best_params if self.config.eval_period else state.params

    def greedy_action(self, state: DQNState, obs: jax.Array) -> jax.Array:
        return jnp.argmax(self._q(self.policy_params(state), obs), axis=-1).astype(jnp.int32)

    def _evaluate(self, params: networks.MLP, key: jax.Array) -> jax.Array:
        """Mean return of the greedy policy of `params` over `eval_episodes` fresh episodes."""
        assert self.eval_env is not None
        act = lambda obs: jnp.argmax(self._q(params, obs), axis=-1).astype(jnp.int32)
        return episode_returns(self.eval_env, act, self.eval_steps, key).mean()

    def learning(self, iteration: jax.Array) -> jax.Array:
        """Whether iteration `iteration` (from 0) learns: `replay.learning_started` for this config."""
        cfg = self.config
        return replay.learning_started(iteration, cfg.learning_starts, cfg.buffer_size, cfg.steps_per_iteration)

    def _keep_best(self, state: DQNState, key: jax.Array) -> DQNState:
        mean = self._evaluate(state.params, key)
        better = mean >= state.best_return  # ties go to the later, longer-trained snapshot
        best_params = jax.tree_util.tree_map(
            lambda new, old: jnp.where(better, new, old), state.params, state.best_params
        )
        return state.replace(
            best_params=best_params, best_return=jnp.maximum(mean, state.best_return), last_eval_return=mean
        )

    def _explore(self, key: jax.Array, params: networks.MLP, obs: jax.Array, epsilon: jax.Array) -> jax.Array:
        """Epsilon-greedy actions: each env acts uniformly at random with probability epsilon."""
        coin_key, action_key = jax.random.split(key)
        greedy = jnp.argmax(self._q(params, obs), axis=-1).astype(jnp.int32)
        random = jax.random.randint(action_key, greedy.shape, 0, self.num_actions, jnp.int32)
        return jnp.where(jax.random.uniform(coin_key, greedy.shape) < epsilon, random, greedy)

    def loss(self, params: networks.MLP, target_params: networks.MLP, batch: replay.Transitions) -> jax.Array:
        q = self._q(params, batch.obs)
        q_taken = jnp.take_along_axis(q, batch.action[:, None], axis=-1)[:, 0]
        next_q_online = self._q(params, batch.next_obs) if self.config.double_dqn else None
        targets = q_targets(
            batch.reward,
            batch.terminated.astype(jnp.float32),
            self._q(target_params, batch.next_obs),
            next_q_online,
            self.config.gamma,
            self.config.double_dqn,
        )
        return td_loss(q_taken, targets)

    def _collect(self, state: DQNState, key: jax.Array) -> tuple[DQNState, IterationLog]:
        """`train_frequency` batched epsilon-greedy steps, each added to the buffer."""
        cfg = self.config

        def one_step(carry: tuple[VecState, jax.Array, replay.ReplayBuffer], xs: tuple[jax.Array, jax.Array]) -> Any:
            env_state, obs, buffer = carry
            step_key, step_index = xs
            env_steps = (state.iteration * cfg.train_frequency + step_index) * cfg.num_envs
            action = self._explore(step_key, state.params, obs, self.epsilon(env_steps))
            env_state, ts = self.env.step(env_state, action)
            buffer = replay.add(buffer, replay.Transitions(obs, action, ts.reward, ts.info["final_obs"], ts.terminated))
            return (env_state, ts.obs, buffer), ts.replace(obs=None)

        xs = (jax.random.split(key, cfg.train_frequency), jnp.arange(cfg.train_frequency))
        (env_state, obs, buffer), timesteps = jax.lax.scan(one_step, (state.env_state, state.obs, state.buffer), xs)
        return state.replace(env_state=env_state, obs=obs, buffer=buffer), iteration_log(
            timesteps, self.record_episodes
        )

    def _learn(self, state: DQNState, key: jax.Array) -> DQNState:
        """`gradient_steps` updates on sampled minibatches."""

        def update(carry: tuple[networks.MLP, Any], step_key: jax.Array) -> tuple[tuple[networks.MLP, Any], None]:
            params, opt_state = carry
            # Each device of the env batch takes a block of the minibatch: data-parallel gradients.
            batch = distributed.constrain_samples(
                replay.sample(state.buffer, step_key, self.config.batch_size), self.env.devices
            )
            grads = jax.grad(self.loss)(params, state.target_params, batch)
            updates, opt_state = self.optimizer.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), None

        keys = jax.random.split(key, self.config.gradient_steps)
        (params, opt_state), _ = jax.lax.scan(update, (state.params, state.opt_state), keys)
        return state.replace(params=params, opt_state=opt_state)

    def iteration(self, state: DQNState) -> tuple[DQNState, IterationLog]:
        cfg = self.config
        key, collect_key, learn_key, eval_key = jax.random.split(state.key, 4)
        learning = self.learning(state.iteration)
        state, log = self._collect(state, collect_key)
        state = jax.lax.cond(learning, self._learn, lambda s, _: s, state, learn_key)
        iteration = state.iteration + 1
        target_params = jax.lax.cond(
            iteration % cfg.target_update_period == 0,
            lambda: optax.incremental_update(state.params, state.target_params, cfg.tau),
            lambda: state.target_params,
        )
        state = state.replace(target_params=target_params, key=key, iteration=iteration)
        if cfg.eval_period:
            state = jax.lax.cond(
                learning & (iteration % cfg.eval_period == 0), self._keep_best, lambda s, _: s, state, eval_key
            )
        else:
            state = state.replace(best_params=state.params)
        return state, log

    def train(self, state: DQNState, num_iterations: int) -> tuple[DQNState, IterationLog]:
        """`num_iterations` iterations in one `lax.scan`; logs are stacked over iterations."""
        return jax.lax.scan(lambda s, _: self.iteration(s), state, None, length=num_iterations)

    def run(self, key: jax.Array) -> tuple[DQNState, IterationLog]:
        """A whole training run from a key (`config.num_iterations` iterations): vmap this over seeds."""
        return self.train(self.init(key), self.num_iterations)
