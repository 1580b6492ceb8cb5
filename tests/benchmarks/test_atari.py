"""benchmarks/atari.py: the rows of each implementation, the per-core ratio against ale-py, peers that cannot run,
and the JSON round trip that benchmarks/gpu_atari.sh builds its table from."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))  # atari.py imports `common` as the scripts do
_spec = importlib.util.spec_from_file_location("benchmarks_atari", BENCHMARKS / "atari.py")
atari = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = atari  # its dataclasses look their module up
_spec.loader.exec_module(atari)


def test_table_ratio_is_frames_per_cpu_second_against_ale_py_single_env():
    rows = [
        atari.Row("pong", "ale-py AtariEnv", "rgb", 1, steps_s=1000.0, cpu_s_per_s=0.5),
        atari.Row("pong", "gymx AtariEnv (jit+vmap)", "rgb", 64, steps_s=100.0, cpu_s_per_s=2.0, compile_s=30.0),
        atari.Row("pong", "EnvPool", "rgb", 64, note="cannot run: ImportError: no wheel"),
    ]
    assert rows[0].frames_per_cpu_s == 8000.0
    lines = atari.table(rows).splitlines()
    assert lines[2].split("|")[9].strip() == "1"
    gymx_cells = [cell.strip() for cell in lines[3].split("|")]
    assert gymx_cells[5:12] == ["100", "400", "2.00", "200", "0.025", "30.0", ""]
    assert lines[4].split("|")[5].strip() == "" and "cannot run: ImportError" in lines[4]


def test_a_peer_that_fails_is_reported_in_its_row(capsys):
    rows = []

    def broken():
        raise RuntimeError("sprites not installed\nrun the installer")

    atari.attempt(rows, atari.Row("pong", "jaxtari (pixels)", "rgb", 4), broken)
    assert rows[0].steps_s is None
    assert rows[0].note == "cannot run: RuntimeError: run the installer"


def test_ale_py_rows_and_json_round_trip(tmp_path, capsys):
    pytest.importorskip("ale_py")
    path = tmp_path / "rows.json"
    args = ["--games", "pong", "--num-envs", "2", "--impls", "ale", "ale-vec", "--obs-types", "rgb", "ram"]
    atari.main([*args, "--ale-steps", "20", "--steps", "1", "--repeats", "1", "--json", str(path)])
    measured = capsys.readouterr().out
    saved = json.loads(path.read_text())
    assert [(r["impl"].split(" (")[0], r["obs_type"], r["num_envs"]) for r in saved["rows"]] == [
        ("ale-py AtariEnv", "rgb", 1),
        ("ale-py AtariEnv", "ram", 1),
        ("ale-py AtariVectorEnv", "rgb", 2),  # rgb only: it has no ram observations
    ]
    assert all(r["steps_s"] > 0 and r["cpu_s_per_s"] > 0 for r in saved["rows"])
    atari.main(["--from-json", str(path)])
    assert capsys.readouterr().out.strip() == measured.strip()


@pytest.mark.full
def test_gymx_and_jaxtari_programs_run_at_a_tiny_size(tmp_path, capsys):
    """The JAX entry points gpu_atari.sh runs, on CPU: one console, one step (a gymx compile takes ~30 s)."""
    path = tmp_path / "rows.json"
    impls = ["gymx", "jaxtari"] if importlib.util.find_spec("jaxtari") else ["gymx"]
    tiny = ["--num-envs", "1", "--obs-types", "ram", "--steps", "1", "--jaxtari-steps", "1", "--repeats", "1"]
    atari.main(["--games", "pong", "--impls", *impls, *tiny, "--json", str(path)])
    rows = json.loads(path.read_text())["rows"]
    assert {r["impl"] for r in rows} >= {"gymx AtariEnv (jit+vmap)"}
    assert all(r["steps_s"] > 0 and r["compile_s"] > 0 for r in rows), rows
