"""MuJoCo robots on MJX physics: Gymnasium's MuJoCo v5 suite as batched functional envs.

Three tiers of each robot, each id with Gymnasium's task (observations, reward terms,
termination, reset noise, frame skip, time limit, reward threshold, constructor keyword
arguments); their drift from the faithful id is measured by benchmarks/mujoco_tiers.py and
published in benchmarks/RESULTS.md:

- `<Name>-v5`: Gymnasium's id exactly, the model file with its own solver settings.
- `<Name>FastSolver-v5`: the same model and integrator, the solver capped at `FAST_SOLVER`.
- `<Name>Lite-v5` (robots that walk on feet): `LITE`, contacts pruned to the feet against the
  floor as Brax's and MuJoCo Playground's locomotion envs do, with the MJX solver settings of
  Brax's Ant and Humanoid (Euler without its implicit damping, one Newton iteration).

`<Name>Fast-v5` (Euler with the capped solver on the full contact model) is deprecated: it still
makes the same env, with a warning that names the tiers.

Every id takes `impl="jax" | "warp"` (see `gymx.envs.mujoco.base`).

Needs the `mjx` extra (`pip install "gymx[mjx]"`); the ids are registered without it and `make`
says what to install.
"""

from typing import Any

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
# The robots whose model has feet on a floor (`MujocoEnv.feet`): the ones with a lite tier.
WALKERS = ("Hopper", "Walker2d", "HalfCheetah", "Ant", "Humanoid")
# `<Name>FastSolver-v5`: capping Newton at 4 iterations (and 4 line-search rounds) moves the state
# by ~1e-3 over an episode, where Euler for RK4 moves Ant's joints by 0.3 rad in one step.
FAST_SOLVER = {"iterations": 4, "ls_iterations": 4}
# `<Name>Lite-v5`: the settings of Brax's MJX Ant and Humanoid (Euler without its implicit damping,
# 1 Newton iteration, 4 line-search rounds). Euler's implicit damping applied after one unconverged
# Newton iteration let Ant's velocities grow without bound (31 of 32 random-action episodes of C
# MuJoCo within 1,000 steps, 0 without it; see benchmarks/RESULTS.md), and costs MJX a second
# factorization of the mass matrix every substep.
LITE: dict[str, Any] = {
    "collisions": "feet",
    "integrator": "euler",
    "iterations": 1,
    "ls_iterations": 4,
    "eulerdamp": False,
}
# The deprecated `<Name>Fast-v5`.
DEPRECATED_FAST = {"integrator": "euler", "iterations": 4, "ls_iterations": 4}


def register_envs() -> None:
    for name, entry_point, max_steps, threshold in ENVS:
        target = f"{_MODULE}.{entry_point}"
        register(f"{name}-v5", target, threshold, max_episode_steps=max_steps)
        register(f"{name}FastSolver-v5", target, threshold, max_episode_steps=max_steps, kwargs=dict(FAST_SOLVER))
        tiers = f"`{name}FastSolver-v5`"
        if name in WALKERS:
            register(f"{name}Lite-v5", target, threshold, max_episode_steps=max_steps, kwargs=dict(LITE))
            tiers += f" or `{name}Lite-v5`"
        register(
            f"{name}Fast-v5",
            f"{_MODULE}.base:deprecated_id",
            threshold,
            max_episode_steps=max_steps,
            kwargs={"old_id": f"{name}Fast-v5", "use_instead": tiers, "entry_point": target, **DEPRECATED_FAST},
        )
