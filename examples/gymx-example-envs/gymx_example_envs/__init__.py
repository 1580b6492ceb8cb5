"""Example gymx plugin: registers `example/Corridor-v0` when gymx loads its `gymx.envs` entry points."""

import gymx


def register_envs() -> None:
    # A namespace keeps a plugin's ids apart from gymx's own and from other plugins'.
    with gymx.namespace("example"):
        gymx.register("Corridor-v0", "gymx_example_envs.corridor:Corridor", max_episode_steps=100, reward_threshold=0.9)
