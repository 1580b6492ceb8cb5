"""Toy text: Gymnasium's FrozenLake, Taxi, CliffWalking and Blackjack."""

from gymx.registration import register

_MODULE = "gymx.envs.toy_text"


def register_envs() -> None:
    register(
        "FrozenLake-v1",
        f"{_MODULE}.frozen_lake:FrozenLake",
        max_episode_steps=100,
        reward_threshold=0.70,
        kwargs={"map_name": "4x4"},
    )
    register(
        "FrozenLake8x8-v1",
        f"{_MODULE}.frozen_lake:FrozenLake",
        max_episode_steps=200,
        reward_threshold=0.85,
        kwargs={"map_name": "8x8"},
    )
    register("Taxi-v4", f"{_MODULE}.taxi:Taxi", max_episode_steps=200, reward_threshold=8)
    register("CliffWalking-v1", f"{_MODULE}.cliff_walking:CliffWalking")
    register("CliffWalkingSlippery-v1", f"{_MODULE}.cliff_walking:CliffWalking", kwargs={"is_slippery": True})
    register("Blackjack-v1", f"{_MODULE}.blackjack:Blackjack", kwargs={"sab": True, "natural": False})
