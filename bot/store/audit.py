"""The audit log's rows in the store (table ``audit_log``), so every bot and worker process writes one log.

The batching stays in :class:`probes.audit.AuditLog`; this is only its sink (the ``probes`` package imports
nothing of ``bot``: the bot and worker commands hand this in).
"""

from __future__ import annotations

from sqlalchemy import insert, select

from bot.store._shared import Database
from bot.store.tables import audit_log
from probes.audit import COLUMNS, AuditEntry, entry_of, row_of


class StoreAuditSink:
    """Satisfies :class:`probes.audit.AuditSink`: one INSERT per batch."""

    def __init__(self, database: Database) -> None:
        self._db = database

    async def write(self, batch: list[AuditEntry]) -> None:
        rows = [dict(zip(COLUMNS, row_of(entry), strict=True)) for entry in batch]
        async with self._db.begin() as conn:
            await conn.execute(insert(audit_log), rows)

    async def read(self, limit: int) -> list[AuditEntry]:
        columns = [audit_log.c[name] for name in COLUMNS]
        async with self._db.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(audit_log.c.id.desc()).limit(limit))).all()
        return [entry_of(row) for row in rows]

    async def close(self) -> None:
        """The store belongs to the process that opened it; nothing to close here."""
