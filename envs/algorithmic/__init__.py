"""Algorithmic tasks: the original Gym's tape and grid tasks (copy, reverse, addition, ...).

Each task's input length follows a curriculum that a training loop carries as explicit state:
see `gymx.envs.algorithmic.curriculum`.
"""

from gymx.envs.algorithmic.curriculum import Curriculum, update

from gymx.registration import register

__all__ = ["Curriculum", "register_envs", "update"]

_MODULE = "gymx.envs.algorithmic"


def register_envs() -> None:
    register("Copy-v0", f"{_MODULE}.copy_:Copy", max_episode_steps=200, reward_threshold=25.0)
    register(
        "DuplicatedInput-v0", f"{_MODULE}.duplicated_input:DuplicatedInput", max_episode_steps=200, reward_threshold=9.0
    )
    register("RepeatCopy-v0", f"{_MODULE}.repeat_copy:RepeatCopy", max_episode_steps=200, reward_threshold=75.0)
    register("Reverse-v0", f"{_MODULE}.reverse:Reverse", max_episode_steps=200, reward_threshold=25.0)
    register(
        "ReversedAddition-v0",
        f"{_MODULE}.reversed_addition:ReversedAddition",
        max_episode_steps=200,
        reward_threshold=25.0,
        kwargs={"rows": 2},
    )
    register(
        "ReversedAddition3-v0",
        f"{_MODULE}.reversed_addition:ReversedAddition",
        max_episode_steps=200,
        reward_threshold=25.0,
        kwargs={"rows": 3},
    )
