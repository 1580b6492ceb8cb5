"""What the benchmark scripts share: the file lock through which processes on one machine take
turns, the suites' command line and their default scan length.

The timing itself is `gymx.bench`'s (`time_program`, `bench_gymx`, ...), the code behind the
`gymx bench` command; pass it `turns=SHARED_MACHINE`. The scripts run as `python benchmarks/<name>.py`,
so this module imports as `common`.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import os
from collections.abc import Iterator

from gymx.bench import Turns

LOCK_VARIABLE = "GYMX_BENCH_LOCK"


@contextlib.contextmanager
def _hold_lock(mode: int) -> Iterator[None]:
    path = os.environ.get(LOCK_VARIABLE)
    if not path:
        yield
        return
    with open(path, "a") as lock:
        fcntl.flock(lock, mode)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def device_turn() -> contextlib.AbstractContextManager[None]:
    """Holds the file lock named by `$GYMX_BENCH_LOCK` (when set) alone, for the block.

    Benchmark processes that share one machine compile side by side and take turns to run: each
    times its programs inside `device_turn()`, so no timed call shares the device with another
    process's program, and compiles inside `compile_turn()`, so no timed call shares the host's
    cores with a compile either (a GPU program with solver loops waits on the host at every
    iteration, and a busy host slows it). Compiling is where the time goes on a GPU machine (an
    MJX program can take a minute).
    """
    return _hold_lock(fcntl.LOCK_EX)


def compile_turn() -> contextlib.AbstractContextManager[None]:
    """Holds `$GYMX_BENCH_LOCK` (when set) shared with other compiles, for the block: any number
    of processes compile at once, and none while another times its calls (see `device_turn`)."""
    return _hold_lock(fcntl.LOCK_SH)


SHARED_MACHINE = Turns(compiling=compile_turn, timing=device_turn)


def default_steps(num_envs: int) -> int:
    """About 2^23 env steps per timed call: long enough to time, short enough for a CPU at 65,536 envs."""
    return max(16, min(1000, 2**23 // num_envs))


def suite_parser(description: str | None, family: str) -> argparse.ArgumentParser:
    """The arguments every benchmark suite takes: batch sizes, scan length, repeats and ids."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, nargs="+", default=[65536], help="batch sizes N (default 65536)")
    parser.add_argument(
        "--steps", type=int, default=None, help="scan length T per call (default: about 2^23 / N, in [16, 1000])"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument("--ids", nargs="+", default=None, help=f"env ids (default: every {family} id)")
    return parser
