"""End to end: `gymx train ppo CartPole-v1 --seeds 5`, `gymx upload` to a live server, a verified ranked entry, `gymx scoreboard fetch`."""

from __future__ import annotations

import json
import time

import httpx
import numpy as np
import pytest

from gymx import cli
from gymx.scoreboard import verify
from gymx.scoreboard.app import create_app
from gymx.scoreboard.store import Store

from .conftest import LiveServer


def wait_for_status(url: str, entry_id: int, timeout_s: float = 180.0) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        entry = httpx.get(f"{url}/api/entries/{entry_id}").json()
        if entry["status"] != "pending":
            return entry
        time.sleep(0.5)
    raise AssertionError(f"entry {entry_id} still pending after {timeout_s} s")


def test_train_upload_verified_ranked_entry_and_fetch(tmp_path, monkeypatch, capsys):
    run = tmp_path / "run"
    train = [
        "train",
        "ppo",
        "CartPole-v1",
        "--seeds",
        "5",
        "--total-steps",
        "16384",
        "--chunks",
        "4",
        "--out",
        str(run),
    ]
    assert cli.main([*train, "--eval-episodes", "0", "--select-episodes", "0", "--no-plot", "--quiet"]) == 0
    store = Store(data_dir=tmp_path / "data")
    monkeypatch.setenv("GYMX_SCOREBOARD_KEY", store.add_user("alice"))
    with LiveServer(create_app(store)) as server:
        capsys.readouterr()
        upload = [
            "upload",
            str(run),
            "--env",
            "CartPole-v1",
            "--algorithm",
            "ppo",
            "--policy",
            str(run / "checkpoint.safetensors"),
            "--server",
            server.url,
        ]
        assert cli.main(upload) == 0
        assert "entry 1: pending" in capsys.readouterr().out
        entry = wait_for_status(server.url, 1)
        assert entry["status"] == "verified", entry["verification"]
        record = entry["verification"]
        assert record["episodes_per_seed"] >= 1000 and len(record["seed_means"]) == 5
        assert entry["verified_score"] == pytest.approx(record["verified_iqm"])
        assert verify.check_signature(
            record, entry["signature"], httpx.get(f"{server.url}/api/public-key").json()["public_key"]
        )
        assert (
            entry["config"]["config"]["total_steps"] == 16384 and entry["command"]
        )  # the command line the Monitor recorded
        board = httpx.get(f"{server.url}/api/boards/CartPole-v1").json()
        assert [row["entry_id"] for row in board["ranked"]] == [1]

        out = tmp_path / "fetched"
        assert cli.main(["scoreboard", "fetch", "1", "--out", str(out), "--server", server.url]) == 0
        assert json.loads((out / "config.json").read_text())["config"]["algo"] == "ppo"
        # The fetched policy re-runs locally to the claimed order of score.
        means = verify.evaluate(
            "CartPole-v1", (out / "policy.json").read_bytes(), (out / "policy.safetensors").read_bytes(), bytes(8), 100
        )
        assert np.mean(means) > 0.5 * entry["iqm"]
    store.close()


def test_upload_command_reports_refusals(tmp_path, monkeypatch, capsys):
    store = Store(data_dir=tmp_path / "data")
    monkeypatch.setenv("GYMX_SCOREBOARD_KEY", "gymxsb_not-a-key")
    from .conftest import synthetic_dir

    run = synthetic_dir(tmp_path / "run", 9.0)
    with LiveServer(create_app(store, verify_in_background=False)) as server:
        assert cli.main(["upload", str(run), "--env", "CartPole-v1", "--algorithm", "x", "--server", server.url]) == 2
    assert "refused the upload (401)" in capsys.readouterr().err
    store.close()


def test_upload_command_takes_a_legacy_gym_monitor_directory(tmp_path, monkeypatch, capsys):
    from gymx.monitor import export_gym_files

    from .conftest import synthetic_dir

    legacy = tmp_path / "legacy"
    export_gym_files(str(synthetic_dir(tmp_path / "run", 60.0)), str(legacy))
    broken = tmp_path / "broken"
    broken.mkdir()
    for path in legacy.iterdir():
        (broken / path.name).write_text(path.read_text().replace('"episode_lengths": [', '"episode_lengths": [-3, ', 1))
    store = Store(data_dir=tmp_path / "data")
    monkeypatch.setenv("GYMX_SCOREBOARD_KEY", store.add_user("alice"))
    with LiveServer(create_app(store, verify_in_background=False)) as server:
        capsys.readouterr()
        assert (
            cli.main(["upload", str(legacy), "--env", "CartPole-v1", "--algorithm", "dqn", "--server", server.url]) == 0
        )
        assert "entry 1: unverified" in capsys.readouterr().out
        entry = httpx.get(f"{server.url}/api/entries/1").json()
        assert entry["seeds"] == 5 and entry["iqm"] == pytest.approx(62.0, abs=1.0)  # seeds at 60 + 0..4
        assert any(name.startswith("run/openaigym.episode_batch.") for name in entry["files"])
        assert httpx.get(f"{server.url}/entries/1").status_code == 200
        assert (
            cli.main(["upload", str(broken), "--env", "CartPole-v1", "--algorithm", "dqn", "--server", server.url]) == 2
        )
        assert "refused the upload (422)" in capsys.readouterr().err
        assert len(httpx.get(f"{server.url}/api/boards/CartPole-v1").json()["others"]) == 1
    store.close()
