"""The revisions build exactly the schema bot/store/tables.py declares (a table edited without a revision, or a
revision that drifts from the declaration, shows up here as Alembic's autogenerate diff)."""

from __future__ import annotations

from typing import Any

from bot.store import Store
from bot.store.tables import metadata


async def test_migrated_schema_equals_the_declared_tables(state_db: Store) -> None:
    """After every revision, Alembic finds nothing to add, drop or change (types included)."""

    def diff(sync_conn: Any) -> list[Any]:
        from alembic.autogenerate import compare_metadata
        from alembic.migration import MigrationContext

        context = MigrationContext.configure(sync_conn, opts={"compare_type": True})
        return list(compare_metadata(context, metadata))

    async with state_db.connect() as conn:
        assert await conn.run_sync(diff) == []
