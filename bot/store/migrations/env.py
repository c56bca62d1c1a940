"""Alembic's entry point, run only through bot.store._engine with a connection already open (never by URL)."""

from __future__ import annotations

from alembic import context

from bot.store.tables import metadata

connection = context.config.attributes.get("connection")
if connection is None:  # pragma: no cover - a human ran `alembic` directly
    raise SystemExit(
        "run `portbot db upgrade` (it opens the configured database); plain `alembic` is not wired up"
    )

# render_as_batch: SQLite alters tables by copying them, which Alembic does only in batch mode.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
