"""`gymx train`'s run folders (refused when not empty, --resume, --overwrite, unique default names), the best policy, and `gymx eval` on files it cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import jax
import numpy as np
import pytest
from safetensors.numpy import load_file, save_file

from gymx.cli import main
from gymx.monitor import RunLog, load_results, log
from gymx.train import agents, checkpoint, rundir, runner

TINY = [
    "--total-steps",
    "1024",
    "--chunks",
    "4",
    "--eval-episodes",
    "2",
    "--select-episodes",
    "2",
    "--no-plot",
    "--quiet",
]


def train(out: Path, *extra: str) -> int:
    return main(["train", "ppo", "CartPole-v1", "--out", str(out), *TINY, *extra])


def arrays(path: Path) -> dict[str, np.ndarray]:
    return load_file(path)


def records(out: Path) -> dict[str, list[tuple]]:
    """Each seed's logged episodes, as read back from its Monitor run, without the host's clock."""
    runs = {}
    for run in load_results(str(out)).runs():
        assert not run.damaged, run.damaged
        fields = (run.env_index, run.env_episode, run.episode, run.returns, run.lengths, run.steps)
        runs[run.manifests[0]["run_id"]] = sorted(zip(*(field.tolist() for field in fields)), key=lambda r: r[2])
    return runs


def test_a_non_empty_out_folder_is_refused_before_training(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert train(tmp_path) == 2
    error = capsys.readouterr().err
    assert str(tmp_path) in error and "not empty" in error and "--resume" in error and "--overwrite" in error
    assert (tmp_path / "notes.txt").read_text() == "mine" and sorted(p.name for p in tmp_path.iterdir()) == [
        "notes.txt"
    ]

    assert train(tmp_path / "new", "--resume") == 2
    assert "nothing to resume" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--resume needs --out"):
        main(["train", "ppo", "CartPole-v1", "--resume"])
    with pytest.raises(SystemExit) as exit_info:  # argparse: the two flags exclude each other
        train(tmp_path, "--resume", "--overwrite")
    assert exit_info.value.code == 2


def test_default_out_folders_are_unique_even_in_the_same_second(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(rundir.time, "strftime", lambda _: "20250101-000000")
    suffixes = iter(["aaaaaa", "aaaaaa", "bbbbbb"])  # the second run draws a taken name first
    monkeypatch.setattr(rundir.secrets, "token_hex", lambda _: next(suffixes))
    first = rundir.create_default("ppo", "CartPole-v1", root=tmp_path)
    second = rundir.create_default("ppo", "CartPole-v1", root=tmp_path)
    assert first.name == "ppo-CartPole-v1-20250101-000000-aaaaaa" and second.name.endswith("-bbbbbb")
    assert first.is_dir() and second.is_dir()


def test_resume_after_an_interruption_ends_where_the_uninterrupted_run_ends(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert train(whole, "--seeds", "2") == 0
    printed = capsys.readouterr().out
    assert "reward threshold 475 (from CartPole-v1's spec)" in printed and "best 0/2 seeds []" in printed

    # Ctrl-C after the second of four chunks: its checkpoint is written, the third chunk is not.
    updates = []
    real_update = runner.ProgressBar.update

    def interrupt(self: runner.ProgressBar, *args: float) -> None:
        updates.append(args)
        if len(updates) == 2:
            raise KeyboardInterrupt
        real_update(self, *args)

    monkeypatch.setattr(runner.ProgressBar, "update", interrupt)
    with pytest.raises(KeyboardInterrupt):
        train(cut, "--seeds", "2")
    monkeypatch.setattr(runner.ProgressBar, "update", real_update)
    assert checkpoint.read(cut / "checkpoint.safetensors").run["iterations_done"] == 2
    assert sorted(load_results(str(cut)).unclosed) == ["seed0", "seed1"]  # the interrupted run did not close its logs
    seed1_log = Path(log.episodes_path(str(cut), "seed1"))
    kept = seed1_log.read_bytes()
    seed1_log.write_bytes(kept[:-10])  # shorter than the checkpoint accounts for
    assert train(cut, "--resume") == 2
    error = capsys.readouterr().err
    assert (
        "cannot go on with the episode log of its checkpoint" in error
        and "seed1.bin" in error
        and "shorter than" in error
    )
    seed1_log.write_bytes(kept)
    # As if killed after logging a chunk it did not checkpoint: one block more in seed 0's log.
    size, blocks = checkpoint.read(cut / "checkpoint.safetensors").run["episode_logs"]["seed0"]
    extra = RunLog.reopen(str(cut), "seed0", size, blocks)
    assert extra.append(np.array([0]), np.array([1.0]), np.array([1]), np.array([10**9]), 1.0) == 1
    assert sum(1 for e in log.read_log(log.episodes_path(str(cut), "seed0"), "seed0")[1] if e["steps"] == 10**9) == 1

    assert train(cut, "--seeds", "3", "--resume") == 2  # settings of the saved run cannot change
    assert "--seeds 3 (saved run: 2)" in capsys.readouterr().err
    assert train(cut, "--resume") == 0
    assert "resuming" in capsys.readouterr().out
    for name in ("checkpoint.safetensors", "best.safetensors"):
        expected, resumed = arrays(whole / name), arrays(cut / name)
        assert expected.keys() == resumed.keys()
        for key in expected:
            np.testing.assert_array_equal(resumed[key], expected[key], err_msg=f"{name} {key}")
    assert records(whole)["seed0"] and records(whole)["seed1"] and records(cut) == records(whole)
    assert main(["eval", str(cut / "best.safetensors"), "--episodes", "1"]) == 0
    assert "ppo on CartPole-v1, seeds [0, 1]" in capsys.readouterr().out

    assert train(whole, "--seeds", "1", "--overwrite") == 0
    assert checkpoint.read(whole / "checkpoint.safetensors").seeds == [0] and set(records(whole)) == {"seed0"}


def test_best_policy_keeps_each_agents_best_state_later_on_ties() -> None:
    agent = agents.make("ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", total_steps=256))
    best = runner.BestPolicy(agent, [0, 1, 2], num_episodes=2)

    def states(value: float) -> dict[str, jax.Array]:
        return {"w": jax.numpy.full((3, 2), value)}

    np.testing.assert_array_equal(
        best.offer(states(1.0), np.array([10.0, 20.0, 30.0]), iteration=1), [True, True, True]
    )
    np.testing.assert_array_equal(
        best.offer(states(2.0), np.array([15.0, 20.0, 5.0]), iteration=2), [True, True, False]
    )
    np.testing.assert_array_equal(np.asarray(best.states["w"])[:, 0], [2.0, 2.0, 1.0])
    np.testing.assert_array_equal(best.iterations, [2, 2, 1])
    np.testing.assert_array_equal(best.returns, [15.0, 20.0, 30.0])
    # Selection episodes depend on the agent's own seed, not on its place in the batch.
    alone = runner.BestPolicy(agent, [2], num_episodes=2)
    np.testing.assert_array_equal(best.selection_keys(7)[2], alone.selection_keys(7)[0])


def test_threshold_summary_names_the_seeds_that_reached_it() -> None:
    returns = {"last": np.array([[500.0, 440.0], [500.0, 500.0]]), "best": np.array([[480.0, 480.0], [500.0, 500.0]])}
    line = runner.threshold_summary("CartPole-v1", [3, 4], returns)
    assert (
        line
        == "reward threshold 475 (from CartPole-v1's spec) reached by the mean greedy return of: last 1/2 seeds [4], best 2/2 seeds [3, 4]"
    )
    assert (
        runner.threshold_summary("Pendulum-v1", [0], {"last": np.zeros((1, 2))})
        == "reward threshold: none in Pendulum-v1's spec"
    )


@pytest.fixture(scope="module")
def saved_checkpoint(tmp_path_factory: pytest.TempPathFactory) -> Path:
    agent = agents.make(
        "ppo", "CartPole-v1", agents.load_config("ppo", "CartPole-v1", total_steps=256, hidden_sizes=(8,))
    )
    states = jax.jit(jax.vmap(agent.init))(runner.seed_keys([0]))
    return checkpoint.save(tmp_path_factory.mktemp("checkpoint") / "checkpoint.safetensors", agent, states, [0])


def unreadable(kind: str, directory: Path, good: Path) -> Path:
    path = directory / f"{kind}.checkpoint"
    data = good.read_bytes()
    if kind == "missing":
        return path
    if kind == "directory":
        path.mkdir()
    elif kind == "random bytes":
        path.write_bytes(np.random.default_rng(0).bytes(4096))
    elif kind == "truncated":
        path.write_bytes(data[: len(data) // 2])
    elif kind == "damaged member":
        # The header is intact, the first bytes of the arrays are not (safetensors: 8-byte header length, header, data).
        offset = 8 + int.from_bytes(data[:8], "little")
        path.write_bytes(data[:offset] + bytes(b ^ 0xFF for b in data[offset : offset + 64]) + data[offset + 64 :])
    elif kind == "plain safetensors":
        save_file({"weights": np.zeros(3)}, path)
    elif kind == "plain npz":
        with open(path, "wb") as file:
            np.savez(file, weights=np.zeros(3))
    elif kind == "npy":
        with open(path, "wb") as file:
            np.save(file, np.zeros(3))
    elif kind == "damaged meta":
        save_file({"leaf_0": np.zeros(3)}, path, metadata={"gymx": "{not json"})
    elif kind == "foreign meta":
        meta = {"format": 2, "algo": "a2c", "env_id": "CartPole-v1", "seeds": [0], "config": {}}
        save_file({"leaf_0": np.zeros(3)}, path, metadata={"gymx": json.dumps(meta)})
    return path


@pytest.mark.parametrize(
    ("kind", "says"),
    [
        ("missing", "no such file"),
        ("directory", "is a directory"),
        ("random bytes", "not a gymx checkpoint"),
        ("truncated", "truncated or damaged"),
        ("damaged member", "is damaged"),
        ("plain safetensors", "without gymx's 'gymx' metadata"),
        ("plain npz", "without gymx's 'meta' entry"),
        ("npy", "a single .npy array"),
        ("damaged meta", "damaged metadata"),
        ("foreign meta", "unknown algorithm 'a2c'"),
    ],
)
def test_eval_names_the_file_and_the_fault_in_one_line(
    kind: str, says: str, saved_checkpoint: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = unreadable(kind, tmp_path, saved_checkpoint)
    assert main(["eval", str(path), "--episodes", "1"]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err.count("\n") == 1, captured.err
    assert captured.err.startswith(f"gymx eval: {path}: ") and says in captured.err, captured.err
    with pytest.raises(checkpoint.CheckpointError):
        checkpoint.load(path)


def test_eval_reads_a_good_checkpoint_and_reports_the_threshold(
    saved_checkpoint: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["eval", str(saved_checkpoint), "--episodes", "2"]) == 0
    assert "reward threshold 475 (from CartPole-v1's spec)" in capsys.readouterr().out
