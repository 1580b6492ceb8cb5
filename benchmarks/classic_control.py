"""Side-by-side suite for the classic-control throughput bar: gymx against gymnax and Gymnasium.

Every classic-control id (latest version of each name), random actions, auto-reset on, at each
requested batch size: gymx and gymnax in one jit+scan program each (see `gymx.bench`), plus, for
CartPole-v1, Gymnasium's numpy-vectorised CartPole at the same N and its SyncVectorEnv at 16 envs.
The compile time of one batched step is measured for every id at the first batch size. Prints a
markdown table with ratios and the project's bar; progress goes to stderr.

    python benchmarks/classic_control.py                       # CPU suite: N=65,536
    python benchmarks/classic_control.py --num-envs 1024 4194304 --peers gymnax --min-repeat-s 0.5
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

CLASSIC_CONTROL = "gymx.envs.classic_control"
BAR = "CartPole-v1 ≥ 5x gymnax and ≥ 4x gymnasium-numpyvec; every classic-control id ≥ 3x gymnax; batched-step compile < 2 s"


def classic_control_ids() -> list[str]:
    """The newest registered version of each classic-control env name."""
    gymx.load_plugins()
    newest: dict[str, gymx.EnvSpec] = {}
    for spec in gymx.registry.values():
        if str(spec.entry_point).startswith(CLASSIC_CONTROL):
            if spec.name not in newest or (spec.version or 0) > (newest[spec.name].version or 0):
                newest[spec.name] = spec
    return sorted(s.id for s in newest.values())


def bar_verdicts(results: Sequence[bench.BenchResult]) -> list[str]:
    """One line per bar clause that the results can decide, with the measured value."""
    gymx_rows = {(r.env_id, r.num_envs): r for r in results if r.peer == "gymx" and r.ok}
    lines = []
    for r in results:
        mine = gymx_rows.get((r.env_id, r.num_envs))
        if r.peer == "gymx" or mine is None or not r.ok:
            continue
        need = {"gymnax": 5.0 if r.env_id == "CartPole-v1" else 3.0, "gymnasium-numpyvec": 4.0}.get(r.peer)
        if need is not None:
            ratio = mine.median / r.median
            verdict = "meets" if ratio >= need else "MISSES"
            lines.append(f"- {r.env_id} N={r.num_envs} vs {r.peer}: {ratio:.2f}x (bar ≥ {need:g}x) — {verdict}")
    for r in gymx_rows.values():
        if r.step_compile_s is not None:
            verdict = "meets" if r.step_compile_s < 2.0 else "MISSES"
            lines.append(
                f"- {r.env_id} N={r.num_envs} batched-step compile: {r.step_compile_s:.2f} s (bar < 2 s) — {verdict}"
            )
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    parser = suite_parser(__doc__, "classic-control")
    parser.add_argument(
        "--min-repeat-s",
        type=float,
        default=0.0,
        help="make each repeat at least this long by calling the program repeatedly",
    )
    parser.add_argument("--peers", default="gymnax,gymnasium", help="comma-separated peers (default gymnax,gymnasium)")
    parser.add_argument(
        "--sync-steps", type=int, default=bench.SYNC_NUM_STEPS, help="steps of the 16-env SyncVectorEnv"
    )
    parser.add_argument("--no-step-compile", action="store_true", help="skip timing the compile of one batched step")
    args = parser.parse_args(argv)
    bench.cold_compiles()

    peers = [p for p in args.peers.split(",") if p]
    ids = args.ids or classic_control_ids()
    progress = bench.Progress()
    start = datetime.datetime.now(datetime.timezone.utc)
    load_start = os.getloadavg()
    results: list[bench.BenchResult] = []
    for i, num_envs in enumerate(args.num_envs):
        steps = args.steps or default_steps(num_envs)
        for env_id in ids:
            # Gymnasium only for CartPole-v1: its only numpy vector env, and the bar's only Gymnasium clause.
            env_peers = [p for p in peers if p != "gymnasium" or env_id == "CartPole-v1"]
            results += bench.compare(
                [env_id],
                num_envs,
                steps,
                args.repeats,
                peers=env_peers,
                step_compile=i == 0 and not args.no_step_compile,
                sync_num_steps=args.sync_steps,
                progress=progress,
                min_repeat_s=args.min_repeat_s,
                turns=SHARED_MACHINE,
            )
    load_end = os.getloadavg()

    print(f"## Classic control: gymx vs peers ({bench.device_description()})\n")
    print(
        f"- date (UTC): {start:%Y-%m-%d %H:%M}, wall {(datetime.datetime.now(datetime.timezone.utc) - start).total_seconds():.0f} s"
    )
    print(f"- host: {platform.node() or 'unknown'}, {platform.platform()}, python {platform.python_version()}")
    print(f"- versions: {versions()}")
    print(f"- load average (1/5/15 min) at start {_load(load_start)}, at end {_load(load_end)}")
    print(f"- command: `{' '.join([os.path.basename(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])}`")
    print(
        "- steps/s = N·T·calls / wall, median over repeats; compile s = AOT compile of the timed program (reset + T-step scan);"
    )
    print("  step compile s = AOT compile of one batched step (both cold: persistent compilation cache off);")
    print("  ratio = gymx median / peer median at the same id and N.\n")
    print(bench.markdown_table(results))
    print(f"\nBar: {BAR}\n")
    print("\n".join(bar_verdicts(results)))
    return 0


def versions() -> str:
    import importlib.metadata

    found = []
    for name in ("jax", "jaxlib", "gymnax", "gymnasium", "numpy"):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} (not installed)")
    return ", ".join(found)


def _load(load: tuple[float, float, float]) -> str:
    return "/".join(f"{x:.2f}" for x in load)


if __name__ == "__main__":
    sys.exit(main())
