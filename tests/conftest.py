"""Shared test set-up: a persistent compilation cache, synchronous CPU dispatch, and `--all` for the full env matrix."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

os.environ.setdefault("GYMX_COMPILATION_CACHE", str(Path(tempfile.gettempdir()) / "gymx-test-jax-cache"))

import jax  # noqa: E402
import pytest  # noqa: E402

import gymx  # noqa: E402

jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
# Two programs dispatched back to back can deadlock XLA:CPU's runtime on a 2-core machine (every
# thread waiting, none computing; jax-ml/jax#25861), so each program finishes before the next starts.
jax.config.update("jax_cpu_enable_async_dispatch", False)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--all", action="store_true", default=False, help="run the full env matrix and long runs")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--all"):
        return
    skip = pytest.mark.skip(reason="part of the full matrix: run with --all")
    for item in items:
        if "full" in item.keywords:
            item.add_marker(skip)


ALL_IDS = sorted(gymx.registry)
