"""The scoreboard's state and rules, apart from HTTP: users and keys, stored files, entries, boards.

Files are stored once under their SHA-256 (`files/ab/abcdef...` in the data folder, a `blobs` row
each). An entry is added in one transaction with the hashes of its runs' episodes
(`bundle.episodes_sha256`, the same in gymx's and the legacy format); the unique constraints
(bundle hash, episodes hash, user and idempotency key) make a replayed bundle or run fail even
when two uploads race. Boards: one per env id (the id carries the version); an entry
is ranked when it has at least `scoring.MIN_SEEDS` seeds and is verified, and only a user's latest
such entry on a board is ranked.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from gymx.scoreboard import db, keys, scoring, verify
from gymx.scoreboard.bundle import Checked, sha256


class StoreError(ValueError):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class Store:
    def __init__(self, database: str | None = None, data_dir: str | Path | None = None, migrate: bool = True):
        self.data_dir = Path(data_dir) if data_dir is not None else db.default_data_dir()
        self.url = db.database_url(database, self.data_dir)
        if migrate:
            db.upgrade(self.url)
        self.engine = db.make_engine(self.url)
        self.Session = db.sessions(self.engine)
        self.files_dir = self.data_dir / "files"
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.signing_key = self._secret("signing_key", verify.new_private_key)
        self.seed_secret = self._secret("seed_secret", lambda: secrets.token_bytes(32))
        self.public_key = verify.public_key(self.signing_key)

    def close(self) -> None:
        self.engine.dispose()

    def _secret(self, name: str, make: Any) -> bytes:
        with self.Session() as session:
            row = session.get(db.ServerSecret, name)
            if row is not None:
                return row.value
            session.add(db.ServerSecret(name=name, value=make()))
            try:
                session.commit()
            except IntegrityError:  # another process made it first
                session.rollback()
            return session.get(db.ServerSecret, name).value

    # Users and keys.

    def add_user(self, name: str, rate_per_minute: int = 30) -> str:
        """Creates user `name` and returns its first API key (shown once, stored only as a hash)."""
        if not name or len(name) > 64:
            raise StoreError(400, "gymx: a user name needs 1 to 64 characters")
        with self.Session() as session:
            user = db.User(name=name, rate_per_minute=rate_per_minute)
            session.add(user)
            try:
                session.flush()
            except IntegrityError:
                raise StoreError(409, f"gymx: user {name!r} exists already") from None
            key = self._add_key(session, user)
            session.commit()
            return key

    def new_key(self, name: str) -> str:
        with self.Session() as session:
            user = session.scalar(select(db.User).where(db.User.name == name))
            if user is None:
                raise StoreError(404, f"gymx: no user {name!r}")
            key = self._add_key(session, user)
            session.commit()
            return key

    def _add_key(self, session: Any, user: db.User) -> str:
        key = keys.new_key()
        session.add(db.ApiKey(user_id=user.id, prefix=key[:12], key_hash=keys.hash_key(key)))
        return key

    def revoke_key(self, key: str) -> int:
        """Revokes `key` (a whole key), or every key of the user named `key`; returns how many were revoked."""
        with self.Session() as session:
            if key.startswith(keys.PREFIX):
                rows = session.scalars(select(db.ApiKey).where(db.ApiKey.key_hash == keys.hash_key(key))).all()
            else:
                user = session.scalar(select(db.User).where(db.User.name == key))
                rows = (
                    [] if user is None else session.scalars(select(db.ApiKey).where(db.ApiKey.user_id == user.id)).all()
                )
            rows = [row for row in rows if row.revoked is None]
            for row in rows:
                row.revoked = db.utcnow()
            session.commit()
            return len(rows)

    def authenticate(self, key: str) -> tuple[db.User, str]:
        """(the user of `key`, the key's hash); `StoreError` 401 for an unknown or revoked key."""
        key_hash = keys.hash_key(key)
        with self.Session() as session:
            row = session.scalar(select(db.ApiKey).where(db.ApiKey.key_hash == key_hash))
            if row is None:
                raise StoreError(401, "gymx: unknown API key")
            if row.revoked is not None:
                raise StoreError(401, "gymx: this API key was revoked")
            return session.get(db.User, row.user_id), key_hash

    # Files.

    def blob_path(self, sha256: str) -> Path:
        return self.files_dir / sha256[:2] / sha256

    def put_blob(self, session: Any, sha256: str, data: bytes) -> None:
        path = self.blob_path(sha256)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        if session.get(db.Blob, sha256) is None:
            session.add(db.Blob(sha256=sha256, size=len(data)))

    def read_blob(self, sha256: str) -> bytes:
        path = self.blob_path(sha256)
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256) or not path.is_file():
            raise StoreError(404, f"gymx: no stored file {sha256!r}")
        return path.read_bytes()

    # Entries.

    def find_idempotent(self, user_id: int, idempotency_key: str, bundle_sha256: str) -> db.Entry | None:
        """The entry an earlier request with this idempotency key made (same bundle), or None; 422 for a different bundle."""
        with self.Session() as session:
            entry = session.scalar(
                select(db.Entry).where(db.Entry.user_id == user_id, db.Entry.idempotency_key == idempotency_key)
            )
            if entry is not None and entry.bundle_sha256 != bundle_sha256:
                raise StoreError(422, "gymx: this Idempotency-Key was used for a different bundle")
            return entry

    def check_new(self, bundle_sha256: str, log_hashes: list[str] | None = None) -> None:
        with self.Session() as session:
            if session.scalar(select(db.Entry.id).where(db.Entry.bundle_sha256 == bundle_sha256)) is not None:
                raise StoreError(409, "gymx: this bundle was uploaded before (a replay)")
            if (
                log_hashes
                and session.scalar(select(db.EntryRun.entry_id).where(db.EntryRun.log_sha256.in_(log_hashes)))
                is not None
            ):
                raise StoreError(409, "gymx: an episode log of this bundle belongs to an earlier entry (a replay)")

    def add_entry(
        self, user_id: int, idempotency_key: str, bundle_sha256: str, archive: bytes, checked: Checked
    ) -> tuple[db.Entry, bool]:
        """Stores the checked bundle as a new entry; (the entry, True) or, for a repeated idempotent request, (the earlier entry, False)."""
        seed_scores = checked.seed_scores
        low, high = scoring.iqm_ci(seed_scores)
        manifest = checked.manifest
        has_policy = "policy.safetensors" in checked.files
        with self.Session() as session:
            for name, data in checked.files.items():
                self.put_blob(session, manifest["files"].get(name) or sha256(data), data)
            self.put_blob(session, bundle_sha256, archive)
            files = dict(manifest["files"])
            files["bundle.json"] = sha256(checked.files["bundle.json"])
            entry = db.Entry(
                user_id=user_id,
                bundle_sha256=bundle_sha256,
                idempotency_key=idempotency_key,
                env_id=checked.env_id,
                env_version=checked.env_version,
                algorithm=manifest["algorithm"],
                code_url=manifest.get("code_url"),
                command=manifest.get("command"),
                config=manifest.get("config"),
                files=files,
                num_seeds=len(seed_scores),
                seed_scores=seed_scores,
                iqm=scoring.iqm(seed_scores),
                ci_low=low,
                ci_high=high,
                episodes_before_solve=checked.episodes_before_solve,
                best_100_mean=checked.best_100_mean,
                episodes=checked.episodes,
                has_policy=has_policy,
                status="pending" if has_policy else "unverified",
            )
            session.add(entry)
            try:
                session.flush()
                for log_hash in checked.log_hashes:
                    session.add(db.EntryRun(log_sha256=log_hash, entry_id=entry.id))
                session.commit()
            except IntegrityError:
                session.rollback()
                earlier = self.find_idempotent(user_id, idempotency_key, bundle_sha256)
                if earlier is not None:
                    return earlier, False
                raise StoreError(
                    409, "gymx: this bundle or one of its episode logs was uploaded before (a replay)"
                ) from None
            return entry, True

    def get_entry(self, entry_id: int) -> db.Entry:
        with self.Session() as session:
            entry = session.get(db.Entry, entry_id)
            if entry is None:
                raise StoreError(404, f"gymx: no entry {entry_id}")
            return entry

    def user_name(self, user_id: int) -> str:
        with self.Session() as session:
            return session.get(db.User, user_id).name

    def pending(self) -> list[int]:
        with self.Session() as session:
            return list(session.scalars(select(db.Entry.id).where(db.Entry.status == "pending").order_by(db.Entry.id)))

    def verify_entry(
        self, entry_id: int, episodes: int = verify.EPISODES, timeout_s: float = verify.TIMEOUT_S
    ) -> db.Entry:
        """Re-runs entry `entry_id`'s policy in a worker process and records the signed outcome."""
        entry = self.get_entry(entry_id)
        key = verify.episode_key(self.seed_secret, entry.id, entry.bundle_sha256)
        spec, weights = self.read_blob(entry.files["policy.json"]), self.read_blob(entry.files["policy.safetensors"])
        outcome = verify.run_worker(entry.env_id, spec, weights, key, episodes, timeout_s)
        record: dict[str, Any] = {
            "entry_id": entry.id,
            "env_id": entry.env_id,
            "env_version": entry.env_version,
            "bundle_sha256": entry.bundle_sha256,
            "policy_sha256": entry.files["policy.safetensors"],
            "episodes_per_seed": episodes,
            "seed_commitment": sha256(key),
            "claimed_iqm": entry.iqm,
            "verified_at": db.utcnow().isoformat() + "Z",
        }
        if "error" in outcome:
            status, score = "failed", None
            record.update(status=status, error=outcome["error"])
        else:
            score = scoring.iqm(outcome["seed_means"])
            status, tolerance = verify.verdict(entry.iqm, score)
            record.update(
                status=status,
                seed_means=outcome["seed_means"],
                verified_iqm=score,
                tolerance=tolerance,
                wall_s=outcome.get("wall_s"),
                device=outcome.get("device"),
                jax_version=outcome.get("jax_version"),
            )
        with self.Session() as session:
            row = session.get(db.Entry, entry_id)
            row.status, row.verified_score, row.verification = status, score, record
            row.signature = verify.sign(self.signing_key, record)
            session.commit()
            return row

    # Boards.

    def envs(self) -> list[dict[str, Any]]:
        from gymx import registration

        registration.load_plugins()
        with self.Session() as session:
            rows = session.execute(select(db.Entry.env_id, db.Entry.id)).all()
        counts: dict[str, int] = {}
        for env_id, _ in rows:
            counts[env_id] = counts.get(env_id, 0) + 1
        return [
            {"env_id": env_id, "entries": count, "ranked": len(self.board(env_id)["ranked"])}
            for env_id, count in sorted(counts.items())
        ]

    def board(self, env_id: str) -> dict[str, Any]:
        """{"env_id", "ranked": rows by IQM (best first), "others": every other entry with why it is not ranked}."""
        with self.Session() as session:
            entries = session.scalars(
                select(db.Entry).where(db.Entry.env_id == env_id).order_by(db.Entry.id.desc())
            ).all()
            names = {user.id: user.name for user in session.scalars(select(db.User))}
        ranked, others, ranked_users = [], [], set()
        for entry in entries:
            row = self.row(entry, names[entry.user_id])
            if entry.num_seeds < scoring.MIN_SEEDS:
                row["why_unranked"] = f"{entry.num_seeds} seed(s), fewer than {scoring.MIN_SEEDS}"
            elif entry.status != "verified":
                row["why_unranked"] = entry.status
            elif entry.user_id in ranked_users:
                row["why_unranked"] = "superseded by the user's later entry"
            else:
                ranked_users.add(entry.user_id)
                ranked.append(row)
                continue
            others.append(row)
        ranked.sort(key=lambda r: (-r["iqm"], r["entry_id"]))
        for rank, row in enumerate(ranked, 1):
            row["rank"] = rank
        return {"env_id": env_id, "ranked": ranked, "others": others}

    def row(self, entry: db.Entry, user: str) -> dict[str, Any]:
        return {
            "entry_id": entry.id,
            "user": user,
            "algorithm": entry.algorithm,
            "env_id": entry.env_id,
            "env_version": entry.env_version,
            "seeds": entry.num_seeds,
            "iqm": entry.iqm,
            "ci_low": entry.ci_low,
            "ci_high": entry.ci_high,
            "status": entry.status,
            "verified_score": entry.verified_score,
            "episodes_before_solve": entry.episodes_before_solve,
            "best_100_mean": entry.best_100_mean,
            "episodes": entry.episodes,
            "code_url": entry.code_url,
            "created": entry.created.isoformat() + "Z",
        }

    def entry_json(self, entry_id: int) -> dict[str, Any]:
        entry = self.get_entry(entry_id)
        out = self.row(entry, self.user_name(entry.user_id))
        out.update(
            seed_scores=entry.seed_scores,
            command=entry.command,
            config=entry.config,
            files=entry.files,
            bundle_sha256=entry.bundle_sha256,
            verification=entry.verification,
            signature=entry.signature,
            public_key=self.public_key,
        )
        return out

    def export(self, env_id: str) -> dict[str, Any]:
        """A board with every entry's signed verification record and the key to check them offline."""
        board = self.board(env_id)
        records = {}
        for row in board["ranked"] + board["others"]:
            entry = self.get_entry(row["entry_id"])
            records[str(entry.id)] = {"verification": entry.verification, "signature": entry.signature}
        return {**board, "public_key": self.public_key, "records": records}

    def export_csv(self, env_id: str) -> str:
        board = self.board(env_id)
        columns = ["rank", "entry_id", "user", "algorithm", "env_id", "env_version", "seeds", "iqm", "ci_low", "ci_high", "status",
                   "verified_score", "episodes_before_solve", "best_100_mean", "episodes", "code_url", "created", "why_unranked"]  # fmt: skip
        out = io.StringIO()
        writer = csv.DictWriter(out, columns, extrasaction="ignore")
        writer.writeheader()
        for row in board["ranked"] + board["others"]:
            writer.writerow(row)
        return out.getvalue()

    def suite(self, name: str) -> dict[str, Any]:
        """Per (user, algorithm): the normalised IQM of its ranked entry on each env of the suite, and their mean."""
        if name not in scoring.SUITES:
            raise StoreError(404, f"gymx: no suite {name!r}; suites: {sorted(scoring.SUITES)}")
        env_ids = sorted(scoring.SUITES[name])
        table: dict[tuple[str, str], dict[str, float]] = {}
        for env_id in env_ids:
            for row in self.board(env_id)["ranked"]:
                score = scoring.normalised(env_id, row["iqm"], name)
                assert score is not None, "every env of a suite has its bounds"
                table.setdefault((row["user"], row["algorithm"]), {})[env_id] = score
        rows: list[dict[str, Any]] = [
            {"user": user, "algorithm": algorithm, "scores": scores, "mean": sum(scores.values()) / len(env_ids)}
            for (user, algorithm), scores in table.items()
        ]
        rows.sort(key=lambda r: -r["mean"])
        return {"suite": name, "env_ids": env_ids, "rows": rows, "note": "missing envs count as 0 in the mean"}
