"""`gymx train --devices N` and `--processes N`: envs split over devices, or one program over several
processes, train as one device does (to rounding); requests the machine or job cannot meet are refused.

A process's CPU device count is fixed when JAX's backend starts, so the multi-device runs happen in
fresh subprocesses; the tests compare their checkpoints here.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

from gymx.cli import main
from gymx.train import agents, checkpoint, distributed, rundir

# Four PPO iterations of the packaged CartPole-v1 config: parameters agree to ~1e-7 across device
# counts (the split all-reduces round differently), far inside the tolerance, and a sampled action
# has not flipped yet (later, runs that round differently go their own ways; see gymx/train/runner.py).
# With a best-policy choice after each chunk and a final evaluation: evaluations of states that lie on
# several devices (or processes).
PPO_RUN = ["--total-steps", "1024", "--chunks", "2", "--eval-episodes", "2", "--select-episodes", "2"]
QUIET = ["--no-plot", "--quiet"]
TOLERANCE = 1e-5

# A small DQN (8 iterations, updates from the third on, an in-loop evaluation of 3 episodes every 4
# iterations, which do not split over 2 devices), so that two compiles stay short.
DQN_CONFIG = """\
total_steps = 256
num_envs = 4
train_frequency = 8
gradient_steps = 8
buffer_size = 1000
batch_size = 16
learning_starts = 64
learning_rate = 1e-3
anneal_lr = false
max_grad_norm = 10.0
gamma = 0.99
target_update_period = 2
tau = 1.0
double_dqn = true
epsilon_start = 1.0
epsilon_end = 0.05
exploration_fraction = 0.5
hidden_sizes = [32]
activation = "relu"
eval_period = 4
eval_episodes = 3
"""

# One subprocess: --devices 2 first (it sets the CPU device count before JAX starts), then the
# same runs on one of those devices, then a config whose envs do not split over 2 devices.
DEVICES_SCRIPT = """
import sys
from gymx.cli import main
out, dqn_config, odd_config, ppo_run, quiet = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:12], sys.argv[12:]
dqn_run = ["--config", dqn_config, "--chunks", "2", "--eval-episodes", "0", "--select-episodes", "0"]
for devices in ("2", "1"):
    assert main(["train", "ppo", "CartPole-v1", "--devices", devices, *ppo_run, *quiet, "--out", f"{out}/ppo{devices}"]) == 0
    assert main(["train", "dqn", "CartPole-v1", "--devices", devices, *dqn_run, *quiet, "--out", f"{out}/dqn{devices}"]) == 0
assert main(["train", "dqn", "CartPole-v1", "--devices", "2", "--config", odd_config, *quiet, "--out", f"{out}/odd"]) == 2
"""


def params(run: Path) -> list[np.ndarray]:
    _, states, _ = checkpoint.load(run / rundir.CHECKPOINT)
    return [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(states.params)]


def largest_difference(a: list[np.ndarray], b: list[np.ndarray]) -> float:
    assert [x.shape for x in a] == [y.shape for y in b]
    return max(float(np.max(np.abs(x - y), initial=0.0)) for x, y in zip(a, b))


@pytest.fixture(scope="module")
def device_runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, subprocess.CompletedProcess[str]]:
    out = tmp_path_factory.mktemp("devices")
    (out / "dqn.toml").write_text(DQN_CONFIG)
    (out / "odd.toml").write_text(DQN_CONFIG.replace("num_envs = 4", "num_envs = 3"))
    args = [str(out / "dqn.toml"), str(out / "odd.toml"), *PPO_RUN, *QUIET]
    result = subprocess.run(
        [sys.executable, "-c", DEVICES_SCRIPT, str(out), *args], capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.mark.parametrize("algo", ["ppo", "dqn"])
def test_two_devices_train_as_one_device(device_runs: tuple[Path, subprocess.CompletedProcess[str]], algo: str) -> None:
    out, result = device_runs
    assert "envs split over 2 x cpu devices" in result.stdout
    assert largest_difference(params(out / f"{algo}2"), params(out / f"{algo}1")) < TOLERANCE


def test_envs_that_do_not_split_over_the_devices_are_refused(
    device_runs: tuple[Path, subprocess.CompletedProcess[str]],
) -> None:
    out, result = device_runs
    assert "gymx train: the config's num_envs=3 does not split over 2 devices" in result.stderr
    assert not (out / "odd").exists()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_two_processes_on_loopback_train_as_one_process(
    device_runs: tuple[Path, subprocess.CompletedProcess[str]], tmp_path: Path
) -> None:
    out, _ = device_runs
    coordinator = f"127.0.0.1:{free_port()}"
    environment = {**os.environ, "JAX_PLATFORMS": "cpu"}
    command = [sys.executable, "-m", "gymx.cli", "train", "ppo", "CartPole-v1", *PPO_RUN, *QUIET]
    command += ["--out", str(tmp_path / "run"), "--processes", "2", "--coordinator", coordinator]
    processes = [
        subprocess.Popen(
            [*command, "--process-id", str(rank)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=environment,
        )
        for rank in (0, 1)
    ]
    outputs = [process.communicate(timeout=600) for process in processes]
    for process, (_, stderr) in zip(processes, outputs):
        assert process.returncode == 0, stderr[-3000:]
    assert "2 processes (this is process 1)" in outputs[1][0]
    # Only process 0 wrote the run folder; process 1 wrote its copies to a scratch folder.
    assert str(tmp_path / "run") in outputs[0][0] and str(tmp_path / "run") not in outputs[1][0]
    assert largest_difference(params(tmp_path / "run"), params(out / "ppo1")) < TOLERANCE
    assert (tmp_path / "run" / rundir.BEST).exists()


def test_bad_device_and_process_requests_get_clear_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run = ["train", "ppo", "CartPole-v1", "--out", str(tmp_path / "run"), *QUIET]
    # This process's backend already runs with jax.local_device_count() CPU devices.
    many = str(jax.local_device_count() + 1)
    assert main([*run, "--devices", many]) == 2
    error = capsys.readouterr().err
    assert f"{many} devices asked for" in error and "jax_num_cpu_devices" in error
    assert main([*run, "--devices", "0"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert main([*run, "--processes", "2", "--process-id", "2"]) == 2
    assert "process id must be in 0..1, got 2" in capsys.readouterr().err
    assert main([*run, "--processes", "2", "--process-id", "0"]) == 2  # JAX already computes in this process
    assert "before JAX first computes" in capsys.readouterr().err
    monkeypatch.setenv(distributed.NUM_PROCESSES_VAR, "two")
    assert main(run) == 2
    assert "JAX_NUM_PROCESSES='two' is not an integer" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--resume continues a run in one process"):
        main([*run, "--resume", "--processes", "2"])
    assert not (tmp_path / "run").exists()
    with pytest.raises(distributed.DistributedError, match="num_envs=8 does not split over 3 devices"):
        distributed.check_num_envs(agents.load_config("ppo", "CartPole-v1"), jax.devices()[:1] * 3)
