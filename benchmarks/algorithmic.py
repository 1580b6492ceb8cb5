"""Throughput of every algorithmic id (Copy, DuplicatedInput, RepeatCopy, Reverse, ReversedAddition,
ReversedAddition3) at a large batch: random actions, SAME_STEP auto-reset, one jit+scan program
per id (see `gymx.bench`), plus the compile time of one batched step. No peer has these tasks
(Gymnasium dropped them in 2021 and gymnax never had them), so the table is gymx alone. Prints
markdown; progress goes to stderr.

    python benchmarks/algorithmic.py                        # CPU: N=65,536, T=128
    python benchmarks/algorithmic.py --num-envs 1024 1048576 --min-repeat-s 0.5 --ids Copy-v0
"""

from __future__ import annotations

import datetime
import os
import platform
import sys
from collections.abc import Sequence

from common import SHARED_MACHINE, default_steps, suite_parser

import gymx
from gymx import bench

ALGORITHMIC = "gymx.envs.algorithmic"


def algorithmic_ids() -> list[str]:
    gymx.load_plugins()
    return sorted(spec.id for spec in gymx.registry.values() if str(spec.entry_point).startswith(ALGORITHMIC))


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_parser(__doc__, "algorithmic")
    parser.add_argument(
        "--min-repeat-s",
        type=float,
        default=0.0,
        help="make each repeat at least this long by calling the program repeatedly",
    )
    parser.add_argument("--no-step-compile", action="store_true", help="skip timing the compile of one batched step")
    args = parser.parse_args(argv)
    bench.cold_compiles()

    ids = args.ids or algorithmic_ids()
    progress = bench.Progress()
    start = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    results = [
        bench.bench_gymx(
            env_id,
            num_envs,
            args.steps or default_steps(num_envs),
            args.repeats,
            step_compile=i == 0 and not args.no_step_compile,
            progress=progress,
            min_repeat_s=args.min_repeat_s,
            turns=SHARED_MACHINE,
        )
        for i, num_envs in enumerate(args.num_envs)
        for env_id in ids
    ]
    load_end = os.getloadavg()

    print(f"## Algorithmic tasks: gymx throughput ({bench.device_description()})\n")
    print(
        f"- date (UTC): {start:%Y-%m-%d %H:%M}, wall {(datetime.datetime.now(datetime.timezone.utc) - start).total_seconds():.0f} s"
    )
    print(f"- host: {platform.node() or 'unknown'}, {platform.platform()}, python {platform.python_version()}")
    print(f"- load average (1/5/15 min) at start {_load(load_start)}, at end {_load(load_end)}")
    print(f"- command: `{' '.join([os.path.basename(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])}`")
    print("- steps/s = N·T·calls / wall, median over repeats; compile s = cold AOT compile of the timed program")
    print("  (reset + T-step scan); step compile s = cold AOT compile of one batched step.\n")
    print(bench.markdown_table(results))
    return 0


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
