"""Sliding-window counters in a SQLite file, for processes that come and go (``portbot probe`` in a shell loop).

The arithmetic is probes/_window.py's (the ``limits`` library's sliding-window counter, hit for hit); only the
four numbers per counter live in a file instead of a dict, so a new process starts where the last one stopped.
Each hit is one ``BEGIN IMMEDIATE`` transaction: SQLite's write lock serialises processes hitting at the same
moment, so two of them can't both take the last place in a window.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from limits import RateLimitItem

from probes._window import fits, new_counter, reset_after, roll, weighted

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
_BUSY_TIMEOUT = 5.0  # seconds a process waits for another's write lock before giving up


class CounterStoreError(Exception):
    """The counter file can't be read or written (locked for too long, read-only, disk full)."""


class SqliteWindowCounters:
    """Sliding-window counters keyed by ``(scope, key)``, shared by every process that opens ``path``."""

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self._path = path
        self._clock = clock
        self._db: sqlite3.Connection | None = None

    def hit(self, item: RateLimitItem, scope: str, key: str) -> bool:
        """Count one hit unless it would go over ``item``'s limit; return whether it was counted."""
        with self._transaction() as db:
            now = self._clock()
            counter = self._load(db, scope, key, item.get_expiry(), now)
            if not fits(item, counter, now):
                return False
            counter[3] += 1
            db.execute("INSERT OR REPLACE INTO windows VALUES (?, ?, ?, ?, ?, ?)", (scope, key, *counter))
            return True

    def test(self, item: RateLimitItem, scope: str, key: str) -> bool:
        """Whether one more hit would be counted (counts nothing)."""
        with self._transaction() as db:
            now = self._clock()
            return weighted(self._load(db, scope, key, item.get_expiry(), now), now) < item.amount

    def reset_after(self, item: RateLimitItem, scope: str, key: str) -> float:
        """Seconds until the counter next drops (``limits``' window-stats reset time, less now)."""
        with self._transaction() as db:
            now = self._clock()
            return reset_after(self._load(db, scope, key, item.get_expiry(), now), now)

    def reset(self) -> None:
        """Forget every counter."""
        with self._transaction() as db:
            db.execute("DELETE FROM windows")

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

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        try:
            db = self._connect()
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.rollback()
                raise
            db.commit()
        except sqlite3.Error as err:
            raise CounterStoreError(f"{self._path}: {err}") from err

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit mode: transactions are the explicit BEGIN IMMEDIATE ... COMMIT above.
            db = sqlite3.connect(self._path, timeout=_BUSY_TIMEOUT, isolation_level=None)
            db.execute(_SCHEMA)
            # Counters whose two windows are both over count nothing: dropped once per process, so the file
            # stays as small as the set of recent keys.
            db.execute("DELETE FROM windows WHERE CAST(? / expiry AS INTEGER) - window > 1", (self._clock(),))
            self._db = db
        return self._db
