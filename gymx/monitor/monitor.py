"""`Monitor`: episode log, manifest and videos of a batched run, recorded inside jitted rollouts.

`Monitor(vec_env, directory, ...)` has `VecEnv`'s functional `reset` / `step` signature (with
`RecordEpisodeStatistics`' `info["episode"]` / `info["_episode"]`), so it goes inside a jitted
`lax.scan` wherever the `VecEnv` did. Its state carries, besides the env's:

- the finished episodes of every step since the last flush, as dense rows: on step t after the
  flush, row t gets each env's finished-episode return and length (length 0 where the env's
  episode goes on) with one `dynamic_update_index_in_dim` per array. No compaction happens on
  device (a cumsum and scatters per step cost more than CartPole's step itself), and no
  per-env accumulators either: on XLA:CPU a step that reads and rewrites nine per-env arrays
  (sums, sums of squares, minima and maxima of returns and lengths, last return) costs more
  than one that writes two rows, and than a summary flush (`benchmarks/RESULTS.md`). Shapes
  never change and nothing leaves the device. Steps past `capacity_steps` since the last flush
  are counted, and their finished episodes reported as dropped, never silently lost;
- with video on, the recorded env's state after each step of an episode the schedule films,
  and the episode it belongs to (on other steps the buffer is left as it is).

Between jitted chunks the host calls `state = monitor.flush(state)`. It reads the counters,
renders and writes the scheduled episodes' frames, and hands the rows to a job that makes the
flush's block and appends it to the binary episode log (`gymx.monitor.log`: one write and one
fsync); the state it returns goes on with the other of two row buffers, which no job reads. The
job finds the episodes (on CPU with one numpy `nonzero` over the rows, which are host memory
there: a jitted compaction measured 8 to 12 times slower; on other backends compacted on device
by a `nonzero` of the next power-of-two size, so that only the episodes cross to the host),
numbers them (each env's episodes from its finished-episode count at the previous flush) and
encodes the block. With `episodes="summary"` the block is one summary instead of the records:
the count, mean, standard deviation, minimum, maximum and a fixed-bin histogram of the returns
and lengths of the episodes since the last flush, and each env's last return (numpy on CPU, a
jitted reduction on other backends, so that only the summary crosses to the host).

The job runs on a writer thread (`background_writes=True`, the default) while the next chunk
computes; each flush first waits for the previous one's job. So a SIGKILL loses at most the
chunks not flushed yet and the block of the last flush (a block cut short is reported and
skipped by `load_results`), every file on disk loads, and `close` returns with everything on
disk. A job that fails is raised by the next `flush` or `close`, and retried by the next flush
after that (a block is encoded once: a retried write appends the same bytes). Overflow counts
and `manifest["episodes"]` (the episodes whose blocks are written) follow when the job is done.

Flushing a state that was already flushed writes nothing. Each reset and each flush stamps the state it returns with a token
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
import functools
import itertools
import os
import time
import warnings
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from types import ModuleType
from typing import TYPE_CHECKING, Any, Generic, TypeVar

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback
from jax.typing import ArrayLike

from gymx import struct
from gymx.core import Obs, Params, State, TimeStep
from gymx.monitor import log
from gymx.monitor.stats import EpisodeStatsState, RecordEpisodeStatistics
from gymx.monitor.video import VideoRecorder, capped_cubic_schedule
from gymx.vector import AutoresetMode, EnvIndices, VecEnv, VecWrapper

if TYPE_CHECKING:
    from gymx.registration import EnvSpec

# Host (numpy) or device (JAX) arrays: the summary is computed on either side.
Values = TypeVar("Values", np.ndarray, jax.Array)

_run_counter = itertools.count()
DEFAULT_CAPACITY_STEPS = 64
EPISODE_MODES = ("records", "summary")
# Episodes whose schedule is looked up on device; later ones are filmed and the host filters.
SCHEDULE_TABLE = 1 << 16


class EpisodeRows(struct.PyTree):
    """The episodes each env finished on each step since the last flush (see the module docstring).

    Row t holds step t after the flush; rows from `capacity_steps` on all share the one spare
    last row, which is written but never read.
    """

    returns: jax.Array  # float32 (capacity_steps + 1, num_envs), the finished episode's return, else 0
    lengths: jax.Array  # int32 (capacity_steps + 1, num_envs), its length (>= 1), else 0: a record where > 0
    row: jax.Array  # int32 (), steps since the last flush
    token: jax.Array  # int32 (), the reset or flush this state goes on from (issued by the host, see `Monitor.flush`)


class FrameBuffer(struct.PyTree, Generic[State]):
    """The recorded env's states since the last flush (the reset's first, then one per step)."""

    env_state: State  # the env's state pytree with a leading (capacity,) axis
    episode: jax.Array  # int32 (capacity,), the recorded env's episode each state belongs to
    count: jax.Array  # int32 (), states held
    overflow: jax.Array  # int32 (), states that found the buffer full


class MonitorState(struct.PyTree, Generic[State]):
    stats: EpisodeStatsState
    episodes: EpisodeRows
    frames: FrameBuffer[State] | None  # None without video


@dataclasses.dataclass(frozen=True)
class SummaryConfig:
    """The histograms of summary mode: `bins` equal bins over `returns` and over `lengths` (low, high).

    Values outside a range count in its first or last bin. None: (0, the env's
    max_episode_steps, else 1000), which fits envs whose rewards lie in [0, 1] (CartPole).
    """

    bins: int = 32
    returns: tuple[float, float] | None = None
    lengths: tuple[float, float] | None = None


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


class Monitor(VecWrapper[MonitorState[State], Params, Obs]):
    """Records a `VecEnv`'s episodes (and optionally videos) in `directory`; see the module docstring.

    mode: "training" or "evaluation", written to the manifest (the original Gym's 't' / 'e').
    capacity_steps: steps buffered on device between flushes: flush at least every
    `capacity_steps` steps, or the finished episodes of the steps beyond are counted as dropped
    (in the manifest and a warning) rather than logged. A buffer takes
    8 bytes x num_envs x (capacity_steps + 1) of device memory: 34 MB at 65,536 envs and the
    default 64 steps, twice that with `background_writes` (the state's and the one the writer
    thread reads). Each step writes 8 bytes per env into it, and a jitted chunk that does
    not donate its state (`jax.jit(chunk, donate_argnums=...)`) first copies the whole buffer
    in, so either donate the state or keep `capacity_steps` near the chunk's length.
    video: True for `VideoConfig()`, or a `VideoConfig`.
    episodes: "records" (one record per episode) or "summary" (one summary block per flush,
    with the histogram bins of `summary`, default `SummaryConfig()`).
    background_writes: make, write and fsync each flush's block on a writer thread while the
    next chunk runs (see the module docstring); False: `flush` returns with its block on disk.
    seed, algorithm_id: written to the manifest as given.
    """

    def __init__(
        self,
        vec_env: VecEnv[State, Params, Obs],
        directory: str,
        algorithm_id: str | None = None,
        mode: str = "training",
        video: bool | VideoConfig = False,
        capacity_steps: int = DEFAULT_CAPACITY_STEPS,
        seed: int | None = None,
        episodes: str = "records",
        summary: SummaryConfig | None = None,
        background_writes: bool = True,
    ):
        if mode not in log.MODES:
            raise ValueError(f"mode must be one of {log.MODES}, got {mode!r}")
        if episodes not in EPISODE_MODES:
            raise ValueError(f"episodes must be one of {EPISODE_MODES}, got {episodes!r}")
        if summary is not None and episodes != "summary":
            raise ValueError('summary configures episodes="summary"; this Monitor logs records')
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
        spec = vec_env.spec
        self.summary = None
        if episodes == "summary":
            self.summary = _summary_ranges(summary or SummaryConfig(), spec)
        os.makedirs(directory, exist_ok=True)

        self.env_id = None if spec is None else spec.id
        self.env_version = None if spec is None else spec.version
        self.run_id = f"{time.strftime('%Y%m%dT%H%M%S')}.{os.getpid()}.{next(_run_counter)}"
        self._recorder = None
        if self.video is not None:
            env = vec_env.env
            fps = self.video.fps or env.metadata.get("render_fps") or 30
            self._recorder = VideoRecorder(
                self._render_fn, directory, self.video.prefix, int(fps), self.video.schedule, env.render_on_host
            )
            self._schedule_table = np.array([bool(self.video.schedule(e)) for e in range(SCHEDULE_TABLE)])
        self._params: Params | None = None
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
        self._episodes_written = 0  # episodes numbered so far (in blocks written or being written)
        self._last_return = np.full(vec_env.num_envs, np.nan, np.float32)  # summary mode: each env's last return
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="gymx-monitor-writer") if background_writes else None
        # The last flush's block job and its run on the writer thread (None: it failed; the next flush retries it).
        self._pending: tuple[_Job, Future | None] | None = None
        # With the writer thread: rows no job reads any more, for the next flush's state. The rows the last flush's state has.
        self._spare: tuple[jax.Array, jax.Array] | None = None
        self._handed_out: tuple[jax.Array, jax.Array] | None = None
        episodes_file = log.episodes_path(directory, self.run_id)
        self.manifest = log.new_manifest(
            self.run_id,
            vec_env,
            seed,
            algorithm_id,
            mode,
            now,
            capacity_steps=self.capacity_steps,
            episode_mode=episodes,
            summary_dtype=None
            if self.summary is None
            else log.summary_dtype(vec_env.num_envs, self.summary.bins).descr,
            summary=None if self.summary is None else dataclasses.asdict(self.summary),
        )
        self._log = log.EpisodeLog(episodes_file, self.manifest)
        self._write_manifest()

    def render(
        self,
        state: MonitorState[State],
        params: Params | None = None,
        env_indices: EnvIndices | None = None,
        columns: int | None = None,
    ) -> jax.Array:
        return self.vec_env.render(state.stats.vec_state, params, env_indices, columns)

    def reset(self, key: jax.Array, params: Params | None = None) -> tuple[MonitorState[State], TimeStep[Obs]]:
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
                env_state=jax.tree_util.tree_map(
                    lambda x: jnp.zeros((self._video_config.capacity, *x.shape), x.dtype), first
                ),
                episode=jnp.zeros(self._video_config.capacity, jnp.int32),
                count=jnp.zeros((), jnp.int32),
                overflow=jnp.zeros((), jnp.int32),
            )
            episode = jnp.zeros((), jnp.int32)
            frames = _push_frame(frames, first, episode, self._filmed(episode))
        return MonitorState(stats, episodes, frames), ts

    def step(
        self, state: MonitorState[State], action: Any, params: Params | None = None
    ) -> tuple[MonitorState[State], TimeStep[Obs]]:
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
            episode = counter[self._video_config.env_index]
            frames = _push_frame(frames, self._recorded_state(stats), episode, self._filmed(episode))
        return MonitorState(stats, episodes, frames), ts

    @property
    def _video_config(self) -> VideoConfig:
        assert self.video is not None, "only a Monitor that records video films"
        return self.video

    @property
    def _summary_config(self) -> SummaryConfig:
        assert self.summary is not None, "only a Monitor in summary mode writes summaries"
        return self.summary

    def _filmed(self, episode: jax.Array) -> jax.Array:
        """Whether the schedule films `episode` (past the table: yes, and the host's recorder decides)."""
        table = jnp.asarray(self._schedule_table)
        return (episode >= SCHEDULE_TABLE) | table[jnp.minimum(episode, SCHEDULE_TABLE - 1)]

    def _recorded_state(self, stats: EpisodeStatsState) -> State:
        return jax.tree_util.tree_map(lambda x: x[self._video_config.env_index], stats.vec_state.env_state)

    def _render_fn(self, env_state: State) -> jax.Array:
        env = self.vec_env.env
        params = env.default_params if self._params is None else self._params
        return env.render(env_state, params, "rgb_array")

    # Host side.

    def _issue_reset_token(self) -> np.ndarray:
        token = next(self._tokens)
        self._fresh_resets.add(token)
        return np.int32(token)

    def flush(self, state: MonitorState[State], params: Params | None = None) -> MonitorState[State]:
        """Logs the buffered records (and frames) and returns `state` with both buffers emptied.

        Go on from the returned state: a later flush of a state that went on from `state`
        itself raises `ValueError` (its first records are in the log already).

        `params`: the env params the rollout used, if not the defaults (for rendering; a leaf
        batched per env gives the recorded env's value).
        """
        rows = state.episodes
        if rows.row is self._flushed_row:
            # This very state was flushed already: its records are in the log (or their retried write is).
            self._settle()
            return _emptied(state, self._flushed_token, self._handed_out)
        # Raises a failed job of the last flush (and retries it on the next call) before anything changes.
        self._settle()
        fetched = jax.device_get((rows.row, rows.token, state.stats.episodes, state.stats.step, state.frames))
        row, token, env_episodes, device_step, frames = fetched
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
        run_step = step_offset + device_step
        finished = int(np.sum(env_episodes - flushed_episodes, dtype=np.int64))
        handed_out = (rows.returns, rows.lengths)
        if row:
            job = _Job(rows.returns, rows.lengths, row, min(row, self.capacity_steps), flushed_episodes, run_step, now,
                       self._anchor, finished)  # fmt: skip
            if self._writer is None:
                # The job runs before `flush` returns: the state goes on with its own rows.
                self._pending = (job, None)
            else:
                # The rows go to the job; the state goes on with rows no job reads (their old entries are dead).
                handed_out = self._spare or tuple(  # type: ignore[assignment]
                    jnp.zeros(x.shape, x.dtype, device=x.sharding) for x in handed_out
                )
                self._spare = None
                self._pending = (job, self._writer.submit(self._run, job))
        self._fresh_resets.discard(token)
        self._step_offset, self._last_step, self._flushed_row = step_offset, device_step, rows.row
        self._flushed_token = next(self._tokens)
        # A state this flush took nothing from may still be gone on from, as the returned one may.
        took_nothing = row == 0 and (frames is None or int(frames.count) == int(frames.overflow) == 0)
        self._live_tokens = {self._flushed_token, token} if took_nothing else {self._flushed_token}
        # A copy: on CPU the fetched array is a view of a device buffer the next chunk may donate.
        self._flushed_episodes = np.array(env_episodes, np.int32)
        self._anchor = (run_step, now)
        self._handed_out = handed_out
        if frames is not None and self._write_frames(frames, params, env_episodes):
            self._write_manifest()
        if self._writer is None:
            self._settle()  # `flush` returns with the block on disk; if it fails, flushing this state again retries
        return _emptied(state, self._flushed_token, handed_out)

    def _run(self, job: _Job) -> None:
        """Makes the job's block (once) and appends it to the log: on the writer thread, or here without one."""
        if job.block is None:
            job.block, job.episodes = self._block(job)
        if len(job.block):
            self._log.write(job.block)

    def _block(self, job: _Job) -> tuple[np.ndarray, int]:
        """The encoded block of a flush's rows (empty if no episode ended) and its episodes."""
        # Off CPU the rows are reduced where they are: only the episodes, or their summary, cross.
        on_device = _platform(job.returns) != "cpu"
        if self.summary is not None:
            if on_device:
                summary, last = jax.device_get(_device_summary(job.returns, job.lengths, job.row, self.summary))
            else:
                # On CPU the fetched arrays are views of the device buffers, not copies.
                returns, lengths = jax.device_get((job.returns, job.lengths))
                summary, last = _host_summary(returns[: job.kept], lengths[: job.kept], self.summary)
            summary_block = self._summary_block(summary, last, job.run_step, job.now)
            episodes = int(summary_block["episodes"].sum())
            # Encoded once: a retried write appends the same bytes, numbered as the next block.
            return (self._log.encode(summary_block) if episodes else np.zeros(0, np.uint8)), episodes
        if on_device:
            count = int(_live_count(job.lengths, job.row))
            # A power of two: one compile per doubling of the episodes per flush.
            found = _device_episodes(job.returns, job.lengths, job.row, 1 << max(count - 1, 0).bit_length())
            step_row, env, returns, lengths, earlier = (x[:count] for x in jax.device_get(found))
            row_sizes = np.bincount(step_row, minlength=job.kept)
        else:
            returns, lengths = jax.device_get((job.returns, job.lengths))
            row_sizes, env, returns, lengths, earlier = _host_episodes(returns[: job.kept], lengths[: job.kept])
        episodes = len(env)
        if not episodes:
            return np.zeros(0, np.uint8), 0
        # Row t's episodes ended at run batch step `job.run_step - job.row + t + 1`.
        run_steps = job.run_step - job.row + 1 + np.arange(job.kept, dtype=np.int64)
        anchor_step, anchor_time = job.anchor
        fraction = np.clip((run_steps - anchor_step) / max(job.run_step - anchor_step, 1), 0.0, 1.0)
        row_times = anchor_time + fraction * (job.now - anchor_time) - self.manifest["start_timestamp"]
        block = self._log.encode_episodes(
            self._episodes_written, row_sizes, run_steps * self.num_envs, row_times,
            env, job.flushed_episodes[env] + earlier, returns, lengths,
        )  # fmt: skip
        self._episodes_written += episodes
        return block, episodes

    def _settle(self) -> None:
        """Waits for the last flush's job; runs it here if it had failed. Then its counts go to the manifest."""
        if self._pending is None:
            return
        job, future = self._pending
        try:
            self._run(job) if future is None else future.result()
        except BaseException:
            self._pending = (job, None)
            raise
        self._pending = None
        if self._writer is not None:
            self._spare = (job.returns, job.lengths)  # no job reads them now
        self.manifest["episodes"] += job.episodes
        self.manifest["blocks"] = self._log.blocks
        if self._count_overflow(job.row - job.kept, job.finished - job.episodes):
            self._write_manifest()

    def _summary_block(self, summary: dict[str, ArrayLike], last: np.ndarray, run_step: int, now: float) -> np.ndarray:
        """The summary block of a flush (no record when no episode ended); updates each env's last return."""
        self._last_return = np.where(np.isnan(last), self._last_return, last).astype(np.float32)
        if not summary["episodes"]:
            return np.zeros(0, log.summary_dtype(self.num_envs, self._summary_config.bins))
        block = np.zeros(1, log.summary_dtype(self.num_envs, self._summary_config.bins))
        for name, value in summary.items():
            block[name] = value
        block["steps"] = run_step * self.num_envs
        block["time"] = now - self.manifest["start_timestamp"]
        block["last_return"] = self._last_return
        return block

    def _count_overflow(self, steps: int, episodes: int) -> bool:
        if not steps:
            return False
        self.manifest["overflowed_steps"] += steps
        self.manifest["overflowed_episodes"] += episodes
        warnings.warn(
            f"Monitor: {steps} steps since the last flush found the buffer of {self.capacity_steps} steps full; their "
            f"{episodes} finished episodes were not logged. Flush at least every {self.capacity_steps} steps or raise "
            f"capacity_steps ({self.manifest['overflowed_episodes']} episodes dropped so far)",
            stacklevel=4,
        )
        return True

    def _write_frames(self, frames: FrameBuffer[State], params: Params | None, env_episodes: np.ndarray) -> bool:
        if params is not None:
            defaults = self.vec_env.env.default_params
            index = self._video_config.env_index
            self._params = jax.tree_util.tree_map(
                lambda p, d: p[index] if np.ndim(p) == np.ndim(d) + 1 else p, params, defaults
            )
        count, overflow = int(frames.count), int(frames.overflow)
        if overflow:
            self.manifest["dropped_frames"] += overflow
            warnings.warn(
                f"Monitor: {overflow} video frames found the buffer of {self._video_config.capacity} states full and were dropped; "
                "flush more often or raise VideoConfig.capacity",
                stacklevel=3,
            )
        states = jax.tree_util.tree_map(lambda x: x[:count], frames.env_state)
        assert self._recorder is not None, "a Monitor that films has a recorder"
        completed = self._recorder.add(states, frames.episode[:count], int(env_episodes[self._video_config.env_index]))
        self.manifest["videos"].extend(dict(v, env_index=self._video_config.env_index) for v in completed)
        return bool(completed or overflow)

    def close(self) -> None:
        """Waits for the last write, finishes the open video and marks the manifest closed. Flush the last state first."""
        self._settle()
        if self._writer is not None:
            self._writer.shutdown()
        if self._recorder is not None:
            self.manifest["videos"].extend(
                dict(v, env_index=self._video_config.env_index) for v in self._recorder.close()
            )
        self._log.close()
        self.manifest["closed"] = True
        self.manifest["log_bytes"] = self._log.size  # lets a reader tell a log cut short after the run
        self._write_manifest()

    def _write_manifest(self) -> None:
        log.write_json_atomic(log.manifest_path(self.directory, self.run_id), self.manifest)

    def __repr__(self) -> str:
        return f"Monitor({self.vec_env!r}, {self.directory!r}, run_id={self.run_id!r})"


def _push_frame(
    frames: FrameBuffer[State], env_state: State, episode: jax.Array, wanted: jax.Array
) -> FrameBuffer[State]:
    """Appends the state if `wanted` and there is room; either way one slot is written, never the whole buffer."""
    capacity = frames.episode.shape[0]
    fits = frames.count < capacity
    push = wanted & fits
    at = jnp.minimum(frames.count, capacity - 1)

    def put(column: jax.Array, value: jax.Array) -> jax.Array:
        # Rewriting the slot with itself when nothing is pushed keeps the update in place.
        kept = jax.lax.dynamic_index_in_dim(column, at, 0, keepdims=False)
        return jax.lax.dynamic_update_index_in_dim(column, jnp.where(push, value, kept), at, 0)

    return FrameBuffer(
        env_state=jax.tree_util.tree_map(put, frames.env_state, env_state),
        episode=put(frames.episode, episode),
        count=frames.count + push,
        overflow=frames.overflow + (wanted & ~fits),
    )


def _host_episodes(returns: np.ndarray, lengths: np.ndarray) -> tuple[np.ndarray, ...]:
    """The rows' episodes in the order they ended: each row's count, then each episode's env, return, length and its env's episodes in earlier rows."""
    flat, row_starts, env = _finished(lengths)
    # A Python loop over rows (not records): an env is in a row at most once.
    earlier = np.empty(len(flat), np.int32)
    counter = np.zeros(lengths.shape[1], np.int32)
    for start, stop in itertools.pairwise(row_starts):
        envs = env[start:stop]
        earlier[start:stop] = counter[envs]
        counter[envs] += 1
    return np.diff(row_starts), env, returns.reshape(-1)[flat], lengths.reshape(-1)[flat], earlier


def _finished(lengths: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rows' finished entries: their flat indices (in the order the episodes ended: step, then env), the index among them where each row starts (and one past the last), and their envs."""
    num_rows, num_envs = lengths.shape
    # One pass over the rows; a bool array's nonzero is several times faster than an int's (and
    # than a per-row count).
    flat = np.flatnonzero(lengths > 0)
    step_row, env = np.divmod(flat, num_envs)
    return flat, np.searchsorted(step_row, np.arange(num_rows + 1)), env


def _live(lengths: jax.Array, row: jax.Array) -> jax.Array:
    steps = jnp.arange(lengths.shape[0])[:, None]
    return (steps < jnp.minimum(row, lengths.shape[0] - 1)) & (lengths > 0)  # the spare last row is never read


@jax.jit
def _live_count(lengths: jax.Array, row: jax.Array) -> jax.Array:
    return _live(lengths, row).sum()


@functools.partial(jax.jit, static_argnums=3)
def _device_episodes(returns: jax.Array, lengths: jax.Array, row: jax.Array, size: int) -> tuple[jax.Array, ...]:
    """`_host_episodes` of the first `row` rows (at most all), compacted on device into `size` slots (the rest padding)."""
    live = _live(lengths, row)
    (flat,) = jnp.nonzero(live.ravel(), size=size, fill_value=0)
    earlier = (jnp.cumsum(live, axis=0, dtype=jnp.int32) - live).ravel()
    num_envs = lengths.shape[1]
    return flat // num_envs, flat % num_envs, returns.ravel()[flat], lengths.ravel()[flat], earlier[flat]


def _summary_ranges(config: SummaryConfig, spec: EnvSpec | None) -> SummaryConfig:
    if int(config.bins) != config.bins or config.bins < 1:
        raise ValueError(f"SummaryConfig.bins must be a positive integer, got {config.bins!r}")
    high = float((spec.max_episode_steps if spec is not None else None) or 1000)
    ranges = {}
    for name in ("returns", "lengths"):
        low_high = getattr(config, name) or (0.0, high)
        if len(low_high) != 2 or not float(low_high[0]) < float(low_high[1]):
            raise ValueError(f"SummaryConfig.{name} must be (low, high) with low < high, got {low_high!r}")
        ranges[name] = (float(low_high[0]), float(low_high[1]))
    return SummaryConfig(bins=int(config.bins), **ranges)


# `xp`: the array module of `values`, numpy or jax.numpy.
def _bins(values: Values, low_high: tuple[float, float], bins: int, xp: ModuleType) -> Values:
    # Multiplying before dividing keeps whole-number values on bin edges exact in float32 too.
    low, high = low_high
    return xp.clip(xp.floor((values - low) * bins / (high - low)), 0, bins - 1).astype(xp.int32)


def _host_summary(
    returns: np.ndarray, lengths: np.ndarray, config: SummaryConfig
) -> tuple[dict[str, ArrayLike], np.ndarray]:
    """The summary of the episodes in the rows (see `log.summary_dtype`), and each env's last return in them (else NaN)."""
    flat, row_starts, env = _finished(lengths)
    last = np.full(lengths.shape[1], np.nan, np.float32)
    if not len(flat):
        return {"episodes": 0}, last
    finished_returns, finished_lengths = returns.reshape(-1)[flat], lengths.reshape(-1)[flat]
    # Rows in step order, an env at most once per row: the last row an env is in holds its last return.
    for start, stop in itertools.pairwise(row_starts):
        last[env[start:stop]] = finished_returns[start:stop]
    assert config.returns is not None and config.lengths is not None, "_summary_ranges sets both ranges"
    summary: dict[str, ArrayLike] = {"episodes": len(flat)}
    for name, values, low_high in (
        ("return", finished_returns, config.returns),
        ("length", finished_lengths, config.lengths),
    ):
        wide = values.astype(np.float64)
        summary |= {
            f"{name}_mean": wide.mean(), f"{name}_std": wide.std(), f"{name}_min": values.min(), f"{name}_max": values.max(),
            f"{name}_hist": np.bincount(_bins(wide, low_high, config.bins, np), minlength=config.bins),
        }  # fmt: skip
    return summary, last


@functools.partial(jax.jit, static_argnums=3)
def _device_summary(
    returns: jax.Array, lengths: jax.Array, row: jax.Array, config: SummaryConfig
) -> tuple[dict[str, ArrayLike], jax.Array]:
    """`_host_summary` of the first `row` rows (at most all), reduced on device (float32 sums)."""
    steps = jnp.arange(returns.shape[0])[:, None]
    live = _live(lengths, row)
    count = live.sum()
    last_row = jnp.max(jnp.where(live, steps, -1), axis=0)
    last = jnp.take_along_axis(returns, jnp.maximum(last_row, 0)[None], axis=0)[0]
    assert config.returns is not None and config.lengths is not None, "_summary_ranges sets both ranges"
    summary: dict[str, ArrayLike] = {"episodes": count}
    for name, values, low_high in (("return", returns, config.returns), ("length", lengths, config.lengths)):
        wide = values.astype(jnp.float32)
        mean = jnp.where(live, wide, 0.0).sum() / jnp.maximum(count, 1)
        bin_index = _bins(wide, low_high, config.bins, jnp)
        summary |= {
            f"{name}_mean": mean,
            f"{name}_std": jnp.sqrt(jnp.where(live, (wide - mean) ** 2, 0.0).sum() / jnp.maximum(count, 1)),
            f"{name}_min": jnp.where(
                live, values, jnp.iinfo(jnp.int32).max if values.dtype == jnp.int32 else jnp.inf
            ).min(),
            f"{name}_max": jnp.where(
                live, values, jnp.iinfo(jnp.int32).min if values.dtype == jnp.int32 else -jnp.inf
            ).max(),
            f"{name}_hist": jnp.zeros(config.bins + 1, jnp.int32)
            .at[jnp.where(live, bin_index, config.bins).ravel()]
            .add(1)[: config.bins],
        }
    return summary, jnp.where(last_row >= 0, last, jnp.nan)


def _platform(array: jax.Array) -> str:
    return next(iter(array.devices())).platform


def _emptied(state: MonitorState[State], token: int, rows: tuple[jax.Array, jax.Array] | None) -> MonitorState[State]:
    # Only the counters go back to zero: rows past `row` are dead, and every row is rewritten
    # whole before it is read again. One zero array each: a chunk that donates the state cannot
    # take one buffer twice.
    def zero() -> jax.Array:
        return jnp.zeros((), jnp.int32)

    episodes = state.episodes.replace(row=zero(), token=jnp.asarray(token, jnp.int32))
    if rows is not None:
        episodes = episodes.replace(returns=rows[0], lengths=rows[1])
    frames = None if state.frames is None else state.frames.replace(count=zero(), overflow=zero())
    return state.replace(episodes=episodes, frames=frames)


@dataclasses.dataclass
class _Job:
    """A flush's rows and what numbering and timing their episodes takes (host bookkeeping, filled in by `_run`)."""

    returns: jax.Array  # the rows, which no chunk writes while the job holds them
    lengths: jax.Array
    row: int  # steps since the flush before
    kept: int  # of them, the rows held (the rest found the buffer full)
    flushed_episodes: np.ndarray  # each env's finished episodes at the flush before
    run_step: int  # the run's batch step at this flush, at wall time `now`
    now: float
    anchor: tuple[int, float]  # (run batch step, wall time) of the flush before
    finished: int  # episodes finished since the flush before, logged or not
    block: np.ndarray | None = None  # the encoded block, once made
    episodes: int = 0  # the episodes it holds
