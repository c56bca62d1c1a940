"""Every table Portbot keeps, declared once (SQLAlchemy Core). Changing one needs a new revision in migrations/.

Times are stored as UTC seconds since the epoch (floats): the same on SQLite and PostgreSQL, and cheap to compare
in the scheduler's due-check query.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

# Per Discord server: who sees answers (bot/discord/guild_settings.py).
guild_settings = Table(
    "guild_settings",
    metadata,
    Column("guild_id", String(32), primary_key=True),
    Column("probes_private", Boolean, nullable=False),
    Column("knowledge_private", Boolean, nullable=False),
)

# One saved host per chat user and one default per server/workspace (bot/discord/saved_servers.py).
saved_servers = Table(
    "saved_servers",
    metadata,
    Column("scope", String(16), primary_key=True),  # "user" | "guild"
    Column("owner_id", String(64), primary_key=True),
    Column("host", Text, nullable=False),
)

# Per Slack workspace: who sees answers, and who has had the App Home welcome (bot/slack/workspace.py).
slack_workspaces = Table(
    "slack_workspaces",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("knowledge_private", Boolean, nullable=False),
)
slack_welcomed = Table(
    "slack_welcomed",
    metadata,
    Column("team_id", String(32), primary_key=True),
    Column("user_id", String(32), primary_key=True),
)

# What was probed, by whom, and what happened (probes/audit.py).
audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", String(40), nullable=False),  # ISO 8601, UTC
    Column("platform", String(16), nullable=False),
    Column("user_id", String(64), nullable=False),
    Column("guild_id", String(64)),
    Column("channel_id", String(64)),
    Column("target", Text, nullable=False),
    Column("addresses", Text, nullable=False),  # JSON
    Column("ports", Text, nullable=False),  # JSON
    Column("protocol", String(8), nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("category", String(32)),
    Column("verdicts", Text, nullable=False),  # JSON
    Column("vantage", String(64), nullable=False),
    Column("detail", Text),  # the message shown, or a vantage's error
    Index("audit_log_time", "time"),
    Index("audit_log_user", "platform", "user_id"),
)

# "Share to channel" offers (bot/core/shares.py): owner-bound and short-lived.
shares = Table(
    "shares",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("expires_at", Float, nullable=False, index=True),
)

# "Check again" buttons' checks (bot/core/rechecks.py): owner-bound and short-lived, like shares. A check names
# a host, so it is kept only as long as its button works.
rechecks = Table(
    "rechecks",
    metadata,
    Column("token", String(64), primary_key=True),
    Column("owner", String(128), nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("expires_at", Float, nullable=False, index=True),
)

# Watches (bot/watch): one row per watched target, with the scheduler's lease and the confirmed state. Only the
# process holding a watch's lease (lease_owner, lease_until, fenced by lease_token) may record its result.
#: Slack events already answered, by ``event_id``: Slack delivers an event again when its ack was late, and with
#: several processes (PORTBOT_SLACK_PROCESSES, or hosts on one database) the retry may reach another one.
slack_events = Table(
    "slack_events",
    metadata,
    Column("event_id", String(64), primary_key=True),
    Column("seen_at", Float, nullable=False, index=True),
)

watches = Table(
    "watches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("platform", String(16), nullable=False),
    Column("scope_id", String(64), nullable=False),
    Column("created_by", String(64), nullable=False),
    Column("host", Text, nullable=False),
    Column("port", Integer, nullable=False),
    Column("protocol", String(8), nullable=False),
    Column("every", Float, nullable=False),
    Column("game", String(64)),
    Column("label", Text),
    Column("channel_id", String(64)),
    Column("notify_url", Text),
    Column("status_message_id", String(64)),
    Column("created_at", Float, nullable=False),
    Column("next_due", Float, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", Float),
    Column("lease_token", Integer, nullable=False, server_default="0"),
    Column("state", String(16)),
    Column("state_since", Float),
    Column("candidate", String(16)),
    Column("candidate_count", Integer, nullable=False, server_default="0"),
    Column("changes", Integer, nullable=False, server_default="0"),  # confirmed changes so far: the alert seq
    Column("last_checked", Float),
    Column("last_result", Text),
    UniqueConstraint("platform", "scope_id", "host", "port", "protocol", name="watches_one_per_target"),
    Index("watches_due", "next_due"),
    Index("watches_scope", "platform", "scope_id"),
)

# The alert outbox: written in the same transaction as the confirmed change it announces, delivered afterwards,
# at most one row per (watch, change) whatever happens to the process that wrote it.
watch_alerts = Table(
    "watch_alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("watch_id", Integer, ForeignKey("watches.id", ondelete="CASCADE"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_at", Float, nullable=False),
    Column("payload", Text, nullable=False),  # JSON
    Column("delivered_at", Float),
    Column("attempts", Integer, nullable=False, server_default="0"),
    Column("lease_until", Float),
    UniqueConstraint("watch_id", "seq", name="watch_alerts_one_per_change"),
    Index("watch_alerts_pending", "delivered_at"),
)

# Old per-file SQLite databases already copied in (bot/store/legacy.py): one row per source, so the import runs
# once however many processes start on the upgraded version at the same time.
legacy_imports = Table(
    "legacy_imports",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("imported_at", Float, nullable=False),
    Column("rows", Integer, nullable=False),
)

# Slack installations and OAuth states (bot/slack/app.py), read and written by slack_sdk's
# AsyncSQLAlchemyInstallationStore / AsyncSQLAlchemyOAuthStateStore on the store's engine. Their columns copy
# slack_sdk 3.x's own table builders (tests/store/test_slack_tables.py fails if a slack_sdk upgrade changes
# them); we create them through our revisions rather than slack_sdk's create_all so one history owns the schema.
slack_installations = Table(
    "slack_installations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("enterprise_url", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("user_id", String(32), nullable=False),
    Column("user_token", String(200)),
    Column("user_scopes", String(1000)),
    Column("user_refresh_token", String(200)),
    Column("user_token_expires_at", DateTime),
    Column("incoming_webhook_url", String(200)),
    Column("incoming_webhook_channel", String(200)),
    Column("incoming_webhook_channel_id", String(200)),
    Column("incoming_webhook_configuration_url", String(200)),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("token_type", String(32)),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_installations_idx", "client_id", "enterprise_id", "team_id", "user_id", "installed_at"),
)
slack_bots = Table(
    "slack_bots",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("client_id", String(32), nullable=False),
    Column("app_id", String(32), nullable=False),
    Column("enterprise_id", String(32)),
    Column("enterprise_name", String(200)),
    Column("team_id", String(32)),
    Column("team_name", String(200)),
    Column("bot_token", String(200)),
    Column("bot_id", String(32)),
    Column("bot_user_id", String(32)),
    Column("bot_scopes", String(1000)),
    Column("bot_refresh_token", String(200)),
    Column("bot_token_expires_at", DateTime),
    Column("is_enterprise_install", Boolean, nullable=False),
    Column("installed_at", DateTime, nullable=False),
    Index("slack_bots_idx", "client_id", "enterprise_id", "team_id", "installed_at"),
)
slack_oauth_states = Table(
    "slack_oauth_states",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("state", String(200), nullable=False),
    Column("expire_at", DateTime, nullable=False),
)

__all__ = [
    "audit_log",
    "guild_settings",
    "legacy_imports",
    "metadata",
    "rechecks",
    "saved_servers",
    "shares",
    "slack_bots",
    "slack_installations",
    "slack_oauth_states",
    "slack_welcomed",
    "slack_workspaces",
    "watch_alerts",
    "watches",
]
