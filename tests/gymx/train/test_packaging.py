"""The training configs ship in a (non-editable) install: setup.py's package data names every one."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = ROOT / "gymx" / "train" / "configs"


def test_every_training_config_is_package_data(monkeypatch: pytest.MonkeyPatch) -> None:
    from distutils.core import run_setup

    monkeypatch.chdir(ROOT)
    distribution = run_setup("setup.py", stop_after="init")
    build_py = distribution.get_command_obj("build_py")
    build_py.ensure_finalized()
    # What build_py copies into the wheel: (package, source folder, build folder, file names).
    shipped = {Path(source) / name for _, source, _, names in build_py.data_files for name in names}
    configs = {path.relative_to(ROOT) for path in CONFIGS.rglob("*.toml")}
    assert Path("gymx/train/configs/ppo/ALE/Pong-v5.toml") in configs
    assert configs - shipped == set()
