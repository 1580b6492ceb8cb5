"""Scoreboard fixtures: stores on a temporary SQLite database (and PostgreSQL when GYMX_TEST_POSTGRES_URL is set), synthetic Monitor runs, a live server."""

from __future__ import annotations

import os
import socket
import threading
import time
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("sqlalchemy")

from gymx.scoreboard import db
from gymx.scoreboard.store import Store

POSTGRES = os.environ.get("GYMX_TEST_POSTGRES_URL")
BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not POSTGRES, reason="GYMX_TEST_POSTGRES_URL is not set")),
]


def empty_database(backend: str, tmp_path: Path) -> str | None:
    """The --database value of an empty database of `backend` (PostgreSQL: the test database, emptied; one per xdist worker)."""
    if backend == "sqlite":
        return None
    url = POSTGRES
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker:
        import sqlalchemy as sa

        url = f"{POSTGRES.rsplit('/', 1)[0]}/{POSTGRES.rsplit('/', 1)[1]}_{worker}"
        engine = db.make_engine(db.database_url(POSTGRES, tmp_path)).execution_options(isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            name = url.rsplit("/", 1)[1]
            if (
                connection.execute(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar()
                is None
            ):
                connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        engine.dispose()
    db.downgrade(db.database_url(url, tmp_path))
    return url


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    opened = Store(empty_database(request.param, tmp_path), tmp_path / "data")
    yield opened
    opened.close()


def write_run(
    directory: Path,
    seed: int,
    returns: np.ndarray,
    lengths: np.ndarray | None = None,
    num_envs: int = 4,
    env_id: str = "CartPole-v1",
) -> None:
    """A closed Monitor run of `returns` (training episodes, spread over `num_envs` envs in turn)."""
    from gymx.monitor import RunLog
    from gymx.vector import AutoresetMode, make_vec

    returns = np.asarray(returns, np.float32)
    lengths = (
        np.maximum(1, np.minimum(500, np.round(returns))).astype(np.int32)
        if lengths is None
        else np.asarray(lengths, np.int32)
    )
    env_index = np.arange(len(returns)) % num_envs
    # Each env's episodes run back to back; the batch had taken num_envs steps per step of each env.
    per_env_end = np.zeros(len(returns), np.int64)
    for env in range(num_envs):
        mine = env_index == env
        per_env_end[mine] = np.cumsum(lengths[mine])
    steps = np.maximum.accumulate(per_env_end * num_envs)
    run = RunLog(
        str(directory),
        f"seed{seed}",
        make_vec(env_id, num_envs, AutoresetMode.SAME_STEP),
        seed=seed,
        algorithm_id="test",
    )
    run.append(env_index, returns, lengths, steps, np.linspace(0.1, 1.0, len(returns)))
    run.close()


def synthetic_dir(directory: Path, level: float, seeds: int = 5, episodes: int = 120, offset: int = 0) -> Path:
    """`seeds` runs whose returns sit near `level` (seed i: level + i, so every directory's logs differ)."""
    directory.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(int(level * 1000) + offset)
    for seed in range(seeds):
        write_run(directory, seed + offset, np.clip(level + seed + rng.normal(0, 0.5, episodes), 8, 500).round())
    return directory


def constant_policy(seeds: int = 5) -> tuple[bytes, bytes]:
    """(policy.json, policy.safetensors) of a CartPole MLP that always pushes left (greedy return about 9.4)."""
    import json

    from safetensors.numpy import save

    from gymx.scoreboard.policy import POLICY_FORMAT

    spec = {"format": POLICY_FORMAT, "algo": "ppo", "network": "mlp", "activation": "tanh", "hidden_sizes": [8], "head": "argmax",
            "normalize_observations": False, "seeds": list(range(seeds))}  # fmt: skip
    tensors = {
        "layer_0.w": np.zeros((seeds, 4, 8), np.float32),
        "layer_0.b": np.zeros((seeds, 8), np.float32),
        "layer_1.w": np.zeros((seeds, 8, 2), np.float32),
        "layer_1.b": np.tile(np.asarray([1.0, 0.0], np.float32), (seeds, 1)),
    }
    return json.dumps(spec).encode(), save(tensors)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveServer:
    """The app under uvicorn in a thread, on a free loopback port."""

    def __init__(self, app):
        import uvicorn

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the scoreboard server did not start")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)
