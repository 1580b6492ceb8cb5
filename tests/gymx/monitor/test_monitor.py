"""The Monitor's records, files, videos, plots and summary against plain re-counts of the same rollouts."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

import gymx
from gymx import cli
from gymx.monitor import (
    Monitor,
    RecordEpisodeStatistics,
    VideoConfig,
    capped_cubic_schedule,
    export_gym_files,
    load_results,
    log,
)

NUM_ENVS, CHUNK, CHUNKS = 8, 40, 3


def random_actions(env: object, key: jax.Array, steps: int) -> jax.Array:
    return jax.vmap(lambda k: env.action_space().sample(k))(jax.random.split(key, steps))


@jax.jit
def plain_rollout(key: jax.Array, actions: jax.Array) -> tuple:
    venv = gymx.make_vec("CartPole-v1", NUM_ENVS)
    state, _ = venv.reset(key)

    def one(state: object, action: jax.Array) -> tuple:
        state, ts = venv.step(state, action)
        return state, (ts.reward, ts.terminated | ts.truncated, ts.info["episode_return"], ts.info["episode_length"])

    return jax.lax.scan(one, state, actions)[1]


def python_recount(rewards: np.ndarray, dones: np.ndarray) -> list[tuple[int, int, float, int, int]]:
    """(batch step, env, return, length, env episode) of every finished episode, in finishing order."""
    out, totals, lengths, counts = [], np.zeros(NUM_ENVS), np.zeros(NUM_ENVS, int), np.zeros(NUM_ENVS, int)
    for t in range(len(rewards)):
        for i in range(NUM_ENVS):
            totals[i] += rewards[t, i]
            lengths[i] += 1
            if dones[t, i]:
                out.append((t + 1, i, totals[i], lengths[i], counts[i]))
                totals[i], lengths[i], counts[i] = 0.0, 0, counts[i] + 1
    return out


def monitored_run(directory: Path, capacity_steps: int = 64, video: VideoConfig | None = None, flushes: int = 1) -> tuple:
    monitor = Monitor(gymx.make_vec("CartPole-v1", NUM_ENVS), str(directory), algorithm_id="random", seed=3, capacity_steps=capacity_steps, video=video or False)

    @jax.jit
    def chunk(state: object, actions: jax.Array) -> object:
        return jax.lax.scan(lambda s, a: (monitor.step(s, a)[0], None), state, actions)[0]

    actions = random_actions(monitor, jax.random.key(1), CHUNK * CHUNKS)
    state, _ = jax.jit(monitor.reset)(jax.random.key(3))
    for c in range(CHUNKS):
        chunked = chunk(state, actions[c * CHUNK : (c + 1) * CHUNK])
        state = monitor.flush(chunked)
        for _ in range(flushes - 1):  # flushing the same state again, or the emptied one, adds nothing
            monitor.flush(chunked)
            state = monitor.flush(state)
    monitor.close()
    return monitor, actions


def test_stats_info_equals_vecenv_and_a_python_recount() -> None:
    stats = RecordEpisodeStatistics(gymx.make_vec("CartPole-v1", NUM_ENVS))
    actions = random_actions(stats, jax.random.key(1), 120)

    @jax.jit
    def run(key: jax.Array) -> tuple:
        state, _ = stats.reset(key)
        def one(state: object, action: jax.Array) -> tuple:
            state, ts = stats.step(state, action)
            return state, ts.info

        return jax.lax.scan(one, state, actions)[1]

    info = jax.device_get(run(jax.random.key(3)))
    rewards, dones, vec_returns, vec_lengths = jax.device_get(plain_rollout(jax.random.key(3), actions))
    np.testing.assert_array_equal(info["_episode"], dones)
    np.testing.assert_array_equal(info["episode"]["r"], np.where(dones, vec_returns, 0))
    np.testing.assert_array_equal(info["episode"]["l"], np.where(dones, vec_lengths, 0))
    expected = python_recount(rewards, dones)
    t, i = np.nonzero(info["_episode"])
    assert [(int(info["episode"]["t"][a, b]), int(b), float(info["episode"]["r"][a, b]), int(info["episode"]["l"][a, b])) for a, b in zip(t, i)] == [e[:4] for e in expected]


def test_log_equals_recount_and_round_trips(tmp_path: Path) -> None:
    monitor, actions = monitored_run(tmp_path, flushes=2)  # the second flush of each chunk must add nothing
    rewards, dones, _, _ = jax.device_get(plain_rollout(jax.random.key(3), actions))
    expected = python_recount(rewards, dones)
    results = load_results(str(tmp_path))
    assert len(results) == len(expected) == monitor.manifest["episodes"]
    got = list(zip(results.steps // NUM_ENVS, results.env_index, results.returns, results.lengths, results.env_episode))
    assert [(int(s), int(i), float(r), int(n), int(e)) for s, i, r, n, e in got] == expected
    np.testing.assert_array_equal(results.episode, np.arange(len(expected)))
    assert np.all(np.diff(results.timestamps) >= 0) and np.all(results.modes == "training")
    manifest = results.manifests[0]
    assert (manifest["env_id"], manifest["env_version"], manifest["seed"], manifest["algorithm_id"]) == ("CartPole-v1", 1, 3, "random")
    assert manifest["env_spec"]["reward_threshold"] == 475.0 and manifest["closed"] and manifest["command_line"] == sys.argv
    assert np.all(results.env_ids == "CartPole-v1") and np.all(results.env_versions == 1)
    assert np.dtype([tuple(f) for f in manifest["record_dtype"]]) == log.RECORD_DTYPE
    assert Path(tmp_path, manifest["episodes_file"]).stat().st_size == len(expected) * log.RECORD_DTYPE.itemsize


def test_overflow_is_counted_and_reported(tmp_path: Path) -> None:
    kept = CHUNK - 15  # the last 15 steps of every chunk find the buffer full
    with pytest.warns(UserWarning, match="15 steps since the last flush found the buffer of 25 steps full"):
        _, actions = monitored_run(tmp_path, capacity_steps=kept)
    rewards, dones, _, _ = jax.device_get(plain_rollout(jax.random.key(3), actions))
    in_buffer = (np.arange(CHUNK * CHUNKS) % CHUNK) < kept
    expected = [e for e in python_recount(rewards, dones) if in_buffer[e[0] - 1]]  # episode indices of the dropped ones still count
    results = load_results(str(tmp_path))
    got = list(zip(results.steps // NUM_ENVS, results.env_index, results.returns, results.lengths, results.env_episode))
    assert [(int(s), int(i), float(r), int(n), int(e)) for s, i, r, n, e in got] == expected
    manifest = results.manifests[0]
    assert manifest["overflowed_steps"] == 15 * CHUNKS and manifest["episodes"] == len(expected)
    assert manifest["overflowed_episodes"] == dones[~in_buffer].sum() > 0


def test_torn_last_record_is_ignored_and_runs_merge(tmp_path: Path) -> None:
    monitored_run(tmp_path)
    monitored_run(tmp_path)
    results = load_results(str(tmp_path))
    assert len(results.manifests) == 2 and len(results.runs()[0]) == len(results.runs()[1]) == len(results) // 2
    episodes = Path(tmp_path, results.manifests[1]["episodes_file"])
    with open(episodes, "ab") as f:
        f.write(b"\x07" * (log.RECORD_DTYPE.itemsize - 1))  # a write a kill cut short
    assert len(load_results(str(tmp_path))) == len(results)
    run = results.runs()[1]
    os.truncate(episodes, (len(run) - 1) * log.RECORD_DTYPE.itemsize + 17)  # the last record cut mid-way
    torn = load_results(str(tmp_path))
    assert len(torn) == len(results) - 1
    np.testing.assert_array_equal(torn.runs()[1].returns, run.returns[:-1])


@pytest.mark.parametrize("autoreset_mode", ["NEXT_STEP", "DISABLED"])
def test_records_equal_the_step_info_across_a_reset(tmp_path: Path, autoreset_mode: str) -> None:
    monitor = Monitor(gymx.make_vec("CartPole-v1", NUM_ENVS, autoreset_mode), str(tmp_path), capacity_steps=CHUNK)

    @jax.jit
    def chunk(state: object, actions: jax.Array) -> tuple:
        def one(state: object, action: jax.Array) -> tuple:
            state, ts = monitor.step(state, action)
            return state, (ts.info["_episode"], ts.info["episode"]["r"], ts.info["episode"]["l"])

        return jax.lax.scan(one, state, actions)

    actions = random_actions(monitor, jax.random.key(1), 2 * CHUNK)
    expected = []
    for c in range(2):  # the Monitor is reset between the two chunks: its run's step count goes on
        state, _ = jax.jit(monitor.reset)(jax.random.key(c))
        state, (finished, returns, lengths) = chunk(state, actions[c * CHUNK : (c + 1) * CHUNK])
        monitor.flush(state)
        t, i = np.nonzero(np.asarray(finished))
        env_episode = np.cumsum(finished, axis=0)[t, i] - 1
        expected += [(c * CHUNK + a + 1, b, float(returns[a, b]), int(lengths[a, b]), int(e)) for a, b, e in zip(t, i, env_episode)]
    monitor.close()
    results = load_results(str(tmp_path))
    got = list(zip(results.steps // NUM_ENVS, results.env_index, results.returns, results.lengths, results.env_episode))
    assert [(int(s), int(i), float(r), int(n), int(e)) for s, i, r, n, e in got] == expected and expected


def test_gym_export_has_the_original_fields(tmp_path: Path) -> None:
    monitored_run(tmp_path)
    results = load_results(str(tmp_path))
    run_id = results.manifests[0]["run_id"]
    export_gym_files(str(tmp_path))
    stats = json.loads(Path(tmp_path, f"openaigym.episode_batch.{run_id}.stats.json").read_text())
    assert set(stats) == {"initial_reset_timestamp", "timestamps", "episode_lengths", "episode_rewards", "episode_types"}
    assert stats["episode_rewards"] == results.returns.tolist() and stats["episode_lengths"] == results.lengths.tolist()
    assert stats["timestamps"] == results.timestamps.tolist() and set(stats["episode_types"]) == {"t"}
    assert stats["initial_reset_timestamp"] == results.manifests[0]["start_timestamp"]
    manifest = json.loads(Path(tmp_path, f"openaigym.manifest.{run_id}.manifest.json").read_text())
    assert manifest["stats"] == f"openaigym.episode_batch.{run_id}.stats.json" and manifest["videos"] == []
    assert manifest["env_info"] == {"gym_version": gymx.__version__, "env_id": "CartPole-v1"}


def test_capped_cubic_schedule() -> None:
    assert [e for e in range(2001) if capped_cubic_schedule(e)] == [0, 1, 8, 27, 64, 125, 216, 343, 512, 729, 1000, 2000]


def test_video_of_scheduled_episodes_has_one_frame_per_step(tmp_path: Path) -> None:
    imageio = pytest.importorskip("imageio")
    video = VideoConfig(env_index=1, capacity=CHUNK + 1, schedule=lambda episode: episode in (0, 2))
    monitored_run(tmp_path, video=video)
    results = load_results(str(tmp_path))
    videos = {v["episode"]: v for v in results.manifests[0]["videos"]}
    assert sorted(videos) == [0, 2] and not [name for name in os.listdir(tmp_path) if ".part." in name]
    for episode, video in videos.items():
        length = results.lengths[(results.env_index == 1) & (results.env_episode == episode)]
        with imageio.get_reader(tmp_path / f"rl-video-episode-{episode}.mp4") as reader:
            assert reader.count_frames() == video["frames"] == int(length[0])  # SAME_STEP: L frames
            assert reader.get_data(0).shape == (400, 600, 3)
    export_gym_files(str(tmp_path))
    meta = json.loads(Path(tmp_path, "rl-video-episode-0.meta.json").read_text())
    assert meta["content_type"] == "video/mp4"


def write_synthetic_log(directory: Path, returns: np.ndarray, run_id: str = "synthetic.0") -> None:
    directory.mkdir(exist_ok=True)
    start = 1.0e9
    manifest = {
        "run_id": run_id, "gymx_version": gymx.__version__, "env_id": "CartPole-v1", "env_version": 1, "mode": "training",
        "env_spec": {"reward_threshold": 475.0}, "start_timestamp": start, "episodes_file": f"gymx.episodes.{run_id}.bin",
        "record_dtype": log.RECORD_DTYPE.descr,
    }  # fmt: skip
    log.write_json_atomic(log.manifest_path(str(directory), run_id), manifest)
    n = len(returns)
    records = np.zeros(n, log.RECORD_DTYPE)
    records["env_episode"] = records["episode"] = np.arange(n)
    records["return"], records["length"] = returns, 10
    records["steps"], records["time"] = 10 * np.arange(1, n + 1), np.arange(1.0, n + 1)
    episodes = log.EpisodeLog(log.episodes_path(str(directory), run_id))
    episodes.append(records)
    episodes.close()


def test_summary_reports_episodes_before_solve(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    # 150 episodes of 400, then 500s: the 100-episode mean first reaches 475 at the window that
    # starts at episode 150 - 25 = 125 (75 x 500 + 25 x 400 = 47,500).
    write_synthetic_log(tmp_path, np.r_[np.full(150, 400.0), np.full(200, 500.0)])
    assert cli.main(["monitor", "summary", str(tmp_path)]) == 0
    header, row = capsys.readouterr().out.splitlines()
    cells = dict(zip([h.strip() for h in header.split("  ") if h.strip()], [c.strip() for c in row.split("  ") if c.strip()]))
    assert cells["episodes before solve"] == "125" and cells["solved"] == "yes" and cells["steps before solve"] == "1250"
    assert cells["episodes"] == "350" and cells["best 100-ep mean"] == "500.00 ± 0.00"


def test_plot_writes_a_png(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    for seed in range(2):
        write_synthetic_log(tmp_path / "a", np.random.default_rng(seed).normal(100, 10, 300), run_id=f"seed{seed}")
    out = tmp_path / "curves.png"
    assert cli.main(["plot", str(tmp_path / "a"), "--out", str(out), "--smooth", "20"]) == 0
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 10_000


def test_sigkill_loses_at_most_the_unflushed_episodes(tmp_path: Path) -> None:
    target = Path(__file__).with_name("kill_target.py")
    process = subprocess.Popen([sys.executable, str(target), str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        reported = [int(process.stdout.readline()) for _ in range(5)]  # five flushes completed
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait()
    results = load_results(str(tmp_path))
    assert len(results) >= reported[-1] > 0
    np.testing.assert_array_equal(results.episode, np.arange(len(results)))  # complete, in order, no torn record


def test_gymnasium_record_video_through_the_adapter(tmp_path: Path) -> None:
    gymnasium = pytest.importorskip("gymnasium")
    pytest.importorskip("moviepy")
    env = gymnasium.wrappers.RecordVideo(gymnasium.make("gymx/CartPole-v1", render_mode="rgb_array"), str(tmp_path), disable_logger=True)
    env.reset(seed=0)
    # A fixed episode (18 steps): moviepy's duration rounding drops a last frame at some lengths
    # (13 frames at 50 fps), so an unseeded episode would make this test flaky.
    env.action_space.seed(0)
    done, steps = False, 0
    while not done:
        _, _, terminated, truncated, _ = env.step(env.action_space.sample())
        done, steps = terminated or truncated, steps + 1
    env.close()
    imageio = pytest.importorskip("imageio")
    with imageio.get_reader(tmp_path / "rl-video-episode-0.mp4") as reader:
        assert reader.count_frames() == steps + 1  # the reset frame and one per step
