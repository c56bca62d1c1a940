"""Shared state: guild and workspace settings, saved servers, the audit log and shares.

Revision ID: 0001
Revises:
Create Date: 2026-12-01
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
        "guild_settings",
        sa.Column("guild_id", sa.String(32), primary_key=True),
        sa.Column("probes_private", sa.Boolean, nullable=False),
        sa.Column("knowledge_private", sa.Boolean, nullable=False),
    )
    op.create_table(
        "saved_servers",
        sa.Column("scope", sa.String(16), primary_key=True),
        sa.Column("owner_id", sa.String(64), primary_key=True),
        sa.Column("host", sa.Text, nullable=False),
    )
    op.create_table(
        "slack_workspaces",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("knowledge_private", sa.Boolean, nullable=False),
    )
    op.create_table(
        "slack_welcomed",
        sa.Column("team_id", sa.String(32), primary_key=True),
        sa.Column("user_id", sa.String(32), primary_key=True),
    )
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("time", sa.String(40), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("user_id", sa.String(64), nullable=False),
        sa.Column("guild_id", sa.String(64)),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("target", sa.Text, nullable=False),
        sa.Column("addresses", sa.Text, nullable=False),
        sa.Column("ports", sa.Text, nullable=False),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32)),
        sa.Column("verdicts", sa.Text, nullable=False),
        sa.Column("vantage", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text),
    )
    op.create_index("audit_log_time", "audit_log", ["time"])
    op.create_index("audit_log_user", "audit_log", ["platform", "user_id"])
    op.create_table(
        "shares",
        sa.Column("token", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(128), nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("expires_at", sa.Float, nullable=False),
    )
    op.create_index("ix_shares_expires_at", "shares", ["expires_at"])


def downgrade() -> None:
    for table in (
        "shares",
        "audit_log",
        "slack_welcomed",
        "slack_workspaces",
        "saved_servers",
        "guild_settings",
    ):
        op.drop_table(table)
