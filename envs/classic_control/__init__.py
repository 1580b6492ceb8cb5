"""Classic control: Gymnasium's CartPole, Acrobot, MountainCar, MountainCarContinuous, Pendulum."""

from gymx.registration import register

_MODULE = "gymx.envs.classic_control"


def register_envs() -> None:
    register("CartPole-v0", f"{_MODULE}.cartpole:CartPole", max_episode_steps=200, reward_threshold=195.0)
    register("CartPole-v1", f"{_MODULE}.cartpole:CartPole", max_episode_steps=500, reward_threshold=475.0)
    register("MountainCar-v0", f"{_MODULE}.mountain_car:MountainCar", max_episode_steps=200, reward_threshold=-110.0)
    register(
        "MountainCarContinuous-v0",
        f"{_MODULE}.continuous_mountain_car:ContinuousMountainCar",
        max_episode_steps=999,
        reward_threshold=90.0,
    )
    register("Pendulum-v1", f"{_MODULE}.pendulum:Pendulum", max_episode_steps=200)
    register("Acrobot-v1", f"{_MODULE}.acrobot:Acrobot", max_episode_steps=500, reward_threshold=-100.0)
