"""JAX's persistent compilation cache, in a private folder of bounded size, turned on only when asked.

`import gymx` leaves JAX's cache settings alone: the cache applies to every program the process
compiles, the user's own included, so turning it on is the process owner's choice. The `gymx`
command turns it on (a second run then skips its XLA compiles); code that owns its process calls
`gymx.enable_compilation_cache()`.

The folder is `$GYMX_COMPILATION_CACHE` (default `~/.cache/gymx/jax`); `0` or `off` there turns
the cache off for the command and for `enable_from_environment`. The folder is created readable by
its owner alone (mode 0o700), and the least recently used entries beyond `max_size_bytes` are
evicted: by JAX as it writes when the `filelock` package is installed, else when the cache is enabled.
A cache folder configured through JAX itself (`JAX_COMPILATION_CACHE_DIR` or `jax.config`) wins.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import jax

DEFAULT_MAX_SIZE_BYTES = 2 * 1024**3
_OFF = ("0", "off", "false", "no")


def default_cache_dir() -> Path | None:
    """`$GYMX_COMPILATION_CACHE`, else `~/.cache/gymx/jax`; None when that variable turns the cache off."""
    setting = os.environ.get("GYMX_COMPILATION_CACHE", "")
    if setting.lower() in _OFF:
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "gymx" / "jax"


def enable_compilation_cache(
    path: str | os.PathLike | None = None,
    max_size_bytes: int = DEFAULT_MAX_SIZE_BYTES,
    min_compile_time_secs: float | None = None,
) -> Path:
    """Points JAX's persistent compilation cache at `path` (default: `default_cache_dir()`'s folder,
    or `~/.cache/gymx/jax` when the variable turns it off), for every later compile in this process.

    Creates the folder with mode 0o700; `max_size_bytes` bounds it (-1: no bound);
    `min_compile_time_secs` (JAX's default 1 s) is the shortest compile worth storing. Call it
    before the process's first compile: JAX reads these settings then. Returns the folder in use,
    which is JAX's own when one was configured already.
    """
    if max_size_bytes == 0 or max_size_bytes < -1:
        raise ValueError(f"max_size_bytes must be positive or -1 (no bound): got {max_size_bytes}")
    configured = jax.config.jax_compilation_cache_dir  # type: ignore[attr-defined]  # JAX adds its flags at runtime
    if configured:
        return Path(configured)
    cache_dir = (
        Path(path).expanduser() if path is not None else default_cache_dir() or Path.home() / ".cache" / "gymx" / "jax"
    )
    cache_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    if cache_dir.stat().st_uid == os.getuid():
        cache_dir.chmod(0o700)  # A folder made by an earlier gymx, open to everyone, is closed too.
    jax.config.update("jax_compilation_cache_dir", str(cache_dir))
    if importlib.util.find_spec("filelock") is not None:  # JAX's own bound needs it to lock entries
        jax.config.update("jax_compilation_cache_max_size", max_size_bytes)
    elif max_size_bytes > 0:
        prune(cache_dir, max_size_bytes)
    if min_compile_time_secs is not None:
        jax.config.update("jax_persistent_cache_min_compile_time_secs", min_compile_time_secs)
    return cache_dir


def prune(cache_dir: Path, max_size_bytes: int) -> int:
    """Deletes the least recently used files of `cache_dir` until it holds at most 3/4 of
    `max_size_bytes` (when it holds more than `max_size_bytes`); returns the bytes freed. JAX
    keeps no bound of its own without the `filelock` package, so the bound is kept between runs."""
    files = [(entry.stat(), entry) for entry in cache_dir.iterdir() if entry.is_file()]
    total = sum(info.st_size for info, _ in files)
    if total <= max_size_bytes:
        return 0
    freed = 0
    for info, entry in sorted(files, key=lambda item: max(item[0].st_atime, item[0].st_mtime)):
        if total - freed <= max_size_bytes * 3 // 4:
            break
        entry.unlink(missing_ok=True)
        freed += info.st_size
    return freed


def enable_from_environment(min_compile_time_secs: float | None = None) -> Path | None:
    """`enable_compilation_cache()` unless `$GYMX_COMPILATION_CACHE` turns the cache off (then None)."""
    if default_cache_dir() is None:
        return None
    return enable_compilation_cache(min_compile_time_secs=min_compile_time_secs)
