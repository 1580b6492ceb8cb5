"""benchmarks/train_race.py on a tiny budget: each library's path runs and the tables come out in their format."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "train_race.py"
PEER_MODULES = {"rejax": "rejax", "sbx": "sbx", "sb3": "stable_baselines3"}
TABLE_ROW = re.compile(
    r"^\| CartPole-v1 ppo \| (?P<library>\w+) \| (?:[\d.]+ s|not reached) \| \d+/1 \(budget 2,000\) \| [\d,–]+ \| .+ \|$",
    re.MULTILINE,
)


def race(tmp_path: Path, library: str, tables: str) -> tuple[str, list[dict]]:
    jsonl = tmp_path / "runs.jsonl"
    tiny = ["--seeds", "1", "--episodes", "2", "--budget", "2000", "--jsonl", str(jsonl)]
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--rows", "cartpole-ppo", "--libraries", library, "--tables", tables, *tiny],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout, [json.loads(line) for line in jsonl.read_text().splitlines()]


def test_gymx_runs_within_the_budget_and_prints_both_tables(tmp_path) -> None:
    out, records = race(tmp_path, "gymx", "own,same")
    assert [(r["library"], r["table"], r["seed"]) for r in records] == [("gymx", "own", 0), ("gymx", "same", 0)]
    for record in records:
        assert record["evaluations"] >= 1 and record["limit_steps"] == 2000
        assert record["steps"] <= 2000 + 256  # stops at the first iteration boundary past the budget
        assert record["train_s"] > 0
        assert (record["solved_s"] is None) == (record["last_mean"] < 475)
    assert "### hyper-parameters: own" in out and "### hyper-parameters: same" in out
    assert [m["library"] for m in TABLE_ROW.finditer(out)] == ["gymx", "gymx"]
    assert re.search(r"^- CartPole-v1 ppo: gymx ", out, re.MULTILINE)


def test_report_reprints_the_tables_from_the_records(tmp_path) -> None:
    records = [
        dict(row="CartPole-v1 ppo", library="gymx", table="own", seed=0, solved_s=2.0, solved_steps=5120,
             train_s=2.0, steps=5120, last_mean=500.0, limit_steps=2000, evaluations=1),
        dict(row="CartPole-v1 ppo", library="sb3", table="shared", seed=0, solved_s=None, solved_steps=None,
             train_s=9.0, steps=2000, last_mean=20.0, limit_steps=2000, evaluations=1),
    ]  # fmt: skip
    path = tmp_path / "runs.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--report", str(path)], capture_output=True, text=True, check=True
    )
    assert [m["library"] for m in TABLE_ROW.finditer(done.stdout)] == ["gymx", "sb3"]
    assert "x (20 at 2,000)" in done.stdout
    assert "- CartPole-v1 ppo: gymx 2.0 s, first" in done.stdout


@pytest.mark.parametrize("library", sorted(PEER_MODULES))
def test_peer_runs_within_the_budget(tmp_path, library) -> None:
    if importlib.util.find_spec(PEER_MODULES[library]) is None:
        pytest.skip(f"{library} is not installed (the race extra)")
    out, records = race(tmp_path, library, "own")
    assert len(records) == 1 and records[0]["library"] == library and records[0]["evaluations"] >= 1
    assert [m["library"] for m in TABLE_ROW.finditer(out)] == [library]
