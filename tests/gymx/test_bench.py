"""`gymx.bench`: benchmark processes sharing one device take turns for their timed calls; `gymx bench` prints each result once."""

from __future__ import annotations

import fcntl
import io
import subprocess
import sys

from gymx import bench

TRY_LOCK = """
import fcntl, sys
with open(sys.argv[1], "a") as lock:
    try:
        fcntl.flock(lock, (fcntl.LOCK_SH if sys.argv[2] == "shared" else fcntl.LOCK_EX) | fcntl.LOCK_NB)
    except BlockingIOError:
        sys.exit(3)
"""


def other_process_gets_lock(path: str, mode: str = "alone") -> bool:
    done = subprocess.run([sys.executable, "-c", TRY_LOCK, path, mode], check=False)
    assert done.returncode in (0, 3), done
    return done.returncode == 0


def test_device_turn_holds_the_lock_only_inside(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "device.lock")
    monkeypatch.setenv("GYMX_BENCH_LOCK", path)
    with bench.device_turn():
        assert not other_process_gets_lock(path)
    assert other_process_gets_lock(path)


def test_compiles_share_the_lock_and_keep_timed_calls_waiting(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "device.lock")
    monkeypatch.setenv("GYMX_BENCH_LOCK", path)
    with bench.compile_turn():
        assert other_process_gets_lock(path, "shared")  # another compile goes ahead
        assert not other_process_gets_lock(path)  # a timed call waits
    with bench.device_turn():
        assert not other_process_gets_lock(path, "shared")  # no compile during a timed call
    assert other_process_gets_lock(path)


def test_device_turn_releases_the_lock_when_the_block_raises(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "device.lock")
    monkeypatch.setenv("GYMX_BENCH_LOCK", path)
    try:
        with bench.device_turn():
            raise RuntimeError("timed call failed")
    except RuntimeError:
        pass
    assert other_process_gets_lock(path)


def test_device_turn_without_a_lock_file_waits_for_nothing(tmp_path, monkeypatch) -> None:
    monkeypatch.delenv("GYMX_BENCH_LOCK", raising=False)
    path = tmp_path / "device.lock"
    with open(path, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        with bench.device_turn():  # would block until the test's timeout if it took the lock
            pass


def run_bench(*args: str) -> subprocess.CompletedProcess:
    # A separate process: the command turns JAX's compilation cache off for the process it runs in.
    command = ["-c", "import sys; from gymx.cli import main; sys.exit(main())", "bench", "CartPole-v1", "--num-envs", "16", "--steps", "8", "--repeats", "2", *args]
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
