"""The upload API and the boards through an HTTP client, against each database backend; every bad input is its own test."""

from __future__ import annotations

import csv
import io
import json
import os
import pickle
import tarfile

import numpy as np
import pytest
from fastapi.testclient import TestClient

from gymx.scoreboard import bundle, keys, scoring, verify
from gymx.scoreboard.app import create_app, render_markdown

from .conftest import constant_policy, synthetic_dir, write_run


@pytest.fixture
def client(store):
    with TestClient(create_app(store, max_upload_bytes=2_000_000, verify_in_background=False)) as test_client:
        test_client.key = store.add_user("alice")
        yield test_client


def post(client, data, key=None, idempotency_key="request-0001", **headers):
    headers = {"Authorization": f"Bearer {key or client.key}", "Idempotency-Key": idempotency_key, **headers}
    return client.post("/api/uploads", content=data, headers=headers)


def retar(data: bytes, edit) -> bytes:
    """The bundle `data` with its members passed through `edit(members) -> members` ((TarInfo, bytes) pairs)."""
    members = []
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        for info in tar:
            members.append((info, tar.extractfile(info).read() if info.isreg() else b""))
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for info, content in edit(members):
            info.size = len(content) if info.isreg() else 0
            tar.addfile(info, io.BytesIO(content) if info.isreg() else None)
    return out.getvalue()


def assert_nothing_stored(client, store) -> None:
    assert client.get("/api/envs").json() == []
    assert not [p for p in store.files_dir.rglob("*") if p.is_file()]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return {
        name: synthetic_dir(root / name, level, offset=i)
        for i, (name, level) in enumerate([("a", 9.0), ("b", 40.0), ("c", 80.0)])
    }


def test_upload_creates_an_entry_with_iqm_and_ci(client, store, runs):
    data = bundle.pack(
        runs["b"], "CartPole-v1", "ppo", code_url="https://example.org/code", command="gymx train ppo CartPole-v1"
    )
    response = post(client, data)
    assert response.status_code == 201, response.text
    answer = response.json()
    entry = client.get(f"/api/entries/{answer['entry_id']}").json()
    assert entry["status"] == "unverified" and entry["seeds"] == 5
    expected = [
        float(np.mean(np.clip(40 + s + np.random.default_rng(40001).normal(0, 0.5, 120), 8, 500).round()[-100:]))
        for s in range(5)
    ]
    assert entry["seed_scores"] == pytest.approx(
        expected, abs=3
    )  # the fixture's noise is drawn per directory, not per seed
    assert entry["iqm"] == pytest.approx(scoring.iqm(entry["seed_scores"]))
    assert entry["ci_low"] <= entry["iqm"] <= entry["ci_high"]
    # Stored by hash: the archive itself and each of its files.
    assert (store.blob_path(bundle.sha256(data))).read_bytes() == data
    assert not client.get("/api/boards/CartPole-v1").json()["ranked"]  # unverified: listed, not ranked


def test_idempotent_retry_returns_the_same_entry(client, runs):
    data = bundle.pack(runs["a"], "CartPole-v1", "ppo")
    first, again = post(client, data), post(client, data)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["entry_id"] == first.json()["entry_id"]
    assert len(client.get("/api/boards/CartPole-v1").json()["others"]) == 1


def test_idempotency_key_reused_for_another_bundle(client, runs):
    assert post(client, bundle.pack(runs["a"], "CartPole-v1", "ppo")).status_code == 201
    response = post(client, bundle.pack(runs["b"], "CartPole-v1", "ppo"))
    assert response.status_code == 422 and "Idempotency-Key" in response.json()["error"]


def test_missing_idempotency_key(client, store, runs):
    response = client.post(
        "/api/uploads",
        content=bundle.pack(runs["a"], "CartPole-v1", "ppo"),
        headers={"Authorization": f"Bearer {client.key}"},
    )
    assert response.status_code == 400 and "Idempotency-Key" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_wrong_key(client, store, runs):
    data = bundle.pack(runs["a"], "CartPole-v1", "ppo")
    assert post(client, data, key=keys.new_key()).status_code == 401
    assert client.post("/api/uploads", content=data, headers={"Idempotency-Key": "request-0001"}).status_code == 401
    # A key in the body or query string is never read.
    assert (
        client.post(
            f"/api/uploads?key={client.key}", content=data, headers={"Idempotency-Key": "request-0001"}
        ).status_code
        == 401
    )
    assert_nothing_stored(client, store)


def test_revoked_key(client, store, runs):
    assert store.revoke_key(client.key) == 1
    response = post(client, bundle.pack(runs["a"], "CartPole-v1", "ppo"))
    assert response.status_code == 401 and "revoked" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_keys_are_prefixed_and_stored_hashed(store):
    key = store.add_user("bob")
    assert key.startswith("gymxsb_") and len(key) > 40
    from sqlalchemy import select

    from gymx.scoreboard import db

    with store.Session() as session:
        stored = [row.key_hash for row in session.scalars(select(db.ApiKey))]
    assert key not in stored and keys.hash_key(key) in stored


def test_rate_limit_per_key(store, runs):
    key = store.add_user("quick", rate_per_minute=2)
    with TestClient(create_app(store, verify_in_background=False)) as client:
        data = bundle.pack(runs["a"], "CartPole-v1", "ppo")
        answers = [post(client, data, key=key).status_code for _ in range(3)]
    assert answers[:2] == [201, 200] and answers[2] == 429


def test_oversized_body_with_content_length(client, store):
    response = post(client, b"x" * 2_000_001)
    assert response.status_code == 413
    assert_nothing_stored(client, store)


def test_oversized_body_without_content_length(client, store):
    def chunks():
        for _ in range(30):
            yield b"x" * 100_000

    response = post(client, chunks())  # a generator body goes out chunked, with no Content-Length
    assert response.status_code == 413
    assert_nothing_stored(client, store)


def test_malformed_body(client, store):
    response = post(client, b"not an archive at all")
    assert response.status_code == 400 and "archive" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_archive_with_parent_path(client, store, runs):
    def traverse(members):
        _info, content = members[1]
        evil = tarfile.TarInfo("run/../../evil.json")
        return [*members, (evil, content)]

    response = post(client, retar(bundle.pack(runs["a"], "CartPole-v1", "ppo"), traverse))
    assert response.status_code == 400 and "unsafe path" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_archive_with_symlink(client, store, runs):
    def link(members):
        info = tarfile.TarInfo("writeup.md")
        info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
        return [*members, (info, b"")]

    response = post(client, retar(bundle.pack(runs["a"], "CartPole-v1", "ppo"), link))
    assert response.status_code == 400 and "not a regular file" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_zip_with_symlink(client, store):
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        info = zipfile.ZipInfo("writeup.md")
        info.external_attr = (0o120777) << 16
        archive.writestr(info, "/etc/passwd")
    response = post(client, out.getvalue())
    assert response.status_code == 400 and "not a regular file" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_hashes_that_do_not_match(client, store, runs):
    def tamper(members):
        out = []
        for info, content in members:
            if info.name.startswith("run/gymx.manifest."):
                content = content.replace(b'"algorithm_id": "test"', b'"algorithm_id": "best"')
            out.append((info, content))
        return out

    response = post(client, retar(bundle.pack(runs["a"], "CartPole-v1", "ppo"), tamper))
    assert response.status_code == 422 and "SHA-256" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_unlisted_file(client, store, runs):
    response = post(
        client,
        retar(bundle.pack(runs["a"], "CartPole-v1", "ppo"), lambda m: [*m, (tarfile.TarInfo("writeup.md"), b"hi")]),
    )
    assert response.status_code == 422 and "omits ['writeup.md']" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_replayed_bundle(client, runs):
    data = bundle.pack(runs["a"], "CartPole-v1", "ppo")
    assert post(client, data).status_code == 201
    response = post(client, data, idempotency_key="request-0002")
    assert response.status_code == 409 and "replay" in response.json()["error"]


def test_replayed_logs_in_a_new_bundle(client, runs, tmp_path):
    assert post(client, bundle.pack(runs["a"], "CartPole-v1", "ppo")).status_code == 201
    writeup = tmp_path / "w.md"
    writeup.write_text("same runs, new text")
    response = post(
        client, bundle.pack(runs["a"], "CartPole-v1", "ppo", writeup=writeup), idempotency_key="request-0002"
    )
    assert response.status_code == 409 and "episode log" in response.json()["error"]
    assert len(client.get("/api/boards/CartPole-v1").json()["others"]) == 1


def test_nan_returns(client, store, tmp_path):
    returns = np.full(120, 20.0)
    returns[50] = np.nan
    write_run(tmp_path, 0, returns, lengths=np.full(120, 20))
    response = post(client, bundle.pack(tmp_path, "CartPole-v1", "ppo"))
    assert response.status_code == 422 and "non-finite" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_lengths_beyond_the_time_limit(client, store, tmp_path):
    write_run(tmp_path, 0, np.full(10, 20.0), lengths=np.full(10, 600))
    response = post(client, bundle.pack(tmp_path, "CartPole-v1", "ppo"))
    assert response.status_code == 422 and "time limit" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_steps_that_do_not_add_up(client, store, tmp_path):
    from gymx.monitor import RunLog
    from gymx.vector import AutoresetMode, make_vec

    run = RunLog(str(tmp_path), "seed0", make_vec("CartPole-v1", 1, AutoresetMode.SAME_STEP), seed=0)
    run.append(
        np.zeros(3), np.full(3, 100.0), np.full(3, 100), np.asarray([100, 150, 300]), 1.0
    )  # 300 steps of episodes by step 150
    run.close()
    response = post(client, bundle.pack(tmp_path, "CartPole-v1", "ppo"))
    assert response.status_code == 422 and "add up" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_unknown_env_id(client, store, runs):
    response = post(client, bundle.pack(runs["a"], "CartPole-v9", "ppo"))
    assert response.status_code == 422 and "unknown env id 'CartPole-v9'" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_env_id_that_differs_from_the_logs(client, store, runs):
    response = post(client, bundle.pack(runs["a"], "Acrobot-v1", "ppo"))
    assert response.status_code == 422 and "CartPole-v1" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_pickle_renamed_to_safetensors(client, store, runs):
    spec, _ = constant_policy()
    response = post(
        client, bundle.pack(runs["a"], "CartPole-v1", "ppo", policy=(spec, pickle.dumps({"w": np.zeros(3)})))
    )
    assert response.status_code == 422 and "safetensors" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_policy_that_does_not_fit_the_env(client, store, runs):
    from safetensors.numpy import save

    spec, weights = constant_policy()
    from safetensors.numpy import load

    tensors = load(weights)
    tensors["layer_0.w"] = np.zeros((5, 3, 8), np.float32)  # CartPole observations have 4 numbers
    response = post(client, bundle.pack(runs["a"], "CartPole-v1", "ppo", policy=(spec, save(tensors))))
    assert response.status_code == 422 and "layer_0.w" in response.json()["error"]
    assert_nothing_stored(client, store)


def test_script_writeup_is_sanitised(client, runs, tmp_path):
    writeup = tmp_path / "writeup.md"
    writeup.write_text(
        "# Method\n\n<script>alert(1)</script>\n\n[x](javascript:alert(2)) <img src=x onerror=alert(3)>\n\n**bold**"
    )
    entry_id = post(client, bundle.pack(runs["a"], "CartPole-v1", "ppo", writeup=writeup)).json()["entry_id"]
    page = client.get(f"/entries/{entry_id}")
    assert page.status_code == 200
    assert "<script" not in page.text and 'href="javascript' not in page.text and "<img src=x" not in page.text
    assert "<strong>bold</strong>" in page.text and "&lt;script&gt;" in page.text
    assert (
        "script-src" not in page.headers["content-security-policy"]
        and "default-src 'none'" in page.headers["content-security-policy"]
    )


def test_render_markdown_drops_raw_html():
    html = render_markdown("<div onclick='x()'>hi</div>\n\n<b>b</b> *e*")
    assert "<div" not in html and "<b>" not in html and "<em>e</em>" in html


def test_board_ranks_verified_entries_one_per_user(client, store, runs, tmp_path):
    policy = constant_policy()
    ids = {}
    for name in ("a", "b"):
        response = post(
            client, bundle.pack(runs[name], "CartPole-v1", "ppo", policy=policy), idempotency_key=f"request-{name}-0001"
        )
        assert response.status_code == 201 and response.json()["status"] == "pending"
        ids[name] = response.json()["entry_id"]
    few = synthetic_dir(tmp_path / "few", 9.0, seeds=3, offset=7)
    ids["few"] = post(
        client, bundle.pack(few, "CartPole-v1", "ppo", policy=constant_policy(3)), idempotency_key="request-few-01"
    ).json()["entry_id"]
    records = {}
    for name, entry_id in ids.items():
        # Not the re-run itself (tested end to end): its outcome, recorded and signed by the store.
        records[name] = fake_verification(store, entry_id, rerun=11.0)
    board = client.get("/api/boards/CartPole-v1").json()
    # a (claims ~11) re-runs at 11, within tolerance; b claims ~42: disputed; few: 3 seeds.
    assert [row["entry_id"] for row in board["ranked"]] == [ids["a"]]
    why = {row["entry_id"]: row["why_unranked"] for row in board["others"]}
    assert why == {ids["b"]: "disputed", ids["few"]: "3 seed(s), fewer than 5"}
    # A later verified entry of the same user takes the place of the earlier one.
    later = synthetic_dir(tmp_path / "later", 8.0, offset=9)
    later_id = post(
        client, bundle.pack(later, "CartPole-v1", "ppo", policy=policy), idempotency_key="request-later-1"
    ).json()["entry_id"]
    fake_verification(store, later_id, rerun=11.0)
    board = client.get("/api/boards/CartPole-v1").json()
    assert [row["entry_id"] for row in board["ranked"]] == [later_id]
    assert {row["entry_id"]: row["why_unranked"] for row in board["others"]}[
        ids["a"]
    ] == "superseded by the user's later entry"

    exported = client.get("/api/boards/CartPole-v1/export.json").json()
    record = exported["records"][str(later_id)]
    assert verify.check_signature(record["verification"], record["signature"], exported["public_key"])
    forged = dict(record["verification"], verified_iqm=500.0)
    assert not verify.check_signature(forged, record["signature"], exported["public_key"])
    rows = list(csv.DictReader(io.StringIO(client.get("/api/boards/CartPole-v1/export.csv").text)))
    assert rows[0]["rank"] == "1" and rows[0]["entry_id"] == str(later_id) and len(rows) == 4
    suite = client.get("/api/suites/classic_control").json()
    assert suite["rows"][0]["scores"]["CartPole-v1"] == pytest.approx(
        scoring.normalised("CartPole-v1", board["ranked"][0]["iqm"], "classic_control")
    )
    for path in ("/", "/boards/CartPole-v1", f"/entries/{later_id}", "/suites/classic_control"):
        assert client.get(path).status_code == 200, path


def fake_verification(store, entry_id, rerun):
    """Records a re-run outcome as `verify_entry` would, without starting a worker."""
    from unittest import mock

    with mock.patch.object(
        verify, "run_worker", return_value={"seed_means": [rerun] * store.get_entry(entry_id).num_seeds}
    ):
        return store.verify_entry(entry_id)


def test_unknown_entry_and_file(client):
    assert client.get("/api/entries/999").status_code == 404
    assert client.get("/files/" + "0" * 64).status_code == 404
    assert client.get("/files/..%2F..%2Fetc%2Fpasswd").status_code == 404


def test_curves_image(client, runs):
    entry_id = post(client, bundle.pack(runs["c"], "CartPole-v1", "ppo")).json()["entry_id"]
    image = client.get(f"/entries/{entry_id}/curves.png")
    assert image.status_code == 200 and image.content.startswith(b"\x89PNG")


def test_bundle_json_is_kept(client, runs):
    entry_id = post(client, bundle.pack(runs["c"], "CartPole-v1", "ppo", command="gymx train")).json()["entry_id"]
    entry = client.get(f"/api/entries/{entry_id}").json()
    manifest = json.loads(client.get(f"/files/{entry['files']['bundle.json']}").content)
    assert manifest["command"] == "gymx train" and entry["command"] == "gymx train"


def test_archive_member_names(tmp_path):
    for name in ("../x", "/abs", "run/a/../b.json", "run/.hidden.json", "other.txt", "run/x.py"):
        with pytest.raises(bundle.BundleError):
            bundle._check_name(name)
    bundle._check_name("run/gymx.episodes.seed0.bin")


def test_keys_bearer_header():
    assert keys.bearer("Bearer gymxsb_abc") == "gymxsb_abc"
    assert keys.bearer("Basic gymxsb_abc") is None and keys.bearer("Bearer abc") is None and keys.bearer(None) is None


# Legacy uploads: the original Gym monitor's openaigym.* files (written here by gymx.monitor.export_gym_files).


def legacy_copy(runs_dir, out, edit=None):
    """The openaigym.* files of the Monitor directory `runs_dir` in `out`; `edit(name, json) -> json` changes each file's content."""
    from gymx.monitor import export_gym_files

    for path in export_gym_files(str(runs_dir), str(out)):
        if edit is not None:
            with open(path) as f:
                content = json.load(f)
            with open(path, "w") as f:
                json.dump(edit(os.path.basename(path), content), f)
    return out


def test_legacy_upload_scores_like_the_gymx_logs_it_came_from(client, store, runs, tmp_path):
    legacy = legacy_copy(runs["c"], tmp_path / "legacy")
    data = bundle.pack(legacy, "CartPole-v1", "ppo")
    assert all(
        name.startswith(("run/openaigym.", "bundle.json")) for name in tarfile.open(fileobj=io.BytesIO(data)).getnames()
    )
    response = post(client, data)
    assert response.status_code == 201, response.text
    entry = client.get(f"/api/entries/{response.json()['entry_id']}").json()
    gymx_bundle = tmp_path / "gymx.tar.gz"
    gymx_bundle.write_bytes(bundle.pack(runs["c"], "CartPole-v1", "ppo"))
    expected = bundle.check(str(gymx_bundle)).seed_scores
    assert entry["seeds"] == 5 and entry["seed_scores"] == pytest.approx(expected)
    assert entry["iqm"] == pytest.approx(scoring.iqm(expected))
    assert client.get(f"/entries/{entry['entry_id']}/curves.png").content.startswith(b"\x89PNG")
    # The same episodes again, now as gymx's logs: a replay.
    again = post(client, bundle.pack(runs["c"], "CartPole-v1", "ppo"), idempotency_key="request-0002")
    assert again.status_code == 409 and "episode" in again.json()["error"]


def _set(key, value, stats_only=True):
    def edit(name, content):
        if ("stats" in name) == stats_only:
            content[key] = value(content) if callable(value) else value
        return content

    return edit


@pytest.mark.parametrize(
    "edit, message",
    [
        (_set("episode_rewards", lambda c: [float("nan"), *c["episode_rewards"][1:]]), "non-finite returns"),
        (_set("episode_lengths", lambda c: [501, *c["episode_lengths"][1:]]), "fall outside 1..500"),
        (
            _set("episode_lengths", lambda c: [float(x) for x in c["episode_lengths"]]),
            "episode_lengths must be a list of integers",
        ),
        (_set("episode_rewards", lambda c: c["episode_rewards"][1:]), "differ in length"),
        (_set("episode_types", lambda c: ["x"] * len(c["episode_rewards"])), "episode_types"),
        (_set("timestamps", lambda c: c["timestamps"][::-1]), "timestamps must be finite, in order"),
        (
            _set("env_info", {"env_id": "Acrobot-v1", "gym_version": "0.9.1"}, stats_only=False),
            "is of env 'Acrobot-v1'",
        ),
        (_set("stats", "openaigym.episode_batch.missing.stats.json", stats_only=False), "not in the bundle"),
        (
            _set("videos", [["openaigym.video.0.mp4", "openaigym.video.0.meta.json"]], stats_only=False),
            "videos that are not in the bundle",
        ),
    ],
    ids=[
        "nan-return",
        "too-long",
        "float-length",
        "ragged",
        "bad-type",
        "unordered-time",
        "other-env",
        "no-stats",
        "no-video",
    ],
)
def test_malformed_legacy_upload_is_refused(client, store, runs, tmp_path, edit, message):
    response = post(client, bundle.pack(legacy_copy(runs["a"], tmp_path / "legacy", edit), "CartPole-v1", "ppo"))
    assert response.status_code == 422 and message in response.json()["error"], response.text
    assert_nothing_stored(client, store)


def test_legacy_upload_of_an_unknown_env_tampered_or_duplicated_is_refused(client, store, runs, tmp_path):
    legacy = legacy_copy(runs["a"], tmp_path / "legacy")
    response = post(client, bundle.pack(legacy, "NoSuchEnv-v0", "ppo"))
    assert response.status_code == 422 and "unknown env id" in response.json()["error"]

    def tamper(members):
        return [
            (
                info,
                content.replace(b'"episode_rewards": [', b'"episode_rewards": [500.0, ', 1)
                if "stats" in info.name
                else content,
            )
            for info, content in members
        ]

    response = post(client, retar(bundle.pack(legacy, "CartPole-v1", "ppo"), tamper))
    assert response.status_code == 422 and "does not match its SHA-256" in response.json()["error"]
    # One run's files copied under a second run id: the same episodes twice.
    twice = tmp_path / "twice"
    twice.mkdir()
    for name in ("openaigym.manifest.seed0.manifest.json", "openaigym.episode_batch.seed0.stats.json"):
        (twice / name).write_bytes((legacy / name).read_bytes())
        (twice / name.replace("seed0", "seed9")).write_text((legacy / name).read_text().replace("seed0", "seed9"))
    response = post(client, bundle.pack(twice, "CartPole-v1", "ppo"))
    assert response.status_code == 422 and "hold the same episodes" in response.json()["error"]
    assert_nothing_stored(client, store)
