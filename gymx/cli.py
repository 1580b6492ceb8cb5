"""The `gymx` command: list registered ids, describe one, benchmark batched rollouts against peers, train and evaluate agents."""

from __future__ import annotations

import argparse
import inspect
import os
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
        progress=bench.Progress(enabled=not args.quiet, log_done=False),
    )
    if args.markdown or peers:
        print(f"device: {bench.device_description()}\n")
        print(bench.markdown_table(results))
    else:
        print(f"device: {bench.device_description()}")
        for result in results:
            print(bench.summary(result))
    return 0


def _cmd_train(args: argparse.Namespace) -> int:
    from pathlib import Path

    import jax

    from gymx.monitor.plot import plot_learning_curves
    from gymx.train import agents, checkpoint, config, distributed, episodes, rundir, runner

    if (args.seeds is not None and args.seeds <= 0) or (args.chunks is not None and args.chunks <= 0):
        raise SystemExit("gymx train: --seeds and --chunks must be positive")
    if args.eval_episodes < 0 or (args.select_episodes is not None and args.select_episodes < 0):
        raise SystemExit("gymx train: --eval-episodes and --select-episodes must be 0 or more")
    if args.resume and args.out is None:
        raise SystemExit("gymx train: --resume needs --out DIR, the folder of the run to continue")
    if args.resume and args.processes not in (None, 1):
        raise SystemExit("gymx train: --resume continues a run in one process; leave out --processes")
    registration.spec(args.env_id)  # Fail on an unknown id before compiling anything.
    try:  # Before JAX first computes: the device count and the processes are fixed then.
        devices = distributed.setup(args.devices, args.processes, args.process_id, args.coordinator)
    except distributed.DistributedError as error:
        print(f"gymx train: {error}", file=sys.stderr)
        return 2
    overrides = {} if args.total_steps is None else {"total_steps": args.total_steps}
    try:
        cfg = (
            None
            if (args.resume and args.config is None)
            else agents.load_config(args.algo, args.env_id, args.config, **overrides)
        )
        if args.resume:
            resumed = rundir.resume(
                args.out,
                {
                    "algo": args.algo,
                    "env id": args.env_id,
                    "--seed": args.seed,
                    "--seeds": args.seeds,
                    "--total-steps": args.total_steps,
                    "--chunks": args.chunks,
                    "--select-episodes": args.select_episodes,
                    "--config": None if cfg is None else config.to_dict(cfg),
                },
            )
            out, agent, seeds, states = Path(args.out), resumed.last.agent, resumed.last.seeds, resumed.last.states
            distributed.check_num_envs(agent.config, devices)
            agent = agents.make(agent.algo, agent.env_id, agent.config, devices=devices)
            chunks, select_episodes, wall_before, logs = (
                resumed.chunks,
                resumed.select_episodes,
                resumed.wall_s,
                resumed.logs,
            )
        else:
            distributed.check_num_envs(cfg, devices)
            agent = agents.make(args.algo, args.env_id, cfg, devices=devices)
            first, count = 0 if args.seed is None else args.seed, 1 if args.seeds is None else args.seeds
            seeds, states, resumed = list(range(first, first + count)), None, None
            chunks = 20 if args.chunks is None else args.chunks
            select_episodes = 20 if args.select_episodes is None else args.select_episodes
            wall_before = 0.0
            out = (
                distributed.scratch_dir()
                if not distributed.is_writer()
                else rundir.prepare_new(args.out, args.overwrite)
                if args.out
                else rundir.create_default(args.algo, args.env_id)
            )
            logs = rundir.open_logs(out, agent, seeds)
    except (rundir.RunDirError, checkpoint.CheckpointError, FileNotFoundError, ValueError) as error:
        print(f"gymx train: {error}", file=sys.stderr)
        return 2

    per_chunk, num_chunks = runner.chunk_sizes(agent.num_iterations, chunks)
    total = per_chunk * num_chunks * agent.steps_per_iteration * agent.env.num_envs
    doing = (
        f"writing {out}/"
        if resumed is None
        else f"resuming {out}/ at iteration {resumed.iterations_done} of {per_chunk * num_chunks}"
    )
    print(
        f"{agent.algo} on {agent.env_id}: {len(seeds)} seed(s) x {total:,} env steps, {distributed.describe(devices)}; {doing}"
    )
    best = runner.BestPolicy(agent, seeds, select_episodes) if select_episodes else None
    if best is not None and resumed is not None and resumed.best is not None:
        best.restore(resumed.best.states, resumed.best.run["returns"], resumed.best.run["iterations"])
    bar = runner.ProgressBar(total, enabled=not args.quiet and distributed.is_writer())

    def on_chunk(report: runner.ChunkReport) -> None:
        wall_s = wall_before + report.wall_s
        chunk_episodes = episodes.episode_records(report.logs, report.iterations_done - per_chunk, agent.env.num_envs)
        for seed_log, found in zip(logs, chunk_episodes):
            seed_log.append(found.env_index, found.returns, found.lengths, found.env_steps, wall_s)
        # best.safetensors before checkpoint.safetensors: a run killed in between trains this chunk again and chooses the same.
        if best is not None and best.consider(report.states, report.iterations_done).any():
            best_run = {
                "returns": best.returns.tolist(),
                "iterations": best.iterations.tolist(),
                "select_episodes": select_episodes,
            }
            checkpoint.save(out / rundir.BEST, agent, best.states, seeds, best_run)
        run = {
            "chunks": chunks,
            "select_episodes": select_episodes,
            "iterations_done": report.iterations_done,
            "episode_logs": rundir.log_positions(logs),
            "wall_s": wall_s,
        }
        checkpoint.save(out / rundir.CHECKPOINT, agent, report.states, seeds, run)
        bar.update(report.env_steps, report.mean_return, wall_s)

    # An interrupted run leaves its logs unclosed: their manifests say so, and --resume goes on from the checkpoint.
    states, wall_s = runner.train_seeds(agent, seeds, chunks, on_chunk, states)
    for seed_log in logs:
        seed_log.close()
    bar.close()
    saved_files = f"checkpoint {out / rundir.CHECKPOINT}" + (
        "" if best is None else f", best policy {out / rundir.BEST}"
    )
    print(f"trained in {wall_before + wall_s:.1f} s (compile included); {saved_files}")
    if args.eval_episodes > 0:
        key = jax.random.PRNGKey(seeds[0])
        policies = {"last": (states, "last")}
        if best is not None:
            policies["best"] = (best.states, f"best, chosen at iterations {best.iterations.tolist()}")
        returns = {}
        for name, (policy_states, label) in policies.items():
            returns[name] = runner.evaluate(agent, policy_states, args.eval_episodes, key)
            print(
                f"greedy policy ({label}), {args.eval_episodes} episodes per seed: "
                f"mean return {returns[name].mean():.2f} (per seed {_rounded(returns[name].mean(1))})"
            )
        print(runner.threshold_summary(agent.env_id, seeds, returns))
    if not args.no_plot and distributed.is_writer():
        plot_learning_curves(
            [str(out)], str(out / rundir.CURVE), title=f"{agent.algo} {agent.env_id}, {len(seeds)} seed(s)"
        )
        print(f"learning curve {out / rundir.CURVE}")
    return 0


def _cmd_eval(args: argparse.Namespace) -> int:
    import jax

    from gymx.train import checkpoint, runner

    if args.episodes <= 0:
        raise SystemExit("gymx eval: --episodes must be positive")
    try:
        agent, states, seeds = checkpoint.load(args.checkpoint)
    except checkpoint.CheckpointError as error:
        print(f"gymx eval: {error}", file=sys.stderr)
        return 2
    returns = runner.evaluate(agent, states, args.episodes, jax.random.PRNGKey(args.seed))
    print(f"{agent.algo} on {agent.env_id}, seeds {seeds}: greedy policy over {args.episodes} episodes per seed")
    print(f"per seed: {_rounded(returns.mean(1))}")
    print(f"mean return {returns.mean():.2f}")
    print(runner.threshold_summary(agent.env_id, seeds, {"greedy policy": returns}))
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

    commands.add_parser("list", help="registered ids with their time limit and reward threshold").set_defaults(
        run=_cmd_list
    )

    info = commands.add_parser("info", help="spec, spaces, default params and description of one id")
    info.add_argument("env_id")
    info.set_defaults(run=_cmd_info)

    bench = commands.add_parser("bench", help="steps/s of a batched random-action rollout (auto-reset on)")
    bench.add_argument("env_ids", nargs="+", metavar="ID")
    bench.add_argument("--num-envs", type=int, default=4096, help="batch size N (default 4096)")
    bench.add_argument("--steps", type=int, default=1000, help="scan length T per timed call (default 1000)")
    bench.add_argument(
        "--repeats", type=int, default=5, help="timed calls; median and min–max are reported (default 5)"
    )
    bench.add_argument(
        "--compare",
        default="",
        help="comma-separated peers to run in the same process, gymnax,gymnasium; prints a markdown table of ratios",
    )
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
    bench.add_argument("--quiet", action="store_true", help="no progress lines on stderr (results still go to stdout)")
    bench.set_defaults(run=_cmd_bench)

    train = commands.add_parser(
        "train", help="train agents (one per seed, in one compiled program); needs the train extra"
    )
    train.add_argument("algo", choices=["ppo", "dqn", "sac"])
    train.add_argument("env_id")
    train.add_argument(
        "--seeds", type=int, default=None, help="agents to train together, seeds SEED ... SEED+N-1 (default 1)"
    )
    train.add_argument("--seed", type=int, default=None, help="first seed (default 0)")
    train.add_argument("--total-steps", type=int, default=None, help="env steps per agent (default: the config's)")
    train.add_argument("--config", default=None, help="a TOML config file (default: the packaged one for ALGO and ID)")
    train.add_argument(
        "--chunks",
        type=int,
        default=None,
        help="compiled chunks; progress, logs and checkpoints between them (default 20)",
    )
    train.add_argument(
        "--out", default=None, help="output folder, refused if not empty (default: a new runs/ALGO-ID-TIME-SUFFIX)"
    )
    existing = train.add_mutually_exclusive_group()
    existing.add_argument(
        "--resume",
        action="store_true",
        help="continue the run in --out from its checkpoint, appending to its episode logs",
    )
    existing.add_argument("--overwrite", action="store_true", help="replace the run files in a non-empty --out")
    train.add_argument(
        "--select-episodes",
        type=int,
        default=None,
        help="greedy episodes per seed at every chunk's end to choose the best policy (best.safetensors); 0: none (default 20)",
    )
    train.add_argument(
        "--eval-episodes", type=int, default=100, help="greedy episodes per seed after training, 0: none (default 100)"
    )
    train.add_argument("--no-plot", action="store_true", help="skip the learning-curve PNG")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.add_argument(
        "--devices",
        type=int,
        default=None,
        help="local devices per process to split each agent's envs over, data-parallel (default 1;"
        " on a CPU, N sets up N host devices)",
    )
    train.add_argument(
        "--processes",
        type=int,
        default=None,
        help="processes (hosts) of a multi-process run, one per host (default: JAX_NUM_PROCESSES or 1)",
    )
    train.add_argument("--process-id", type=int, default=None, help="this process's rank (default: JAX_PROCESS_ID)")
    train.add_argument(
        "--coordinator",
        default=None,
        metavar="HOST:PORT",
        help="address of process 0 (default: JAX_COORDINATOR_ADDRESS; SLURM and MPI jobs are detected)",
    )
    train.set_defaults(run=_cmd_train)

    evaluate = commands.add_parser(
        "eval", help="mean return of a checkpoint's greedy policy (checkpoint.safetensors or best.safetensors)"
    )
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
    summary = monitor_commands.add_parser(
        "summary", help="episodes, steps, best mean and episodes before solve per run"
    )
    summary.add_argument("directory", metavar="DIR")
    summary.add_argument("--trials", type=int, default=100, help="episodes of the scoring window (default 100)")
    summary.set_defaults(run=_cmd_monitor_summary)
    from gymx.scoreboard.cli import add_commands as add_scoreboard_commands

    add_scoreboard_commands(commands)
    return parser


def _configure_process() -> None:
    """The command owns its process, so it makes the process-wide choices a library import must not:
    XLA:CPU settings that avoid its deadlocks (`gymx.cpu`; `GYMX_CONFIGURE_CPU=0` leaves them, for
    measuring their cost), JAX's persistent compilation cache (`gymx.compilation_cache`) and
    MuJoCo's off-screen renderer when there is no display."""
    from gymx import compilation_cache, cpu

    if os.environ.get("GYMX_CONFIGURE_CPU", "1").lower() not in ("0", "off", "false", "no"):
        cpu.configure_cpu()
    compilation_cache.enable_from_environment()
    # MuJoCo picks its OpenGL backend once, when first imported: with no display, off-screen EGL.
    if "DISPLAY" not in os.environ:
        os.environ.setdefault("MUJOCO_GL", "egl")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _configure_process()
    try:
        return args.run(args)
    except registration.Error as error:
        print(f"gymx {args.command}: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
