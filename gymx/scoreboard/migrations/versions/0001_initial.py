"""The first schema: users, API keys, blobs, entries, their runs and the server's secrets.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("rate_per_minute", sa.Integer, nullable=False),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False),
        sa.Column("prefix", sa.String(32), nullable=False, index=True),
        sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("revoked", sa.DateTime, nullable=True),
    )
    op.create_table(
        "blobs",
        sa.Column("sha256", sa.String(64), primary_key=True),
        sa.Column("size", sa.Integer, nullable=False),
    )
    op.create_table(
        "entries",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("user_id", sa.Integer, sa.ForeignKey("users.id"), nullable=False, index=True),
        sa.Column("bundle_sha256", sa.String(64), nullable=False, unique=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("created", sa.DateTime, nullable=False),
        sa.Column("env_id", sa.String(128), nullable=False, index=True),
        sa.Column("env_version", sa.Integer, nullable=True),
        sa.Column("algorithm", sa.String(128), nullable=False),
        sa.Column("code_url", sa.Text, nullable=True),
        sa.Column("command", sa.Text, nullable=True),
        sa.Column("config", sa.JSON, nullable=True),
        sa.Column("files", sa.JSON, nullable=False),
        sa.Column("num_seeds", sa.Integer, nullable=False),
        sa.Column("seed_scores", sa.JSON, nullable=False),
        sa.Column("iqm", sa.Float, nullable=False),
        sa.Column("ci_low", sa.Float, nullable=False),
        sa.Column("ci_high", sa.Float, nullable=False),
        sa.Column("episodes_before_solve", sa.Integer, nullable=True),
        sa.Column("best_100_mean", sa.Float, nullable=True),
        sa.Column("episodes", sa.Integer, nullable=False),
        sa.Column("has_policy", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(16), nullable=False, index=True),
        sa.Column("verified_score", sa.Float, nullable=True),
        sa.Column("verification", sa.JSON, nullable=True),
        sa.Column("signature", sa.String(128), nullable=True),
        sa.UniqueConstraint("user_id", "idempotency_key", name="uq_entries_idempotency"),
    )
    op.create_table(
        "entry_runs",
        sa.Column("log_sha256", sa.String(64), primary_key=True),
        sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id"), nullable=False, index=True),
    )
    op.create_table(
        "server_secrets",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.LargeBinary, nullable=False),
    )


def downgrade() -> None:
    for table in ("server_secrets", "entry_runs", "entries", "blobs", "api_keys", "users"):
        op.drop_table(table)
