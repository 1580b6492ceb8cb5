"""`Monitor`: episode log, manifest and videos of a batched run, recorded inside jitted rollouts.

`Monitor(vec_env, directory, ...)` has `VecEnv`'s functional `reset` / `step` signature (with
`RecordEpisodeStatistics`' `info["episode"]` / `info["_episode"]`), so it goes inside a jitted
`lax.scan` wherever the `VecEnv` did. Its state carries, besides the env's:

- the finished episodes of every step since the last flush, as dense rows: on step t after the
  flush, row t gets each env's finished-episode return and length (length 0 where the env's
  episode goes on) with one `dynamic_update_index_in_dim` per array. No compaction happens on
  device (a cumsum and scatters per step cost more than CartPole's step itself); the host finds
  the records at flush with one `nonzero` over the rows. Shapes never change and nothing leaves
  the device. Steps past `capacity_steps` since the last flush are counted, and their finished
  episodes reported as dropped, never silently lost;
- with video on, the recorded env's state after each step and the episode it belongs to.

Between jitted chunks the host calls `state = monitor.flush(state)`: it fetches the buffers in
one transfer, builds the records with vectorised numpy (each env's episodes numbered from its
finished-episode count at the previous flush), appends them to the binary episode log
(`gymx.monitor.log`: one write and one fsync), renders and writes the scheduled episodes'
frames, and returns the state with the buffers emptied. Flushing a state that was already
flushed writes nothing. Each reset and each flush stamps the state it returns with a token
that the host issues once: a flush takes only the state the last flush returned, or one that
goes on from a reset not flushed yet, so going on from a state whose records are in the log
already (dropping what `flush` returned) raises instead of writing them twice. Wall-clock
times do not exist inside `jit`: each record's time is interpolated linearly in batch steps
between the previous flush (or the Monitor's creation) and this one.

    monitor = Monitor(gymx.make_vec("CartPole-v1", 4096), "runs/ppo", algorithm_id="ppo", seed=0)
    state, ts = monitor.reset(jax.random.key(0))
    for _ in range(100):
        state, ts = chunk(state, ts)  # jit(lax.scan of <= capacity_steps monitor.step, donate_argnums=0)
        state = monitor.flush(state)
    monitor.close()
"""

from __future__ import annotations

import dataclasses
import itertools
import os
import sys
import time
import warnings
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback

from gymx import struct
from gymx.core import TimeStep
from gymx.monitor import log
from gymx.monitor.stats import EpisodeStatsState, RecordEpisodeStatistics
from gymx.monitor.video import VideoRecorder, capped_cubic_schedule
from gymx.vector import AutoresetMode, VecEnv, VecWrapper

_run_counter = itertools.count()
DEFAULT_CAPACITY_STEPS = 64


@struct.dataclass
class EpisodeRows:
    """The episodes each env finished on each step since the last flush (see the module docstring).

    Row t holds step t after the flush; rows from `capacity_steps` on all share the one spare
    last row, which is written but never read.
    """

    returns: jax.Array  # float32 (capacity_steps + 1, num_envs), the finished episode's return, else 0
    lengths: jax.Array  # int32 (capacity_steps + 1, num_envs), its length (>= 1), else 0: a record where > 0
    row: jax.Array  # int32 (), steps since the last flush
    token: jax.Array  # int32 (), the reset or flush this state goes on from (issued by the host, see `Monitor.flush`)


@struct.dataclass
class FrameBuffer:
    """The recorded env's states since the last flush (the reset's first, then one per step)."""

    env_state: Any  # the env's state pytree with a leading (capacity,) axis
    episode: jax.Array  # int32 (capacity,), the recorded env's episode each state belongs to
    count: jax.Array  # int32 (), states held
    overflow: jax.Array  # int32 (), states that found the buffer full


@struct.dataclass
class MonitorState:
    stats: EpisodeStatsState
    episodes: EpisodeRows
    frames: FrameBuffer | None  # None without video


@dataclasses.dataclass(frozen=True)
class VideoConfig:
    """Which env and episodes to film: env `env_index`'s episodes where `schedule(episode)` holds.

    capacity: states kept between flushes; flush at least every `capacity - 1` steps, or the
    excess frames are counted as dropped and the video skips them.
    """

    env_index: int = 0
    schedule: Callable[[int], bool] = capped_cubic_schedule
    capacity: int = 1024
    prefix: str = "rl-video"
    fps: int | None = None  # default: the env's metadata["render_fps"], else 30


class Monitor(VecWrapper):
    """Records a `VecEnv`'s episodes (and optionally videos) in `directory`; see the module docstring.

    mode: "training" or "evaluation", written to the manifest (the original Gym's 't' / 'e').
    capacity_steps: steps buffered on device between flushes: flush at least every
    `capacity_steps` steps, or the finished episodes of the steps beyond are counted as dropped
    (in the manifest and a warning) rather than logged. The buffer takes
    8 bytes x num_envs x (capacity_steps + 1) of device memory: 34 MB at 65,536 envs and the
    default 64 steps. Each step writes 8 bytes per env into it, and a jitted chunk that does
    not donate its state (`jax.jit(chunk, donate_argnums=...)`) first copies the whole buffer
    in, so either donate the state or keep `capacity_steps` near the chunk's length.
    video: True for `VideoConfig()`, or a `VideoConfig`.
    seed, algorithm_id: written to the manifest as given.
    """

    def __init__(
        self,
        vec_env: VecEnv,
        directory: str,
        algorithm_id: str | None = None,
        mode: str = "training",
        video: bool | VideoConfig = False,
        capacity_steps: int = DEFAULT_CAPACITY_STEPS,
        seed: int | None = None,
    ):
        if mode not in log.MODES:
            raise ValueError(f"mode must be one of {log.MODES}, got {mode!r}")
        super().__init__(vec_env)
        self.stats = RecordEpisodeStatistics(vec_env)
        self.directory = directory
        self.mode = mode
        self.capacity_steps = int(capacity_steps)
        if self.capacity_steps <= 0:
            raise ValueError(f"capacity_steps must be positive, got {capacity_steps}")
        self.video = VideoConfig() if video is True else (video or None)
        if self.video is not None:
            if vec_env.autoreset_mode is AutoresetMode.DISABLED:
                raise ValueError("video needs an auto-resetting VecEnv (SAME_STEP or NEXT_STEP)")
            if not 0 <= self.video.env_index < vec_env.num_envs:
                raise ValueError(f"video env_index {self.video.env_index} is not in [0, {vec_env.num_envs})")
        os.makedirs(directory, exist_ok=True)

        spec = vec_env.spec
        self.env_id = None if spec is None else spec.id
        self.env_version = None if spec is None else spec.version
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}.{next(_run_counter)}"
        self._recorder = None
        if self.video is not None:
            env = vec_env.env
            fps = self.video.fps or env.metadata.get("render_fps") or 30
            self._recorder = VideoRecorder(self._render_fn, directory, self.video.prefix, int(fps), self.video.schedule, env.render_on_host)
        self._params: Any = None
        # Host-side run bookkeeping (never traced).
        now = time.time()
        self._anchor = (0, now)  # (run batch step, wall time) of the last flush: the interpolation's start
        self._step_offset = 0  # batch steps of earlier resets of this run
        self._last_step = 0  # the device clock at the last flush
        self._flushed_episodes = np.zeros(vec_env.num_envs, np.int32)  # each env's finished episodes then
        self._flushed_row: jax.Array | None = None  # the flushed state's row counter (an identity check)
        self._flushed_token = 0  # the token flush gave that state
        self._tokens = itertools.count(1)
        self._live_tokens: set[int] = set()  # tokens of the states a flush may go on from (see `flush`)
        self._fresh_resets: set[int] = set()  # tokens of resets whose states were not flushed yet
        self._episodes_written = 0
        episodes_file = log.episodes_path(directory, self.run_id)
        self.manifest = {
            "format": log.FORMAT,
            "run_id": self.run_id,
            "gymx_version": _gymx_version(),
            "jax_version": jax.__version__,
            "env_id": self.env_id,
            "env_version": self.env_version,
            "env_spec": _spec_dict(spec),
            "num_envs": vec_env.num_envs,
            "autoreset_mode": vec_env.autoreset_mode.name,
            "seed": seed,
            "algorithm_id": algorithm_id,
            "mode": mode,
            "command_line": list(sys.argv),
            "pid": os.getpid(),
            "start_timestamp": now,
            "episodes_file": os.path.basename(episodes_file),
            "record_dtype": log.RECORD_DTYPE.descr,
            "capacity_steps": self.capacity_steps,
            "episodes": 0,
            "blocks": 0,
            "overflowed_steps": 0,
            "overflowed_episodes": 0,
            "dropped_frames": 0,
            "videos": [],
            "closed": False,
        }
        self._log = log.EpisodeLog(episodes_file, self.manifest)
        self._write_manifest()

    def render(self, state: MonitorState, params: Any = None, env_indices: Any = None, columns: int | None = None) -> jax.Array:
        return self.vec_env.render(state.stats.vec_state, params, env_indices, columns)

    def reset(self, key: jax.Array, params: Any = None) -> tuple[MonitorState, TimeStep]:
        stats, ts = self.stats.reset(key, params)
        rows_shape = (self.capacity_steps + 1, self.num_envs)
        episodes = EpisodeRows(
            returns=jnp.zeros(rows_shape, jnp.float32),
            lengths=jnp.zeros(rows_shape, jnp.int32),
            row=jnp.zeros((), jnp.int32),
            # A host callback, so that every call of a jitted reset gets a token of its own.
            token=io_callback(self._issue_reset_token, jax.ShapeDtypeStruct((), jnp.int32)),
        )
        frames = None
        if self.video is not None:
            first = self._recorded_state(stats)
            frames = FrameBuffer(
                env_state=jax.tree_util.tree_map(lambda x: jnp.zeros((self.video.capacity, *x.shape), x.dtype), first),
                episode=jnp.zeros(self.video.capacity, jnp.int32),
                count=jnp.zeros((), jnp.int32),
                overflow=jnp.zeros((), jnp.int32),
            )
            frames = _push_frame(frames, first, jnp.zeros((), jnp.int32))
        return MonitorState(stats, episodes, frames), ts

    def step(self, state: MonitorState, action: Any, params: Any = None) -> tuple[MonitorState, TimeStep]:
        stats, ts = self.stats.step(state.stats, action, params)
        episode, rows = ts.info["episode"], state.episodes
        # Unfinished envs' entries are 0 in info["episode"], so writing whole rows needs no mask.
        at = jnp.minimum(rows.row, self.capacity_steps)
        episodes = rows.replace(
            returns=jax.lax.dynamic_update_index_in_dim(rows.returns, episode["r"], at, 0),
            lengths=jax.lax.dynamic_update_index_in_dim(rows.lengths, episode["l"], at, 0),
            row=rows.row + 1,
        )
        frames = state.frames
        if frames is not None:
            # SAME_STEP: a finished env's state is already its next episode's first. NEXT_STEP:
            # it is the terminal state; the next step's reset begins the next episode.
            counter = stats.episodes if self.vec_env.autoreset_mode is AutoresetMode.SAME_STEP else state.stats.episodes
            frames = _push_frame(frames, self._recorded_state(stats), counter[self.video.env_index])
        return MonitorState(stats, episodes, frames), ts

    def _recorded_state(self, stats: EpisodeStatsState) -> Any:
        return jax.tree_util.tree_map(lambda x: x[self.video.env_index], stats.vec_state.env_state)

    def _render_fn(self, env_state: Any) -> jax.Array:
        env = self.vec_env.env
        params = env.default_params if self._params is None else self._params
        return env.render(env_state, params, "rgb_array")

    # Host side.

    def _issue_reset_token(self) -> np.ndarray:
        token = next(self._tokens)
        self._fresh_resets.add(token)
        return np.int32(token)

    def flush(self, state: MonitorState, params: Any = None) -> MonitorState:
        """Writes the buffered records (and frames) and returns `state` with both buffers emptied.

        Go on from the returned state: a later flush of a state that went on from `state`
        itself raises `ValueError` (its first records are in the log already).

        `params`: the env params the rollout used, if not the defaults (for rendering; a leaf
        batched per env gives the recorded env's value).
        """
        rows = state.episodes
        if rows.row is self._flushed_row:
            # This very state was flushed already: its records are in the log.
            return _emptied(state, self._flushed_token)
        # One transfer; on CPU the arrays come back as views of the device buffers, not copies.
        fetched = jax.device_get((rows.returns, rows.lengths, rows.row, rows.token, state.stats.episodes, state.stats.step, state.frames))
        returns, lengths, row, token, env_episodes, device_step, frames = fetched
        row, token, device_step = int(row), int(token), int(device_step)
        if token in self._fresh_resets:
            # The first flush since a reset: the run's clock and episode counts restarted.
            step_offset, flushed_episodes = self._step_offset + self._last_step, np.zeros_like(self._flushed_episodes)
        elif token in self._live_tokens:
            step_offset, flushed_episodes = self._step_offset, self._flushed_episodes
        else:
            raise ValueError(
                "Monitor.flush: this state goes on from a state that was flushed already, whose episodes are in the log: "
                "flushing it would write them twice. Keep the state flush returns and go on from it "
                "(`state = monitor.flush(state)`), or reset the Monitor"
            )
        now = time.time()
        kept = min(row, self.capacity_steps)
        run_step = step_offset + device_step
        # Nothing above has changed the Monitor: if the write fails, flushing this state again retries it.
        written = self._write_records(returns[:kept], lengths[:kept], flushed_episodes, run_step - row, run_step, now)
        self._fresh_resets.discard(token)
        self._step_offset, self._last_step, self._flushed_row = step_offset, device_step, rows.row
        self._flushed_token = next(self._tokens)
        # A state this flush took nothing from may still be gone on from, as the returned one may.
        took_nothing = row == 0 and (frames is None or int(frames.count) == int(frames.overflow) == 0)
        self._live_tokens = {self._flushed_token, token} if took_nothing else {self._flushed_token}
        finished = int(np.sum(env_episodes - flushed_episodes, dtype=np.int64))
        # A copy: on CPU the fetched array is a view of a device buffer the next chunk may donate.
        self._flushed_episodes = np.array(env_episodes, np.int32)
        manifest_changed = self._count_overflow(row - kept, finished - written)
        if frames is not None:
            manifest_changed |= self._write_frames(frames, params)
        self._anchor = (run_step, now)
        if manifest_changed:
            self._write_manifest()
        return _emptied(state, self._flushed_token)

    def _write_records(self, returns: np.ndarray, lengths: np.ndarray, flushed_episodes: np.ndarray, first_step: int, run_step: int, now: float) -> int:
        """Appends the records held in the rows (row t: run batch step `first_step + t + 1`); returns how many.

        flushed_episodes: each env's finished episodes before the rows. run_step: the run's batch
        step now, at wall time `now`.
        """
        num_rows = len(lengths)
        # One pass over the rows; a bool array's nonzero is several times faster than an int's.
        # Flat indices come out in step-then-env order: the order the episodes finished in.
        flat = np.flatnonzero(lengths > 0)
        step_row, env = np.divmod(flat, self.num_envs)
        # Each env's episode index: its count at the last flush, plus its records in earlier
        # rows. A Python loop over rows (not records): an env is in a row at most once.
        env_episode = np.empty(len(flat), np.int32)
        counter = flushed_episodes.copy()
        bounds = np.searchsorted(step_row, np.arange(num_rows + 1))
        for start, stop in itertools.pairwise(bounds):
            envs = env[start:stop]
            env_episode[start:stop] = counter[envs]
            counter[envs] += 1
        run_steps = first_step + 1 + np.arange(num_rows, dtype=np.int64)
        anchor_step, anchor_time = self._anchor
        fraction = np.clip((run_steps - anchor_step) / max(run_step - anchor_step, 1), 0.0, 1.0)
        row_times = anchor_time + fraction * (now - anchor_time) - self.manifest["start_timestamp"]
        records = np.empty(len(flat), log.RECORD_DTYPE)
        records["env_index"] = env
        records["env_episode"] = env_episode
        records["episode"] = self._episodes_written + np.arange(len(flat))
        records["return"] = returns.reshape(-1)[flat]
        records["length"] = lengths.reshape(-1)[flat]
        records["steps"] = run_steps[step_row] * self.num_envs
        records["time"] = row_times[step_row]
        written = self._log.append(records)
        self._episodes_written += written
        self.manifest["episodes"] = self._episodes_written
        self.manifest["blocks"] = self._log.blocks
        return written

    def _count_overflow(self, steps: int, episodes: int) -> bool:
        if not steps:
            return False
        self.manifest["overflowed_steps"] += steps
        self.manifest["overflowed_episodes"] += episodes
        warnings.warn(
            f"Monitor: {steps} steps since the last flush found the buffer of {self.capacity_steps} steps full; their "
            f"{episodes} finished episodes were not logged. Flush at least every {self.capacity_steps} steps or raise "
            f"capacity_steps ({self.manifest['overflowed_episodes']} episodes dropped so far)",
            stacklevel=3,
        )
        return True

    def _write_frames(self, frames: FrameBuffer, params: Any) -> bool:
        if params is not None:
            defaults = self.vec_env.env.default_params
            index = self.video.env_index
            self._params = jax.tree_util.tree_map(lambda p, d: p[index] if np.ndim(p) == np.ndim(d) + 1 else p, params, defaults)
        count, overflow = int(frames.count), int(frames.overflow)
        if overflow:
            self.manifest["dropped_frames"] += overflow
            warnings.warn(
                f"Monitor: {overflow} video frames found the buffer of {self.video.capacity} states full and were dropped; "
                "flush more often or raise VideoConfig.capacity",
                stacklevel=3,
            )
        states = jax.tree_util.tree_map(lambda x: x[:count], frames.env_state)
        completed = self._recorder.add(states, frames.episode[:count])
        self.manifest["videos"].extend(dict(v, env_index=self.video.env_index) for v in completed)
        return bool(completed or overflow)

    def close(self) -> None:
        """Finishes the open video and marks the manifest closed. Flush the last state first."""
        if self._recorder is not None:
            self.manifest["videos"].extend(dict(v, env_index=self.video.env_index) for v in self._recorder.close())
        self._log.close()
        self.manifest["closed"] = True
        self.manifest["log_bytes"] = self._log.size  # lets a reader tell a log cut short after the run
        self._write_manifest()

    def _write_manifest(self) -> None:
        log.write_json_atomic(log.manifest_path(self.directory, self.run_id), self.manifest)

    def __repr__(self) -> str:
        return f"Monitor({self.vec_env!r}, {self.directory!r}, run_id={self.run_id!r})"


def _push_frame(frames: FrameBuffer, env_state: Any, episode: jax.Array) -> FrameBuffer:
    capacity = frames.episode.shape[0]
    fits = frames.count < capacity
    at = jnp.minimum(frames.count, capacity - 1)

    def put(column: jax.Array, value: jax.Array) -> jax.Array:
        return jnp.where(fits, jax.lax.dynamic_update_index_in_dim(column, value, at, 0), column)

    return FrameBuffer(
        env_state=jax.tree_util.tree_map(put, frames.env_state, env_state),
        episode=put(frames.episode, episode),
        count=frames.count + fits,
        overflow=frames.overflow + ~fits,
    )


def _emptied(state: MonitorState, token: int) -> MonitorState:
    # Only the counters go back to zero: rows past `row` are dead, and every row is rewritten
    # whole before it is read again. One zero array each: a chunk that donates the state cannot
    # take one buffer twice.
    def zero() -> jax.Array:
        return jnp.zeros((), jnp.int32)

    frames = None if state.frames is None else state.frames.replace(count=zero(), overflow=zero())
    return state.replace(episodes=state.episodes.replace(row=zero(), token=jnp.asarray(token, jnp.int32)), frames=frames)


def _spec_dict(spec: Any) -> dict | None:
    if spec is None:
        return None
    fields = dataclasses.asdict(spec)
    fields["entry_point"] = spec.entry_point if isinstance(spec.entry_point, str) else repr(spec.entry_point)
    return fields


def _gymx_version() -> str:
    import gymx

    return gymx.__version__
