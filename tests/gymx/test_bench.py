"""`gymx.bench`: `gymx bench` prints each result once, and the timing takes its turns where it is told to."""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys

import jax

from gymx import bench


def run_bench(*args: str) -> subprocess.CompletedProcess:
    # A separate process: the command turns JAX's compilation cache off for the process it runs in.
    command = [
        "-c",
        "import sys; from gymx.cli import main; sys.exit(main())",
        "bench",
        "CartPole-v1",
        "--num-envs",
        "16",
        "--steps",
        "8",
        "--repeats",
        "2",
        *args,
    ]
    return subprocess.run([sys.executable, *command], capture_output=True, text=True, check=False, timeout=600)


def test_bench_prints_each_result_once() -> None:
    done = run_bench()
    assert done.returncode == 0, done.stderr
    lines = (done.stdout + done.stderr).splitlines()
    assert sum("gymx CartPole-v1 N=16 T=8:" in line for line in lines) == 1, lines


def test_compare_prints_a_markdown_table_of_ratios_without_markdown() -> None:
    done = run_bench("--compare", "gymnasium", "--sync-num-envs", "2", "--sync-steps", "4")
    assert done.returncode == 0, done.stderr
    rows = [line for line in done.stdout.splitlines() if line.startswith("|")]
    assert "ratio gymx/peer" in rows[0]
    assert [row.split("|")[1].strip() for row in rows[2:]] == ["gymx", "gymnasium-numpyvec", "gymnasium-sync"]


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_can_leave_finished_cases_to_the_caller() -> None:
    quiet_done, logged = FakeTerminal(), FakeTerminal()
    for stream, log_done in ((quiet_done, False), (logged, True)):
        progress = bench.Progress(stream=stream, log_done=log_done)
        progress.update("gymx CartPole-v1: compiling")
        progress.done("gymx CartPole-v1: 1 M steps/s")
    assert "1 M steps/s" not in quiet_done.getvalue()
    assert quiet_done.getvalue().endswith("\r")  # the status line is cleared
    assert logged.getvalue().endswith("gymx CartPole-v1: 1 M steps/s\n")


def test_time_program_compiles_and_times_in_the_turns_it_is_given() -> None:
    events: list[str] = []

    def turn(name: str):
        @contextlib.contextmanager
        def held():
            events.append(f"{name} begins")
            yield
            events.append(f"{name} ends")

        return held

    def make_program():
        def program(key):
            events.append("traced")
            return jax.random.uniform(key)

        return program

    turns = bench.Turns(compiling=turn("compiling"), timing=turn("timing"))
    _, walls, calls = bench.time_program("case", make_program, 2, bench.Progress(enabled=False), turns=turns)
    assert events == ["compiling begins", "traced", "compiling ends", "timing begins", "timing ends"]
    assert len(walls) == 2 and calls == 1


def test_format_rate_scales_to_k_m_g() -> None:
    assert [bench.format_rate(r) for r in (999.4, 1500.0, 2.5e6, 3.25e9)] == ["999", "1.50 k", "2.50 M", "3.25 G"]
