"""Steps/s of CartPole-v1 stepped from Python through each array interface a PyTorch or numpy user
would call, at one batch size (default 1,024 envs):

- `gymx-torch`: `gymx.adapters.torch.TorchVectorEnv`, torch int64 actions in, torch tensors out
  (DLPack, no copies);
- `gymx-numpy`: `gymx.adapters.gymnasium.GymnasiumVectorEnv` (`gymnasium.make_vec("gymx/CartPole-v1")`),
  numpy in, fresh numpy arrays out;
- `gymnasium-sync` / `gymnasium-async`: Gymnasium's `SyncVectorEnv` / `AsyncVectorEnv` of its own
  CartPole-v1, one env object (async: one worker process) per env.

Every variant steps with actions cycled from a pool of 16 pre-drawn uniform batches (so action
sampling is not timed), auto-resets (the gymx adapters SAME_STEP, Gymnasium's envs NEXT_STEP,
their defaults for a rollout buffer and for Gymnasium users), and runs warm: one untimed second
of steps, then steps for `--seconds` until the last results are on the host. Each variant runs in
its own process, so no variant's threads or worker processes slow another, and the Gymnasium
ones never import JAX (`AsyncVectorEnv` forks its workers). Prints a markdown table.

    python benchmarks/torch_adapter.py                        # N=1,024, all four variants
    python benchmarks/torch_adapter.py --num-envs 4096 --variants gymx-torch gymx-numpy
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import time

VARIANTS = ("gymx-torch", "gymx-numpy", "gymnasium-sync", "gymnasium-async")
POOL = 16


def _gymx_torch(num_envs: int):
    import torch

    from gymx.adapters.torch import make_vec

    env = make_vec("CartPole-v1", num_envs)
    env.reset(seed=0)
    generator = torch.Generator().manual_seed(0)
    pool = [torch.randint(0, 2, (num_envs,), generator=generator).to(env.device) for _ in range(POOL)]

    def step(i: int):
        return env.step(pool[i % POOL])

    def finish(result) -> None:
        result[0].sum().item()

    return step, finish, env.close


def _gymx_numpy(num_envs: int):
    import numpy as np

    from gymx.adapters.gymnasium import make_vec_env

    env = make_vec_env("CartPole-v1", num_envs, autoreset_mode="SameStep")
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 2, num_envs) for _ in range(POOL)]
    return (lambda i: env.step(pool[i % POOL])), (lambda result: None), env.close


def _gymnasium(num_envs: int, vectorization_mode: str):
    import gymnasium
    import numpy as np

    env = gymnasium.make_vec("CartPole-v1", num_envs, vectorization_mode=vectorization_mode)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    pool = [rng.integers(0, 2, num_envs) for _ in range(POOL)]
    return (lambda i: env.step(pool[i % POOL])), (lambda result: None), env.close


def measure(variant: str, num_envs: int, seconds: float) -> dict:
    """Warm steps/s of one variant, in this process."""
    if variant == "gymx-torch":
        step, finish, close = _gymx_torch(num_envs)
    elif variant == "gymx-numpy":
        step, finish, close = _gymx_numpy(num_envs)
    else:
        step, finish, close = _gymnasium(num_envs, variant.removeprefix("gymnasium-"))
    calls = 0
    for phase_seconds in (1.0, seconds):  # warm-up, then the timed run
        calls, start = 0, time.perf_counter()
        while True:
            result = step(calls)
            calls += 1
            if calls % 8 == 0 and time.perf_counter() - start >= phase_seconds:
                break
        finish(result)
        wall = time.perf_counter() - start
    close()
    return {
        "variant": variant,
        "num_envs": num_envs,
        "steps_per_s": calls * num_envs / wall,
        "calls": calls,
        "wall_s": wall,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--num-envs", type=int, default=1024)
    parser.add_argument("--seconds", type=float, default=5.0, help="timed stepping per variant")
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    parser.add_argument("--one", choices=VARIANTS, help=argparse.SUPPRESS)  # a child process's variant
    args = parser.parse_args()
    if args.one:
        print(json.dumps(measure(args.one, args.num_envs, args.seconds)))
        return 0

    rows = []
    for variant in args.variants:
        print(f"running {variant} at N={args.num_envs} ...", file=sys.stderr, flush=True)
        command = [
            sys.executable,
            __file__,
            "--one",
            variant,
            "--num-envs",
            str(args.num_envs),
            "--seconds",
            str(args.seconds),
        ]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            rows.append({"variant": variant, "num_envs": args.num_envs, "error": done.stderr.strip().splitlines()[-1:]})
            continue
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    base = next((r["steps_per_s"] for r in rows if r["variant"] == "gymx-torch" and "error" not in r), None)
    print(
        f"CartPole-v1, N={args.num_envs}, {args.seconds:g} s timed per variant; {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs"
    )
    print()
    print("| variant | N | steps/s | gymx-torch / variant |")
    print("|---|---:|---:|---:|")
    for r in rows:
        if "error" in r:
            print(f"| {r['variant']} | {r['num_envs']} | failed: {r['error']} | |")
            continue
        ratio = f"{base / r['steps_per_s']:.2f}x" if base else ""
        print(f"| {r['variant']} | {r['num_envs']} | {r['steps_per_s']:,.0f} | {ratio} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
