"""The audit log's rows in the store (table ``audit_log``), so every bot and worker process writes one log.

The batching stays in :class:`probes.audit.AuditLog`; this is only its sink (the ``probes`` package imports
nothing of ``bot``: the bot and worker commands hand this in).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select

from bot.store._shared import Database
from bot.store.tables import audit_log
from probes.audit import COLUMNS, AuditEntry, entry_of, row_of

#: How often a process deletes rows past ``keep_days``: each batch would be wasted work, once a day too rare
#: for a log that grows by a million rows a day with a thousand watches.
SWEEP_EVERY = 3600.0


class StoreAuditSink:
    """Satisfies :class:`probes.audit.AuditSink`: one INSERT per batch. With ``keep_days`` (the setting
    PORTBOT_AUDIT_KEEP_DAYS), rows older than that are deleted with the first batch and then hourly."""

    def __init__(
        self,
        database: Database,
        keep_days: int | None = None,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = database
        self._keep = None if keep_days is None else timedelta(days=keep_days)
        self._now = now
        self._clock = clock
        self._next_sweep = float("-inf")

    async def write(self, batch: list[AuditEntry]) -> None:
        rows = [dict(zip(COLUMNS, row_of(entry), strict=True)) for entry in batch]
        async with self._db.begin() as conn:
            if self._keep is not None and self._clock() >= self._next_sweep:
                self._next_sweep = self._clock() + SWEEP_EVERY
                # The time column holds ISO 8601 in UTC, written as row_of writes it: it sorts as text.
                cutoff = (self._now() - self._keep).isoformat()
                await conn.execute(delete(audit_log).where(audit_log.c.time < cutoff))
            await conn.execute(insert(audit_log), rows)

    async def read(self, limit: int) -> list[AuditEntry]:
        columns = [audit_log.c[name] for name in COLUMNS]
        async with self._db.connect() as conn:
            rows = (await conn.execute(select(*columns).order_by(audit_log.c.id.desc()).limit(limit))).all()
        return [entry_of(row) for row in rows]

    async def close(self) -> None:
        """The store belongs to the process that opened it; nothing to close here."""
