"""Throughput of the board games: gymx against Pgx, random legal play with auto-reset.

Each case is one AOT-compiled program (timed as in `gymx.bench`): reset N games, then a
`lax.scan` of T batched moves, each a uniform draw over the mover's legal actions (the same
`kth_legal` sampler on both sides, from one (N,) uniform draw per step), returning only the
summed rewards and observations. Both sides play the bare two-player game, both players' moves:

- gymx: `VecEnv(TicTacToe() | ConnectFour() | Othello() | Hex(), N)` with SAME_STEP auto-reset
  (per-env reset keys from `gymx.random`'s hashed counter, derived inside `VecEnv`).
- pgx: `pgx.make("tic_tac_toe" | "connect_four" | "othello" | "hex")`,
  `vmap(pgx.experimental.auto_reset(env.step, env.init))` with N keys per step from
  `jax.random.split(key, N)` (Pgx's documented usage: threefry keys).
- pgx-fastkeys: the same, with the N keys split from a `gymx.random.fast_key` instead, so the
  difference to gymx is the env alone, not the key generator.

"compile s" is the cold compile of the whole program; "step compile s" of one batched step.
Pgx is optional (`pip install pgx`; it installs beside jax 0.10 without changing it); without it
the pgx rows say why.

    python benchmarks/board_games.py                                  # N = 1,024 and 65,536
    python benchmarks/board_games.py --num-envs 65536 --games connect_four --repeats 3
    python benchmarks/board_games.py --games othello hex --num-envs 1024 8192 --steps 300
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from common import SHARED_MACHINE, default_steps
from gymx.envs.board_games.connect_four import ConnectFour
from gymx.envs.board_games.hex import Hex
from gymx.envs.board_games.othello import Othello
from gymx.envs.board_games.tic_tac_toe import TicTacToe

from gymx import bench
from gymx.random import fast_key
from gymx.two_player import TwoPlayerEnv, kth_legal
from gymx.vector import VecEnv

# Pgx's ids; Hex is 11x11 with the swap rule on both sides.
GAMES: dict[str, Callable[[], TwoPlayerEnv]] = {
    "connect_four": ConnectFour,
    "hex": Hex,
    "othello": Othello,
    "tic_tac_toe": TicTacToe,
}


def gymx_program(venv: VecEnv, num_steps: int) -> Callable[[jax.Array], Any]:
    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        state, first = venv.reset(reset_key)

        def move(carry: tuple[Any, jax.Array, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, obs_sum = carry
            action = kth_legal(state.env_state.legal_action_mask, jax.random.uniform(step_key, (venv.num_envs,)))
            state, ts = venv.step(state, action)
            return (state, reward_sum + jnp.sum(ts.reward), obs_sum + jnp.sum(ts.obs, dtype=jnp.float32)), None

        init = (state, jnp.zeros((), jnp.float32), jnp.sum(first.obs, dtype=jnp.float32))
        (_, reward_sum, obs_sum), _ = jax.lax.scan(move, init, jax.random.split(scan_key, num_steps))
        return reward_sum, obs_sum

    return program


def pgx_functions(game: str, fast_keys: bool) -> tuple[Callable, Callable, Callable]:
    """(batched init, batched auto-resetting step, per-step keys) of Pgx's `game`."""
    import pgx
    from pgx.experimental import auto_reset

    env = pgx.make(game)
    split = (lambda key, n: jax.random.split(fast_key(key), n)) if fast_keys else jax.random.split
    return jax.vmap(env.init), jax.vmap(auto_reset(env.step, env.init)), split


def pgx_program(game: str, num_envs: int, num_steps: int, fast_keys: bool) -> Callable[[jax.Array], Any]:
    init, step, split = pgx_functions(game, fast_keys)

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        state = init(split(reset_key, num_envs))

        def move(carry: tuple[Any, jax.Array, jax.Array], step_key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, obs_sum = carry
            action_key, env_key = jax.random.split(step_key)
            action = kth_legal(state.legal_action_mask, jax.random.uniform(action_key, (num_envs,)))
            state = step(state, action, split(env_key, num_envs))
            return (
                state,
                reward_sum + jnp.sum(state.rewards),
                obs_sum + jnp.sum(state.observation, dtype=jnp.float32),
            ), None

        init_carry = (state, jnp.zeros((), jnp.float32), jnp.sum(state.observation, dtype=jnp.float32))
        (_, reward_sum, obs_sum), _ = jax.lax.scan(move, init_carry, jax.random.split(scan_key, num_steps))
        return reward_sum, obs_sum

    return program


def pgx_step_compile_seconds(game: str, num_envs: int, fast_keys: bool) -> float:
    init, step, split = pgx_functions(game, fast_keys)
    keys = jax.eval_shape(lambda: split(jax.random.key(0), num_envs))
    state = jax.eval_shape(init, keys)
    return bench.compile_seconds(step, state, jnp.zeros(num_envs, jnp.int32), keys)


def bench_gymx(game: str, num_envs: int, num_steps: int, repeats: int, progress: bench.Progress) -> bench.BenchResult:
    venv = VecEnv(GAMES[game](), num_envs)
    label = f"gymx {game} N={num_envs} T={num_steps}"
    compile_s, walls, calls = bench.time_program(
        label, lambda: gymx_program(venv, num_steps), repeats, progress, turns=SHARED_MACHINE
    )
    step_s = bench.gymx_step_compile_seconds(venv)
    result = bench.BenchResult(
        "gymx", game, num_envs, num_steps, tuple(walls), calls, compile_s, step_s, "auto-reset same_step"
    )
    progress.done(bench.summary(result))
    return result


def bench_pgx(
    game: str, num_envs: int, num_steps: int, repeats: int, fast_keys: bool, progress: bench.Progress
) -> bench.BenchResult:
    peer = "pgx-fastkeys" if fast_keys else "pgx"
    missing = bench.missing_peer("pgx")
    if missing:
        return bench.BenchResult(peer, game, num_envs, num_steps, note=missing)
    import pgx

    label = f"{peer} {game} N={num_envs} T={num_steps}"
    compile_s, walls, calls = bench.time_program(
        label, lambda: pgx_program(game, num_envs, num_steps, fast_keys), repeats, progress, turns=SHARED_MACHINE
    )
    step_s = pgx_step_compile_seconds(game, num_envs, fast_keys)
    note = f"pgx {pgx.__version__}, experimental.auto_reset, {'hashed-counter' if fast_keys else 'threefry'} keys"
    result = bench.BenchResult(peer, game, num_envs, num_steps, tuple(walls), calls, compile_s, step_s, note)
    progress.done(bench.summary(result))
    return result


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument(
        "--num-envs", type=int, nargs="+", default=[1024, 65536], help="batch sizes N (default 1024 65536)"
    )
    parser.add_argument(
        "--steps", type=int, default=None, help="scan length T per call (default: about 2^23 / N, in [16, 1000])"
    )
    parser.add_argument("--repeats", type=int, default=5, help="timed repeats per case (default 5)")
    parser.add_argument("--games", nargs="+", default=list(GAMES), choices=list(GAMES), help="games (default: all)")
    args = parser.parse_args(argv)
    bench.cold_compiles()

    progress = bench.Progress()
    start = datetime.datetime.now(datetime.timezone.utc)
    results: list[bench.BenchResult] = []
    for game in args.games:
        for num_envs in args.num_envs:
            steps = args.steps or default_steps(num_envs)
            results.append(bench_gymx(game, num_envs, steps, args.repeats, progress))
            results.append(bench_pgx(game, num_envs, steps, args.repeats, False, progress))
            results.append(bench_pgx(game, num_envs, steps, args.repeats, True, progress))

    print(f"## Board games: gymx vs Pgx ({bench.device_description()})\n")
    print(
        f"- date (UTC): {start:%Y-%m-%d %H:%M}, wall {(datetime.datetime.now(datetime.timezone.utc) - start).total_seconds():.0f} s"
    )
    print(f"- host: {platform.node() or 'unknown'}, {platform.platform()}, python {platform.python_version()}")
    print(f"- load average (1/5/15 min) at end {'/'.join(f'{x:.2f}' for x in os.getloadavg())}")
    print(f"- command: `{' '.join([os.path.basename(sys.argv[0]), *(argv if argv is not None else sys.argv[1:])])}`")
    print("- steps/s = moves (N·T) / wall, median over repeats; random legal moves, auto-reset; ratio = gymx / peer.\n")
    print(bench.markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
