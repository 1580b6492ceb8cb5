"""A process that makes, steps, renders and drops MuJoCo envs keeps its memory maps bounded.

Each XLA:CPU kernel of a compiled program holds three memory maps (its code, constants and
data), a MuJoCo reset and step have hundreds of kernels, and Linux allows a process 65,530 maps
by default; so an env's programs, and its renderer's OpenGL context, must be freed with the env.
"""

from __future__ import annotations

import gc

import gymnasium
import numpy as np

import gymx  # noqa: F401  (registers the gymx/ ids with Gymnasium)

# Envs made with distinct constructor arguments share nothing, so each compiles its own reset
# and step (about 1,600 maps for InvertedPendulum-v5 on XLA:CPU); a dropped one gives them back.
NOISE_SCALES = (0.01, 0.02, 0.03)
# What an env may leave behind once dropped: allocator arenas and the like, not its programs.
MAPS_LEFT_PER_ENV = 100


def maps() -> int:
    with open("/proc/self/maps") as file:
        return sum(1 for _ in file)


def make_step_render_drop(reset_noise_scale: float) -> tuple[int, int]:
    """(maps added while the env was alive, maps left once it was closed and dropped)."""
    before = maps()
    env = gymnasium.make("gymx/InvertedPendulum-v5", render_mode="rgb_array", reset_noise_scale=reset_noise_scale)
    env.reset(seed=0)
    env.step(np.zeros(1, np.float32))
    frame = env.render()
    assert frame.shape == (480, 480, 3) and frame.dtype == np.uint8 and frame.any()
    alive = maps() - before
    env.close()
    del env
    gc.collect()  # an env and its cached programs form reference cycles
    return alive, maps() - before


def test_dropped_mujoco_envs_give_their_maps_back() -> None:
    added = [make_step_render_drop(scale) for scale in NOISE_SCALES]
    # The first env also pays the one-time costs (MuJoCo's and EGL's libraries, JAX's first
    # programs); every later one compiles programs of its own and leaves almost nothing.
    for (alive, left), scale in zip(added[1:], NOISE_SCALES[1:]):
        assert left <= MAPS_LEFT_PER_ENV, (
            f"reset_noise_scale={scale}: {left} of its {alive} maps stayed after it was dropped"
        )
