"""Atari 2600 speed, side by side in one run at the same numbers of envs: gymx's `ALE/<Game>-v5` (jit + vmap
over N consoles, `gymx.make_vec`), ale-py's single env, ale-py's threaded `AtariVectorEnv`, EnvPool and
JAXAtari (the `jaxtari` package: each game's logic rewritten by hand in JAX, not the ROM).

Every implementation runs ALE v5's settings: frameskip 4, sticky actions 0.25, the minimal action set,
uniformly random actions, full-size observations (rgb 210x160x3 unless `--obs-types` says otherwise; the
vector envs are told: no resize, no stack, no max-pool, no reward clipping, no no-op or FIRE resets), and
every finished episode restarts. Emulated frames count `frameskip` frames per agent step. Where the
implementations differ:

- ale-py's `AtariVectorEnv` has no `ram` observations (rgb only here). EnvPool has no `ram` observations
  either, and always max-pools the last two frames of a step.
- JAXAtari has no ROM and no `ram`: `jaxtari (pixels)` renders rgb 210x160x3 frames through its
  `AtariWrapper` (sticky 0.25) and `PixelObsWrapper` (frameskip 4, one frame, no max-pool);
  `jaxtari (objects)` is its object-centric observation (`ObjectCentricWrapper`), no pixels drawn. Its
  sprites are a separate download from Google Drive (`python -m jaxtari.install_sprites`); where they are
  not installed, placeholder sprites (opaque 8x8 blocks, a 210x160 background) are written to a temporary
  data folder so that the env can be built: the drawing then costs what it costs with the real sprites
  give or take the sprites' sizes (the rows say "placeholder sprites").

The JAX programs (gymx and JAXAtari) are one jitted `lax.scan` of `--steps` batched steps that also sums
the observations (so no observation is optimised away), AOT-compiled apart (the compile column) and timed
with `block_until_ready` after one warm-up call. ale-py and EnvPool are timed as Python loops. "frames
per CPU-s" divides the frames by this process's CPU time during the timed calls (every thread counted):
it is frames/s per core, and unlike frames/s it does not depend on what else runs on a shared machine.
"vs ale-py per core" is that against ale-py's single env (one core) in the same run; the issue's CPU goal
is 0.5 at 1,024 envs. A missing or failing peer prints why and its row says so.

    python benchmarks/atari.py --games pong breakout --num-envs 1 64 256 1024 --steps 16 --repeats 2
    python benchmarks/atari.py --impls gymx --obs-types rgb ram --num-envs 1024 --json /tmp/atari.json
    python benchmarks/atari.py --from-json /tmp/atari.json   # the table of saved rows, nothing measured
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib.metadata
import json
import os
import platform
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from common import compile_turn, device_turn

import gymx
from gymx.bench import gymx_program

FRAMESKIP = 4
NAMES = {"pong": "Pong", "breakout": "Breakout"}
IMPLS = ("ale", "ale-vec", "envpool", "jaxtari", "gymx")
PEERS = ("ale-py", "envpool", "JAXtari", "gymnasium")
# EnvPool's and ale-py's vector envs end an episode at 108,000 frames, as ALE v5 does.
MAX_EPISODE_STEPS = 108_000 // FRAMESKIP


@dataclasses.dataclass
class Row:
    game: str
    impl: str
    obs_type: str
    num_envs: int
    steps_s: float | None = None  # agent steps/s, all envs together
    cpu_s_per_s: float | None = None  # this process's CPU seconds per wall second in the timed calls
    compile_s: float | None = None
    note: str = ""

    @property
    def frames_s(self) -> float | None:
        return None if self.steps_s is None else self.steps_s * FRAMESKIP

    @property
    def frames_per_cpu_s(self) -> float | None:
        if self.frames_s is None or not self.cpu_s_per_s:
            return None
        return self.frames_s / self.cpu_s_per_s


@dataclasses.dataclass
class Timing:
    wall_s: float
    cpu_s: float


@contextlib.contextmanager
def timed(out: list[Timing]) -> Iterator[None]:
    """Appends the block's wall time and this process's CPU time (all threads)."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    out.append(Timing(time.perf_counter() - wall, time.process_time() - cpu))


def rates(work: int, timings: list[Timing]) -> tuple[float, float]:
    """(units/s, CPU s per wall s) of the fastest repeat."""
    best = min(timings, key=lambda t: t.wall_s)
    return work / best.wall_s, best.cpu_s / best.wall_s


def time_jax(program: Callable[[jax.Array], Any], repeats: int, warmup: bool = True) -> tuple[float, list[Timing]]:
    """AOT-compiles `program(key)` (under `compile_turn`), then times `repeats` calls (under `device_turn`)."""
    jax.jit(lambda x: x + 1).lower(jnp.zeros(())).compile()  # Backend start-up is not the program's compile.
    with compile_turn():
        start = time.perf_counter()
        compiled = jax.jit(program).lower(jax.random.key(0)).compile()
        compile_s = time.perf_counter() - start
    timings: list[Timing] = []
    with device_turn():
        if warmup:
            jax.block_until_ready(compiled(jax.random.key(0)))
        for r in range(repeats):
            with timed(timings):
                jax.block_until_ready(compiled(jax.random.key(r + 1)))
    return compile_s, timings


def bench_gymx(game: str, obs_type: str, num_envs: int, steps: int, repeats: int, warmup: bool) -> Row:
    venv = gymx.make_vec(f"ALE/{NAMES[game]}-v5", num_envs, obs_type=obs_type)
    compile_s, timings = time_jax(gymx_program(venv, steps), repeats, warmup)
    steps_s, load = rates(steps * num_envs, timings)
    return Row(game, "gymx AtariEnv (jit+vmap)", obs_type, num_envs, steps_s, load, compile_s)


def bench_ale_single(game: str, obs_type: str, steps: int, repeats: int) -> Row:
    import ale_py
    import gymnasium

    gymnasium.register_envs(ale_py)
    env = gymnasium.make(f"ALE/{NAMES[game]}-v5", obs_type=obs_type)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    n = env.action_space.n
    timings: list[Timing] = []
    for _ in range(repeats):
        actions = rng.integers(n, size=steps)
        with timed(timings):
            for a in actions:
                _, _, terminated, truncated, _ = env.step(int(a))
                if terminated or truncated:
                    env.reset()
    env.close()
    steps_s, load = rates(steps, timings)
    return Row(game, "ale-py AtariEnv", obs_type, 1, steps_s, load)


def time_vector_loop(env: Any, n_actions: int, num_envs: int, steps: int, repeats: int) -> tuple[float, float]:
    rng = np.random.default_rng(0)
    timings: list[Timing] = []
    for _ in range(repeats):
        actions = rng.integers(n_actions, size=(steps, num_envs))
        with timed(timings):
            for a in actions:
                env.step(a)
    return rates(steps * num_envs, timings)


def bench_ale_vector(game: str, num_envs: int, steps: int, repeats: int, threads: int) -> Row:
    from ale_py.vector_env import AtariVectorEnv

    env = AtariVectorEnv(
        game, num_envs, num_threads=threads, repeat_action_probability=0.25, frameskip=FRAMESKIP,
        img_height=210, img_width=160, grayscale=False, stack_num=1, maxpool=False, noop_max=0,
        reward_clipping=False, use_fire_reset=False,
    )  # fmt: skip
    env.reset(seed=0)
    steps_s, load = time_vector_loop(env, env.single_action_space.n, num_envs, steps, repeats)
    env.close()
    return Row(game, f"ale-py AtariVectorEnv ({threads} threads)", "rgb", num_envs, steps_s, load)


def bench_envpool(game: str, num_envs: int, steps: int, repeats: int, threads: int) -> Row:
    import envpool

    threads = min(threads, num_envs)
    # noop_max=1: no random no-ops at reset (EnvPool draws their number from [0, noop_max - 1]).
    env = envpool.make(
        f"{NAMES[game]}-v5", env_type="gymnasium", num_envs=num_envs, batch_size=num_envs, num_threads=threads,
        seed=0, img_height=210, img_width=160, gray_scale=False, stack_num=1, frame_skip=FRAMESKIP,
        repeat_action_probability=0.25, noop_max=1, use_fire_reset=False, episodic_life=False,
        reward_clip=False, max_episode_steps=MAX_EPISODE_STEPS,
    )  # fmt: skip
    env.reset()
    steps_s, load = time_vector_loop(env, env.action_space.n, num_envs, steps, repeats)
    env.close()
    note = "max-pools the last two frames"
    return Row(game, f"EnvPool ({threads} threads)", "rgb", num_envs, steps_s, load, note=note)


PLACEHOLDER_PREFIX = "jaxtari_placeholders_"


@functools.cache
def placeholder_data_home() -> str:
    """A data folder of our own for JAXAtari's sprites (the user's is never written), made the active one."""
    from jaxtari import paths

    home = tempfile.mkdtemp(prefix=PLACEHOLDER_PREFIX)
    os.environ["XDG_DATA_HOME"] = home
    storage = paths.canonical_storage_dir()
    (storage / "sprites").mkdir(parents=True)
    (storage / paths.ALT_SPRITES_MARKER_NAME).touch()
    paths.write_sprite_version(storage)
    return home


def jaxtari_env(game: str) -> tuple[Any, str]:
    """JAXAtari's env for `game` and a note: "placeholder sprites" where the sprite pack is not installed."""
    os.environ.setdefault("JAXTARI_SKIP_SPRITE_UPDATE", "1")
    import jaxtari
    from jaxtari import paths

    if not paths.ownership_or_alt_markers_present():
        placeholder_data_home()
    placeholders = os.path.basename(os.environ.get("XDG_DATA_HOME", "")).startswith(PLACEHOLDER_PREFIX)
    for _ in range(256):
        try:
            return jaxtari.make(game), "placeholder sprites" if placeholders else ""
        except FileNotFoundError as error:
            if not placeholders or not str(error.filename).endswith(".npy"):
                raise
            # Opaque blocks; the background as large as the screen.
            name = os.path.basename(error.filename)
            shape = (210, 160, 4) if name.startswith("background") else (8, 8, 4)
            sprite = np.full(shape, 255, np.uint8)
            sprite[..., :3] = 128
            os.makedirs(os.path.dirname(error.filename), exist_ok=True)
            np.save(error.filename, sprite)
    raise RuntimeError(f"jaxtari's {game} asked for more than 256 sprite files")


def jaxtari_program(env: Any, num_envs: int, steps: int) -> Callable[[jax.Array], Any]:
    """key -> (reward sum, obs sum): a batched reset and `steps` random-action steps, a finished env reset."""
    n_actions = env.action_space().n

    def obs_sum(obs: Any) -> jax.Array:
        return sum((jnp.sum(x, dtype=jnp.float32) for x in jax.tree.leaves(obs)), jnp.zeros((), jnp.float32))

    def program(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        reset_key, scan_key = jax.random.split(key)
        obs, state = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))

        def one_step(carry: tuple[Any, jax.Array, jax.Array], key: jax.Array) -> tuple[Any, None]:
            state, reward_sum, total = carry
            action_key, reset_key = jax.random.split(key)
            action = jax.random.randint(action_key, (num_envs,), 0, n_actions)
            obs, state, reward, terminated, truncated, _ = jax.vmap(env.step)(state, action)
            fresh_obs, fresh = jax.vmap(env.reset)(jax.random.split(reset_key, num_envs))
            done = terminated | truncated

            def pick(new: jax.Array, old: jax.Array) -> jax.Array:
                return jnp.where(done.reshape(done.shape + (1,) * (old.ndim - 1)), new, old)

            state = jax.tree.map(pick, fresh, state)
            obs = jax.tree.map(pick, fresh_obs, obs)
            return (state, reward_sum + jnp.sum(reward, dtype=jnp.float32), total + obs_sum(obs)), None

        init = (state, jnp.zeros((), jnp.float32), obs_sum(obs))
        (_, reward_sum, total), _ = jax.lax.scan(one_step, init, jax.random.split(scan_key, steps))
        return reward_sum, total

    return program


def bench_jaxtari(game: str, view: str, num_envs: int, steps: int, repeats: int, warmup: bool) -> Row:
    from jaxtari.wrappers import AtariWrapper, ObjectCentricWrapper, PixelObsWrapper

    base, note = jaxtari_env(game)
    env = AtariWrapper(base, sticky_actions=0.25, episodic_life=False, first_fire=False, noop_max=0)
    if view == "pixels":
        env = PixelObsWrapper(env, frame_stack_size=1, frame_skip=FRAMESKIP, max_pooling=False, clip_reward=False)
    else:
        env = ObjectCentricWrapper(env, frame_stack_size=1, frame_skip=FRAMESKIP, clip_reward=False)
    compile_s, timings = time_jax(jaxtari_program(env, num_envs, steps), repeats, warmup)
    steps_s, load = rates(steps * num_envs, timings)
    obs_type = "rgb" if view == "pixels" else "objects"
    return Row(game, f"jaxtari ({view})", obs_type, num_envs, steps_s, load, compile_s, note)


def attempt(rows: list[Row], failed: Row, measure: Callable[[], Row]) -> None:
    """Appends `measure()`'s row, or `failed` with the error where the implementation cannot run."""
    try:
        rows.append(measure())
    except Exception as error:
        # A peer that cannot run is reported in its row, not fatal.
        traceback.print_exc(file=sys.stderr)
        message = str(error).strip().splitlines()
        failed.note = f"cannot run: {type(error).__name__}: {message[-1] if message else ''}"[:200]
        rows.append(failed)
    print(f"{rows[-1]}", file=sys.stderr)


def versions() -> str:
    found = []
    for name in ("jax", *PEERS):
        try:
            found.append(f"{name} {importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            found.append(f"{name} not installed")
    return ", ".join(found)


def header() -> str:
    device = jax.devices()[0]
    cpu = platform.processor() or platform.machine()
    load = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    return (
        f"Atari v5 (frameskip {FRAMESKIP}, sticky 0.25, random actions), {device.platform} "
        f"({getattr(device, 'device_kind', '')}; host {cpu}, {os.cpu_count()} cores, load average {load}); "
        f"{versions()}"
    )


def fmt(value: float | None, digits: int = 0) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    """Markdown; the per-core columns are against ale-py's single env of the same game and obs type."""
    reference = {(r.game, r.obs_type): r.frames_per_cpu_s for r in rows if r.impl == "ale-py AtariEnv"}
    lines = [
        "| game | implementation | obs | envs | agent steps/s | emulated frames/s | CPU cores busy "
        "| frames per CPU-s | vs ale-py per core | compile (s) | note |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|",
    ]
    for r in rows:
        ale = reference.get((r.game, r.obs_type)) or reference.get((r.game, "rgb"))
        ratio = "" if r.frames_per_cpu_s is None or not ale else f"{r.frames_per_cpu_s / ale:.3g}"
        lines.append(
            f"| {NAMES[r.game]} | {r.impl} | {r.obs_type} | {r.num_envs} | {fmt(r.steps_s)} | {fmt(r.frames_s)} "
            f"| {fmt(r.cpu_s_per_s, 2)} | {fmt(r.frames_per_cpu_s)} | {ratio} | {fmt(r.compile_s, 1)} | {r.note} |"
        )
    return "\n".join(lines)


def measure(args: argparse.Namespace) -> list[Row]:
    rows: list[Row] = []
    warmup = not args.no_warmup
    for game in args.games:
        for obs_type in args.obs_types:
            if "ale" in args.impls:
                attempt(
                    rows,
                    Row(game, "ale-py AtariEnv", obs_type, 1),
                    functools.partial(bench_ale_single, game, obs_type, args.ale_steps, args.repeats),
                )
        for n in args.num_envs:
            # Python-loop envs get enough steps to time: at least ~2,000 agent steps per repeat.
            loop_steps = max(args.steps, 2000 // n)
            if "ale-vec" in args.impls:
                attempt(
                    rows,
                    Row(game, "ale-py AtariVectorEnv", "rgb", n),
                    functools.partial(bench_ale_vector, game, n, loop_steps, args.repeats, args.threads),
                )
            if "envpool" in args.impls:
                attempt(
                    rows,
                    Row(game, "EnvPool", "rgb", n),
                    functools.partial(bench_envpool, game, n, loop_steps, args.repeats, args.threads),
                )
            if "jaxtari" in args.impls:
                for view in ("pixels", "objects"):
                    attempt(
                        rows,
                        Row(game, f"jaxtari ({view})", "rgb" if view == "pixels" else "objects", n),
                        functools.partial(
                            bench_jaxtari, game, view, n, args.jaxtari_steps or loop_steps, args.repeats, warmup
                        ),
                    )
            if "gymx" in args.impls:
                for obs_type in args.obs_types:
                    attempt(
                        rows,
                        Row(game, "gymx AtariEnv (jit+vmap)", obs_type, n),
                        functools.partial(bench_gymx, game, obs_type, n, args.steps, args.repeats, warmup),
                    )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--games", nargs="+", default=["pong", "breakout"], choices=sorted(NAMES))
    parser.add_argument("--num-envs", nargs="+", type=int, default=[1, 64, 256, 1024])
    parser.add_argument("--impls", nargs="+", default=list(IMPLS), choices=IMPLS, help="default: all")
    parser.add_argument(
        "--obs-types", nargs="+", default=["rgb"], choices=["rgb", "grayscale", "ram"], help="gymx's and ale-py's"
    )
    parser.add_argument("--steps", type=int, default=16, help="gymx's agent steps per timed call (per env)")
    parser.add_argument("--jaxtari-steps", type=int, default=None, help="JAXAtari's (default: as the vector envs)")
    parser.add_argument("--ale-steps", type=int, default=2000, help="agent steps per timed run of ale-py's single env")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-warmup", action="store_true", help="time the JAX programs' first calls after compile")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="ale-py vector env and EnvPool threads")
    parser.add_argument("--skip-gymx", action="store_true", help="the same as leaving gymx out of --impls")
    parser.add_argument("--json", help="also write the rows to this file")
    parser.add_argument("--from-json", nargs="+", metavar="FILE", help="print the table of saved rows and exit")
    args = parser.parse_args(argv)

    if args.from_json:
        saved = [json.loads(Path(path).read_text()) for path in args.from_json]
        print(saved[0]["header"] + "\n")
        print(table([Row(**row) for found in saved for row in found["rows"]]))
        return
    if args.skip_gymx:
        args.impls = [impl for impl in args.impls if impl != "gymx"]
    rows = measure(args)
    text = header()
    if args.json:
        with open(args.json, "w") as out:
            json.dump({"header": text, "rows": [dataclasses.asdict(r) for r in rows]}, out, indent=1)
    print(f"\n{text}\n")
    print(table(rows))


if __name__ == "__main__":
    main()
