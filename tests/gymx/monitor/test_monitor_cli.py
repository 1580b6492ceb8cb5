"""`gymx monitor summary` and `gymx plot` on good, empty and damaged Monitor directories."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from gymx import cli
from gymx.monitor import log


def summary_rows(out: str) -> tuple[list[dict[str, str]], list[str]]:
    """The table's rows as {column: cell}, and the notes below it."""
    table, _, notes = out.partition("\n\n")
    header, *rows = table.splitlines()
    names = [h.strip() for h in header.split("  ") if h.strip()]
    return [dict(zip(names, [c.strip() for c in row.split("  ") if c.strip()])) for row in rows], notes.splitlines()


def test_summary_reports_episodes_before_solve(tmp_path: Path, capsys: pytest.CaptureFixture, synthetic_run) -> None:
    # 150 episodes of 400, then 500s: the 100-episode mean first reaches 475 at the window that
    # starts at episode 150 - 25 = 125 (75 x 500 + 25 x 400 = 47,500).
    synthetic_run(tmp_path, np.r_[np.full(150, 400.0), np.full(200, 500.0)])
    assert cli.main(["monitor", "summary", str(tmp_path)]) == 0
    (cells,), notes = summary_rows(capsys.readouterr().out)
    assert (
        cells["episodes before solve"] == "125" and cells["solved"] == "yes" and cells["steps before solve"] == "1250"
    )
    assert cells["episodes"] == "350" and cells["best 100-ep mean"] == "500.00 ± 0.00" and notes == []


def test_summary_never_solves_off_garbage(
    tmp_path: Path, capsys: pytest.CaptureFixture, synthetic_run, log_blocks
) -> None:
    synthetic_run(tmp_path, np.full(200, 10.0), blocks=2)
    path = Path(log.episodes_path(str(tmp_path), "synthetic.0"))
    offsets = log_blocks(path)
    garbage = np.zeros(1, log.RECORD_DTYPE)
    garbage["return"], garbage["length"] = 3.08e31, 1  # what random bytes over the last record once read as
    with open(path, "r+b") as f:
        f.seek(offsets[-1] - garbage.nbytes)
        f.write(garbage.tobytes())
    assert cli.main(["monitor", "summary", str(tmp_path), "--trials", "50"]) == 0
    captured = capsys.readouterr()
    (cells,), notes = summary_rows(captured.out)
    assert cells["solved"] == "no*" and cells["episodes"] == "100" and cells["best 50-ep mean"] == "10.00 ± 0.00"
    assert (
        notes[0]
        == f"run synthetic.0: {path.name} bytes [{offsets[1]}, {offsets[2]}): block 2 (100 records): checksum mismatch"
    )
    assert notes[1].startswith("* damaged regions") and captured.err == ""


def test_summary_of_a_killed_run_and_of_a_run_without_episodes(
    tmp_path: Path, capsys: pytest.CaptureFixture, synthetic_run
) -> None:
    synthetic_run(tmp_path, np.full(120, 500.0), "killed", closed=False)
    synthetic_run(tmp_path, np.zeros(0), "empty")
    assert cli.main(["monitor", "summary", str(tmp_path)]) == 0
    (empty, killed), notes = summary_rows(capsys.readouterr().out)
    assert (
        empty["run"],
        empty["episodes"],
        empty["solved"],
        empty["best 100-ep mean"],
        empty["episodes before solve"],
    ) == ("empty", "0", "no", "–", "–")
    assert (killed["run"], killed["solved"]) == ("killed", "yes")
    assert notes == ["run killed did not close (still running, or killed): episodes after its last flush are missing"]


def no_monitor_files(tmp_path: Path) -> str:
    (tmp_path / "notes.txt").write_text("not a monitor file")
    return str(tmp_path)


def unreadable(tmp_path: Path) -> str:
    Path(log.manifest_path(str(tmp_path), "x")).write_text('{"run_id": "x", "start_')  # a manifest cut short, no log
    return str(tmp_path)


@pytest.mark.parametrize(
    ("directory", "message"),
    [
        (lambda tmp_path: str(tmp_path), "no gymx monitor files"),
        (no_monitor_files, "no gymx monitor files"),
        (lambda tmp_path: str(tmp_path / "absent"), "absent is not a directory"),
        (
            unreadable,
            "no readable gymx monitor run in .*: gymx.manifest.x.json bytes \\[0, 23\\): the manifest is not valid JSON",
        ),
    ],
    ids=["empty", "no monitor files", "missing", "unreadable"],
)
@pytest.mark.parametrize("command", ["summary", "plot"])
def test_bad_directories_get_one_line_on_stderr_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture, directory, message: str, command: str
) -> None:
    path = directory(tmp_path)
    argv = (
        ["monitor", "summary", path] if command == "summary" else ["plot", path, "--out", str(tmp_path / "curves.png")]
    )
    assert cli.main(argv) == 2
    captured = capsys.readouterr()
    prefix = "gymx monitor summary: " if command == "summary" else "gymx plot: "
    assert captured.out == "" and len(captured.err.splitlines()) == 1
    assert captured.err.startswith(prefix) and re.search(message, captured.err)


def test_plot_of_runs_without_episodes_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture, synthetic_run) -> None:
    synthetic_run(tmp_path, np.zeros(0))
    assert cli.main(["plot", str(tmp_path), "--out", str(tmp_path / "curves.png")]) == 2
    assert capsys.readouterr().err == f"gymx plot: no episodes in {tmp_path}: nothing to plot\n"
    assert not (tmp_path / "curves.png").exists()


def test_plot_writes_a_png_and_warns_of_damage(tmp_path: Path, capsys: pytest.CaptureFixture, synthetic_run) -> None:
    pytest.importorskip("matplotlib")
    for seed in range(2):
        synthetic_run(tmp_path / "a", np.random.default_rng(seed).normal(100, 10, 300), run_id=f"seed{seed}")
    out = tmp_path / "curves.png"
    assert cli.main(["plot", str(tmp_path / "a"), "--out", str(out), "--smooth", "20"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000
    assert capsys.readouterr().err == ""
    episodes = Path(log.episodes_path(str(tmp_path / "a"), "seed1"))
    os.truncate(episodes, episodes.stat().st_size - 1)
    assert cli.main(["plot", str(tmp_path / "a"), "--out", str(out)]) == 0
    (line,) = capsys.readouterr().err.splitlines()
    assert line.startswith("gymx plot: warning: 1 damaged region(s) skipped") and "block 1 is cut short" in line


def test_the_command_prints_no_traceback(tmp_path: Path) -> None:
    process = subprocess.run(
        [sys.executable, "-m", "gymx.cli", "monitor", "summary", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert (
        process.returncode == 2
        and process.stderr
        == f"gymx monitor summary: no gymx monitor files (gymx.manifest.*.json, gymx.episodes.*.bin) in {tmp_path}\n"
    )
