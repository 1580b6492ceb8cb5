"""The mean return of a uniformly random policy on each classic control env, measured with gymx.

`scoring.SUITES["classic_control"]` maps these means to 0. Regenerate them with

    python tests/gymx/scoreboard/random_scores.py 1000

which plays that many fresh episodes per env (PRNG seed 0), each to its time limit, and prints
the mean return and its standard error. `random_returns` is also what the suite test calls.
"""

from __future__ import annotations

import functools
import sys

import jax
import jax.numpy as jnp
import numpy as np

ENV_IDS = ("CartPole-v1", "Acrobot-v1", "MountainCar-v0", "MountainCarContinuous-v0", "Pendulum-v1")


@functools.cache
def _program(env_id: str, episodes: int):
    from gymx.vector import AutoresetMode, make_vec

    env = make_vec(env_id, episodes, AutoresetMode.DISABLED)
    limit = env.spec.max_episode_steps
    space = env.single_action_space()

    @jax.jit
    def play(key: jax.Array) -> jax.Array:
        reset_key, action_key = jax.random.split(key)
        env_state, _ = env.reset(reset_key)

        def step(carry, step_key):
            env_state, returns, finished = carry
            # Actions uniform over the action space (Discrete: each action equally; Box: uniform in its bounds).
            env_state, ts = env.step(env_state, space.sample_batch(step_key, episodes))
            returns = returns + jnp.where(finished, 0.0, ts.reward)
            return (env_state, returns, finished | ts.done), None

        zeros = jnp.zeros(episodes, jnp.float32)
        (_, returns, _), _ = jax.lax.scan(
            step, (env_state, zeros, zeros.astype(bool)), jax.random.split(action_key, limit)
        )
        return returns

    return play


def random_returns(env_id: str, episodes: int, seed: int = 0) -> np.ndarray:
    """(episodes,) returns of a uniformly random policy on `env_id`, each episode played to its end or time limit."""
    return np.asarray(_program(env_id, episodes)(jax.random.PRNGKey(seed)), np.float64)


if __name__ == "__main__":
    import gymx

    gymx.configure_cpu()
    episodes = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    for env_id in ENV_IDS:
        returns = random_returns(env_id, episodes)
        print(
            f"{env_id}: mean {returns.mean():.2f} +- {returns.std(ddof=1) / np.sqrt(episodes):.2f} (std {returns.std(ddof=1):.2f}, {episodes} episodes)"
        )
