"""The scoreboard's client side: `gymx upload` (pack a Monitor directory and post it, with retries) and `gymx scoreboard fetch`.

The key comes from the `GYMX_SCOREBOARD_KEY` environment
variable, sent as `Authorization: Bearer`. One idempotency key is drawn per upload and reused by
every retry, so a retried request whose first try did arrive makes no second entry. Retries
(exponential backoff) follow connection errors, 429 (after its Retry-After) and 5xx answers;
every other 4xx is final.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any

from gymx.scoreboard import bundle

DEFAULT_SERVER = "http://127.0.0.1:8650"
KEY_VARIABLE = "GYMX_SCOREBOARD_KEY"


class UploadError(RuntimeError):
    pass


def run_config(run_dir: Path) -> tuple[Any, str | None]:
    """(the `gymx train` config, its command line) of a training run folder, from its checkpoint and manifests; (None, None) if absent."""
    config = None
    checkpoint = run_dir / "checkpoint.safetensors"
    if checkpoint.is_file():
        from safetensors import safe_open

        with safe_open(str(checkpoint), framework="np") as file:
            header = (file.metadata() or {}).get("gymx")  # gymx.train.checkpoint.METADATA_KEY
            if header is not None:
                meta = json.loads(header)
                config = {
                    "algo": meta.get("algo"),
                    "env_id": meta.get("env_id"),
                    "seeds": meta.get("seeds"),
                    "config": meta.get("config"),
                }
    command = None
    for manifest in sorted(run_dir.glob("gymx.manifest.*.json")):
        line = json.loads(manifest.read_text()).get("command_line")
        if line:
            command = " ".join(["gymx", *line[1:]]) if os.path.basename(line[0]) == "gymx" else " ".join(line)
            break
    return config, command


def make_bundle(
    run_dir: str | Path,
    env_id: str,
    algorithm: str,
    writeup: str | None = None,
    policy_checkpoint: str | None = None,
    code_url: str | None = None,
) -> bytes:
    from gymx.scoreboard import policy

    run_dir = Path(run_dir)
    policy_files = None
    if policy_checkpoint is not None:
        policy_env, spec, weights = policy.from_checkpoint(policy_checkpoint)
        if policy_env != env_id:
            raise UploadError(f"gymx upload: the checkpoint {policy_checkpoint} is of {policy_env}, not {env_id}")
        policy_files = (spec, weights)
    config, command = run_config(run_dir)
    return bundle.pack(
        run_dir,
        env_id,
        algorithm,
        writeup=writeup,
        policy=policy_files,
        code_url=code_url,
        command=command,
        config=config,
    )


def upload(
    data: bytes, server: str = DEFAULT_SERVER, key: str | None = None, retries: int = 4, backoff_s: float = 1.0
) -> dict[str, Any]:
    """Posts the bundle `data`; returns the server's answer (entry id, url, status). `UploadError` on a refusal."""
    import httpx

    key = key or os.environ.get(KEY_VARIABLE)
    if not key:
        raise UploadError(f"gymx upload: set {KEY_VARIABLE} to your API key (from `gymx scoreboard add-user`)")
    headers = {
        "Authorization": f"Bearer {key}",
        "Idempotency-Key": secrets.token_hex(16),
        "Content-Type": "application/octet-stream",
    }
    url = server.rstrip("/") + "/api/uploads"
    for attempt in range(retries + 1):
        wait = backoff_s * 2**attempt
        try:
            response = httpx.post(url, content=data, headers=headers, timeout=120)
        except httpx.TransportError as error:
            if attempt == retries:
                raise UploadError(f"gymx upload: cannot reach {server} ({error})") from None
        else:
            if response.status_code in (200, 201):
                return response.json()
            if (response.status_code != 429 and response.status_code < 500) or attempt == retries:
                raise UploadError(
                    f"gymx upload: the server refused the upload ({response.status_code}): {_message(response)}"
                )
            wait = max(wait, float(response.headers.get("retry-after", 0) or 0))
        time.sleep(wait)
    raise AssertionError("unreachable")


def _message(response: Any) -> str:
    try:
        return response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return response.text[:500]


def fetch(entry_id: int, out: str | Path, server: str = DEFAULT_SERVER) -> list[Path]:
    """Downloads entry `entry_id`'s JSON, config, policy and writeup into `out`; returns the files written.

    The policy's files are checked against the entry's hashes. Re-run it with `gymx.scoreboard.verify.evaluate`.
    """
    import httpx

    base = server.rstrip("/")
    response = httpx.get(f"{base}/api/entries/{entry_id}", timeout=60)
    if response.status_code != 200:
        raise UploadError(f"gymx scoreboard fetch: {response.status_code}: {_message(response)}")
    entry = response.json()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "entry.json", out / "config.json"]
    written[0].write_text(json.dumps(entry, indent=1))
    written[1].write_text(
        json.dumps({"config": entry["config"], "command": entry["command"], "code_url": entry["code_url"]}, indent=1)
    )
    for name in ("policy.json", "policy.safetensors", "writeup.md"):
        sha = entry["files"].get(name)
        if sha is None:
            continue
        data = httpx.get(f"{base}/files/{sha}", timeout=120).content
        if bundle.sha256(data) != sha:
            raise UploadError(f"gymx scoreboard fetch: {name} does not match its SHA-256 {sha}")
        (out / name).write_bytes(data)
        written.append(out / name)
    return written
