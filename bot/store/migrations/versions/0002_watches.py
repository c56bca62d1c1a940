"""Watches and their alert outbox.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "watches",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("scope_id", sa.String(64), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("port", sa.Integer, nullable=False),
        sa.Column("protocol", sa.String(8), nullable=False),
        sa.Column("every", sa.Float, nullable=False),
        sa.Column("game", sa.String(64)),
        sa.Column("label", sa.Text),
        sa.Column("channel_id", sa.String(64)),
        sa.Column("notify_url", sa.Text),
        sa.Column("status_message_id", sa.String(64)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("next_due", sa.Float, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", sa.Float),
        sa.Column("lease_token", sa.Integer, nullable=False, server_default="0"),
        sa.Column("state", sa.String(16)),
        sa.Column("state_since", sa.Float),
        sa.Column("candidate", sa.String(16)),
        sa.Column("candidate_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("changes", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_checked", sa.Float),
        sa.Column("last_result", sa.Text),
        sa.UniqueConstraint(
            "platform", "scope_id", "host", "port", "protocol", name="watches_one_per_target"
        ),
    )
    op.create_index("watches_due", "watches", ["next_due"])
    op.create_index("watches_scope", "watches", ["platform", "scope_id"])
    op.create_table(
        "watch_alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("watch_id", sa.Integer, sa.ForeignKey("watches.id", ondelete="CASCADE"), nullable=False),
        sa.Column("seq", sa.Integer, nullable=False),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("payload", sa.Text, nullable=False),
        sa.Column("delivered_at", sa.Float),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("lease_until", sa.Float),
        sa.UniqueConstraint("watch_id", "seq", name="watch_alerts_one_per_change"),
    )
    op.create_index("watch_alerts_pending", "watch_alerts", ["delivered_at"])


def downgrade() -> None:
    op.drop_table("watch_alerts")
    op.drop_table("watches")
