"""The `gymx` command: list, info, and bench with its peers (small sizes; speed is not asserted)."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gymx
from gymx.cli import main


def test_list_shows_every_id_with_its_limits(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id, spec in gymx.registry.items():
        line = next(line for line in out.splitlines() if line.startswith(env_id + " "))
        assert ("–" if spec.max_episode_steps is None else str(spec.max_episode_steps)) in line
    assert "475" in next(line for line in out.splitlines() if line.startswith("CartPole-v1 "))


def test_info_describes_the_env(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "Pendulum-v1"]) == 0
    out = capsys.readouterr().out
    assert "max_episode_steps=200" in out and "Box(" in out and "PendulumParams(" in out and "Observation:" in out


def test_unknown_id_fails_with_a_suggestion(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["info", "CartPol-v1"]) == 2
    assert "Did you mean: `CartPole`" in capsys.readouterr().err


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    # A separate process: `gymx bench` turns JAX's compilation cache off for the process it runs in.
    return subprocess.run([sys.executable, "-m", "gymx.cli", *args], capture_output=True, text=True, timeout=600)


def test_bench_compares_with_peers_in_a_markdown_table() -> None:
    result = run_cli(
        "bench", "CartPole-v1", "--num-envs", "16", "--steps", "8", "--repeats", "2",
        "--compare", "gymnax,gymnasium", "--sync-steps", "20", "--markdown", "--quiet",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    rows = {line.split("|")[1].strip(): line for line in result.stdout.splitlines() if line.startswith("| ")}
    assert {"gymx", "gymnax", "gymnasium-numpyvec", "gymnasium-sync"} <= set(rows)
    assert "device: cpu" in result.stdout
    for peer in ("gymnax", "gymnasium-numpyvec"):
        assert rows[peer].rstrip(" |").split("|")[-2].strip().endswith("x"), rows[peer]


def test_bench_refuses_bad_arguments() -> None:
    assert "--num-envs must be positive" in run_cli("bench", "CartPole-v1", "--num-envs", "0").stderr
    assert "unknown peer" in run_cli("bench", "CartPole-v1", "--compare", "envpool").stderr
    assert "Did you mean" in run_cli("bench", "CartPol-v1").stderr
