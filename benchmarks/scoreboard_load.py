"""Scoreboard load: 50 concurrent uploads against SQLite (the default) and PostgreSQL, and one 1,000-episode CartPole verification.

    python benchmarks/scoreboard_load.py [--postgres postgresql://USER:PASSWORD@127.0.0.1/DB] [--uploads 50]

Each upload is a distinct 5-seed CartPole bundle (no policy), posted at once from `--uploads` threads to a
live uvicorn server on loopback, each retried once with its idempotency key; the script checks that every
bundle is stored exactly once and prints p50/p99 latency of the first posts. The PostgreSQL database is
emptied first. The verification is the worker process (start and compile included) re-running a 5-seed
policy on 1,000 episodes per seed.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gymx.scoreboard import bundle, db, verify
from gymx.scoreboard.app import create_app
from gymx.scoreboard.store import Store
from tests.gymx.scoreboard.conftest import LiveServer, constant_policy, synthetic_dir


def load(database: str | None, uploads: int, root: Path) -> dict:
    if database is not None:
        db.downgrade(db.database_url(database, root))
    store = Store(database, root / "data")
    keys = [store.add_user(f"user{i}", rate_per_minute=1000) for i in range(uploads)]
    bundles = [
        bundle.pack(synthetic_dir(root / f"run{i}", 20.0 + i, offset=i), "CartPole-v1", "load") for i in range(uploads)
    ]
    with LiveServer(create_app(store, verify_in_background=False)) as server:

        def post(i: int) -> tuple[float, int, int]:
            headers = {"Authorization": f"Bearer {keys[i]}", "Idempotency-Key": f"load-{i:06d}"}
            start = time.perf_counter()
            response = httpx.post(server.url + "/api/uploads", content=bundles[i], headers=headers, timeout=120)
            latency = time.perf_counter() - start
            again = httpx.post(server.url + "/api/uploads", content=bundles[i], headers=headers, timeout=120)
            assert response.status_code == 201 and again.status_code == 200, (response.text, again.text)
            assert again.json()["entry_id"] == response.json()["entry_id"]
            return latency, response.json()["entry_id"], i

        with concurrent.futures.ThreadPoolExecutor(uploads) as pool:
            results = list(pool.map(post, range(uploads)))
    board = store.board("CartPole-v1")
    stored = board["ranked"] + board["others"]
    assert len(stored) == uploads and len({r[1] for r in results}) == uploads, "an upload was lost or stored twice"
    store.close()
    latencies = np.asarray([r[0] for r in results])
    return {
        "p50_ms": 1000 * np.percentile(latencies, 50),
        "p99_ms": 1000 * np.percentile(latencies, 99),
        "stored": len(stored),
    }


def verification_wall_s() -> float:
    spec, weights = constant_policy(5)
    start = time.perf_counter()
    outcome = verify.run_worker("CartPole-v1", spec, weights, bytes(8), verify.EPISODES)
    assert "seed_means" in outcome, outcome
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=None)
    parser.add_argument("--uploads", type=int, default=50)
    args = parser.parse_args()
    for name, database in [("SQLite (WAL)", None), ("PostgreSQL", args.postgres)]:
        if name == "PostgreSQL" and database is None:
            continue
        with tempfile.TemporaryDirectory() as root:
            result = load(database, args.uploads, Path(root))
        print(
            f"{args.uploads} concurrent uploads, {name}: stored {result['stored']} once each, p50 {result['p50_ms']:.0f} ms, p99 {result['p99_ms']:.0f} ms"
        )
    print(
        f"verification of {verify.EPISODES} CartPole-v1 episodes x 5 seeds (worker process, compile included): {verification_wall_s():.1f} s"
    )


if __name__ == "__main__":
    main()
