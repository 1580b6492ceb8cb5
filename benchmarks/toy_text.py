"""Throughput of the toy-text envs: gymx against gymnax and Gymnasium's SyncVectorEnv.

Every toy-text id at each requested batch size, random actions, auto-reset on (see `gymx.bench`).
FrozenLake-v1 is also timed in gymnax, which has no "FrozenLake-v1" but registers the same game
(4x4 map, slippery, success rate 1/3, Gymnasium's rewards) as "FrozenLake-misc"; that row is
compared with gymx's FrozenLake-v1. Each id is also timed in Gymnasium's 16-env SyncVectorEnv.
Prints a markdown table; progress goes to stderr.

    python benchmarks/toy_text.py                        # N=65,536
    python benchmarks/toy_text.py --num-envs 1024 65536 --ids FrozenLake-v1 Taxi-v4
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

TOY_TEXT = "gymx.envs.toy_text"
GYMNAX_NAMES = {"FrozenLake-v1": "FrozenLake-misc"}  # gymx id -> gymnax's id of the same game


def toy_text_ids() -> list[str]:
    gymx.load_plugins()
    return sorted(spec.id for spec in gymx.registry.values() if str(spec.entry_point).startswith(TOY_TEXT))


def gymnax_ratios(results: Sequence[bench.BenchResult]) -> list[str]:
    """gymx / gymnax at the same N, where gymnax runs the same game under another id."""
    gymx_rows = {(r.env_id, r.num_envs): r for r in results if r.peer == "gymx" and r.ok}
    lines = []
    for gymx_id, gymnax_id in GYMNAX_NAMES.items():
        for r in results:
            mine = gymx_rows.get((gymx_id, r.num_envs))
            if r.peer == "gymnax" and r.env_id == gymnax_id and r.ok and mine is not None:
                lines.append(f"- gymx {gymx_id} / gymnax {gymnax_id} at N={r.num_envs}: {mine.median / r.median:.2f}x")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_parser(__doc__, "toy-text")
    parser.add_argument(
        "--sync-steps", type=int, default=bench.SYNC_NUM_STEPS, help="steps of the 16-env SyncVectorEnv"
    )
    args = parser.parse_args(argv)
    bench.cold_compiles()

    ids = args.ids or toy_text_ids()
    progress = bench.Progress()
    start = datetime.datetime.now(datetime.timezone.utc)
    results: list[bench.BenchResult] = []
    for num_envs in args.num_envs:
        steps = args.steps or default_steps(num_envs)
        for env_id in ids:
            results.append(
                bench.bench_gymx(env_id, num_envs, steps, args.repeats, progress=progress, turns=SHARED_MACHINE)
            )
            if env_id in GYMNAX_NAMES:
                results.append(
                    bench.bench_gymnax(env_id, num_envs, steps, args.repeats, progress=progress, turns=SHARED_MACHINE)
                )
                results.append(
                    bench.bench_gymnax(
                        GYMNAX_NAMES[env_id], num_envs, steps, args.repeats, progress=progress, turns=SHARED_MACHINE
                    )
                )
    for env_id in ids:
        results.append(
            bench.bench_gymnasium(env_id, "sync", bench.SYNC_NUM_ENVS, args.sync_steps, args.repeats, progress)
        )

    print(f"## Toy text: gymx vs peers ({bench.device_description()})\n")
    print(
        f"- date (UTC): {start:%Y-%m-%d %H:%M}, wall {(datetime.datetime.now(datetime.timezone.utc) - start).total_seconds():.0f} s"
    )
    print(f"- host: {platform.node() or 'unknown'}, {platform.platform()}, python {platform.python_version()}")
    print(f"- load average (1/5/15 min) at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- command: `{' '.join([os.path.basename(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])}`")
    print("- steps/s = N·T / wall, median over repeats; compile s = cold AOT compile of reset + T-step scan;")
    print(
        f"  gymnasium-sync: {bench.SYNC_NUM_ENVS} envs in Gymnasium's SyncVectorEnv; ratio = gymx / peer at the same id.\n"
    )
    print(bench.markdown_table(results))
    print("\n".join(["", *gymnax_ratios(results)]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
