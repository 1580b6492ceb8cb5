"""Stable-Baselines3 PPO on Gymnasium's CartPole-v1 (CPU torch), timed to the same threshold as gymx.

The counterpart of `benchmarks/train.py`'s ppo-cartpole case: rl-baselines3-zoo's tuned
CartPole-v1 hyper-parameters (the ones gymx's configs/ppo/CartPole-v1.toml follows: 8 envs,
32-step rollouts, 20 epochs over one 256-sample minibatch, gamma 0.98, GAE lambda 0.8, learning
rate 1e-3 annealed linearly), 20 deterministic evaluation episodes every 5,120 env steps, stopped
when the evaluation mean reaches 475. Wall time from building the model to the stop.

Run it in its own virtualenv; SB3 and torch are not gymx dependencies:

    python3 -m venv /tmp/sb3venv && /tmp/sb3venv/bin/pip install torch==2.13.0 stable-baselines3 gymnasium
    /tmp/sb3venv/bin/python benchmarks/sb3_ppo.py [--seed 0] [--threads 2]
"""

from __future__ import annotations

import argparse
import os
import time

import gymnasium
import stable_baselines3
import torch
from stable_baselines3 import PPO
from stable_baselines3.common.callbacks import EvalCallback, StopTrainingOnRewardThreshold
from stable_baselines3.common.env_util import make_vec_env

THRESHOLD = 475.0
NUM_ENVS = 8
EVAL_EVERY_STEPS = 5120
EVAL_EPISODES = 20
MAX_STEPS = 200_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="torch intra-op threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(
        f"- stable-baselines3 {stable_baselines3.__version__}, torch {torch.__version__}, gymnasium {gymnasium.__version__}, "
        f"{args.threads} torch threads; load average at start {_load()}"
    )
    start = time.perf_counter()
    env = make_vec_env("CartPole-v1", n_envs=NUM_ENVS, seed=args.seed)
    eval_env = make_vec_env("CartPole-v1", n_envs=1, seed=args.seed + 1000)
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=32,
        batch_size=256,
        n_epochs=20,
        gamma=0.98,
        gae_lambda=0.8,
        clip_range=0.2,
        ent_coef=0.0,
        learning_rate=lambda progress: 1e-3 * progress,
        seed=args.seed,
        device="cpu",
    )
    stop = StopTrainingOnRewardThreshold(reward_threshold=THRESHOLD, verbose=0)
    # EvalCallback counts calls, one per vectorised step of NUM_ENVS env steps.
    evaluation = EvalCallback(
        eval_env,
        callback_on_new_best=stop,
        eval_freq=EVAL_EVERY_STEPS // NUM_ENVS,
        n_eval_episodes=EVAL_EPISODES,
        deterministic=True,
        verbose=0,
    )
    model.learn(total_timesteps=MAX_STEPS, callback=evaluation)
    wall = time.perf_counter() - start
    reached = evaluation.best_mean_reward >= THRESHOLD
    print(
        f"| SB3 PPO CartPole-v1 (CPU torch), 1 seed, until deterministic mean >= {THRESHOLD:g} ({EVAL_EPISODES} episodes) "
        f"| {wall:.1f} s | {evaluation.best_mean_reward:.1f} at {model.num_timesteps:,} env steps "
        f"| {'reached' if reached else 'not reached'} |"
    )
    print(f"- load average at end {_load()}")


def _load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    main()
