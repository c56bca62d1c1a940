"""The audit log: one row per probe request, including refusals and rate-limit hits.

Operators need to answer "who aimed the bot at what, and when". Writes go through a small batching queue, so
a busy worker writes many rows per transaction and the event loop never waits for each one.

Where the rows go is an :class:`AuditSink`: a SQLite file by default (:class:`SqliteAuditFile`, what the
one-shot ``portbot probe`` uses, with no database library to load), or the shared store, whose sink lives in
``bot/store/audit.py`` and is handed in by the bot and worker commands (``probes`` imports nothing of ``bot``).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from probes.models import ProbeReport

# Outcomes of a request, as stored in the ``outcome`` column.
PROBED = "probed"
REFUSED = "refused"
RATE_LIMITED = "rate-limited"
INVALID = "invalid"
FAILED = "failed"

_SETUP_TRIES = 20

_SCHEMA = """
CREATE TABLE IF NOT EXISTS probes (
    id          INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,      -- ISO 8601, UTC
    platform    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    guild_id    TEXT,
    channel_id  TEXT,
    target      TEXT NOT NULL,      -- as the user gave it
    addresses   TEXT NOT NULL,      -- JSON list of the addresses probed
    ports       TEXT NOT NULL,      -- JSON list
    protocol    TEXT NOT NULL,
    outcome     TEXT NOT NULL,      -- probed | refused | rate-limited | invalid | failed
    category    TEXT,               -- refusal category or rate-limit scope
    verdicts    TEXT NOT NULL,      -- JSON list of {address, port, protocol, state, reason}
    vantage     TEXT NOT NULL,
    detail      TEXT                -- the message shown, or a vantage's error
);
CREATE INDEX IF NOT EXISTS probes_time ON probes (time);
CREATE INDEX IF NOT EXISTS probes_user ON probes (platform, user_id);
"""
COLUMNS = (
    "time",
    "platform",
    "user_id",
    "guild_id",
    "channel_id",
    "target",
    "addresses",
    "ports",
    "protocol",
    "outcome",
    "category",
    "verdicts",
    "vantage",
    "detail",
)
_COLUMNS = ", ".join(COLUMNS)


def default_audit_path() -> Path:
    """``~/.local/share/portbot/audit.sqlite3``, for callers that give no path. Portbot itself always passes
    its settings' path (PORTBOT_AUDIT_DB, else PORTBOT_DATA_DIR/audit.sqlite3)."""
    return Path.home() / ".local" / "share" / "portbot" / "audit.sqlite3"


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One audited request."""

    platform: str
    user_id: str
    guild_id: str | None
    channel_id: str | None
    target: str
    ports: tuple[int, ...]
    protocol: str
    outcome: str
    vantage: str
    addresses: tuple[str, ...] = ()
    verdicts: tuple[dict[str, Any], ...] = ()
    category: str | None = None
    detail: str | None = None
    time: datetime = field(default_factory=lambda: datetime.now(UTC))

    @staticmethod
    def verdicts_of(report: ProbeReport) -> tuple[dict[str, Any], ...]:
        """The verdicts in ``report`` in the shape stored in the log."""
        return tuple(
            {
                "address": r.address,
                "port": r.port,
                "protocol": r.protocol,
                "state": str(r.state),
                "reason": r.reason,
            }
            for r in report.results
        )


def row_of(entry: AuditEntry) -> tuple[Any, ...]:
    """``entry`` as stored, in :data:`COLUMNS` order (lists as JSON text)."""
    e = entry
    return (
        e.time.isoformat(),
        e.platform,
        e.user_id,
        e.guild_id,
        e.channel_id,
        e.target,
        json.dumps(list(e.addresses)),
        json.dumps(list(e.ports)),
        e.protocol,
        e.outcome,
        e.category,
        json.dumps(list(e.verdicts)),
        e.vantage,
        e.detail,
    )


def entry_of(r: Any) -> AuditEntry:
    """An entry from a stored row in :data:`COLUMNS` order."""
    return AuditEntry(
        time=datetime.fromisoformat(r[0]),
        platform=r[1],
        user_id=r[2],
        guild_id=r[3],
        channel_id=r[4],
        target=r[5],
        addresses=tuple(json.loads(r[6])),
        ports=tuple(json.loads(r[7])),
        protocol=r[8],
        outcome=r[9],
        category=r[10],
        verdicts=tuple(json.loads(r[11])),
        vantage=r[12],
        detail=r[13],
    )


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
    """The audit log in its own SQLite file, written on a worker thread (``asyncio.to_thread``) so the event
    loop never waits for the disk."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._db_lock = threading.Lock()  # one connection, used from to_thread workers one at a time

    async def write(self, batch: list[AuditEntry]) -> None:
        await asyncio.to_thread(self._write, batch)

    async def read(self, limit: int) -> list[AuditEntry]:
        return await asyncio.to_thread(self._read, limit)

    async def close(self) -> None:
        with self._db_lock:
            if self._db is not None:
                self._db.close()
                self._db = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, check_same_thread=False, timeout=30.0)
            # Two processes (a bot and a worker, or two workers) opening a new file at once can see
            # "database is locked" while one switches it to WAL: SQLite does not wait on that step.
            for attempt in range(_SETUP_TRIES):
                try:
                    db.execute("PRAGMA journal_mode=WAL")  # readers (operators) never block the bot
                    db.execute("PRAGMA synchronous=NORMAL")
                    db.executescript(_SCHEMA)
                    break
                except sqlite3.OperationalError as err:
                    if "locked" not in str(err) or attempt == _SETUP_TRIES - 1:
                        db.close()
                        raise
                    time.sleep(0.02 * (attempt + 1))
            self._db = db
        return self._db

    def _write(self, batch: list[AuditEntry]) -> None:
        rows = [row_of(e) for e in batch]
        with self._db_lock:
            db = self._connect()
            with db:
                db.executemany(f"INSERT INTO probes ({_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)  # noqa: S608

    def _read(self, limit: int) -> list[AuditEntry]:
        with self._db_lock:
            db = self._connect()
            rows = db.execute(f"SELECT {_COLUMNS} FROM probes ORDER BY id DESC LIMIT ?", (limit,)).fetchall()  # noqa: S608
        return [entry_of(r) for r in rows]
