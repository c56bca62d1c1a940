"""The audit log's rows and its SQLite file, with no event loop: the synchronous core of probes/audit.py.

``portbot probe``'s quick path (probes/quick.py) writes its one row here directly, in a process that never
imports asyncio; probes/audit.py re-exports everything and runs the same writes on a worker thread.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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


class AuditFile:
    """The audit log in its own SQLite file, written synchronously. One connection, shared by the threads of
    probes/audit.py's :class:`~probes.audit.SqliteAuditFile` one at a time."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._db: sqlite3.Connection | None = None
        self._db_lock = threading.Lock()

    def write(self, batch: list[AuditEntry]) -> None:
        """Append ``batch`` in one transaction."""
        rows = [row_of(e) for e in batch]
        with self._db_lock:
            db = self._connect()
            with db:
                db.executemany(f"INSERT INTO probes ({_COLUMNS}) VALUES ({', '.join('?' * 14)})", rows)  # noqa: S608

    def read(self, limit: int) -> list[AuditEntry]:
        """The newest ``limit`` entries, newest first."""
        with self._db_lock:
            db = self._connect()
            rows = db.execute(f"SELECT {_COLUMNS} FROM probes ORDER BY id DESC LIMIT ?", (limit,)).fetchall()  # noqa: S608
        return [entry_of(r) for r in rows]

    def close(self) -> None:
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
