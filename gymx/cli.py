"""The `gymx` command: list registered ids, describe one, benchmark batched rollouts against peers."""

from __future__ import annotations

import argparse
import inspect
import sys
from collections.abc import Sequence

from gymx import registration
from gymx.vector import AutoresetMode


def _cmd_list(args: argparse.Namespace) -> int:
    registration.load_plugins()
    specs = sorted(registration.registry.values(), key=lambda s: s.id)
    width = max((len(s.id) for s in specs), default=2)
    print(f"{'id'.ljust(width)}  {'time limit':>10}  {'reward threshold':>16}")
    for s in specs:
        limit = "–" if s.max_episode_steps is None else str(s.max_episode_steps)
        threshold = "–" if s.reward_threshold is None else f"{s.reward_threshold:g}"
        print(f"{s.id.ljust(width)}  {limit:>10}  {threshold:>16}")
    return 0


def _cmd_info(args: argparse.Namespace) -> int:
    spec = registration.spec(args.env_id)
    env = registration.make(spec)
    params = env.default_params
    print(spec.pprint())
    print(f"wrapped: {env!r}")
    print(f"observation_space: {env.observation_space(params)!r}")
    print(f"action_space: {env.action_space(params)!r}")
    print(f"default params: {params!r}")
    doc = inspect.getdoc(type(env.unwrapped))
    if doc:
        print("\n" + doc)
    return 0


def _cmd_bench(args: argparse.Namespace) -> int:
    from gymx import bench

    bench.cold_compiles()
    for name in ("num_envs", "steps", "repeats", "sync_num_envs", "sync_steps"):
        if getattr(args, name) <= 0:
            raise SystemExit(f"gymx bench: --{name.replace('_', '-')} must be positive")
    for env_id in args.env_ids:
        registration.spec(env_id)  # Fail on an unknown id before spending time on the others.
    peers = [p.strip() for p in args.compare.split(",") if p.strip()] if args.compare else []
    unknown = sorted(set(peers) - set(bench.PEERS))
    if unknown:
        raise SystemExit(f"gymx bench: unknown peer(s) {unknown}; choose from {list(bench.PEERS)}")
    results = bench.compare(
        args.env_ids,
        num_envs=args.num_envs,
        num_steps=args.steps,
        repeats=args.repeats,
        peers=peers,
        autoreset_mode=args.autoreset_mode,
        step_compile=args.step_compile,
        sync_num_envs=args.sync_num_envs,
        sync_num_steps=args.sync_steps,
        progress=bench.Progress(enabled=not args.quiet),
    )
    if args.markdown:
        print(f"device: {bench.device_description()}\n")
        print(bench.markdown_table(results))
    else:
        print(f"device: {bench.device_description()}")
        for result in results:
            print(bench.summary(result))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gymx", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("list", help="registered ids with their time limit and reward threshold").set_defaults(run=_cmd_list)

    info = commands.add_parser("info", help="spec, spaces, default params and description of one id")
    info.add_argument("env_id")
    info.set_defaults(run=_cmd_info)

    bench = commands.add_parser("bench", help="steps/s of a batched random-action rollout (auto-reset on)")
    bench.add_argument("env_ids", nargs="+", metavar="ID")
    bench.add_argument("--num-envs", type=int, default=4096, help="batch size N (default 4096)")
    bench.add_argument("--steps", type=int, default=1000, help="scan length T per timed call (default 1000)")
    bench.add_argument("--repeats", type=int, default=5, help="timed calls; median and min–max are reported (default 5)")
    bench.add_argument("--compare", default="", help="comma-separated peers to run in the same process: gymnax,gymnasium")
    bench.add_argument(
        "--autoreset-mode",
        choices=[m.name.lower() for m in AutoresetMode],
        default=AutoresetMode.SAME_STEP.name.lower(),
        help="gymx's auto-reset mode (default same_step; peers use their own)",
    )
    bench.add_argument("--step-compile", action="store_true", help="also time compiling one batched step")
    bench.add_argument("--sync-num-envs", type=int, default=16, help="envs of Gymnasium's SyncVectorEnv (default 16)")
    bench.add_argument("--sync-steps", type=int, default=1000, help="steps of Gymnasium's SyncVectorEnv (default 1000)")
    bench.add_argument("--markdown", action="store_true", help="print a markdown table")
    bench.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    bench.set_defaults(run=_cmd_bench)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except registration.Error as error:
        print(f"gymx {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
