"""MuJoCo robots on MJX physics: Gymnasium's MuJoCo v5 suite as batched functional envs.

Every `<Name>-v5` id has the semantics of Gymnasium's id of the same name (model file,
observations, reward terms, termination, reset noise, frame skip, time limit, reward threshold,
constructor keyword arguments) and integrates with the model file's own solver settings.
`<Name>Fast-v5` is the same env with `FAST_SOLVER` (Euler, 4 solver and 4 line-search
iterations): several times faster, and its drift from the faithful id over an episode is
published in benchmarks/RESULTS.md.

Needs the `mjx` extra (`pip install "gymx[mjx]"`); the ids are registered without it and `make`
says what to install.
"""

from gymx.registration import register

_MODULE = "gymx.envs.mujoco"

# (name, module:class, max_episode_steps, reward_threshold), as Gymnasium registers the v5 ids.
ENVS = (
    ("Hopper", "hopper:Hopper", 1000, 3800.0),
    ("Walker2d", "walker2d:Walker2d", 1000, None),
    ("HalfCheetah", "half_cheetah:HalfCheetah", 1000, 4800.0),
    ("Ant", "ant:Ant", 1000, 6000.0),
    ("Humanoid", "humanoid:Humanoid", 1000, None),
    ("HumanoidStandup", "humanoid_standup:HumanoidStandup", 1000, None),
    ("Swimmer", "swimmer:Swimmer", 1000, 360.0),
    ("Reacher", "reacher:Reacher", 50, -3.75),
    ("Pusher", "pusher:Pusher", 100, 0.0),
    ("InvertedPendulum", "inverted_pendulum:InvertedPendulum", 1000, 950.0),
    ("InvertedDoublePendulum", "inverted_double_pendulum:InvertedDoublePendulum", 1000, 9100.0),
)
# The solver of the `...Fast-v5` ids.
FAST_SOLVER = {"integrator": "euler", "iterations": 4, "ls_iterations": 4}


def register_envs() -> None:
    for name, entry_point, max_steps, threshold in ENVS:
        target = f"{_MODULE}.{entry_point}"
        register(f"{name}-v5", target, max_episode_steps=max_steps, reward_threshold=threshold)
        register(
            f"{name}Fast-v5", target, max_episode_steps=max_steps, reward_threshold=threshold, kwargs=dict(FAST_SOLVER)
        )
