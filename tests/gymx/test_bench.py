"""`gymx.bench.device_turn`: benchmark processes sharing one device take turns for their timed calls."""

from __future__ import annotations

import fcntl
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
