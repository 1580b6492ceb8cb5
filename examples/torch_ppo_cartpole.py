"""PPO in PyTorch on gymx's CartPole-v1, single file in the CleanRL manner, through the zero-copy
torch adapter (`gymx.adapters.torch`): observations, rewards and flags arrive as torch tensors
and actions go back as torch tensors, with no numpy in the loop.

    pip install "gymx[torch]"   # or: pip install torch
    python examples/torch_ppo_cartpole.py                 # trains, then evaluates the greedy policy
    python examples/torch_ppo_cartpole.py --seed 1 --total-timesteps 300000

Training stops once the last 100 finished episodes average at least `--target` (475, CartPole-v1's
reward threshold) or after `--total-timesteps`; then 100 episodes of the greedy policy are played
and their mean return printed. Exits non-zero if that mean is below the target.

Truncated episodes (CartPole-v1 ends at 500 steps) are bootstrapped from the value of their last
observation (`info["final_obs"]`, the adapter's SAME_STEP auto-reset); terminated ones are not.
"""

from __future__ import annotations

import argparse
import time
from collections import deque

import numpy as np
import torch
from torch import nn
from torch.distributions import Categorical

from gymx.adapters.torch import make_vec


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--num-envs", type=int, default=4)
    parser.add_argument("--num-steps", type=int, default=128, help="steps per env per rollout")
    parser.add_argument("--total-timesteps", type=int, default=500_000)
    parser.add_argument("--learning-rate", type=float, default=2.5e-4)
    parser.add_argument("--gamma", type=float, default=0.99)
    parser.add_argument("--gae-lambda", type=float, default=0.95)
    parser.add_argument("--num-minibatches", type=int, default=4)
    parser.add_argument("--update-epochs", type=int, default=4)
    parser.add_argument("--clip-coef", type=float, default=0.2)
    parser.add_argument("--ent-coef", type=float, default=0.01)
    parser.add_argument("--vf-coef", type=float, default=0.5)
    parser.add_argument("--max-grad-norm", type=float, default=0.5)
    parser.add_argument("--target", type=float, default=475.0, help="mean return of 100 episodes that ends training")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    return parser.parse_args()


def layer(inputs: int, outputs: int, std: float = np.sqrt(2)) -> nn.Linear:
    linear = nn.Linear(inputs, outputs)
    nn.init.orthogonal_(linear.weight, std)
    nn.init.zeros_(linear.bias)
    return linear


class Agent(nn.Module):
    def __init__(self, obs_size: int, num_actions: int):
        super().__init__()
        self.critic = nn.Sequential(layer(obs_size, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, 1, std=1.0))
        self.actor = nn.Sequential(
            layer(obs_size, 64), nn.Tanh(), layer(64, 64), nn.Tanh(), layer(64, num_actions, std=0.01)
        )

    def value(self, obs: torch.Tensor) -> torch.Tensor:
        return self.critic(obs).squeeze(-1)

    def act(self, obs: torch.Tensor, action: torch.Tensor | None = None):
        dist = Categorical(logits=self.actor(obs))
        action = dist.sample() if action is None else action
        return action, dist.log_prob(action), dist.entropy(), self.value(obs)


def evaluate(agent: Agent, episodes: int, seed: int) -> float:
    """Mean return of the greedy policy over `episodes` episodes, one per env."""
    env = make_vec("CartPole-v1", episodes, seed=seed)
    obs, _ = env.reset(seed=seed)
    returns = torch.full((episodes,), float("nan"))
    with torch.no_grad():
        while torch.isnan(returns).any():
            obs, _, terminated, truncated, info = env.step(agent.actor(obs).argmax(-1))
            finished = (terminated | truncated) & torch.isnan(returns)
            returns[finished] = info["episode_return"][finished]
    return float(returns.mean())


def main() -> int:
    args = parse_args()
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    env = make_vec("CartPole-v1", args.num_envs, seed=args.seed)
    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    num_updates = args.total_timesteps // batch_size
    agent = Agent(4, 2)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    obs_buf = torch.zeros(args.num_steps, args.num_envs, 4)
    actions = torch.zeros(args.num_steps, args.num_envs, dtype=torch.int64)
    logprobs, rewards, dones, values = (torch.zeros(args.num_steps, args.num_envs) for _ in range(4))
    recent = deque(maxlen=100)
    obs, _ = env.reset(seed=args.seed)
    steps = 0
    for update in range(num_updates):
        optimizer.param_groups[0]["lr"] = args.learning_rate * (1.0 - update / num_updates)
        for t in range(args.num_steps):
            obs_buf[t] = obs
            with torch.no_grad():
                action, logprob, _, value = agent.act(obs)
            actions[t], logprobs[t], values[t] = action, logprob, value
            obs, reward, terminated, truncated, info = env.step(action)
            reward = reward.clone()
            if truncated.any():  # bootstrap a cut-off episode from its last observation
                with torch.no_grad():
                    reward += args.gamma * agent.value(info["final_obs"]) * (truncated & ~terminated)
            rewards[t], dones[t] = reward, (terminated | truncated).float()
            recent.extend(info["episode_return"][terminated | truncated].tolist())
        steps += batch_size

        with torch.no_grad():
            next_value = agent.value(obs)
            advantages = torch.zeros_like(rewards)
            gae = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                following = next_value if t == args.num_steps - 1 else values[t + 1]
                delta = rewards[t] + args.gamma * following * (1.0 - dones[t]) - values[t]
                gae = delta + args.gamma * args.gae_lambda * (1.0 - dones[t]) * gae
                advantages[t] = gae
            returns = advantages + values

        b_obs, b_actions, b_logprobs = obs_buf.reshape(-1, 4), actions.reshape(-1), logprobs.reshape(-1)
        b_advantages, b_returns = advantages.reshape(-1), returns.reshape(-1)
        for _ in range(args.update_epochs):
            for idx in torch.randperm(batch_size).split(minibatch_size):
                _, new_logprob, entropy, new_value = agent.act(b_obs[idx], b_actions[idx])
                ratio = (new_logprob - b_logprobs[idx]).exp()
                adv = b_advantages[idx]
                adv = (adv - adv.mean()) / (adv.std() + 1e-8)
                policy_loss = torch.max(-adv * ratio, -adv * ratio.clamp(1 - args.clip_coef, 1 + args.clip_coef)).mean()
                value_loss = 0.5 * ((new_value - b_returns[idx]) ** 2).mean()
                loss = policy_loss - args.ent_coef * entropy.mean() + args.vf_coef * value_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        mean_return = float(np.mean(recent)) if recent else float("nan")
        if update % 10 == 0 or (len(recent) == 100 and mean_return >= args.target):
            print(
                f"steps={steps:>7} mean_return(last {len(recent)})={mean_return:6.1f} wall={time.perf_counter() - start:5.1f}s",
                flush=True,
            )
        if len(recent) == 100 and mean_return >= args.target:
            break

    train_wall = time.perf_counter() - start
    greedy = evaluate(agent, 100, args.seed + 1)
    print(f"trained {steps} steps in {train_wall:.1f}s; greedy policy: mean return {greedy:.1f} over 100 episodes")
    return 0 if greedy >= args.target else 1


if __name__ == "__main__":
    raise SystemExit(main())
