"""The audit log: one row per probe request, including refusals and rate-limit hits.

Operators need to answer "who aimed the bot at what, and when". Writes go through a small batching queue, so
a busy worker writes many rows per transaction and the event loop never waits for each one.

Where the rows go is an :class:`AuditSink`: a SQLite file by default (:class:`SqliteAuditFile`, what the
one-shot ``portbot probe`` uses, with no database library to load), or the shared store, whose sink lives in
``bot/store/audit.py`` and is handed in by the bot and worker commands (``probes`` imports nothing of ``bot``).
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Protocol

from probes._audit_file import (
    COLUMNS,
    FAILED,
    INVALID,
    PROBED,
    RATE_LIMITED,
    REFUSED,
    AuditEntry,
    AuditFile,
    default_audit_path,
    entry_of,
    row_of,
)

# Re-exported: the rows and the file are defined in the synchronous core.
__all__ = [
    "COLUMNS",
    "FAILED",
    "INVALID",
    "PROBED",
    "RATE_LIMITED",
    "REFUSED",
    "AuditEntry",
    "AuditFile",
    "AuditLog",
    "AuditSink",
    "SqliteAuditFile",
    "default_audit_path",
    "entry_of",
    "row_of",
]


class AuditSink(Protocol):
    """Where audit rows go: a batch at a time, newest-first reads for operators and tests."""

    async def write(self, batch: list[AuditEntry]) -> None: ...

    async def read(self, limit: int) -> list[AuditEntry]: ...

    async def close(self) -> None: ...


class AuditLog:
    """Appends :class:`AuditEntry` rows to a sink (a SQLite file at ``path`` unless ``sink`` is given). Call
    :meth:`flush` to wait for pending rows and :meth:`close` when done."""

    def __init__(
        self, path: Path | str | None = None, *, sink: AuditSink | None = None, linger: float = 0.05
    ) -> None:
        self.path = Path(path) if path is not None else default_audit_path()
        self.linger = linger  # seconds a new row waits for company before a write, so busy workers batch
        self.sink: AuditSink = sink if sink is not None else SqliteAuditFile(self.path)
        self._pending: list[AuditEntry] = []
        self._writer: asyncio.Task[None] | None = None
        self._lingering = False  # the writer has not taken its batch from _pending yet (it waits for company)

    async def record(self, entry: AuditEntry) -> None:
        """Queue ``entry``; it is written shortly after, in a batch."""
        self._pending.append(entry)
        if self._writer is None or self._writer.done():
            self._lingering = self.linger > 0
            self._writer = asyncio.create_task(self._drain(self.linger))

    async def flush(self) -> None:
        """Wait until every recorded entry is written."""
        if self._writer is not None and self._lingering:
            # Someone is waiting for the rows now: company would only delay them (a one-shot `portbot probe`
            # would sit out the whole linger before exiting).
            self._writer.cancel()
            await asyncio.wait([self._writer])
            self._lingering = False
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)
        if self._pending:
            await self._drain(0)

    async def recent(self, limit: int = 50) -> list[AuditEntry]:
        """The newest ``limit`` entries, newest first (written ones only: call :meth:`flush` first)."""
        return await self.sink.read(limit)

    async def close(self) -> None:
        await self.flush()
        await self.sink.close()

    async def _drain(self, linger: float) -> None:
        if linger:
            await asyncio.sleep(linger)
            self._lingering = False
        while self._pending:
            batch, self._pending = self._pending, []
            await self.sink.write(batch)


class SqliteAuditFile:
    """The audit log in its own SQLite file (:class:`~probes._audit_file.AuditFile`), written on a worker thread
    (``asyncio.to_thread``) so the event loop never waits for the disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file = AuditFile(path)

    async def write(self, batch: list[AuditEntry]) -> None:
        await asyncio.to_thread(self._file.write, batch)

    async def read(self, limit: int) -> list[AuditEntry]:
        return await asyncio.to_thread(self._file.read, limit)

    async def close(self) -> None:
        self._file.close()
