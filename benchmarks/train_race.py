"""The time-to-solve race: wall seconds until a greedy policy reaches the env's reward threshold, gymx against rejax, SBX and SB3.

Rows: CartPole-v1 and Acrobot-v1 with PPO and DQN, Pendulum-v1 with PPO and SAC (gymx's SAC
row runs only when `"sac" in gymx.train.agents.ALGORITHMS`). Thresholds: Gymnasium's
`reward_threshold` (CartPole-v1 475, Acrobot-v1 -100); Pendulum-v1 has none, so -200.

Protocol, the same for every library, one seed per run, all runs in this one process:

- The clock starts before the library builds its agent or model and runs through training,
  compile included: every JAX run starts with empty in-memory caches (`jax.clear_caches()`)
  and JAX's persistent compilation cache is off, so each seed compiles cold.
- Every `eval_every` env steps (at the first iteration boundary past it) the clock stops and the
  greedy policy (argmax, or the Gaussian's mean; gymx's DQN acts with its kept best snapshot,
  see gymx/train/dqn.py) plays `--episodes` fresh episodes on Gymnasium's own env (not the
  gymx twin), one host loop for all libraries, episode seeds shared between libraries. Time
  to threshold: the training seconds (evaluation excluded) up to the first evaluation whose
  mean return reaches the threshold.
- A run stops there, at the row's step budget, at the library's own configured run length when
  shorter (its schedules are set for it), or at the first evaluation past `--max-seconds` of training.

Hyper-parameters, two tables. `own`: each library's published settings for the env: gymx's
packaged configs (gymx/train/configs), rejax's configs/gymnax/<env>.yaml (repository
keraJLi/rejax, commit 4954fbf; the PyPI package ships none), rl-baselines3-zoo's hyperparams
for SB3 and SBX (SB3's defaults where the zoo has no entry). `same`: rl-baselines3-zoo's
settings given to every library as far as its algorithm allows (`gymx_config`, `rejax_config`;
what does not carry over is noted there and in benchmarks/RESULTS.md); SB3 and SBX runs are
shared by both tables. SB3's torch runs on `--torch-threads` threads (default 1).

    python benchmarks/train_race.py [--rows cartpole-ppo,...] [--libraries gymx,rejax,sbx,sb3]
        [--tables own,same] [--seeds 5] [--jsonl FILE]
    python benchmarks/train_race.py --report FILE   # the tables of the runs recorded in FILE
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import json
import math
import os
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import gymnasium
import jax
import jax.numpy as jnp
import numpy as np

from gymx import bench
from gymx.train import agents, runner

Policy = Callable[[np.ndarray], np.ndarray]  # (episodes, obs dim) observations -> their greedy actions

THRESHOLDS = {"CartPole-v1": 475.0, "Acrobot-v1": -100.0, "Pendulum-v1": -200.0}


@dataclasses.dataclass(frozen=True)
class Row:
    env_id: str
    algo: str
    budget: int  # env steps per run at most
    eval_every: int  # env steps between greedy evaluations


ROWS = {
    "cartpole-ppo": Row("CartPole-v1", "ppo", 100_000, 5_000),
    "cartpole-dqn": Row("CartPole-v1", "dqn", 100_000, 5_000),
    "acrobot-ppo": Row("Acrobot-v1", "ppo", 200_000, 10_000),
    "acrobot-dqn": Row("Acrobot-v1", "dqn", 100_000, 5_000),
    "pendulum-ppo": Row("Pendulum-v1", "ppo", 200_000, 10_000),
    "pendulum-sac": Row("Pendulum-v1", "sac", 20_000, 2_000),
}
LIBRARIES = ("gymx", "rejax", "sbx", "sb3")
JAX_PEERS = ("rejax", "sbx")

# rl-baselines3-zoo hyperparams/{ppo,dqn,sac}.yml (DLR-RM/rl-baselines3-zoo), as data.
ZOO: dict[tuple[str, str], dict[str, Any]] = {
    ("CartPole-v1", "ppo"): dict(
        n_envs=8, n_timesteps=100_000, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
        ent_coef=0.0, learning_rate="lin_0.001", clip_range="lin_0.2",
    ),
    ("Acrobot-v1", "ppo"): dict(
        normalize=True, n_envs=16, n_timesteps=1_000_000, n_steps=256, gae_lambda=0.94, gamma=0.99, n_epochs=4,
        ent_coef=0.0,
    ),
    ("Pendulum-v1", "ppo"): dict(
        n_envs=4, n_timesteps=100_000, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
        learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4,
    ),
    ("CartPole-v1", "dqn"): dict(
        n_timesteps=50_000, learning_rate=2.3e-3, batch_size=64, buffer_size=100_000, learning_starts=1000,
        gamma=0.99, target_update_interval=10, train_freq=256, gradient_steps=128, exploration_fraction=0.16,
        exploration_final_eps=0.04, policy_kwargs=dict(net_arch=[256, 256]),
    ),
    ("Acrobot-v1", "dqn"): dict(
        n_timesteps=100_000, learning_rate=6.3e-4, batch_size=128, buffer_size=50_000, learning_starts=0,
        gamma=0.99, target_update_interval=250, train_freq=4, gradient_steps=-1, exploration_fraction=0.12,
        exploration_final_eps=0.1, policy_kwargs=dict(net_arch=[256, 256]),
    ),
    ("Pendulum-v1", "sac"): dict(n_timesteps=20_000, learning_rate=1e-3),
}  # fmt: skip

# rejax configs/gymnax/{cartpole,acrobot,pendulum}.yaml (keraJLi/rejax @ 4954fbf), as data.
REJAX: dict[tuple[str, str], dict[str, Any]] = {
    ("CartPole-v1", "ppo"): dict(
        agent_kwargs=dict(activation="tanh"), num_envs=5, num_steps=100, num_epochs=5, num_minibatches=5,
        learning_rate=0.00075, max_grad_norm=0.5, total_timesteps=100_000, gamma=0.99, gae_lambda=0.95,
        clip_eps=0.2, ent_coef=0.01, vf_coef=0.5,
    ),
    ("Acrobot-v1", "ppo"): dict(
        agent_kwargs=dict(activation="tanh"), num_envs=5, num_steps=100, num_epochs=5, num_minibatches=5,
        learning_rate=0.00075, max_grad_norm=0.5, total_timesteps=100_000, gamma=0.99, gae_lambda=0.95,
        clip_eps=0.2, ent_coef=0.01, vf_coef=0.5, normalize_observations=True,
    ),
    ("Pendulum-v1", "ppo"): dict(
        agent_kwargs=dict(activation="swish"), num_envs=100, num_steps=100, num_epochs=10, num_minibatches=10,
        learning_rate=0.001, max_grad_norm=10, total_timesteps=150_000, gamma=0.995, gae_lambda=0.95,
        clip_eps=0.2, ent_coef=0.0, vf_coef=0.5, normalize_observations=True,
    ),
    ("CartPole-v1", "dqn"): dict(
        agent="DuelingQNetwork", agent_kwargs=dict(activation="swish"), num_envs=10, buffer_size=50_000,
        fill_buffer=5_000, batch_size=100, max_grad_norm=10, learning_rate=0.001, num_epochs=5,
        total_timesteps=100_000, polyak=0.98, eps_start=1, eps_end=0.05, exploration_fraction=0.5, gamma=0.99,
        ddqn=True, normalize_observations=False,
    ),
    ("Acrobot-v1", "dqn"): dict(
        agent="DuelingQNetwork", agent_kwargs=dict(activation="swish"), num_envs=10, buffer_size=10_000,
        fill_buffer=1000, batch_size=100, max_grad_norm=10, learning_rate=0.001, num_epochs=5,
        total_timesteps=100_000, target_update_freq=200, eps_start=1, eps_end=0.05, exploration_fraction=0.5,
        gamma=0.99, ddqn=True, normalize_observations=False,
    ),
    ("Pendulum-v1", "sac"): dict(
        agent_kwargs=dict(activation="swish"), num_envs=1, buffer_size=10_000, fill_buffer=256, batch_size=256,
        learning_rate=0.01, num_epochs=1, total_timesteps=10_000, gamma=0.99, polyak=0.98,
        target_entropy_ratio=None, normalize_observations=True,
    ),
}  # fmt: skip


# Evaluation: one host loop on Gymnasium's envs for every library.


def evaluate(env_id: str, policy: Policy, episodes: int, seed: int) -> float:
    """Mean return of `episodes` greedy episodes on Gymnasium's `env_id`, played in lockstep (episode i reset with seed + i)."""
    envs = [gymnasium.make(env_id) for _ in range(episodes)]
    obs = np.stack([env.reset(seed=seed + i)[0] for i, env in enumerate(envs)])
    returns = np.zeros(episodes)
    running = np.ones(episodes, bool)
    while running.any():
        actions = np.asarray(policy(obs.astype(np.float32)))
        for i in np.flatnonzero(running):
            obs[i], reward, terminated, truncated, _ = envs[i].step(actions[i])
            returns[i] += float(reward)
            running[i] = not (terminated or truncated)
    return float(returns.mean())


@dataclasses.dataclass
class Race:
    """One run's clock: training seconds (evaluations excluded) and the first evaluation at the threshold."""

    row: Row
    limit_steps: int  # the row's budget or the library's own run length, whichever is shorter
    max_seconds: float
    episodes: int
    start: float = dataclasses.field(default_factory=time.perf_counter)
    paused: float = 0.0
    next_eval: int = 0
    evaluations: int = 0
    solved_s: float | None = None
    solved_steps: int | None = None
    last_mean: float = float("nan")
    last_steps: int = 0

    def __post_init__(self) -> None:
        self.next_eval = self.row.eval_every

    def train_seconds(self) -> float:
        return time.perf_counter() - self.start - self.paused

    def check(self, steps: int, policy: Policy) -> bool:
        """Called after each iteration with the env steps so far: evaluates when one is due; True means stop."""
        if steps < min(self.next_eval, self.limit_steps):
            return False
        seconds = self.train_seconds()
        pause = time.perf_counter()
        # Episode seeds depend on the evaluation's index only: libraries compare on the same episodes.
        self.last_mean = evaluate(self.row.env_id, policy, self.episodes, 10_000 * (self.evaluations + 1))
        self.paused += time.perf_counter() - pause
        self.evaluations += 1
        self.last_steps = steps
        self.next_eval = (steps // self.row.eval_every + 1) * self.row.eval_every
        if self.last_mean >= THRESHOLDS[self.row.env_id]:
            self.solved_s, self.solved_steps = seconds, steps
            return True
        return steps >= self.limit_steps or seconds >= self.max_seconds


# gymx.


def gymx_config(row: Row, table: str) -> Any:
    if table == "own":
        return agents.load_config(row.algo, row.env_id)
    zoo = ZOO[row.env_id, row.algo]
    if row.algo == "ppo":
        n_envs, n_steps = zoo.get("n_envs", 1), zoo.get("n_steps", 2048)
        learning_rate = zoo.get("learning_rate", 3e-4)
        return agents.load_config(
            "ppo",
            row.env_id,
            total_steps=zoo["n_timesteps"],
            num_envs=n_envs,
            num_steps=n_steps,
            update_epochs=zoo.get("n_epochs", 10),
            num_minibatches=n_envs * n_steps // zoo.get("batch_size", 64),
            gamma=zoo.get("gamma", 0.99),
            gae_lambda=zoo.get("gae_lambda", 0.95),
            clip_eps=0.2,
            value_coef=0.5,
            entropy_coef=zoo.get("ent_coef", 0.0),
            max_grad_norm=0.5,
            learning_rate=_zoo_value(learning_rate),
            anneal_lr=isinstance(learning_rate, str),
            hidden_sizes=(64, 64),
            activation="tanh",
            normalize_observations=zoo.get("normalize", False),
            normalize_advantages=True,
            reward_scale=1.0,
            initial_log_std=0.0,
        )
    if row.algo == "dqn":
        # SB3's train_freq counts steps of its one env; target_update_interval counts env steps too.
        train_freq = zoo["train_freq"]
        gradient_steps = train_freq if zoo["gradient_steps"] == -1 else zoo["gradient_steps"]
        return agents.load_config(
            "dqn",
            row.env_id,
            total_steps=zoo["n_timesteps"],
            num_envs=1,
            train_frequency=train_freq,
            gradient_steps=gradient_steps,
            buffer_size=zoo["buffer_size"],
            batch_size=zoo["batch_size"],
            learning_starts=max(zoo["learning_starts"], zoo["batch_size"]),
            learning_rate=zoo["learning_rate"],
            anneal_lr=False,
            max_grad_norm=10.0,
            gamma=zoo["gamma"],
            target_update_period=max(1, zoo["target_update_interval"] // train_freq),
            tau=1.0,
            double_dqn=False,
            epsilon_start=1.0,
            epsilon_end=zoo["exploration_final_eps"],
            exploration_fraction=zoo["exploration_fraction"],
            hidden_sizes=tuple(zoo["policy_kwargs"]["net_arch"]),
            activation="relu",
            eval_period=0,
            eval_episodes=1,
        )
    # SAC: SB3's defaults with the zoo's learning rate and run length.
    return agents.load_config(
        row.algo,
        row.env_id,
        total_steps=zoo["n_timesteps"],
        num_envs=1,
        train_frequency=1,
        gradient_steps=1,
        buffer_size=1_000_000,
        batch_size=256,
        learning_starts=100,
        learning_rate=zoo["learning_rate"],
        gamma=0.99,
        tau=0.005,
        initial_alpha=1.0,
        hidden_sizes=(256, 256),
        activation="relu",
    )


def run_gymx(row: Row, table: str, seed: int, race: Race) -> None:
    agent = agents.make(row.algo, row.env_id, gymx_config(row, table), record_episodes=False)
    race.limit_steps = min(race.limit_steps, agent.num_iterations * agent.steps_per_iteration * agent.env.num_envs)
    iteration_steps = agent.steps_per_iteration * agent.env.num_envs
    chunk_iterations = math.ceil(row.eval_every / iteration_steps)  # one evaluation per chunk
    greedy = jax.jit(agent.greedy_action)

    def on_chunk(report: runner.ChunkReport) -> bool:
        state = jax.tree_util.tree_map(lambda leaf: leaf[0], report.states)
        return race.check(report.env_steps, lambda obs: np.asarray(greedy(state, obs)))

    runner.train_seeds(agent, [seed], math.ceil(agent.num_iterations / chunk_iterations), on_chunk)


# rejax: its own training iteration, compiled in chunks of `eval_every` steps.


def rejax_config(row: Row, table: str) -> dict[str, Any]:
    if table == "own":
        return {"env": row.env_id, **REJAX[row.env_id, row.algo]}
    zoo = ZOO[row.env_id, row.algo]
    if row.algo == "ppo":
        n_envs, n_steps = zoo.get("n_envs", 1), zoo.get("n_steps", 2048)
        return dict(
            env=row.env_id,
            agent_kwargs=dict(activation="tanh"),
            num_envs=n_envs,
            num_steps=n_steps,
            num_epochs=zoo.get("n_epochs", 10),
            num_minibatches=n_envs * n_steps // zoo.get("batch_size", 64),
            learning_rate=_zoo_value(zoo.get("learning_rate", 3e-4)),  # rejax has no schedule: constant
            max_grad_norm=0.5,
            total_timesteps=zoo["n_timesteps"],
            gamma=zoo.get("gamma", 0.99),
            gae_lambda=zoo.get("gae_lambda", 0.95),
            clip_eps=0.2,
            ent_coef=zoo.get("ent_coef", 0.0),
            vf_coef=0.5,
            normalize_observations=zoo.get("normalize", False),
        )
    if row.algo == "dqn":
        # rejax updates `num_epochs` times per batched step of `num_envs` envs: 2 envs and 1 update
        # give SB3's ratio of 128 updates per 256 steps; 1 env and 1 update its one per step.
        gradient_steps = zoo["train_freq"] if zoo["gradient_steps"] == -1 else zoo["gradient_steps"]
        num_envs = zoo["train_freq"] // gradient_steps
        return dict(
            env=row.env_id,
            agent="QNetwork",
            agent_kwargs=dict(activation="relu"),  # rejax 0.1.3's DQN fixes its layers at 64x64
            num_envs=num_envs,
            buffer_size=zoo["buffer_size"],
            fill_buffer=max(zoo["learning_starts"], zoo["batch_size"]),
            batch_size=zoo["batch_size"],
            max_grad_norm=10,
            learning_rate=zoo["learning_rate"],
            num_epochs=1,
            total_timesteps=zoo["n_timesteps"],
            target_update_freq=max(zoo["target_update_interval"], zoo["train_freq"]),
            polyak=0.0,
            eps_start=1,
            eps_end=zoo["exploration_final_eps"],
            exploration_fraction=zoo["exploration_fraction"],
            gamma=zoo["gamma"],
            ddqn=False,
            normalize_observations=False,
        )
    return dict(
        env=row.env_id,
        agent_kwargs=dict(activation="relu"),
        hidden_layer_sizes=(256, 256),
        num_envs=1,
        buffer_size=1_000_000,
        fill_buffer=100,
        batch_size=256,
        learning_rate=zoo["learning_rate"],
        num_epochs=1,
        total_timesteps=zoo["n_timesteps"],
        gamma=0.99,
        polyak=0.995,
        normalize_observations=False,
    )


def rejax_greedy(algo: Any, row: Row) -> Callable[[Any, jax.Array], jax.Array]:
    """The deterministic policy of a rejax agent, from its networks' distributions."""

    def act(ts: Any, obs: jax.Array) -> jax.Array:
        if getattr(algo, "normalize_observations", False):
            obs = algo.normalize_obs(ts.obs_rms_state, obs)
        if row.algo == "dqn":
            return jnp.argmax(algo.agent.apply(ts.q_ts.params, obs), axis=-1)
        dist = algo.actor.apply(ts.actor_ts.params, obs, method="_action_dist")
        if row.algo == "sac":
            return algo.actor.action_loc + jnp.tanh(dist.mean()) * algo.actor.action_scale
        if algo.discrete:
            return jnp.argmax(dist.logits, axis=-1)
        low, high = algo.actor.action_range
        return jnp.clip(dist.mean(), low, high)

    return act


class OneDoneEnv:
    """A gymnax env whose `step` returns one `done` (terminated or truncated), the 5-tuple rejax 0.1.3 unpacks.

    gymnax 1.0 returns terminated and truncated apart; rejax 0.1.3 was written for the earlier
    API, and treats every done as terminal, as it did there.
    """

    def __init__(self, env: Any):
        self.env = env

    def __getattr__(self, name: str) -> Any:
        if name == "env":  # not set yet: a copy being built
            raise AttributeError(name)
        return getattr(self.env, name)

    def step(self, key: jax.Array, state: Any, action: jax.Array, params: Any = None) -> tuple[Any, ...]:
        obs, state, reward, terminated, truncated, info = self.env.step(key, state, action, params)
        return obs, state, reward, jnp.logical_or(terminated, truncated), info


def run_rejax(row: Row, table: str, seed: int, race: Race) -> None:
    import gymnax
    import rejax

    config = rejax_config(row, table)
    env, env_params = gymnax.make(config.pop("env"))
    algo = rejax.get_algo(row.algo).create(env=OneDoneEnv(env), env_params=env_params, **config)
    race.limit_steps = min(race.limit_steps, algo.total_timesteps)
    iteration_steps = algo.num_envs * (algo.num_steps if row.algo == "ppo" else 1)
    chunk_iterations = math.ceil(row.eval_every / iteration_steps)  # one evaluation per chunk

    @jax.jit
    def train_chunk(ts: Any) -> Any:
        return jax.lax.fori_loop(0, chunk_iterations, lambda _, ts: algo.train_iteration(ts), ts)

    greedy = jax.jit(rejax_greedy(algo, row))
    ts = jax.jit(algo.init_state)(jax.random.PRNGKey(seed))
    steps = 0
    while True:
        ts = jax.block_until_ready(train_chunk(ts))
        steps += chunk_iterations * iteration_steps
        if race.check(steps, lambda obs, ts=ts: np.asarray(greedy(ts, obs))):
            return


# SB3 and SBX: the zoo's hyper-parameters through their common API.


def _zoo_value(value: Any) -> float:
    return float(value[len("lin_") :]) if isinstance(value, str) else float(value)


def _zoo_schedule(value: Any) -> Any:
    """rl-zoo's "lin_X" (X times the remaining fraction of the run), else the constant."""
    if isinstance(value, str):
        initial = _zoo_value(value)
        return lambda remaining: remaining * initial
    return value


def run_sb(library: str, row: Row, seed: int, race: Race) -> None:
    import stable_baselines3
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    module: Any = stable_baselines3
    if library == "sbx":
        import sbx

        module = sbx
    hyper = dict(ZOO[row.env_id, row.algo])
    n_envs, normalize, n_timesteps = hyper.pop("n_envs", 1), hyper.pop("normalize", False), hyper.pop("n_timesteps")
    for name in ("learning_rate", "clip_range"):
        if name in hyper:
            hyper[name] = _zoo_schedule(hyper[name])
    race.limit_steps = min(race.limit_steps, n_timesteps)
    env = make_vec_env(row.env_id, n_envs=n_envs, seed=seed)
    if normalize:  # as the zoo does: observations and rewards, with the algorithm's gamma
        env = VecNormalize(env, gamma=hyper.get("gamma", 0.99))
    model = getattr(module, row.algo.upper())("MlpPolicy", env, seed=seed, verbose=0, **hyper)

    def policy(obs: np.ndarray) -> np.ndarray:
        if normalize:
            obs = env.normalize_obs(obs)
        return model.predict(obs, deterministic=True)[0]

    class Check(BaseCallback):
        def _on_step(self) -> bool:
            return not race.check(self.num_timesteps, policy)

    model.learn(total_timesteps=n_timesteps, callback=Check())


def available(library: str) -> bool:
    module = {"gymx": "gymx", "rejax": "rejax", "sbx": "sbx", "sb3": "stable_baselines3"}[library]
    return importlib.util.find_spec(module) is not None


def run(library: str, row: Row, table: str, seed: int, args: argparse.Namespace) -> dict[str, Any]:
    jax.clear_caches()  # every seed compiles, as a fresh process would
    race = Race(row, row.budget, args.max_seconds, args.episodes)
    if library == "gymx":
        run_gymx(row, table, seed, race)
    elif library == "rejax":
        run_rejax(row, table, seed, race)
    else:
        run_sb(library, row, seed, race)
    return dict(
        row=f"{row.env_id} {row.algo}",
        library=library,
        table=table,
        seed=seed,
        solved_s=race.solved_s,
        solved_steps=race.solved_steps,
        train_s=race.train_seconds(),
        steps=race.last_steps,
        last_mean=race.last_mean,
        limit_steps=race.limit_steps,
        evaluations=race.evaluations,
    )


# The tables.


def summarize(records: list[dict[str, Any]], table: str) -> list[str]:
    lines = [
        "| env, algorithm | library | median s to threshold | reached | median env steps | per seed (s; x: not reached) |",
        "|---|---|---:|---:|---:|---|",
    ]
    verdicts = []
    rows = list(dict.fromkeys(r["row"] for r in records if r["table"] == table))  # rows this table's settings ran
    for row in rows:
        medians = {}
        for library in LIBRARIES:
            runs = [
                r for r in records if r["row"] == row and r["library"] == library and r["table"] in (table, "shared")
            ]
            if not runs:
                continue
            times = [r["solved_s"] if r["solved_s"] is not None else math.inf for r in runs]
            steps = [r["solved_steps"] if r["solved_steps"] is not None else math.inf for r in runs]
            medians[library] = statistics.median(times)
            reached = sum(t < math.inf for t in times)
            per_seed = ", ".join(
                f"{t:.1f}" if t < math.inf else f"x ({r['last_mean']:.0f} at {r['steps']:,})"
                for t, r in zip(times, runs)
            )
            median_steps = statistics.median(steps)
            lines.append(
                f"| {row} | {library} | {_seconds(medians[library])} | {reached}/{len(runs)} "
                f"(budget {runs[0]['limit_steps']:,}) | {_steps(median_steps)} | {per_seed} |"
            )
        verdicts.append(verdict(row, medians))
    return [*lines, "", *verdicts]


def verdict(row: str, medians: dict[str, float]) -> str:
    if "gymx" not in medians:
        return f"- {row}: no gymx run"
    gymx = medians["gymx"]
    others = {name: t for name, t in medians.items() if name != "gymx"}
    peers = {name: t for name, t in others.items() if name in JAX_PEERS}
    fastest_peer = min(peers, key=peers.__getitem__) if peers else None
    first = all(gymx < t for t in others.values())
    text = f"- {row}: gymx {_seconds(gymx)}, {'first' if first else 'not first'}"
    if fastest_peer is not None and peers[fastest_peer] == math.inf:
        text += f"; no JAX peer reached it: goal {'met' if first else 'missed'}"
    elif fastest_peer is not None:
        ratio = peers[fastest_peer] / gymx if gymx < math.inf else 0.0
        goal = "met" if first and ratio >= 1.5 else "missed"
        text += f"; fastest JAX peer {fastest_peer} {_seconds(peers[fastest_peer])} ({ratio:.2f}x): goal {goal}"
    return text


def _seconds(value: float) -> str:
    return f"{value:.1f} s" if value < math.inf else "not reached"


def _steps(value: float) -> str:
    return f"{value:,.0f}" if value < math.inf else "–"


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def versions() -> str:
    from importlib.metadata import PackageNotFoundError, version

    parts = []
    for name in ("gymnasium", "rejax", "sbx-rl", "stable-baselines3", "torch"):
        try:
            parts.append(f"{name} {version(name)}")
        except PackageNotFoundError:
            parts.append(f"{name} not installed")
    return ", ".join(parts)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", default=",".join(ROWS), help=f"comma-separated subset of {','.join(ROWS)}")
    parser.add_argument("--libraries", default=",".join(LIBRARIES), help="comma-separated subset of gymx,rejax,sbx,sb3")
    parser.add_argument("--tables", default="own,same", help="own: each library's settings; same: the zoo's for all")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per library and row (default 5)")
    parser.add_argument("--episodes", type=int, default=20, help="greedy episodes per evaluation (default 20)")
    parser.add_argument("--max-seconds", type=float, default=300.0, help="training seconds per run at most")
    parser.add_argument("--budget", type=int, default=None, help="override every row's env-step budget")
    parser.add_argument(
        "--torch-threads", type=int, default=1, help="SB3's torch intra-op threads (default 1: a shared machine)"
    )
    parser.add_argument("--jsonl", default=None, help="append each run's record to this file")
    parser.add_argument("--report", default=None, help="print the tables of the records in this file and exit")
    args = parser.parse_args()
    if args.report:
        with open(args.report) as file:
            records = [json.loads(line) for line in file if line.strip()]
        for table in dict.fromkeys(r["table"] for r in records if r["table"] != "shared"):
            print(f"\n### hyper-parameters: {table}\n")
            print("\n".join(summarize(records, table)))
        return
    bench.cold_compiles()
    if available("sb3"):
        import torch

        # On a loaded 2-core machine torch's default (one thread per core) spins against other processes.
        torch.set_num_threads(args.torch_threads)
    print(f"- device: `{bench.device_description()}`; {versions()}; load average at start {_load()}")
    print(f"- greedy evaluation: {args.episodes} episodes on Gymnasium's envs; thresholds {THRESHOLDS}\n", flush=True)
    tables = args.tables.split(",")
    records: list[dict[str, Any]] = []
    for name in args.rows.split(","):
        row = ROWS[name]
        if args.budget is not None:
            row = dataclasses.replace(row, budget=args.budget, eval_every=min(row.eval_every, args.budget))
        for library in args.libraries.split(","):
            if not available(library):
                print(f"- {name} {library}: skipped, not installed", flush=True)
                continue
            if library == "gymx" and row.algo not in agents.ALGORITHMS:
                print(f"- {name} gymx: skipped, gymx.train.agents has no {row.algo!r}", flush=True)
                continue
            if library == "rejax" and (row.env_id, row.algo) not in REJAX:
                print(f"- {name} rejax: skipped, no rejax config", flush=True)
                continue
            # SB3 and SBX take the zoo's settings in both tables: one set of runs serves both.
            for table in ["shared"] if library in ("sbx", "sb3") else tables:
                for seed in range(args.seeds):
                    record = run(library, row, table, seed, args)
                    records.append(record)
                    print(f"- run {json.dumps(record)}", file=sys.stderr, flush=True)
                    if args.jsonl:
                        with open(args.jsonl, "a") as file:
                            file.write(json.dumps(record) + "\n")
    for table in tables:
        print(f"\n### hyper-parameters: {table}\n")
        print("\n".join(summarize(records, table)))
    print(f"\n- load average at end {_load()}")


if __name__ == "__main__":
    main()
