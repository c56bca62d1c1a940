"""Sliding-window counters in a SQLite file, for processes that come and go (``portbot probe`` in a shell loop).

The arithmetic is probes/_window.py's (the ``limits`` library's sliding-window counter, hit for hit); only the
four numbers per counter live in a file instead of a dict, so a new process starts where the last one stopped.
Each hit is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock serialises processes hitting at the same
moment, so two of them can't both take the last place in a window.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from probes._window import Rate, fits, new_counter, reset_after, roll, weighted

_SCHEMA = """
CREATE TABLE IF NOT EXISTS windows (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    expiry INTEGER NOT NULL,
    window INTEGER NOT NULL,
    previous INTEGER NOT NULL,
    current INTEGER NOT NULL,
    PRIMARY KEY (scope, key, expiry)
)
"""
_T = TypeVar("_T")
_TORN = (11, 26)  # SQLITE_CORRUPT, SQLITE_NOTADB (primary result codes)
_BUSY_TIMEOUT = 5.0  # seconds a process waits for another's write lock before giving up


class CounterStoreError(Exception):
    """The counter file can't be read or written (locked for too long, read-only, disk full)."""


class SqliteWindowCounters:
    """Sliding-window counters keyed by ``(scope, key)``, shared by every process that opens ``path``."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._db: sqlite3.Connection | None = None
        self._swept = False

    def hit(self, item: Rate, scope: str, key: str) -> bool:
        """Count one hit unless it would go over ``item``'s limit; return whether it was counted."""

        def work(db: sqlite3.Connection, now: float) -> bool:
            counter = self._load(db, scope, key, item.get_expiry(), now)
            if not fits(item, counter, now):
                return False
            counter[3] += 1
            db.execute("INSERT OR REPLACE INTO windows VALUES (?, ?, ?, ?, ?, ?)", (scope, key, *counter))
            return True

        return self._run(work)

    def test(self, item: Rate, scope: str, key: str) -> bool:
        """Whether one more hit would be counted (counts nothing)."""
        return self._run(
            lambda db, now: weighted(self._load(db, scope, key, item.get_expiry(), now), now) < item.amount
        )

    def reset_after(self, item: Rate, scope: str, key: str) -> float:
        """Seconds until the counter next drops (``limits``' window-stats reset time, less now)."""
        return self._run(lambda db, now: reset_after(self._load(db, scope, key, item.get_expiry(), now), now))

    def reset(self) -> None:
        """Forget every counter."""
        self._run(lambda db, now: db.execute("DELETE FROM windows"))

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

    @staticmethod
    def _load(db: sqlite3.Connection, scope: str, key: str, expiry: int, now: float) -> list[int]:
        row = db.execute(
            "SELECT window, previous, current FROM windows WHERE scope = ? AND key = ? AND expiry = ?",
            (scope, key, expiry),
        ).fetchone()
        if row is None:
            return new_counter(expiry, now)
        counter = [expiry, *row]
        roll(counter, now)
        return counter

    def _run(self, work: Callable[[sqlite3.Connection, float], _T]) -> _T:
        """``work(db, now)`` in one write transaction (so processes take turns), committed."""
        for attempt in range(2):
            try:
                db = self._connect()
                db.execute("BEGIN IMMEDIATE")
                try:
                    now = self._clock()
                    if not self._swept:
                        # Counters whose two windows are over count nothing: dropped once per process, inside
                        # its first transaction (a commit of its own costs as much again).
                        db.execute(
                            "DELETE FROM windows WHERE CAST(? / expiry AS INTEGER) - window > 1", (now,)
                        )
                        self._swept = True
                    result = work(db, now)
                except BaseException:
                    db.rollback()
                    raise
                db.commit()
                return result
            except sqlite3.DatabaseError as err:
                code = getattr(err, "sqlite_errorcode", None)  # absent on errors Python raises itself
                if attempt or code is None or code & 0xFF not in _TORN:
                    # Locked for too long, read-only, disk full, ...: the limiter says it can't count.
                    raise CounterStoreError(f"{self._path}: {err}") from err
                # Not a database any more: torn by a power cut (nothing here is fsynced, see _connect). The
                # counts are only a few minutes' worth; start a new file rather than refuse every probe.
                self.close()
                self._path.unlink(missing_ok=True)
                self._path.with_name(self._path.name + "-journal").unlink(missing_ok=True)
        raise AssertionError("unreachable")

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE ... COMMIT in _run.
            db = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT, isolation_level=None)
            # No fsync (synchronous=OFF) and a truncated, not deleted, journal: a run's two commits cost about
            # 0.6 ms instead of ~28 ms (full sync) or ~15 ms (WAL, whose checkpoint on close syncs). Processes
            # still take turns through SQLite's locks; only a power cut mid-write can tear the file (see _run).
            db.execute("PRAGMA journal_mode=TRUNCATE")
            db.execute("PRAGMA synchronous=OFF")
            db.execute(_SCHEMA)
            self._db = db
        return self._db
