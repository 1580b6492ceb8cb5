"""JAX's persistent compilation cache, on by default so a second run skips XLA compiles.

The cache lives in `$GYMX_COMPILATION_CACHE` (default `~/.cache/gymx/jax`); set that variable
to `0` or `off` to leave JAX's configuration alone. A cache directory configured through JAX
itself (`JAX_COMPILATION_CACHE_DIR` or `jax.config`) always wins.
"""

from __future__ import annotations

import os
from pathlib import Path

import jax


def default_cache_dir() -> Path | None:
    setting = os.environ.get("GYMX_COMPILATION_CACHE", "")
    if setting.lower() in ("0", "off", "false", "no"):
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "gymx" / "jax"


def enable(path: str | os.PathLike | None = None, min_compile_time_secs: float | None = None) -> Path | None:
    """Points JAX's persistent compilation cache at `path` (or the default) unless JAX has one set."""
    if jax.config.jax_compilation_cache_dir:
        return Path(jax.config.jax_compilation_cache_dir)
    cache_dir = Path(path) if path is not None else default_cache_dir()
    if cache_dir is None:
        return None
    jax.config.update("jax_compilation_cache_dir", str(cache_dir))
    if min_compile_time_secs is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_time_secs)
    return cache_dir
