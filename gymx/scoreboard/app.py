"""The scoreboard's web app (FastAPI): server-rendered pages, a JSON API, uploads and the verification worker.

Pages: `/` (environments and their boards), `/boards/{env_id}`, `/entries/{id}` (learning curves
drawn here with matplotlib, videos, the writeup rendered from Markdown with raw HTML off and then
sanitised, the signed verification record, downloads), `/suites/{name}`. The same under `/api/...`
as JSON, plus `/api/boards/{env_id}/export.csv|json`, `/api/export.json` and `/api/public-key`.

`POST /api/uploads`: the body is a bundle (`gymx.scoreboard.bundle`), with `Authorization: Bearer
KEY` and `Idempotency-Key`. The body is read as it arrives and refused once past the size cap,
whether or not a Content-Length was sent. Answers: 201 (a new entry), 200 (the same request
again: its entry), 400 (malformed), 401 (no, unknown or revoked key), 409 (a replay), 413 (too
large), 422 (fails a check), 429 (over the key's rate, with Retry-After). Nothing is stored unless
every check passes. Every page is sent with a Content-Security-Policy that allows no script.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import queue
import tempfile
import threading
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from gymx.scoreboard import bundle, keys, policy, scoring
from gymx.scoreboard.store import Store, StoreError

MAX_UPLOAD_BYTES = 64 * 1024 * 1024
CSP = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'self' 'unsafe-inline'; form-action 'none'; frame-ancestors 'none'"
_MEDIA_TYPES = {
    ".mp4": "video/mp4",
    ".webm": "video/webm",
    ".json": "application/json",
    ".md": "text/plain; charset=utf-8",
}


def render_markdown(text: str) -> str:
    """Markdown to HTML with raw HTML off (CommonMark via markdown-it-py), then sanitised by nh3."""
    import nh3
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark", {"html": False}).render(text)
    return nh3.clean(html, url_schemes={"http", "https", "mailto"})


class Verifier:
    """One background thread that verifies pending entries one at a time, each in its own worker process."""

    def __init__(self, store: Store, episodes: int):
        self.store = store
        self.episodes = episodes
        self.queue: queue.Queue[int | None] = queue.Queue()
        self.thread = threading.Thread(target=self._run, name="gymx-scoreboard-verifier", daemon=True)

    def start(self) -> None:
        self.thread.start()
        for entry_id in self.store.pending():
            self.queue.put(entry_id)

    def stop(self) -> None:
        self.queue.put(None)
        self.thread.join(timeout=5)

    def _run(self) -> None:
        while (entry_id := self.queue.get()) is not None:
            self.store.verify_entry(entry_id, episodes=self.episodes)


def create_app(
    store: Store,
    max_upload_bytes: int = MAX_UPLOAD_BYTES,
    verify_in_background: bool = True,
    verify_episodes: int | None = None,
) -> FastAPI:
    from jinja2 import Environment, PackageLoader, select_autoescape

    from gymx.scoreboard import verify

    templates = Environment(
        loader=PackageLoader("gymx.scoreboard", "templates"), autoescape=select_autoescape(["html"])
    )
    limiter = keys.RateLimiter()
    verifier = Verifier(store, verify_episodes or verify.EPISODES) if verify_in_background else None
    curves: dict[int, bytes] = {}

    async def lifespan(app: FastAPI):
        if verifier is not None:
            verifier.start()
        yield
        if verifier is not None:
            verifier.stop()

    app = FastAPI(
        title="gymx scoreboard", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url="/api/openapi.json"
    )
    app.state.store = store
    app.state.verifier = verifier

    @app.exception_handler(StoreError)
    async def _store_error(request: Request, error: StoreError) -> JSONResponse:
        return JSONResponse({"error": error.message}, status_code=error.status)

    @app.middleware("http")
    async def _headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "no-referrer"
        return response

    def page(name: str, **context: Any) -> HTMLResponse:
        return HTMLResponse(templates.get_template(name).render(**context))

    def error(status: int, message: str, **headers: str) -> JSONResponse:
        return JSONResponse({"error": message}, status_code=status, headers=headers)

    # Uploads.

    @app.post("/api/uploads")
    async def upload(request: Request) -> JSONResponse:
        key = keys.bearer(request.headers.get("authorization"))
        if key is None:
            return error(401, "gymx: send your API key as 'Authorization: Bearer gymxsb_...'")
        try:
            user, key_hash = await asyncio.to_thread(store.authenticate, key)
        except StoreError as failure:
            return error(failure.status, failure.message)
        allowed, wait = limiter.allow(key_hash, user.rate_per_minute)
        if not allowed:
            return error(
                429,
                f"gymx: over this key's limit of {user.rate_per_minute} requests a minute",
                **{"Retry-After": str(int(wait) + 1)},
            )
        idempotency_key = request.headers.get("idempotency-key", "")
        if not 8 <= len(idempotency_key) <= 128 or not idempotency_key.isascii():
            return error(400, "gymx: an upload needs an Idempotency-Key header of 8 to 128 ASCII characters")
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > max_upload_bytes):
            return error(413, f"gymx: the body is larger than the limit of {max_upload_bytes} bytes")
        fd, path = tempfile.mkstemp(prefix="gymx-upload-")
        try:
            digest, size = hashlib.sha256(), 0
            with os.fdopen(fd, "wb") as spool:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > max_upload_bytes:
                        return error(413, f"gymx: the body is larger than the limit of {max_upload_bytes} bytes")
                    digest.update(chunk)
                    spool.write(chunk)
            if size == 0:
                return error(400, "gymx: the body is empty; send a bundle made by `gymx upload`")
            return await asyncio.to_thread(_accept, user.id, idempotency_key, digest.hexdigest(), path)
        except (bundle.BundleError, StoreError) as failure:
            return error(failure.status, failure.message)
        finally:
            os.unlink(path)

    def _accept(user_id: int, idempotency_key: str, bundle_sha256: str, path: str) -> JSONResponse:
        earlier = store.find_idempotent(user_id, idempotency_key, bundle_sha256)
        if earlier is not None:
            return JSONResponse(_created(earlier), status_code=200)
        store.check_new(bundle_sha256)
        checked = bundle.check(path)
        if "policy.json" in checked.files:
            try:
                spec = policy.parse_spec(checked.files["policy.json"])
                obs_dim, action_dim, head, _, _ = policy.env_dims(checked.env_id)
                if spec["head"] != head:
                    raise policy.PolicyError(
                        f"gymx: {checked.env_id}'s actions need head {head!r}, policy.json says {spec['head']!r}"
                    )
                policy.check(spec, policy.parse_weights(checked.files["policy.safetensors"]), obs_dim, action_dim)
                if len(spec["seeds"]) != len(checked.seed_scores):
                    raise policy.PolicyError(
                        f"gymx: the policy has {len(spec['seeds'])} seeds, the logs {len(checked.seed_scores)}"
                    )
            except policy.PolicyError as failure:
                raise bundle.BundleError(422, str(failure)) from None
        store.check_new(bundle_sha256, checked.log_hashes)
        entry, created = store.add_entry(user_id, idempotency_key, bundle_sha256, Path(path).read_bytes(), checked)
        if created and entry.status == "pending" and verifier is not None:
            verifier.queue.put(entry.id)
        return JSONResponse(_created(entry), status_code=201 if created else 200)

    def _created(entry: Any) -> dict[str, Any]:
        return {
            "entry_id": entry.id,
            "url": f"/entries/{entry.id}",
            "status": entry.status,
            "iqm": entry.iqm,
            "ci": [entry.ci_low, entry.ci_high],
        }

    # JSON API.

    @app.get("/api/envs")
    def api_envs() -> Any:
        return store.envs()

    @app.get("/api/boards/{env_id}")
    def api_board(env_id: str) -> Any:
        return store.board(env_id)

    @app.get("/api/boards/{env_id}/export.json")
    def api_export(env_id: str) -> Any:
        return store.export(env_id)

    @app.get("/api/boards/{env_id}/export.csv")
    def api_export_csv(env_id: str) -> Response:
        headers = {"Content-Disposition": f'attachment; filename="{env_id}.csv"'}
        return Response(store.export_csv(env_id), media_type="text/csv; charset=utf-8", headers=headers)

    @app.get("/api/export.json")
    def api_export_all() -> Any:
        return {"public_key": store.public_key, "boards": [store.export(row["env_id"]) for row in store.envs()]}

    @app.get("/api/entries/{entry_id}")
    def api_entry(entry_id: int) -> Any:
        return store.entry_json(entry_id)

    @app.get("/api/suites/{name}")
    def api_suite(name: str) -> Any:
        return store.suite(name)

    @app.get("/api/public-key")
    def api_public_key() -> Any:
        return {"algorithm": "Ed25519", "public_key": store.public_key}

    @app.get("/files/{sha256}")
    def file(sha256: str, name: str = "") -> Response:
        media = _MEDIA_TYPES.get(os.path.splitext(name)[1], "application/octet-stream")
        headers = (
            {"Content-Disposition": f'attachment; filename="{os.path.basename(name)}"'}
            if media == "application/octet-stream" and name
            else {}
        )
        return Response(store.read_blob(sha256), media_type=media, headers=headers)

    @app.get("/entries/{entry_id}/bundle")
    def entry_bundle(entry_id: int) -> Response:
        entry = store.get_entry(entry_id)
        headers = {"Content-Disposition": f'attachment; filename="entry-{entry_id}.tar.gz"'}
        return Response(store.read_blob(entry.bundle_sha256), media_type="application/gzip", headers=headers)

    @app.get("/entries/{entry_id}/curves.png")
    def entry_curves(entry_id: int) -> Response:
        if entry_id not in curves:
            curves[entry_id] = _plot(store, store.get_entry(entry_id))
        return Response(curves[entry_id], media_type="image/png")

    # Pages.

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return page("envs.html", envs=store.envs(), suites=sorted(scoring.SUITES))

    @app.get("/boards/{env_id}", response_class=HTMLResponse)
    def board_page(env_id: str) -> HTMLResponse:
        return page("board.html", board=store.board(env_id), min_seeds=scoring.MIN_SEEDS)

    @app.get("/entries/{entry_id}", response_class=HTMLResponse)
    def entry_page(entry_id: int) -> HTMLResponse:
        entry = store.entry_json(entry_id)
        writeup_sha = entry["files"].get("writeup.md")
        writeup = (
            render_markdown(store.read_blob(writeup_sha).decode("utf-8", errors="replace")) if writeup_sha else None
        )
        videos = [(name, sha) for name, sha in sorted(entry["files"].items()) if name.endswith((".mp4", ".webm"))]
        record = json.dumps(entry["verification"], indent=1, sort_keys=True) if entry["verification"] else None
        return page("entry.html", entry=entry, writeup=writeup, videos=videos, record=record)

    @app.get("/suites/{name}", response_class=HTMLResponse)
    def suite_page(name: str) -> HTMLResponse:
        return page("suite.html", suite=store.suite(name))

    return app


def _plot(store: Store, entry: Any) -> bytes:
    from gymx.monitor.plot import plot_learning_curves

    with tempfile.TemporaryDirectory(prefix="gymx-curves-") as directory:
        run_dir = os.path.join(directory, "run")
        files = {
            name: store.read_blob(sha)
            for name, sha in entry.files.items()
            if name.startswith(("run/gymx.", "run/openaigym."))
        }
        if any(name.startswith("run/openaigym.") for name in files):
            _write_gymx_logs(bundle.load_runs(files, entry.env_id), entry.env_id, run_dir)
        else:
            bundle.unpack_dir(files, run_dir)
        out = plot_learning_curves(
            [run_dir],
            os.path.join(directory, "curves.png"),
            title=f"{entry.algorithm} on {entry.env_id}, {entry.num_seeds} seed(s)",
        )
        return Path(out).read_bytes()


def _write_gymx_logs(results: Any, env_id: str, out: str) -> None:
    """Legacy Gym runs (already checked) rewritten as gymx Monitor logs in `out`, which the plotter reads."""
    import numpy as np

    from gymx.monitor import RunLog
    from gymx.vector import make_vec

    vec_env = make_vec(env_id, 1)
    for index, run in enumerate(results.runs()):
        log = RunLog(out, f"legacy{index}", vec_env)
        log.append(np.zeros(len(run), np.int64), run.returns, run.lengths, run.steps, run.times)
        log.close()
