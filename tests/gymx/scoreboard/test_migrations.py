"""The Alembic migrations shipped in the package: up from empty, down to empty, and up again, on each backend."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from gymx.scoreboard import db

from .conftest import BACKENDS, empty_database

TABLES = {"users", "api_keys", "blobs", "entries", "entry_runs", "server_secrets"}


@pytest.mark.parametrize("backend", BACKENDS)
def test_migrations_up_down_up(backend, tmp_path):
    url = db.database_url(empty_database(backend, tmp_path), tmp_path)
    db.upgrade(url)
    engine = db.make_engine(url)
    try:
        assert TABLES <= set(sa.inspect(engine).get_table_names())
        entry_columns = {c["name"] for c in sa.inspect(engine).get_columns("entries")}
        assert {
            c.name for c in db.Entry.__table__.columns
        } == entry_columns  # the models describe what the migration built
        db.downgrade(url)
        assert not TABLES & set(sa.inspect(engine).get_table_names())
        db.upgrade(url)
        assert TABLES <= set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_sqlite_runs_in_wal_mode(tmp_path):
    url = db.database_url(None, tmp_path)
    db.upgrade(url)
    engine = db.make_engine(url)
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    engine.dispose()


def test_database_urls(tmp_path):
    assert db.database_url("postgresql://u:p@h/d", tmp_path) == "postgresql+psycopg://u:p@h/d"
    assert db.database_url(None, tmp_path) == f"sqlite:///{tmp_path / 'scoreboard.sqlite3'}"
    with pytest.raises(ValueError, match="--database"):
        db.database_url("mysql://x", tmp_path)
