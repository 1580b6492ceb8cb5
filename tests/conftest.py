"""Shared test set-up: a persistent compilation cache, synchronous CPU dispatch, single-threaded Eigen, and `--all` for the full env matrix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("GYMX_COMPILATION_CACHE", str(Path(tempfile.gettempdir()) / "gymx-test-jax-cache"))
# MuJoCo picks its OpenGL backend when first imported (by Gymnasium or a test): off-screen EGL.
if "DISPLAY" not in os.environ:
    os.environ.setdefault("MUJOCO_GL", "egl")
# XLA:CPU's multi-threaded Eigen pool can wedge on vmapped programs with nested loops (every thread
# idle, the result never ready; a CI run stalled so in `gymx train`); single-threaded Eigen avoids it.
if "xla_cpu_multi_thread_eigen" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} --xla_cpu_multi_thread_eigen=false".strip()

import jax  # noqa: E402
import pytest  # noqa: E402

import gymx  # noqa: E402

jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
# Two programs dispatched back to back can deadlock XLA:CPU's runtime on a 2-core machine (every
# thread waiting, none computing; jax-ml/jax#25861), so each program finishes before the next starts.
jax.config.update("jax_cpu_enable_async_dispatch", False)


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
    return isinstance(entry_point, str) and entry_point.startswith("gymx.envs.mujoco.") and env_id not in DEFAULT_MUJOCO_IDS


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--all"):
        return
    skip = pytest.mark.skip(reason="part of the full matrix: run with --all")
    for item in items:
        if in_full_matrix_only(item):
            item.add_marker(skip)
