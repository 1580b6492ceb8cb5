"""The `gymx` command: list registered ids, describe one, benchmark batched rollouts against peers, train and evaluate agents."""

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


def _synchronous_cpu_dispatch() -> None:
    """Runs each CPU program to completion before the next is dispatched. With asynchronous
    dispatch, XLA:CPU can deadlock on small machines when a long training program and the host's
    next calls wait on each other's threads (jax-ml/jax#25861: seen here on 2 cores, every thread
    idle). The command owns its process, so it can make this process-wide choice; accelerators are
    unaffected."""
    import jax

    jax.config.update("jax_cpu_enable_async_dispatch", False)


def _cmd_train(args: argparse.Namespace) -> int:
    import time
    from pathlib import Path

    import jax

    from gymx.train import agents, checkpoint, episodes, runner

    _synchronous_cpu_dispatch()

    if args.seeds <= 0 or args.chunks <= 0:
        raise SystemExit("gymx train: --seeds and --chunks must be positive")
    registration.spec(args.env_id)  # Fail on an unknown id before compiling anything.
    overrides = {} if args.total_steps is None else {"total_steps": args.total_steps}
    try:
        cfg = agents.load_config(args.algo, args.env_id, args.config, **overrides)
    except (FileNotFoundError, ValueError) as error:
        raise SystemExit(f"gymx train: {error}") from None
    agent = agents.make(args.algo, args.env_id, cfg)
    seeds = list(range(args.seed, args.seed + args.seeds))
    out = Path(args.out or f"runs/{args.algo}-{args.env_id}-{time.strftime('%Y%m%d-%H%M%S')}")
    out.mkdir(parents=True, exist_ok=True)
    per_chunk, num_chunks = runner.chunk_sizes(agent.num_iterations, args.chunks)
    total = per_chunk * num_chunks * agent.steps_per_iteration * agent.env.num_envs
    print(f"{args.algo} on {args.env_id}: {len(seeds)} seed(s) x {total:,} env steps, device {jax.devices()[0].device_kind}; writing {out}/")
    bar = runner.ProgressBar(total, enabled=not args.quiet)
    with open(out / "episodes.jsonl", "w") as log:

        def on_chunk(report: runner.ChunkReport) -> None:
            first = report.iterations_done - per_chunk
            episodes.write_jsonl(episodes.episode_records(report.logs, seeds, first, agent.env.num_envs, report.wall_s), log)
            bar.update(report.env_steps, report.mean_return, report.wall_s)

        states, wall_s = runner.train_seeds(agent, seeds, num_chunks, on_chunk)
    bar.close()
    path = checkpoint.save(out / "checkpoint.npz", agent, states, seeds)
    print(f"trained in {wall_s:.1f} s (compile included); checkpoint {path}")
    if args.eval_episodes > 0:
        returns = runner.evaluate(agent, states, args.eval_episodes, jax.random.PRNGKey(args.seed))
        print(f"greedy policy, {args.eval_episodes} episodes per seed: mean return {returns.mean():.2f} (per seed {_rounded(returns.mean(1))})")
    if not args.no_plot:
        episodes.plot_learning_curve(episodes.read_jsonl(out / "episodes.jsonl"), out / "learning_curve.png", f"{args.algo} {args.env_id}")
        print(f"learning curve {out / 'learning_curve.png'}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import jax

    from gymx.train import checkpoint, runner

    _synchronous_cpu_dispatch()

    if args.episodes <= 0:
        raise SystemExit("gymx eval: --episodes must be positive")
    agent, states, seeds = checkpoint.load(args.checkpoint)
    returns = runner.evaluate(agent, states, args.episodes, jax.random.PRNGKey(args.seed))
    print(f"{agent.algo} on {agent.env_id}, seeds {seeds}: greedy policy over {args.episodes} episodes per seed")
    print(f"per seed: {_rounded(returns.mean(1))}")
    print(f"mean return {returns.mean():.2f}")
    return 0


def _rounded(values: Sequence[float]) -> str:
    return "[" + ", ".join(f"{v:.1f}" for v in values) + "]"


def _cmd_plot(args: argparse.Namespace) -> int:
    import warnings

    from gymx.monitor.plot import plot_learning_curves

    if args.smooth <= 0:
        raise SystemExit("gymx plot: --smooth must be positive")
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            out = plot_learning_curves(args.directories, args.out, window=args.smooth, title=args.title)
    except (OSError, ValueError, ImportError) as error:
        print(f"gymx plot: {error}", file=sys.stderr)
        return 2
    for warning in caught:  # damaged regions skipped, among others: one line each, no source line
        print(f"gymx plot: warning: {warning.message}", file=sys.stderr)
    print(out)
    return 0


def _cmd_monitor_summary(args: argparse.Namespace) -> int:
    import warnings

    from gymx.monitor import DamagedLogWarning, load_results, summary_table

    if args.trials <= 0:
        raise SystemExit("gymx monitor summary: --trials must be positive")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DamagedLogWarning)  # the table's notes list each damaged region
            results = load_results(args.directory)
    except (OSError, ValueError) as error:
        print(f"gymx monitor summary: {error}", file=sys.stderr)
        return 2
    print(summary_table(results, trials=args.trials))
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

    train = commands.add_parser("train", help="train agents (one per seed, in one compiled program); needs the train extra")
    train.add_argument("algo", choices=["ppo", "dqn"])
    train.add_argument("env_id")
    train.add_argument("--seeds", type=int, default=1, help="agents to train together, seeds SEED ... SEED+N-1 (default 1)")
    train.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    train.add_argument("--total-steps", type=int, default=None, help="env steps per agent (default: the config's)")
    train.add_argument("--config", default=None, help="a TOML config file (default: the packaged one for ALGO and ID)")
    train.add_argument("--chunks", type=int, default=20, help="compiled chunks; progress and logs between them (default 20)")
    train.add_argument("--out", default=None, help="output folder (default runs/ALGO-ID-TIME)")
    train.add_argument("--eval-episodes", type=int, default=100, help="greedy episodes per seed after training, 0: none (default 100)")
    train.add_argument("--no-plot", action="store_true", help="skip the learning-curve PNG")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser("eval", help="mean return of a checkpoint's greedy policy")
    evaluate.add_argument("checkpoint")
    evaluate.add_argument("--episodes", type=int, default=100, help="episodes per seed (default 100)")
    evaluate.add_argument("--seed", type=int, default=0, help="seed of the evaluation episodes (default 0)")
    evaluate.set_defaults(run=_cmd_eval)

    plot = commands.add_parser("plot", help="learning curves of Monitor directories to a PNG")
    plot.add_argument("directories", nargs="+", metavar="DIR", help="one curve per directory, a band across its runs")
    plot.add_argument("--out", required=True, metavar="FILE.png")
    plot.add_argument("--smooth", type=int, default=100, help="moving-average window in episodes (default 100)")
    plot.add_argument("--title", default=None)
    plot.set_defaults(run=_cmd_plot)

    monitor = commands.add_parser("monitor", help="read Monitor directories")
    monitor_commands = monitor.add_subparsers(dest="monitor_command", required=True)
    summary = monitor_commands.add_parser("summary", help="episodes, steps, best mean and episodes before solve per run")
    summary.add_argument("directory", metavar="DIR")
    summary.add_argument("--trials", type=int, default=100, help="episodes of the scoring window (default 100)")
    summary.set_defaults(run=_cmd_monitor_summary)
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
