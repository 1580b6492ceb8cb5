"""The Monitor's cost on a jitted chunked rollout, the episode log's throughput, and the rasterizer's frames/s.

1. Monitor overhead: the same AOT-compiled chunk (a `lax.scan` of `--chunk` batched CartPole-v1
   steps with auto-reset, actions from `--policy`) run `--chunks` times per repeat over each of
   `--variants`, with `flush(state)` after every chunk for the Monitor's (its log appended and
   fsynced in a temporary directory):
   - `bare`: the `VecEnv`;
   - `counters`: `RecordEpisodeStatistics` only (the per-env return/length counters and
     `info["episode"]`, nothing logged): the floor of any episode log;
   - `records-sync`: `Monitor(..., background_writes=False)`, one record per episode, each
     flush's block made, written and fsynced before `flush` returns;
   - `records`: the default Monitor: the block made from the rows, written and fsynced on its
     writer thread while the next chunk runs (each timed loop waits for its last one);
   - `summary`: `Monitor(..., episodes="summary")`, one summary block per flush;
   - `video`: `records` with a video whose schedule films no episode (the cost of a video on
     steps where no filmed episode runs).
   Repeats alternate the variants so load drifts hit all; medians are compared, of wall time
   and of the process's CPU time (all threads; steadier than wall time when other jobs share
   the cores, and what the Monitor costs a machine whose cores are all busy). Each Monitor's
   time is also split into its chunks ("chunks alone": its wall time less the time in `flush`,
   which starts after the chunk is done) and its flushes. Bytes per episode: the log's size over the episodes it holds. Policies: `random`
   (uniform actions: ~22-step episodes, the most episodes per step CartPole can produce) and
   `balance` (push toward the falling side: episodes of hundreds of steps, as a trained
   policy's). The chunk's state is donated (`jit(..., donate_argnums=0)`, as training loops do)
   unless `--no-donate`.
2. The log alone: `--log-blocks` blocks of `--log-records` episodes each over 32 batch steps, made
   as the Monitor makes a flush's block (`EpisodeLog.encode_episodes`; one write + fsync each),
   and `load_results` of them: episodes per second each way (encoding included in the writes).
3. Where to find a flush's episodes: `--compaction-envs` x `--chunk` rows in which 1 entry in
   25 is a finished episode (random CartPole's rate), reduced to the flush's records or
   summary by numpy on the host's view of the rows (what the Monitor does on CPU) and by
   jitted JAX (`jnp.nonzero` with a static size, then gathers; the summary's jitted
   reduction, which the Monitor uses off CPU), each then fetched to the host. Median and min
   of `--repeats` calls.
4. A video's cost on device: the chunk alone (`--video-steps` steps of `--video-envs` envs,
   donated, no flush, each call from a copy of the reset state), without a video and with one
   whose schedule films nothing; min and median of `--repeats` x 3 calls.
5. What a summary needs, kept in the step instead of rows (`--accumulator-envs`): CPU time of
   the chunk alone (random actions, donated, no flush) with the counters only, with the
   Monitor's two dense rows, and with per-env accumulators (sums, sums of squares, minima,
   maxima, last return), alone or with 32-bin histograms by scatter-add or by comparisons.
6. Rendering: `jit(vmap(env.render))` of `--render-envs` CartPole states, frames/s (median).

    python benchmarks/monitor.py --num-envs 65536 --chunk 32 --chunks 4 --repeats 5
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from common import device_turn

import gymx
from gymx import bench
from gymx.monitor import Monitor, RecordEpisodeStatistics, VideoConfig, load_results, log
from gymx.monitor.monitor import DEFAULT_CAPACITY_STEPS

VARIANTS = ("bare", "counters", "records-sync", "records", "summary", "video")


def policy_fn(name: str, env: Any) -> Any:
    if name == "random":
        return lambda key, obs: env.action_space().sample(key)
    # Push the cart toward the side the pole falls to: obs = (x, x_dot, theta, theta_dot).
    return lambda key, obs: (obs[:, 2] + 0.5 * obs[:, 3] > 0).astype(jnp.int32)


def compiled_chunk(env: Any, policy: Any, steps: int, state: Any, obs: Any, key: jax.Array, donate: bool) -> Any:
    def chunk(state: Any, obs: Any, key: jax.Array) -> tuple[Any, Any]:
        def one(carry: tuple[Any, Any], step_key: jax.Array) -> tuple[tuple[Any, Any], None]:
            state, obs = carry
            state, ts = env.step(state, policy(step_key, obs))
            return (state, ts.obs), None

        return jax.lax.scan(one, (state, obs), jax.random.split(key, steps))[0]

    # Donating the state lets the scan update its buffers in place; without it every call first
    # copies them (for the Monitor, its whole row buffer).
    return jax.jit(chunk, donate_argnums=(0,) if donate else ()).lower(state, obs, key).compile()


def run_chunks(
    chunk: Any, state: Any, obs: Any, chunks: int, flush: Any = None
) -> tuple[float, float, float, Any, Any]:
    """Wall seconds of `chunks` chunks (flushing after each when `flush`), of the flushes alone, and the process's CPU seconds."""
    flush_s = 0.0
    cpu = time.process_time()
    start = time.perf_counter()
    for i in range(chunks):
        state, obs = chunk(state, obs, jax.random.key(i))
        if flush is not None:
            # Wait for the chunk first, so the flush's own time excludes the compute it waits on.
            jax.block_until_ready(state)
            before = time.perf_counter()
            state = flush(state)
            flush_s += time.perf_counter() - before
    jax.block_until_ready((state, obs))
    if flush is not None:
        # The last flush's block is made and written on the Monitor's writer thread: wait for it, so
        # that each timed loop holds its own work and none spills into the next variant's.
        flush.__self__._settle()
    return time.perf_counter() - start, flush_s, time.process_time() - cpu, state, obs


def make_variant(name: str, venv: Any, directory: str, args: argparse.Namespace) -> Any:
    if name == "bare":
        return venv
    if name == "counters":
        return RecordEpisodeStatistics(venv)
    options: dict[str, Any] = {"capacity_steps": args.capacity_steps, "algorithm_id": f"bench-{name}"}
    if name == "records-sync":
        options["background_writes"] = False
    elif name == "summary":
        options["episodes"] = "summary"
    elif name == "video":
        options["video"] = VideoConfig(schedule=lambda episode: False, capacity=args.chunk + 1)
    elif name != "records":
        raise SystemExit(f"unknown variant {name!r}: one of {', '.join(VARIANTS)}")
    return Monitor(venv, os.path.join(directory, name), **options)


def monitor_overhead(args: argparse.Namespace, policy_name: str, donate: bool) -> None:
    names = [name.strip() for name in args.variants.split(",")]
    venv = gymx.make_vec("CartPole-v1", args.num_envs)
    policy = policy_fn(policy_name, venv)
    with tempfile.TemporaryDirectory() as directory:
        runs = {}
        for name in names:
            env = make_variant(name, venv, directory, args)
            state, ts = jax.jit(env.reset)(jax.random.key(0))
            flush = env.flush if isinstance(env, Monitor) else None
            chunk = compiled_chunk(env, policy, args.chunk, state, ts.obs, jax.random.key(0), donate)
            runs[name] = {
                "env": env,
                "chunk": chunk,
                "flush": flush,
                "state": flush(state) if flush else state,
                "obs": ts.obs,
                "walls": [],
                "flushes": [],
                "cpus": [],
            }
        with device_turn():
            for warm_up in (True,) + (False,) * args.repeats:  # one untimed pass each first
                for run in runs.values():
                    wall, flush_s, cpu, run["state"], run["obs"] = run_chunks(
                        run["chunk"], run["state"], run["obs"], 1 if warm_up else args.chunks, run["flush"]
                    )
                    if not warm_up:
                        run["walls"].append(wall)
                        run["flushes"].append(flush_s)
                        run["cpus"].append(cpu)
        base = statistics.median(runs["bare"]["walls"]) if "bare" in runs else None
        counters = statistics.median(runs["counters"]["walls"]) if "counters" in runs else None
        counters_cpu = statistics.median(runs["counters"]["cpus"]) if "counters" in runs else None
        steps = args.num_envs * args.chunk * args.chunks
        for name, run in runs.items():
            wall, flush_s = statistics.median(run["walls"]), statistics.median(run["flushes"])
            env = run["env"]
            episodes = log_bytes = None
            if isinstance(env, Monitor):
                env.close()
                episodes = env.manifest["episodes"]
                log_bytes = os.path.getsize(log.episodes_path(env.directory, env.run_id))
            print(
                f"| {policy_name} | {'yes' if donate else 'no'} | {name} | {args.num_envs} | {args.chunk}×{args.chunks} | {steps / wall / 1e6:.1f} M "
                f"| {_percent(wall, base)} | {_percent(wall, counters)} | {_percent(statistics.median(run['cpus']), counters_cpu)} | {_percent(wall - flush_s, base)} | {1e3 * flush_s / args.chunks:.1f} ms "
                f"| {'–' if episodes is None else f'{episodes / (args.repeats + 1) / args.chunks:,.0f}'} "
                f"| {'–' if not episodes else f'{episodes / (args.repeats + 1) / wall / 1e6:.2f} M'} "
                f"| {'–' if not episodes else f'{log_bytes / episodes:.2f}'} |"
            )


def _percent(wall: float, reference: float | None) -> str:
    return "–" if reference is None else f"{100 * (wall / reference - 1):+.1f}%"


def log_throughput(args: argparse.Namespace) -> None:
    count, rows = args.log_records, 32
    # A flush's block as the Monitor makes it: the episodes of `rows` batch steps, in finishing order.
    env = np.arange(count) % 65536
    returns, lengths = np.full(count, 22.0, np.float32), np.full(count, 22, np.int32)
    row_sizes = np.diff(np.linspace(0, count, rows + 1).astype(np.int64))
    with tempfile.TemporaryDirectory() as directory:
        header = {"format": log.FORMAT, "run_id": "bench", "start_timestamp": time.time(), "mode": "training",
                  "record_dtype": log.RECORD_DTYPE.descr, "episodes_file": "gymx.episodes.bench.bin"}  # fmt: skip
        log.write_json_atomic(log.manifest_path(directory, "bench"), header)
        episodes = log.EpisodeLog(log.episodes_path(directory, "bench"), header)
        start = time.perf_counter()
        for block in range(args.log_blocks):
            steps = (block * rows + np.arange(1, rows + 1)) * 65536
            episodes.write(
                episodes.encode_episodes(
                    block * count, row_sizes, steps, steps / 1e7, env, env // 65536, returns, lengths
                )
            )
        write_s = time.perf_counter() - start
        episodes.close()
        start = time.perf_counter()
        loaded = load_results(directory)
        read_s = time.perf_counter() - start
        total = count * args.log_blocks
        assert len(loaded) == total
        print(
            f"| {count:,} × {args.log_blocks} | {total / write_s / 1e6:.1f} M | {total / read_s / 1e6:.1f} M | {episodes.size / total:.2f} |"
        )


def compaction(args: argparse.Namespace) -> None:
    # Imported here, so that the other parts also run against a gymx without summary mode.
    from gymx.monitor.monitor import SummaryConfig, _device_summary, _host_summary

    rows, num_envs = args.chunk, args.compaction_envs
    rng = np.random.default_rng(0)
    lengths = np.where(rng.random((rows, num_envs)) < 1 / 25, rng.integers(1, 60, (rows, num_envs)), 0).astype(np.int32)
    returns = lengths.astype(np.float32)
    device_returns, device_lengths = jnp.asarray(returns), jnp.asarray(lengths)
    count = int(np.count_nonzero(lengths))
    size = 1 << (count - 1).bit_length()  # a power of two: one compile per doubling of the episodes
    config = SummaryConfig(bins=32, returns=(0.0, 500.0), lengths=(0.0, 500.0))

    @jax.jit
    def device_records(returns: jax.Array, lengths: jax.Array) -> tuple[jax.Array, ...]:
        (flat,) = jnp.nonzero(lengths.ravel() > 0, size=size, fill_value=0)
        return flat // num_envs, flat % num_envs, returns.ravel()[flat], lengths.ravel()[flat]

    def host_records() -> Any:
        host_returns, host_lengths = jax.device_get((device_returns, device_lengths))
        flat = np.flatnonzero(host_lengths > 0)
        return np.divmod(flat, num_envs), host_returns.reshape(-1)[flat], host_lengths.reshape(-1)[flat]

    def host_summary() -> Any:
        host_returns, host_lengths = jax.device_get((device_returns, device_lengths))
        return _host_summary(host_returns, host_lengths, config)

    ways = {
        "records, numpy on the host's rows": host_records,
        "records, jnp.nonzero on device, then fetched": lambda: jax.device_get(
            device_records(device_returns, device_lengths)
        ),
        "summary, numpy on the host's rows": host_summary,
        "summary, jitted reduction, then fetched": lambda: jax.device_get(
            _device_summary(device_returns, device_lengths, jnp.int32(rows), config)
        ),
    }
    with device_turn():
        for name, way in ways.items():
            way()
            walls = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                way()
                walls.append(time.perf_counter() - start)
            print(
                f"| {name} | {rows}×{num_envs} | {count:,} | {1e3 * statistics.median(walls):.1f} ms | {1e3 * min(walls):.1f} ms |"
            )


ACCUMULATORS = ("counters", "rows", "per-env", "per-env + scatter histograms", "per-env + compare histograms")


def in_step_accumulators(args: argparse.Namespace) -> None:
    """CPU time of a chunk whose step also keeps what a summary needs, each way in `ACCUMULATORS`.

    rows: the Monitor's two dense rows (return, length) per step, reduced at flush. per-env: each
    env's sums and sums of squares of returns and lengths, their minima and maxima and its last
    return, read and rewritten every step (nothing to reduce but N-sized arrays at flush).
    Histograms (32 bins each of returns and lengths) on top: a scatter-add of every env's bin
    per step, or a per-step sum over envs of `bin == k` for each bin k.
    """
    num_envs, bins = args.accumulator_envs, 32
    stats = RecordEpisodeStatistics(gymx.make_vec("CartPole-v1", num_envs))

    def binned(x: jax.Array) -> jax.Array:
        return jnp.clip(jnp.floor(x * bins / 500.0), 0, bins - 1).astype(jnp.int32)

    def init(name: str) -> tuple:
        def full(value: float, dtype: Any = jnp.float32) -> jax.Array:
            return jnp.full(num_envs, value, dtype)

        if name == "counters":
            return ()
        if name == "rows":
            rows = (args.chunk + 1, num_envs)
            return jnp.zeros(rows, jnp.float32), jnp.zeros(rows, jnp.int32), jnp.zeros((), jnp.int32)
        per_env = (
            full(0),
            full(0),
            full(jnp.inf),
            full(-jnp.inf),
            full(0),
            full(0),
            full(jnp.inf),
            full(-jnp.inf),
            full(0),
        )
        return per_env + (() if name == "per-env" else (jnp.zeros((2, bins + 1), jnp.int32),))

    def update(name: str, acc: tuple, ts: Any) -> tuple:
        done, r = ts.info["_episode"], ts.info["episode"]["r"]
        length = ts.info["episode"]["l"]
        if name == "counters":
            return acc
        if name == "rows":
            returns, lengths, row = acc
            at = jnp.minimum(row, args.chunk)
            return (
                jax.lax.dynamic_update_index_in_dim(returns, r, at, 0),
                jax.lax.dynamic_update_index_in_dim(lengths, length, at, 0),
                row + 1,
            )
        lf = length.astype(jnp.float32)
        out = []
        for x, (total, squares, low, high) in ((r, acc[0:4]), (lf, acc[4:8])):
            out += [
                total + jnp.where(done, x, 0.0),
                squares + jnp.where(done, x * x, 0.0),
                jnp.where(done, jnp.minimum(low, x), low),
                jnp.where(done, jnp.maximum(high, x), high),
            ]
        out.append(jnp.where(done, r, acc[8]))
        if name == "per-env + scatter histograms":
            hist = acc[9].at[0, jnp.where(done, binned(r), bins)].add(1)
            out.append(hist.at[1, jnp.where(done, binned(lf), bins)].add(1))
        elif name == "per-env + compare histograms":
            k = jnp.arange(bins)[:, None]
            counts = [jnp.sum((binned(x)[None] == k) & done, axis=1, dtype=jnp.int32) for x in (r, lf)]
            out.append(acc[9] + jnp.pad(jnp.stack(counts), ((0, 0), (0, 1))))
        return tuple(out)

    runs: dict[str, list[Any]] = {}
    for name in ACCUMULATORS:
        state, ts = jax.jit(stats.reset)(jax.random.key(0))

        def chunk(state: Any, acc: tuple, obs: Any, key: jax.Array, name: str = name) -> tuple:
            def one(carry: tuple, step_key: jax.Array) -> tuple[tuple, None]:
                state, acc, _ = carry
                action = jax.random.bernoulli(step_key, 0.5, (num_envs,)).astype(jnp.int32)
                state, ts = stats.step(state, action)
                return (state, update(name, acc, ts), ts.obs), None

            return jax.lax.scan(one, (state, acc, obs), jax.random.split(key, args.chunk))[0]

        acc = init(name)
        compiled = jax.jit(chunk, donate_argnums=(0, 1)).lower(state, acc, ts.obs, jax.random.key(0)).compile()
        runs[name] = [compiled, (state, acc, ts.obs), []]
    with device_turn():
        for repeat in range(args.repeats + 1):  # the first pass warms up
            for run in runs.values():
                start = time.process_time()
                for i in range(args.chunks):
                    run[1] = run[0](*run[1], jax.random.key(i))
                jax.block_until_ready(run[1])
                if repeat:
                    run[2].append((time.process_time() - start) / args.chunks)
    counters = statistics.median(runs["counters"][2])
    for name, (_, _, cpus) in runs.items():
        median = statistics.median(cpus)
        print(
            f"| {name} | {num_envs} | {1e3 * median:.1f} ms | {1e3 * min(cpus):.1f} ms | {_percent(median, counters)} |"
        )


def video_push(args: argparse.Namespace) -> None:
    venv = gymx.make_vec("CartPole-v1", args.video_envs)
    policy = policy_fn("random", venv)
    walls: dict[str, list[float]] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, video in (
            ("no video", False),
            ("video filming nothing", VideoConfig(schedule=lambda episode: False, capacity=args.video_steps + 1)),
        ):
            monitor = Monitor(
                venv, os.path.join(directory, str(len(walls))), capacity_steps=args.video_steps, video=video
            )
            state, ts = jax.jit(monitor.reset)(jax.random.key(0))
            chunk = compiled_chunk(monitor, policy, args.video_steps, state, ts.obs, jax.random.key(0), donate=True)
            walls[name] = []
            with device_turn():
                for i in range(3 * args.repeats + 1):
                    fresh = jax.block_until_ready(jax.tree_util.tree_map(jnp.copy, state))
                    start = time.perf_counter()
                    jax.block_until_ready(chunk(fresh, ts.obs, jax.random.key(i)))
                    walls[name].append(time.perf_counter() - start)
                walls[name] = walls[name][1:]  # the first call pays for warming up
            monitor.close()
    plain = min(walls["no video"])
    for name, wall in walls.items():
        print(
            f"| {name} | {args.video_envs} | {args.video_steps} | {1e3 * min(wall):.2f} ms | {1e3 * statistics.median(wall):.2f} ms | {min(wall) / plain:.2f} |"
        )


def render_rate(args: argparse.Namespace) -> None:
    env = gymx.make("CartPole-v1").unwrapped
    keys = jax.random.split(jax.random.key(0), args.render_envs)
    states = jax.vmap(lambda k: env.reset(k)[0])(keys)
    draw = jax.jit(jax.vmap(env.render)).lower(states).compile()
    with device_turn():
        jax.block_until_ready(draw(states))
        walls = []
        for _ in range(args.repeats):
            start = time.perf_counter()
            jax.block_until_ready(draw(states))
            walls.append(time.perf_counter() - start)
    wall = statistics.median(walls)
    print(
        f"| CartPole-v1 | {args.render_envs} | 600×400 | {args.render_envs / wall:,.0f} | {wall * 1e3:.0f} ms ({min(walls) * 1e3:.0f}–{max(walls) * 1e3:.0f}) |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--num-envs", type=int, default=65536)
    parser.add_argument("--chunk", type=int, default=32, help="steps per jitted chunk (a flush after each)")
    parser.add_argument("--chunks", type=int, default=4, help="chunks per timed repeat")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--capacity-steps", type=int, default=DEFAULT_CAPACITY_STEPS, help="Monitor steps buffered between flushes"
    )
    parser.add_argument("--policies", default="random,balance")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of: {', '.join(VARIANTS)}")
    parser.add_argument("--no-donate", action="store_true", help="also time chunks whose state is not donated")
    parser.add_argument(
        "--log-records", type=int, default=81_920, help="records per block of the log-alone test (0: skip)"
    )
    parser.add_argument("--log-blocks", type=int, default=20)
    parser.add_argument("--compaction-envs", type=int, default=65536, help="0: skip")
    parser.add_argument(
        "--accumulator-envs", type=int, default=0, help="envs of the in-step accumulators' comparison (0: skip)"
    )
    parser.add_argument("--video-envs", type=int, default=64, help="0: skip")
    parser.add_argument("--video-steps", type=int, default=512)
    parser.add_argument("--render-envs", type=int, default=1024, help="0: skip")
    args = parser.parse_args()
    print(f"device: {bench.device_description()}\n")
    print(
        "| policy | state donated | variant | N | steps per chunk × chunks | steps/s | vs bare | vs counters | CPU time vs counters | chunks alone vs bare | flush per chunk | episodes per chunk | episodes/s logged | log bytes per episode |"
    )
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name in filter(None, args.policies.split(",")):  # --policies "": no overhead rows
        for donate in (True, False) if args.no_donate else (True,):
            monitor_overhead(args, name.strip(), donate)
    if args.log_records:
        print(
            "\n| records per block × blocks | written episodes/s (write + fsync per block) | read episodes/s (load_results) | bytes per episode |"
        )
        print("|---|---:|---:|---:|")
        log_throughput(args)
    if args.compaction_envs:
        print("\n| finding a flush's episodes | rows × envs | episodes | median | min |")
        print("|---|---|---:|---:|---:|")
        compaction(args)
    if args.accumulator_envs:
        print("\n| a summary's data, kept in the step | N | chunk CPU time (median) | min | vs counters |")
        print("|---|---:|---:|---:|---:|")
        in_step_accumulators(args)
    if args.video_envs:
        print("\n| chunk alone | N | steps | min | median | min vs no video |")
        print("|---|---:|---:|---:|---:|---:|")
        video_push(args)
    if args.render_envs:
        print("\n| env | states | frame | frames/s (median) | wall per call (min–max) |")
        print("|---|---:|---|---:|---|")
        render_rate(args)


if __name__ == "__main__":
    main()
