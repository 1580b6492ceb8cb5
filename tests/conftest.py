"""Shared test set-up: a persistent compilation cache, gymx's XLA:CPU settings (`gymx.configure_cpu`), and `--all` for the full env matrix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("GYMX_COMPILATION_CACHE", str(Path(tempfile.gettempdir()) / "gymx-test-jax-cache"))
# MuJoCo picks its OpenGL backend when first imported (by Gymnasium or a test): off-screen EGL.
if "DISPLAY" not in os.environ:
    os.environ.setdefault("MUJOCO_GL", "egl")

import pytest

import gymx

# Before any test computes: single-threaded Eigen only takes effect before the backend starts.
gymx.configure_cpu()
gymx.compilation_cache.enable_from_environment(min_compile_time_secs=0.0)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all", action="store_true", default=False, help="run the full env matrix and long runs")


# A MuJoCo env's programs compile for tens of seconds each on a CPU, so tests over every
# registered id run one MuJoCo id by default and the rest with --all.
DEFAULT_MUJOCO_IDS = {"InvertedPendulum-v5"}


def in_full_matrix_only(item: pytest.Item) -> bool:
    if "full" in item.keywords:
        return True
    env_id = getattr(item, "callspec", None) and item.callspec.params.get("env_id")
    if not isinstance(env_id, str) or env_id not in gymx.registry:
        return False
    entry_point = gymx.registry[env_id].entry_point
    if isinstance(entry_point, str) and entry_point.startswith("gymx.envs.atari."):
        return True  # an Atari console emulates ~13 frames/s on a CPU: tests/envs/atari covers Pong by default
    return (
        isinstance(entry_point, str)
        and entry_point.startswith("gymx.envs.mujoco.")
        and env_id not in DEFAULT_MUJOCO_IDS
    )


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--all"):
        return
    skip = pytest.mark.skip(reason="part of the full matrix: run with --all")
    for item in items:
        if in_full_matrix_only(item):
            item.add_marker(skip)
