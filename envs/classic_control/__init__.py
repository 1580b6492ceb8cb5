"""Classic control: Gymnasium's CartPole, Acrobot, MountainCar, MountainCarContinuous, Pendulum."""

from gymx.registration import register

_MODULE = "gymx.envs.classic_control"


def register_envs() -> None:
    register("CartPole-v0", f"{_MODULE}.cartpole:CartPole", max_episode_steps=200, reward_threshold=195.0)
    register("CartPole-v1", f"{_MODULE}.cartpole:CartPole", max_episode_steps=500, reward_threshold=475.0)
