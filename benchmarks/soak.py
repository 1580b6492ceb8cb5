"""Soak test for hangs (not CI): the CLI's bench, train and eval and random-action rollouts of
MuJoCo Fast ids, run many times under background CPU load, each with a timeout, with and without
gymx's XLA:CPU settings (`gymx.configure_cpu`, which the `gymx` command applies).

A run that outlives its timeout with every thread idle counts as a hang (goal: 0 with the
settings); one still computing is counted apart. A first, uncounted round fills a private
compilation cache (timeout x5), so wall seconds per run (compiles then load from the
cache) give the settings' speed cost. Prints a markdown table.

    python benchmarks/soak.py --repeats 100 --load 2
    python benchmarks/soak.py --repeats 3 --cases mujoco --mujoco-ids AntFast-v5 --num-envs 512
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MUJOCO_RUN = """
import sys
import jax
import gymx
from gymx import bench
if sys.argv[1] == "protected":
    gymx.configure_cpu()
gymx.enable_compilation_cache(min_compile_time_secs=0.0)
venv = gymx.make_vec(sys.argv[2], int(sys.argv[3]))
program = jax.jit(bench.gymx_program(venv, int(sys.argv[4])))
for call in range(int(sys.argv[5])):
    jax.block_until_ready(program(jax.random.key(call)))
"""


def spin(_: int) -> None:
    while True:
        pass


def gymx_command(*args: str) -> list[str]:
    return [sys.executable, "-c", "import sys; from gymx.cli import main; sys.exit(main())", *args]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_once(command: list[str], env: dict[str, str], timeout_s: float) -> tuple[str, float]:
    """('ok' | 'hang' | 'slow' | 'error rc=N'), wall seconds. A run past its timeout is a hang when
    it used no CPU over the next 5 s (every thread waiting), and slow otherwise."""
    start = time.perf_counter()
    child = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        _, stderr = child.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        wall = time.perf_counter() - start
        before = cpu_seconds(child.pid)
        time.sleep(5)
        busy = cpu_seconds(child.pid) - before
        child.kill()
        child.communicate()
        return ("hang" if busy < 0.05 else "slow"), wall
    wall = time.perf_counter() - start
    if child.returncode != 0:
        print(stderr[-2000:], file=sys.stderr)
        return f"error rc={child.returncode}", wall
    return "ok", wall


def runs(
    args: argparse.Namespace, cases: list[str], mode: str, out: Path, warm_up: bool
) -> list[tuple[str, list[str], bool]]:
    """(label, command, warm_up) of one repeat; a warm-up repeat fills the compilation cache and is not counted."""
    plan = []
    if "bench" in cases:
        plan.append(
            (
                "bench CartPole-v1",
                gymx_command(
                    "bench", "CartPole-v1", "--num-envs", "256", "--steps", "100", "--repeats", "2", "--quiet"
                ),
            )
        )
    if "train" in cases or "eval" in cases:
        train = ["train", "ppo", "CartPole-v1", "--total-steps", "4096", "--chunks", "2", "--eval-episodes", "2"]
        plan.append(("train ppo CartPole-v1", gymx_command(*train, "--no-plot", "--quiet", "--out", str(out))))
    if "eval" in cases:
        plan.append(("eval", gymx_command("eval", str(out / "checkpoint.safetensors"), "--episodes", "5")))
    if "mujoco" in cases:
        for env_id in args.mujoco_ids.split(","):
            sizes = [str(args.num_envs), str(args.steps), str(args.calls)]
            plan.append(
                (f"{env_id} N={args.num_envs} T={args.steps}", [sys.executable, "-c", MUJOCO_RUN, mode, env_id, *sizes])
            )
    return [(label, command, warm_up) for label, command in plan]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=100, help="runs per case and mode (default 100)")
    parser.add_argument("--cases", default="bench,train,eval,mujoco", help="comma-separated: bench,train,eval,mujoco")
    parser.add_argument(
        "--modes", default="protected,unprotected", help="protected (gymx's settings), unprotected, or both"
    )
    parser.add_argument("--mujoco-ids", default="HopperFast-v5,AntFast-v5", help="MuJoCo ids of the mujoco case")
    parser.add_argument("--num-envs", type=int, default=512, help="envs of the mujoco case (default 512)")
    parser.add_argument("--steps", type=int, default=16, help="steps per call of the mujoco case (default 16)")
    parser.add_argument("--calls", type=int, default=3, help="program calls per mujoco run (default 3)")
    parser.add_argument("--load", type=int, default=2, help="busy background processes (default 2)")
    parser.add_argument(
        "--timeout", type=float, default=300.0, help="seconds before a run counts as hung (default 300)"
    )
    args = parser.parse_args()
    if args.repeats <= 0 or args.timeout <= 0 or args.load < 0:
        parser.error("--repeats and --timeout must be positive, --load non-negative")
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = sorted(set(cases) - {"bench", "train", "eval", "mujoco"}) + sorted(
        set(modes) - {"protected", "unprotected"}
    )
    if unknown:
        parser.error(f"unknown cases or modes {unknown}")

    work = Path(tempfile.mkdtemp(prefix="gymx-soak-"))
    base_env = {**os.environ, "GYMX_COMPILATION_CACHE": str(work / "cache")}
    pool = multiprocessing.Pool(args.load) if args.load else None
    if pool is not None:
        pool.map_async(spin, range(args.load))
    # Rounds alternate the modes, so both see the same background load over time.
    plan = [
        (mode, *case)
        for i in ["warm-up", *range(args.repeats)]
        for mode in modes
        for case in runs(args, cases, mode, work / f"{mode}-train-{i}", i == "warm-up")
    ]
    results: dict[tuple[str, str], list[tuple[str, float]]] = {}
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(1))  # so the load processes stop with the soak
    try:
        for mode, label, command, warm_up in plan:
            env = {**base_env, "GYMX_CONFIGURE_CPU": "1" if mode == "protected" else "0"}
            outcome, wall = run_once(command, env, args.timeout * (5 if warm_up else 1))
            if not warm_up:
                results.setdefault((label, mode), []).append((outcome, wall))
            print(f"{mode} {label}{' (warm-up)' * warm_up}: {outcome} {wall:.1f} s", file=sys.stderr, flush=True)
    finally:
        if pool is not None:
            pool.terminate()
    rows = []
    for (label, mode), outcomes in sorted(results.items()):
        walls = [w for o, w in outcomes if o == "ok"]
        hangs = sum(o == "hang" for o, _ in outcomes)
        slow = sum(o == "slow" for o, _ in outcomes)
        errors = sum(o.startswith("error") for o, _ in outcomes)
        median = f"{statistics.median(walls):.1f}" if walls else "–"
        rows.append(f"| {label} | {mode} | {len(outcomes)} | {hangs} | {slow} | {errors} | {median} |")
    print(f"load: {args.load} busy processes on {os.cpu_count()} cores; timeout {args.timeout:g} s\n")
    print("| case | settings | runs | hangs | past timeout, busy | errors | median wall s (ok runs) |")
    print("|---|---|---:|---:|---:|---:|---:|")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
