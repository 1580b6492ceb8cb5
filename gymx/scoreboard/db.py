"""The scoreboard's tables (SQLAlchemy 2) and the engine: SQLite in WAL mode by default, PostgreSQL by URL.

The schema is created and changed only by the Alembic migrations shipped in
`gymx/scoreboard/migrations` (`upgrade`, `downgrade`); the models here describe what they build.

Tables: `users` and their `api_keys` (only a SHA-256 of each key is kept); `blobs` (every stored
file, content-addressed by its SHA-256; the bytes live on disk under `files/`); `entries` (one
upload: the bundle's hash, its idempotency key, env id and version, algorithm, scores, the files
it holds as a JSON map of name to hash, and its verification state); `entry_runs` (the hash of
every episode log an entry holds, unique, so a log uploaded again in a new bundle is a replay);
`server_secrets` (the verification seed secret and the Ed25519 signing key, generated once).
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

MIGRATIONS = Path(__file__).parent / "migrations"


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    rate_per_minute: Mapped[int] = mapped_column(Integer, default=30)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    prefix: Mapped[str] = mapped_column(String(32), index=True)  # the key's first characters, to name it to its owner
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class Blob(Base):
    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)


class Entry(Base):
    __tablename__ = "entries"
    __table_args__ = (UniqueConstraint("user_id", "idempotency_key", name="uq_entries_idempotency"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    bundle_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(128))
    created: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    env_id: Mapped[str] = mapped_column(String(128), index=True)
    env_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    algorithm: Mapped[str] = mapped_column(String(128))
    code_url: Mapped[str | None] = mapped_column(Text, nullable=True)
    command: Mapped[str | None] = mapped_column(Text, nullable=True)
    config: Mapped[Any] = mapped_column(JSON, nullable=True)
    files: Mapped[Any] = mapped_column(JSON)  # name in the bundle -> sha256
    num_seeds: Mapped[int] = mapped_column(Integer)
    seed_scores: Mapped[Any] = mapped_column(JSON)  # per run: mean return of its last 100 training episodes
    iqm: Mapped[float] = mapped_column(Float)
    ci_low: Mapped[float] = mapped_column(Float)
    ci_high: Mapped[float] = mapped_column(Float)
    episodes_before_solve: Mapped[int | None] = mapped_column(Integer, nullable=True)
    best_100_mean: Mapped[float | None] = mapped_column(Float, nullable=True)
    episodes: Mapped[int] = mapped_column(Integer)
    has_policy: Mapped[bool] = mapped_column(Boolean, default=False)
    # unverified (no policy), pending, verified, disputed, failed (the re-run could not be done)
    status: Mapped[str] = mapped_column(String(16), index=True)
    verified_score: Mapped[float | None] = mapped_column(Float, nullable=True)
    verification: Mapped[Any] = mapped_column(JSON, nullable=True)  # the signed record
    signature: Mapped[str | None] = mapped_column(String(128), nullable=True)


class EntryRun(Base):
    __tablename__ = "entry_runs"
    log_sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    entry_id: Mapped[int] = mapped_column(ForeignKey("entries.id"), index=True)


class ServerSecret(Base):
    __tablename__ = "server_secrets"
    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[bytes] = mapped_column(LargeBinary)


def default_data_dir() -> Path:
    """`$GYMX_SCOREBOARD_HOME`, else the user's data folder (`$XDG_DATA_HOME/gymx/scoreboard`, `~/.local/share/...`)."""
    if os.environ.get("GYMX_SCOREBOARD_HOME"):
        return Path(os.environ["GYMX_SCOREBOARD_HOME"])
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return Path(base) / "gymx" / "scoreboard"


def database_url(database: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL of `database`: a postgresql:// URL (psycopg 3), a sqlite:// URL, or None for `data_dir/scoreboard.sqlite3`."""
    if database is None:
        data_dir.mkdir(parents=True, exist_ok=True)
        return f"sqlite:///{data_dir / 'scoreboard.sqlite3'}"
    if database.startswith(("postgresql://", "postgres://")):
        return "postgresql+psycopg://" + database.split("://", 1)[1]
    if database.startswith(("sqlite://", "postgresql+psycopg://")):
        return database
    raise ValueError(f"gymx: --database must be a postgresql:// or sqlite:// URL, got {database!r}")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        # timeout: concurrent writers wait for the lock instead of failing at once.
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(connection: Any, _: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _alembic_config(url: str) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Migrates the database at `url` up to `revision` (creating the schema in an empty one)."""
    from alembic import command

    command.upgrade(_alembic_config(url), revision)


def downgrade(url: str, revision: str = "base") -> None:
    from alembic import command

    command.downgrade(_alembic_config(url), revision)


def sessions(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
