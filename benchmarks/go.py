"""Throughput of Go with random legal moves: gymx's two-player `Go` against Pgx's go_9x9 / go_19x19.

Both sides run the same program: reset N games, then a `lax.scan` of T batched plies, each a
uniform random legal move per game (one uniform draw per game, `kth_legal`) and a same-step
auto-reset of finished games (a `where` select against freshly reset states), returning only a
summed reward. AOT-compiled, one warm-up call, then timed calls to `block_until_ready`;
plies/s = N * T / wall, median over repeats. Pgx is not a gymx dependency: it runs in its own
virtualenv's python (`--pgx-python`, default /tmp/pgxvenv/bin/python, made with
`python3 -m venv /tmp/pgxvenv && /tmp/pgxvenv/bin/pip install pgx jax==0.10.2 jaxlib==0.10.2`)
in a subprocess running this same file with `--pgx-worker`.

    python benchmarks/go.py                                  # 9x9 at N=256,1024,4096; 19x19 at 256,1024
    python benchmarks/go.py --cases 9:256 19:256 --steps 200 --repeats 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp

try:
    from common import device_turn
except ImportError:  # the Pgx worker's own virtualenv has no gymx, and no other process to wait for
    device_turn = contextlib.nullcontext

DEFAULT_CASES = ("9:256", "9:1024", "9:4096", "19:256", "19:1024")


def kth_legal(mask: jax.Array, u: jax.Array) -> jax.Array:
    """The legal action at quantile `u` of `mask` (as `gymx.two_player.kth_legal`, repeated here
    so the Pgx worker needs no gymx)."""
    counts = jnp.cumsum(mask, axis=-1, dtype=jnp.int32)
    k = jnp.floor(u * counts[..., -1]).astype(jnp.int32)
    return jnp.argmax(counts > k[..., None], axis=-1).astype(jnp.int32)


def rollout(init: Callable, step: Callable, num_envs: int, num_steps: int) -> Callable[[jax.Array], jax.Array]:
    """reset N games, T plies of random legal moves with same-step auto-reset; `init(keys)` and
    `step(states, actions)` are batched; states expose `legal_action_mask`, `terminated`, `rewards`."""

    def program(key: jax.Array) -> jax.Array:
        reset_key, key = jax.random.split(key)
        states = init(jax.random.split(reset_key, num_envs))

        def ply(carry: tuple, step_key: jax.Array) -> tuple:
            states, total = carry
            action_key, reset_key = jax.random.split(step_key)
            actions = kth_legal(states.legal_action_mask, jax.random.uniform(action_key, (num_envs,)))
            states, rewards, done = step(states, actions)
            fresh = init(jax.random.split(reset_key, num_envs))
            states = jax.tree_util.tree_map(
                lambda new, old: jnp.where(done.reshape(done.shape + (1,) * (old.ndim - 1)), new, old), fresh, states
            )
            return (states, total + jnp.sum(rewards)), None

        (_, total), _ = jax.lax.scan(ply, (states, jnp.zeros((), jnp.float32)), jax.random.split(key, num_steps))
        return total

    return program


def time_plies(program: Callable, num_envs: int, num_steps: int, repeats: int) -> dict:
    key = jax.random.key(0)
    start = time.perf_counter()
    compiled = jax.jit(program).lower(key).compile()
    compile_s = time.perf_counter() - start
    with device_turn():
        compiled(key).block_until_ready()
        walls = []
        for i in range(repeats):
            start = time.perf_counter()
            compiled(jax.random.key(i + 1)).block_until_ready()
            walls.append(time.perf_counter() - start)
    rates = [num_envs * num_steps / w for w in walls]
    return {"median": statistics.median(rates), "min": min(rates), "max": max(rates), "compile_s": compile_s}


def gymx_go_program(size: int, num_envs: int, num_steps: int) -> Callable:
    from gymx.envs.board_games.go import Go

    env = Go(size)
    params = env.default_params

    def init(keys: jax.Array):
        return jax.vmap(lambda k: env.reset(k, params)[0])(keys)

    def step(states, actions):
        states, ts = jax.vmap(lambda s, a: env.step(s, a, params))(states, actions)
        return states, ts.reward, ts.terminated

    return rollout(init, step, num_envs, num_steps)


def pgx_go_program(size: int, num_envs: int, num_steps: int) -> Callable:
    import pgx

    env = pgx.make(f"go_{size}x{size}")

    def step(states, actions):
        states = jax.vmap(env.step)(states, actions)
        return states, jnp.sum(states.rewards, axis=-1), states.terminated | states.truncated

    return rollout(jax.vmap(env.init), step, num_envs, num_steps)


def default_plies(size: int, num_envs: int) -> int:
    """About 2^17 plies per call at 9x9 and 2^15 at 19x19 (at least 20 plies)."""
    return max(20, (2**17 if size == 9 else 2**15) // num_envs)


def pgx_worker(cases: list[tuple[int, int, int]], repeats: int) -> None:
    import pgx

    for size, num_envs, steps in cases:
        result = time_plies(pgx_go_program(size, num_envs, steps), num_envs, steps, repeats)
        print(
            json.dumps({"size": size, "num_envs": num_envs, "steps": steps, "version": pgx.__version__, **result}),
            flush=True,
        )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cases", nargs="+", default=list(DEFAULT_CASES), help="SIZE:N pairs (default: %(default)s)")
    parser.add_argument(
        "--steps", type=int, default=None, help="plies T per call (default: about 2^17/N at 9x9, 2^15/N at 19x19)"
    )
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--pgx-python", default="/tmp/pgxvenv/bin/python", help="a python with pgx installed ('' to skip)"
    )
    parser.add_argument("--pgx-worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    cases = []
    for case in args.cases:
        size, num_envs = (int(v) for v in case.split(":"))
        cases.append((size, num_envs, args.steps or default_plies(size, num_envs)))
    if args.pgx_worker:
        pgx_worker(cases, args.repeats)
        return 0

    rows = []
    for size, num_envs, steps in cases:
        print(f"gymx go {size}x{size} N={num_envs} T={steps} ...", file=sys.stderr, flush=True)
        rows.append(
            (
                "gymx",
                size,
                num_envs,
                steps,
                time_plies(gymx_go_program(size, num_envs, steps), num_envs, steps, args.repeats),
            )
        )
    pgx_rows, pgx_note = {}, "not run (--pgx-python '')"
    if args.pgx_python:
        print("pgx (subprocess) ...", file=sys.stderr, flush=True)
        command = [
            args.pgx_python,
            os.path.abspath(__file__),
            "--pgx-worker",
            "--repeats",
            str(args.repeats),
            "--cases",
            *args.cases,
        ]
        if args.steps:
            command += ["--steps", str(args.steps)]
        done = subprocess.run(command, check=False, capture_output=True, text=True)
        if done.returncode == 0:
            for line in done.stdout.splitlines():
                r = json.loads(line)
                pgx_rows[(r["size"], r["num_envs"])] = r
            pgx_note = f"pgx {next(iter(pgx_rows.values()))['version']}" if pgx_rows else "pgx printed nothing"
        else:
            pgx_note = (
                "pgx failed: " + done.stderr.strip().splitlines()[-1]
                if done.stderr.strip()
                else f"pgx exited {done.returncode}"
            )

    print(
        f"## Go, random legal plies with same-step auto-reset ({jax.devices()[0].device_kind}, jax {jax.__version__})\n"
    )
    print(
        f"- host: {platform.node() or 'unknown'}, {os.cpu_count()} CPUs, load average at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(
        f"- command: `python benchmarks/go.py {' '.join(argv if argv is not None else sys.argv[1:])}`; peer: {pgx_note}"
    )
    print("- plies/s = N*T / wall, median (min-max) over repeats; compile s = AOT compile of reset + T-ply scan\n")
    print("| board | N | T | gymx plies/s | gymx compile s | pgx plies/s | pgx compile s | gymx / pgx |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for _, size, num_envs, steps, r in rows:
        p = pgx_rows.get((size, num_envs))
        mine = f"{r['median'] / 1e3:.1f} k ({r['min'] / 1e3:.1f}-{r['max'] / 1e3:.1f})"
        theirs = f"{p['median'] / 1e3:.1f} k ({p['min'] / 1e3:.1f}-{p['max'] / 1e3:.1f})" if p else "-"
        ratio = f"{r['median'] / p['median']:.2f}x" if p else "-"
        pgx_compile = f"{p['compile_s']:.1f}" if p else "-"
        print(
            f"| go {size}x{size} | {num_envs} | {steps} | {mine} | {r['compile_s']:.1f} | {theirs} | {pgx_compile} | {ratio} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
