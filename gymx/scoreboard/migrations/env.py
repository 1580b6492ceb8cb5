"""Alembic's entry point for the scoreboard's migrations: the URL comes from `gymx.scoreboard.db.upgrade`/`downgrade`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config
url = config.attributes.get("url") or config.get_main_option("sqlalchemy.url")
assert url, "the migrations run with a database URL (gymx.scoreboard.db passes one)"
engine = create_engine(url, poolclass=pool.NullPool)
with engine.connect() as connection:
    # Batch mode: SQLite alters a table by copying it.
    context.configure(connection=connection, render_as_batch=url.startswith("sqlite"))
    with context.begin_transaction():
        context.run_migrations()
engine.dispose()
