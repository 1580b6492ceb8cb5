"""`import gymx` leaves process-wide settings alone; `gymx.enable_compilation_cache`, `gymx.configure_cpu`
and the `gymx` command make them when asked. Each case runs in a fresh interpreter."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import subprocess
import sys

import pytest

from gymx import compilation_cache

HAS_FILELOCK = importlib.util.find_spec("filelock") is not None

STATE = """
import json, os, sys
import jax
from jax._src import xla_bridge
print(json.dumps({
    "cache_dir": jax.config.jax_compilation_cache_dir,
    "cache_max_size": jax.config.jax_compilation_cache_max_size,
    "async_dispatch": jax.config.values["jax_cpu_enable_async_dispatch"],
    "mujoco_gl": os.environ.get("MUJOCO_GL"),
    "xla_flags": os.environ.get("XLA_FLAGS"),
}))
"""


def fresh_state(code: str, **env: str) -> dict:
    """Runs `code` in a fresh interpreter with no gymx or JAX settings inherited, then reports the state."""
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("MUJOCO_GL", "XLA_FLAGS", "DISPLAY", "JAX_COMPILATION_CACHE_DIR")
    }
    done = subprocess.run(
        [sys.executable, "-c", code + STATE],
        env={**clean, **env},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_and_make_leave_the_process_alone() -> None:
    state = fresh_state("import gymx\ngymx.make('CartPole-v1')\n")
    assert state == {
        "cache_dir": None,
        "cache_max_size": -1,
        "async_dispatch": True,
        "mujoco_gl": None,
        "xla_flags": None,
    }


def test_making_a_mujoco_env_leaves_the_renderer_choice_alone() -> None:
    pytest.importorskip("mujoco.mjx")
    state = fresh_state("import gymx\ngymx.make('InvertedPendulum-v5')\n")
    assert state["mujoco_gl"] is None
    assert state["cache_dir"] is None


def test_making_a_mujoco_env_hands_lapack_batches_over_inline() -> None:
    """Library users who never call `configure_cpu` still get the one remedy a batched MuJoCo step needs."""
    pytest.importorskip("mujoco.mjx")
    import jaxlib

    code = "import gymx, gymx.cpu\nbefore = gymx.cpu._lapack_inline_installed\ngymx.make('InvertedPendulum-v5')\nprint(before, gymx.cpu._lapack_inline_installed)\n"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=600)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"False {jaxlib.__version__.startswith('0.10.')}"


def test_enable_compilation_cache_is_private_and_bounded(tmp_path) -> None:
    folder = tmp_path / "jax-cache"
    folder.mkdir(mode=0o755)
    state = fresh_state(f"import gymx\ngymx.enable_compilation_cache({str(folder)!r}, max_size_bytes=10**8)\n")
    assert state["cache_dir"] == str(folder)
    assert state["cache_max_size"] == (10**8 if HAS_FILELOCK else -1)  # without filelock gymx prunes instead
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_enable_compilation_cache_defaults_to_a_bounded_cache_in_the_variables_folder(tmp_path) -> None:
    folder = tmp_path / "new" / "cache"
    state = fresh_state("import gymx\ngymx.enable_compilation_cache()\n", GYMX_COMPILATION_CACHE=str(folder))
    assert state["cache_dir"] == str(folder)
    assert state["cache_max_size"] == (2 * 1024**3 if HAS_FILELOCK else -1)
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_prune_keeps_the_most_recently_used_entries_under_the_bound(tmp_path) -> None:
    for age, name in enumerate(["newest", "newer", "older", "oldest"]):
        entry = tmp_path / name
        entry.write_bytes(b"x" * 1000)
        os.utime(entry, (1e9 - age * 1000, 1e9 - age * 1000))
    assert compilation_cache.prune(tmp_path, 5000) == 0  # within the bound: nothing goes
    assert compilation_cache.prune(tmp_path, 3000) == 2000  # down to 3/4 of the bound
    assert sorted(entry.name for entry in tmp_path.iterdir()) == ["newer", "newest"]


def test_enable_compilation_cache_refuses_a_meaningless_bound() -> None:
    import gymx

    with pytest.raises(ValueError, match="max_size_bytes must be positive or -1"):
        gymx.enable_compilation_cache(max_size_bytes=0)


def test_the_command_turns_the_cache_and_the_cpu_settings_on(tmp_path) -> None:
    code = "from gymx.cli import main\nimport contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()):\n    main(['list'])\n"
    state = fresh_state(code, GYMX_COMPILATION_CACHE=str(tmp_path / "cache"))
    assert state["cache_dir"] == str(tmp_path / "cache")
    assert state["async_dispatch"] is False
    assert state["xla_flags"] == "--xla_cpu_multi_thread_eigen=false"
    assert state["mujoco_gl"] == "egl"  # no display in this environment
    off = fresh_state(code, GYMX_COMPILATION_CACHE="off", GYMX_CONFIGURE_CPU="0")
    assert (off["cache_dir"], off["async_dispatch"], off["xla_flags"]) == (None, True, None)


# Eight independent batched Cholesky solves of 14 x 14 matrices (the Newton step of a 512-env Ant):
# with jaxlib 0.10's own lowering this program stopped, every thread idle, in 3 of 4 runs here.
SOLVES = """
import jax, jax.numpy as jnp, numpy as np
import gymx
settings = gymx.configure_cpu()
print(settings.single_threaded_eigen, settings.synchronous_dispatch, settings.lapack_batches_inline)

def solve(m, b):
    return jax.scipy.linalg.cho_solve(jax.scipy.linalg.cho_factor(m), b[..., None])[..., 0]

def program(x):
    ms = [jnp.sin(x * (i + 1)) @ jnp.swapaxes(jnp.sin(x * (i + 1)), -1, -2) + 14 * jnp.eye(14) for i in range(8)]
    return jnp.stack([solve(m, jnp.ones(m.shape[:-1])) for m in ms])

batched = jax.jit(program)
x = jax.random.normal(jax.random.key(0), (512, 14, 14))
for call in range(100):
    out = jax.block_until_ready(batched(x + call))
alone = jax.jit(program)
print(all(np.array_equal(out[:, i], alone(x[i : i + 1] + 99)[:, 0]) for i in (0, 255, 511)))
"""


def run_fresh(code: str) -> str:
    """Runs `code` in a fresh interpreter without XLA_FLAGS; returns what it printed (it must finish in 300 s)."""
    clean = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-W", "ignore", "-c", code],
        env=clean,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_configure_cpu_keeps_batched_lapack_solves_from_deadlocking() -> None:
    import jaxlib

    settings, same_as_one_by_one = run_fresh(SOLVES).split("\n")[:2]
    assert settings == f"True True {jaxlib.__version__.startswith('0.10.')}"
    assert same_as_one_by_one == "True"  # LAPACK's results, bit for bit, whatever the batch


# Six independent vmapped orthogonal initialisations, as `gymx train ppo` makes for each seed's
# networks: with jaxlib's own lowering, two batched QRs block both workers of a 2-thread pool.
ORTHOGONAL_INITS = """
import sys, jax
import gymx
gymx.configure_cpu()
init = jax.nn.initializers.orthogonal()
program = jax.jit(lambda keys: [jax.vmap(lambda k: init(jax.random.fold_in(k, i), (64, 64)))(keys) for i in range(6)])
for call in range(200):
    jax.block_until_ready(program(jax.random.split(jax.random.key(call), 3)))
print("finished")
"""


def test_configure_cpu_keeps_vmapped_orthogonal_initialisation_from_deadlocking() -> None:
    assert run_fresh(ORTHOGONAL_INITS).strip() == "finished"


def test_configure_cpu_says_when_the_backend_had_started() -> None:
    code = "import jax, gymx\njax.numpy.zeros(1).block_until_ready()\nprint(gymx.configure_cpu().notes)\n"
    clean = {k: v for k, v in os.environ.items() if k != "XLA_FLAGS"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=clean, capture_output=True, text=True, check=False, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "XLA_FLAGS no longer take effect" in done.stdout
