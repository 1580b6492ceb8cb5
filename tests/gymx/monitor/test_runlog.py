"""`RunLog`: a Monitor run written from host-side episodes, read back as any Monitor run, and taken up again from a recorded point."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import gymx
from gymx.monitor import RunLog, load_results, log


@pytest.fixture(scope="module")
def vec_env() -> gymx.VecEnv:
    return gymx.make_vec("CartPole-v1", 3)


def test_episodes_are_numbered_per_run_and_per_env_across_blocks(tmp_path: Path, vec_env: gymx.VecEnv) -> None:
    run = RunLog(str(tmp_path), "seed7", vec_env, seed=7, algorithm_id="ppo")
    assert (
        run.append(np.array([2, 0, 2]), np.array([5.0, 6.0, 7.0]), np.array([5, 6, 7]), np.array([15, 18, 21]), 0.5)
        == 3
    )
    assert run.append(np.array([], np.int64), np.array([]), np.array([]), np.array([]), 0.7) == 0  # writes no block
    assert run.append(np.array([2, 1]), np.array([8.0, 9.0]), np.array([8, 9]), np.array([24, 27]), 1.0) == 2
    run.close()
    results = load_results(str(tmp_path))
    manifest = results.manifests[0]
    assert (
        manifest["seed"],
        manifest["algorithm_id"],
        manifest["env_id"],
        manifest["num_envs"],
        manifest["closed"],
    ) == (7, "ppo", "CartPole-v1", 3, True)
    assert (manifest["episodes"], manifest["blocks"]) == (5, 2) and not results.damaged
    order = np.argsort(results.episode)
    np.testing.assert_array_equal(results.episode[order], np.arange(5))
    np.testing.assert_array_equal(results.env_index[order], [2, 0, 2, 2, 1])
    np.testing.assert_array_equal(results.env_episode[order], [0, 0, 1, 2, 0])
    np.testing.assert_array_equal(results.returns[order], [5, 6, 7, 8, 9])
    np.testing.assert_array_equal(results.times[order], [0.5, 0.5, 0.5, 1.0, 1.0])


def test_reopen_cuts_the_blocks_after_the_point_and_goes_on_numbering(tmp_path: Path, vec_env: gymx.VecEnv) -> None:
    run = RunLog(str(tmp_path), "seed0", vec_env)
    run.append(np.array([0, 1]), np.array([1.0, 2.0]), np.array([1, 2]), np.array([3, 6]), 0.1)
    point = (run.size, run.blocks)
    run.append(np.array([1]), np.array([99.0]), np.array([9]), np.array([9]), 0.2)  # a block past the point: dropped
    resumed = RunLog.reopen(str(tmp_path), "seed0", *point)
    assert load_results(str(tmp_path)).manifests[0]["closed"] is False
    resumed.append(np.array([1, 0]), np.array([3.0, 4.0]), np.array([3, 4]), np.array([12, 12]), 0.3)
    resumed.close()
    results = load_results(str(tmp_path))
    order = np.argsort(results.episode)
    assert not results.damaged and results.manifests[0]["blocks"] == 2
    np.testing.assert_array_equal(results.returns[order], [1, 2, 3, 4])
    np.testing.assert_array_equal(results.env_episode[order], [0, 0, 1, 1])


def test_reopen_refuses_a_log_shorter_than_the_point_or_missing(tmp_path: Path, vec_env: gymx.VecEnv) -> None:
    run = RunLog(str(tmp_path), "seed0", vec_env)
    run.append(np.array([0]), np.array([1.0]), np.array([1]), np.array([3]), 0.1)
    run.close()
    path = log.episodes_path(str(tmp_path), "seed0")
    with pytest.raises(ValueError, match=f"{path}: .* bytes, shorter than the {run.size + 40}"):
        RunLog.reopen(str(tmp_path), "seed0", run.size + 40, run.blocks + 1)
    with pytest.raises(ValueError, match=r"seed1\.bin: the episode log to go on from is missing"):
        RunLog.reopen(str(tmp_path), "seed1", 0, 0)
    before = Path(path).read_bytes()
    with pytest.raises(ValueError, match="do not load whole"):  # a point inside a block
        RunLog.reopen(str(tmp_path), "seed0", run.size - 4, run.blocks)
    with pytest.raises(ValueError, match="hold 1 blocks, not 2"):
        RunLog.reopen(str(tmp_path), "seed0", run.size, 2)
    assert Path(path).read_bytes() == before  # refused without cutting anything
