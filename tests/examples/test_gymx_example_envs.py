"""The contributed-environment path end to end: the example package under examples/ is put on a
fresh interpreter's path with the entry-point metadata its pyproject.toml declares (what `pip
install` writes), and that interpreter finds its id through gymx's plugin loading, makes it, and
passes gymx's `check_env` and Gymnasium's checker."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

PACKAGE = Path(__file__).resolve().parents[2] / "examples" / "gymx-example-envs"

CHECK = textwrap.dedent(
    """
    import gymnasium
    from gymnasium.utils.env_checker import check_env as gymnasium_check_env

    import gymx
    from gymx.adapters.gymnasium import gymnasium_id
    from gymx.testing import check_env

    env = gymx.make("example/Corridor-v0")
    check_env(env)
    gymnasium_check_env(gymnasium.make(gymnasium_id("example/Corridor-v0")).unwrapped)
    print(type(env.unwrapped).__module__, env.spec.max_episode_steps, gymnasium_id(env.spec.id))
    """
)


def installed_metadata(root: Path) -> Path:
    """A `.dist-info` folder for the example package, as an install would write it, under `root`."""
    project = tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]
    info = root / f"{project['name'].replace('-', '_')}-{project['version']}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {project['name']}\nVersion: {project['version']}\n")
    lines = ["[gymx.envs]", *(f"{name} = {target}" for name, target in project["entry-points"]["gymx.envs"].items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    return info


def test_example_package_registers_makes_and_passes_both_checkers(tmp_path: Path) -> None:
    pytest.importorskip("gymnasium")
    installed_metadata(tmp_path)
    path = os.pathsep.join([str(tmp_path), str(PACKAGE), os.environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", CHECK],
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["gymx_example_envs.corridor", "100", "gymx-example/Corridor-v0"]
