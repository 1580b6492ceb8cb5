"""benchmarks/common.py: benchmark processes sharing one machine take turns for their compiles and timed calls."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

COMMON = Path(__file__).resolve().parents[2] / "benchmarks" / "common.py"
_spec = importlib.util.spec_from_file_location("benchmarks_common", COMMON)
common = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(common)

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
    with common.device_turn():
        assert not other_process_gets_lock(path)
    assert other_process_gets_lock(path)


def test_compiles_share_the_lock_and_keep_timed_calls_waiting(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "device.lock")
    monkeypatch.setenv("GYMX_BENCH_LOCK", path)
    with common.compile_turn():
        assert other_process_gets_lock(path, "shared")  # another compile goes ahead
        assert not other_process_gets_lock(path)  # a timed call waits
    with common.device_turn():
        assert not other_process_gets_lock(path, "shared")  # no compile during a timed call
    assert other_process_gets_lock(path)


def test_device_turn_releases_the_lock_when_the_block_raises(tmp_path, monkeypatch) -> None:
    path = str(tmp_path / "device.lock")
    monkeypatch.setenv("GYMX_BENCH_LOCK", path)
    try:
        with common.device_turn():
            raise RuntimeError("timed call failed")
    except RuntimeError:
        pass
    assert other_process_gets_lock(path)


def test_turns_without_a_lock_file_take_no_lock(monkeypatch) -> None:
    monkeypatch.delenv("GYMX_BENCH_LOCK", raising=False)
    locked = []
    monkeypatch.setattr(common.fcntl, "flock", lambda *args: locked.append(args))
    ran = []
    with common.device_turn(), common.compile_turn():
        ran.append(True)
    assert ran == [True] and locked == []


def test_shared_machine_turns_are_the_lock() -> None:
    assert common.SHARED_MACHINE.compiling is common.compile_turn
    assert common.SHARED_MACHINE.timing is common.device_turn


def test_default_steps_stay_within_16_and_1000() -> None:
    assert [common.default_steps(n) for n in (1, 8192, 65536, 2**20)] == [1000, 1000, 128, 16]
