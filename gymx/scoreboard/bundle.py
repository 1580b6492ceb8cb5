"""The upload bundle: a Monitor directory, its policy and writeup, and a manifest of SHA-256 hashes.

A bundle is a tar (optionally gzip-compressed) or zip archive of regular files only:

- `bundle.json`: `{"format": BUNDLE_FORMAT, "env_id", "algorithm", "code_url", "command", "config",
  "files": {name: sha256 of every other file}}`;
- `run/NAME`: the Monitor directory's files: gymx's (`gymx.manifest.*.json`, `gymx.episodes.*.bin`,
  videos) or, for a directory that has none of those, the original Gym monitor's
  (`openaigym.manifest.*.json`, `openaigym.episode_batch.*.stats.json`, videos and their
  `.meta.json`; what `gymx.monitor.export_gym_files` and Gym's `env.monitor` wrote);
- optionally `policy.json` and `policy.safetensors` (see `gymx.scoreboard.policy`) and `writeup.md`.

Legacy (`openaigym.*`) runs are checked on the server from the files themselves, as strictly as
gymx's: each manifest names its stats file (present, used by no other manifest) and the bundle's
env id, and the videos it lists must be in the bundle; each stats file holds equally long lists of
finite timestamps (not before the first reset, in order), integer lengths within the env's time
limit, finite returns and episode types 't' or 'e' (all 't' when absent, as Gym read them). A
legacy run was one env with no seed recorded: its steps are its summed lengths (so the steps check
holds by construction) and its seed is its run id. In either format, two runs with the same
episodes (`episodes_sha256`) are refused as one run uploaded twice, and the store refuses episodes
an earlier entry holds, in whichever format they came.

`pack` builds one from a directory (the client). `check` is the server's side: every member must be
a regular file with an allowed name (no `..`, no absolute path, no link), listed in the manifest with
its hash, within the size limits; the Monitor logs must load whole (`load_results` verifies their
checksums), name a known env id and the bundle's, hold finite returns, lengths within the env's
time limit and step counts that add up. Any fault raises `BundleError` with the HTTP status to
answer and a message naming the fault.
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import warnings
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

BUNDLE_FORMAT = "gymx-scoreboard-bundle-1"
MAX_FILES = 256
MAX_UNPACKED = 256 * 1024 * 1024
_RUN_NAME = re.compile(r"^run/[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}\.(json|bin|mp4|webm)$")
_TOP_NAMES = {"bundle.json", "policy.json", "policy.safetensors", "writeup.md"}
_LEGACY_MANIFEST = "openaigym.manifest."
_LEGACY_STATS = "openaigym.episode_batch."
LEGACY_FORMAT = "openaigym"  # the `format` of a legacy run's manifest in `Results.manifests`


class BundleError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclasses.dataclass(frozen=True)
class Checked:
    """A bundle that passed every check, with what the board needs from it."""

    manifest: dict[str, Any]
    files: dict[str, bytes]  # name -> content, manifest included
    env_id: str
    env_version: int | None
    seed_scores: list[float]  # per training run, in run order
    seeds: list[Any]
    episodes: int
    episodes_before_solve: int | None
    best_100_mean: float | None
    log_hashes: list[str]  # `episodes_sha256` of every run


def pack(
    run_dir: str | Path,
    env_id: str,
    algorithm: str,
    writeup: str | Path | None = None,
    policy: tuple[bytes, bytes] | None = None,
    code_url: str | None = None,
    command: str | None = None,
    config: Any = None,
) -> bytes:
    """The bundle (gzip-compressed tar) of the Monitor directory `run_dir`; `policy` is (policy.json, policy.safetensors)."""
    run_dir = Path(run_dir)
    files: dict[str, bytes] = {}
    legacy = not any(run_dir.glob("gymx.episodes.*.bin")) and any(run_dir.glob(f"{_LEGACY_MANIFEST}*.json"))
    prefixes = ("openaigym.",) if legacy else ("gymx.manifest.", "gymx.episodes.")
    for path in sorted(run_dir.iterdir()):
        name = f"run/{path.name}"
        monitor_file = (
            path.name.startswith(prefixes)
            or path.suffix in (".mp4", ".webm")
            or (legacy and path.name.endswith(".meta.json"))
        )
        if monitor_file and path.is_file() and not path.is_symlink() and _RUN_NAME.match(name):
            files[name] = path.read_bytes()
    if not any(name.startswith(("run/gymx.episodes.", f"run/{_LEGACY_STATS}")) for name in files):
        raise FileNotFoundError(
            f"gymx: no Monitor episode logs (gymx.episodes.*.bin, or Gym's {_LEGACY_STATS}*.stats.json) in {run_dir}"
        )
    if policy is not None:
        files["policy.json"], files["policy.safetensors"] = policy
    if writeup is not None:
        files["writeup.md"] = Path(writeup).read_bytes()
    manifest = {
        "format": BUNDLE_FORMAT,
        "env_id": env_id,
        "algorithm": algorithm,
        "code_url": code_url,
        "command": command,
        "config": config,
        "files": {name: sha256(data) for name, data in files.items()},
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in [("bundle.json", json.dumps(manifest, indent=1).encode()), *files.items()]:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _check_name(name: str) -> None:
    if name.startswith("/") or "\\" in name or any(part in ("..", "") for part in name.split("/")):
        raise BundleError(400, f"gymx: archive member {name!r} has an unsafe path (absolute, '..' or empty parts)")
    if name not in _TOP_NAMES and not _RUN_NAME.match(name):
        raise BundleError(400, f"gymx: archive member {name!r} is not an allowed bundle file name")


def read_archive(path: str) -> dict[str, bytes]:
    """Every member of the archive at `path`, by name, after the name, type and size checks."""
    files: dict[str, bytes] = {}
    total = 0

    def add(name: str, data: bytes) -> None:
        nonlocal total
        if name in files:
            raise BundleError(400, f"gymx: archive member {name!r} appears twice")
        total += len(data)
        if total > MAX_UNPACKED or len(files) >= MAX_FILES:
            raise BundleError(413, f"gymx: the bundle unpacks to more than {MAX_UNPACKED} bytes or {MAX_FILES} files")
        files[name] = data

    if zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                for info in archive.infolist():
                    _check_name(info.filename.rstrip("/") if info.is_dir() else info.filename)
                    mode = info.external_attr >> 16
                    if info.is_dir() or (mode and (mode & 0o170000) not in (0, 0o100000)):
                        raise BundleError(
                            400,
                            f"gymx: archive member {info.filename!r} is not a regular file (links and folders are refused)",
                        )
                    if info.file_size > MAX_UNPACKED:
                        raise BundleError(
                            413, f"gymx: archive member {info.filename!r} is larger than {MAX_UNPACKED} bytes"
                        )
                    add(info.filename, archive.read(info))
        except (zipfile.BadZipFile, EOFError, OSError, NotImplementedError) as error:
            raise BundleError(400, f"gymx: the zip archive is damaged ({error})") from None
        return files
    try:
        with tarfile.open(path, mode="r:*") as tar:
            for member in tar:
                _check_name(member.name)
                if not member.isreg():
                    raise BundleError(
                        400,
                        f"gymx: archive member {member.name!r} is not a regular file (links and folders are refused)",
                    )
                if member.size > MAX_UNPACKED:
                    raise BundleError(413, f"gymx: archive member {member.name!r} is larger than {MAX_UNPACKED} bytes")
                extracted = tar.extractfile(member)
                assert extracted is not None  # a regular file always has content
                add(member.name, extracted.read())
    except (tarfile.TarError, EOFError, OSError, zlib.error) as error:
        raise BundleError(400, f"gymx: the body is not a readable tar or zip archive ({error})") from None
    return files


def check(path: str) -> Checked:
    """The bundle in the archive file at `path`, checked (see the module docstring)."""
    from gymx import registration
    from gymx.monitor import log as monitor_log
    from gymx.monitor.scoring import score
    from gymx.scoreboard import scoring

    files = read_archive(path)
    if "bundle.json" not in files:
        raise BundleError(400, "gymx: the bundle has no bundle.json manifest")
    try:
        manifest = json.loads(files["bundle.json"])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(400, f"gymx: bundle.json is not valid JSON ({error})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != BUNDLE_FORMAT:
        raise BundleError(400, f"gymx: bundle.json must be an object with format {BUNDLE_FORMAT!r}")
    for key in ("env_id", "algorithm"):
        if not isinstance(manifest.get(key), str) or not manifest[key] or len(manifest[key]) > 128:
            raise BundleError(400, f"gymx: bundle.json needs {key} as a string of 1 to 128 characters")
    for key in ("code_url", "command"):
        if manifest.get(key) is not None and (not isinstance(manifest[key], str) or len(manifest[key]) > 4096):
            raise BundleError(400, f"gymx: bundle.json's {key} must be a string of at most 4096 characters or null")
    listed = manifest.get("files")
    if not isinstance(listed, dict) or not all(isinstance(v, str) for v in listed.values()):
        raise BundleError(400, "gymx: bundle.json needs files, a map of file name to SHA-256")
    present = set(files) - {"bundle.json"}
    if set(listed) != present:
        raise BundleError(
            422,
            f"gymx: bundle.json lists files {sorted(set(listed) - present)} that are missing and omits {sorted(present - set(listed))}",
        )
    for name in sorted(present):
        if sha256(files[name]) != listed[name].lower():
            raise BundleError(422, f"gymx: {name} does not match its SHA-256 in bundle.json (tampered or damaged)")
    if ("policy.json" in files) != ("policy.safetensors" in files):
        raise BundleError(422, "gymx: a policy needs both policy.json and policy.safetensors")

    env_id = manifest["env_id"]
    try:
        env_spec = registration.spec(env_id)
    except registration.Error:
        raise BundleError(422, f"gymx: unknown env id {env_id!r}: this server's gymx does not register it") from None

    results = load_runs(files, env_id)
    for manifest_run in results.manifests:
        if manifest_run.get("format") == LEGACY_FORMAT:
            continue  # checked as it was read
        if manifest_run.get("format") not in (monitor_log.FORMAT, monitor_log.RECORDS_FORMAT):
            raise BundleError(
                422,
                f"gymx: run {manifest_run.get('run_id')!r} has format {manifest_run.get('format')!r}, "
                f"expected {monitor_log.FORMAT!r} or {monitor_log.RECORDS_FORMAT!r}",
            )
        if manifest_run.get("env_id") != env_id:
            raise BundleError(
                422,
                f"gymx: run {manifest_run.get('run_id')!r} is of env {manifest_run.get('env_id')!r}, the upload says {env_id!r}",
            )
        if manifest_run.get("env_version") != env_spec.version:
            raise BundleError(
                422,
                f"gymx: run {manifest_run.get('run_id')!r} is of version {manifest_run.get('env_version')!r} of {env_id}, this server's is {env_spec.version}",
            )
        if manifest_run.get("episode_mode", "records") != "records" or not manifest_run.get("closed"):
            raise BundleError(
                422, f"gymx: run {manifest_run.get('run_id')!r} must log every episode (not summaries) and be closed"
            )
    if not np.all(np.isfinite(results.returns)):
        raise BundleError(422, "gymx: the Monitor logs hold non-finite returns (NaN or infinity)")
    limit = env_spec.max_episode_steps
    if len(results) and (results.lengths.min() < 1 or (limit is not None and results.lengths.max() > limit)):
        raise BundleError(
            422,
            f"gymx: episode lengths {results.lengths.min()}..{results.lengths.max()} fall outside 1..{limit} ({env_id}'s time limit)",
        )
    seed_scores, seeds = [], []
    for index, run_manifest in enumerate(results.manifests):
        run = results.select(results.run == index)
        _check_steps(run, run_manifest)
        training = run.select(run.modes == "training")
        if run_manifest.get("mode") == "training" and len(training):
            seed_scores.append(scoring.seed_score(training.returns))
            seeds.append(run_manifest.get("seed"))
    if not seed_scores:
        raise BundleError(422, "gymx: the Monitor logs hold no training episodes")
    if len(set(map(repr, seeds))) != len(seeds):
        raise BundleError(422, f"gymx: the runs' seeds {seeds} repeat: each run must be a different seed")
    historical = score(results, env_spec.reward_threshold, trials=100)
    seen: dict[str, str] = {}
    for run, run_manifest in zip(results.runs(), results.manifests):
        if not len(run):
            continue
        fingerprint = episodes_sha256(run)
        if fingerprint in seen:
            raise BundleError(
                422,
                f"gymx: runs {seen[fingerprint]!r} and {run_manifest.get('run_id')!r} hold the same episodes: one run uploaded twice",
            )
        seen[fingerprint] = run_manifest.get("run_id")
    log_hashes = sorted(seen)
    return Checked(
        manifest=manifest,
        files=files,
        env_id=env_id,
        env_version=env_spec.version,
        seed_scores=seed_scores,
        seeds=seeds,
        episodes=int(np.sum(results.modes == "training")),
        episodes_before_solve=historical.episode_t_value,
        best_100_mean=historical.mean,
        log_hashes=log_hashes,
    )


def episodes_sha256(run: Any) -> str:
    """SHA-256 of one run's episodes (returns and lengths in episode order), whatever files they came in.

    The store keeps these per entry, so the same episodes uploaded again (in another log file, run
    id or format) are a replay.
    """
    order = np.argsort(run.episode, kind="stable")
    data = np.asarray(run.returns[order], "<f4").tobytes() + np.asarray(run.lengths[order], "<i8").tobytes()
    return sha256(b"gymx-run-episodes-1:" + data)


def load_runs(files: dict[str, bytes], env_id: str) -> Any:
    """The `gymx.monitor.Results` of a bundle's Monitor files (`run/...`), gymx's or the legacy Gym files; `BundleError` if they do not load."""
    from gymx.monitor import DamagedLogWarning, load_results

    gymx_logs = any(name.startswith("run/gymx.") for name in files)
    legacy = any(name.startswith("run/openaigym.") for name in files)
    if gymx_logs and legacy:
        raise BundleError(
            422, "gymx: the bundle mixes gymx Monitor files with legacy openaigym.* files: upload one kind"
        )
    if legacy:
        return _legacy_results(files, env_id)
    with tempfile.TemporaryDirectory(prefix="gymx-bundle-") as directory:
        unpack_dir(files, directory)
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("error", DamagedLogWarning)
                return load_results(directory)
        except DamagedLogWarning as warning:
            raise BundleError(422, f"gymx: the Monitor logs are damaged: {warning}") from None
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BundleError(422, f"gymx: the Monitor logs do not load: {error}") from None


def _legacy_json(files: dict[str, bytes], name: str) -> dict[str, Any]:
    try:
        value = json.loads(files[name])
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BundleError(422, f"gymx: {name} is not valid JSON ({error})") from None
    if not isinstance(value, dict):
        raise BundleError(422, f"gymx: {name} must hold a JSON object")
    return value


def _number_list(stats: dict[str, Any], key: str, name: str, integers: bool = False) -> np.ndarray:
    values = stats.get(key)
    kinds = (int,) if integers else (int, float)
    if not isinstance(values, list) or not all(isinstance(v, kinds) and not isinstance(v, bool) for v in values):
        raise BundleError(422, f"gymx: {name}'s {key} must be a list of {'integers' if integers else 'numbers'}")
    try:
        return np.asarray(values, np.int64 if integers else np.float64)
    except OverflowError:
        raise BundleError(422, f"gymx: {name}'s {key} holds an integer out of range") from None


def _legacy_results(files: dict[str, bytes], env_id: str) -> Any:
    """The original Gym monitor's runs, checked (see the module docstring), as a `gymx.monitor.Results`."""
    from gymx.monitor import Results

    manifests, parts, used_stats = [], [], set()
    for name in sorted(files):
        if name.startswith("run/openaigym.") and not name.startswith(
            (f"run/{_LEGACY_MANIFEST}", f"run/{_LEGACY_STATS}")
        ):
            raise BundleError(
                422, f"gymx: {name} is not a legacy Gym monitor file (openaigym.manifest.*, openaigym.episode_batch.*)"
            )
        if not name.startswith(f"run/{_LEGACY_MANIFEST}"):
            continue
        manifest = _legacy_json(files, name)
        run_id = name[len(f"run/{_LEGACY_MANIFEST}") :].removesuffix(".json").removesuffix(".manifest")
        env_info = manifest.get("env_info")
        if not isinstance(env_info, dict) or env_info.get("env_id") != env_id:
            found = env_info.get("env_id") if isinstance(env_info, dict) else None
            raise BundleError(422, f"gymx: legacy run {run_id!r} is of env {found!r}, the upload says {env_id!r}")
        stats_name = f"run/{manifest.get('stats')}" if isinstance(manifest.get("stats"), str) else None
        if (
            stats_name is None
            or "/" in stats_name[4:]
            or not stats_name.startswith(f"run/{_LEGACY_STATS}")
            or stats_name not in files
        ):
            raise BundleError(
                422,
                f"gymx: legacy run {run_id!r}'s manifest names stats file {manifest.get('stats')!r}, which is not in the bundle",
            )
        if stats_name in used_stats:
            raise BundleError(422, f"gymx: two legacy manifests name the same stats file {stats_name[4:]!r}")
        used_stats.add(stats_name)
        videos = manifest.get("videos", [])
        if not isinstance(videos, list) or not all(
            isinstance(pair, list) and all(isinstance(p, str) and f"run/{p}" in files for p in pair) for pair in videos
        ):
            raise BundleError(422, f"gymx: legacy run {run_id!r}'s manifest lists videos that are not in the bundle")
        stats = _legacy_json(files, stats_name)
        label = stats_name[4:]
        returns = _number_list(stats, "episode_rewards", label)
        lengths = _number_list(stats, "episode_lengths", label, integers=True)
        timestamps = _number_list(stats, "timestamps", label)
        types = stats.get("episode_types", ["t"] * len(returns))
        start = stats.get("initial_reset_timestamp")
        if not isinstance(types, list) or not all(t in ("t", "e") for t in types):
            raise BundleError(
                422, f"gymx: {label}'s episode_types must be a list of 't' (training) and 'e' (evaluation)"
            )
        if not len(returns) == len(lengths) == len(timestamps) == len(types):
            raise BundleError(
                422, f"gymx: {label}'s episode_rewards, episode_lengths, timestamps and episode_types differ in length"
            )
        if not isinstance(start, (int, float)) or isinstance(start, bool) or not np.isfinite(start):
            raise BundleError(422, f"gymx: {label} needs a finite initial_reset_timestamp")
        if not np.all(np.isfinite(timestamps)) or np.any(timestamps < start) or np.any(np.diff(timestamps) < 0):
            raise BundleError(
                422, f"gymx: {label}'s timestamps must be finite, in order and not before initial_reset_timestamp"
            )
        count = len(returns)
        parts.append({
            "modes": np.asarray(["training" if t == "t" else "evaluation" for t in types], object),
            "returns": returns.astype(np.float32), "lengths": lengths, "timestamps": timestamps, "times": timestamps - start,
            "steps": np.cumsum(lengths), "episode": np.arange(count), "env_index": np.zeros(count, np.int64),
        })  # fmt: skip
        manifests.append({
            "format": LEGACY_FORMAT, "run_id": run_id, "env_id": env_id, "env_version": registration_version(env_id),
            "gym_version": env_info.get("gym_version"), "num_envs": 1, "seed": f"legacy run {run_id}", "mode": "training",
            "start_timestamp": float(start), "episode_mode": "records", "closed": True,
        })  # fmt: skip
    unused = sorted(name[4:] for name in files if name.startswith(f"run/{_LEGACY_STATS}") and name not in used_stats)
    if unused:
        raise BundleError(422, f"gymx: legacy stats files {unused} belong to no openaigym.manifest.* file")
    if not manifests:
        raise BundleError(
            422, "gymx: the bundle holds no Monitor run (no gymx.manifest.* or openaigym.manifest.* file)"
        )
    run = np.repeat(np.arange(len(manifests)), [len(p["returns"]) for p in parts])

    def column(key: str) -> np.ndarray:
        return np.concatenate([p[key] for p in parts]) if parts else np.zeros(0)

    results = Results(
        manifests=tuple(manifests), run=run,
        env_ids=np.asarray([env_id] * len(run), object), env_versions=np.asarray([manifests[0]["env_version"]] * len(run), object),
        modes=column("modes").astype(object), env_index=column("env_index"), env_episode=column("episode"), episode=column("episode"),
        returns=column("returns").astype(np.float32), lengths=column("lengths"), steps=column("steps"), times=column("times"),
        timestamps=column("timestamps"),
    )  # fmt: skip
    return results.select(np.lexsort((results.steps, results.run, results.timestamps)))


def registration_version(env_id: str) -> int | None:
    from gymx import registration

    return registration.spec(env_id).version


def _check_steps(run: Any, manifest: dict[str, Any]) -> None:
    """Each env's summed episode lengths never exceed its share of the batch's steps at each episode's end."""
    num_envs = manifest.get("num_envs")
    if not isinstance(num_envs, int) or num_envs < 1:
        raise BundleError(422, f"gymx: run {manifest.get('run_id')!r} has no valid num_envs")
    order = np.argsort(run.episode, kind="stable")
    episode, env_index, lengths, steps = run.episode[order], run.env_index[order], run.lengths[order], run.steps[order]
    if len(episode) and (np.any(np.diff(episode) != 1) or episode[0] != 0 or np.any(np.diff(steps) < 0)):
        raise BundleError(422, f"gymx: run {manifest.get('run_id')!r}: episode numbers or step counts are out of order")
    if len(env_index) and (env_index.min() < 0 or env_index.max() >= num_envs):
        raise BundleError(422, f"gymx: run {manifest.get('run_id')!r}: env indices outside its {num_envs} envs")
    for env in np.unique(env_index):
        mine = env_index == env
        if np.any(np.cumsum(lengths[mine]) * num_envs > steps[mine]):
            raise BundleError(
                422,
                f"gymx: run {manifest.get('run_id')!r}: env {env}'s episode lengths add up to more steps than the run took",
            )


def unpack_dir(files: dict[str, bytes], out: str | Path) -> None:
    """Writes the bundle's Monitor files (`run/...`) into the folder `out`."""
    os.makedirs(out, exist_ok=True)
    for name, data in files.items():
        if name.startswith("run/"):
            Path(out, name[4:]).write_bytes(data)
