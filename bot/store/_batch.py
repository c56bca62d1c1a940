"""Rows written by many callers at once, committed in one transaction (a group commit).

A private answer stores a Share row and a "Check again" row before its message goes out, and a burst of
answers stores hundreds. Each transaction costs more than its rows (BEGIN IMMEDIATE, COMMIT, a round trip to
the database thread or server for each), so rows handed in while a transaction is being written wait for the
next one, and that one carries them all. Every caller still waits for its own commit: a button's row is in the
database before the message carrying the button is sent, so a click that another process handles finds it.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, delete, insert

from bot.store._shared import Database


class GroupCommit:
    """Inserts into the store's tables, committed together with whatever other callers hand in meanwhile."""

    def __init__(self, database: Database) -> None:
        self._db = database
        self._rows: list[tuple[Table, dict[str, Any], asyncio.Future[None]]] = []
        self._sweeps: dict[Table, float] = {}
        self._writing: asyncio.Task[None] | None = None

    async def insert(self, table: Table, row: dict[str, Any], *, sweep_before: float | None = None) -> None:
        """Insert ``row`` into ``table``; return once it is committed. With ``sweep_before``, the same
        transaction first deletes the table's rows whose ``expires_at`` is at or before it."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = loop.create_future()
        self._rows.append((table, row, done))
        if sweep_before is not None:
            self._sweeps[table] = max(sweep_before, self._sweeps.get(table, sweep_before))
        if self._writing is None:
            self._writing = loop.create_task(self._write())
        # A cancelled caller cancels only its own future: its row still rides in the batch with the others'.
        await done

    async def _write(self) -> None:
        try:
            # One pass of the loop first, so the rows of callers woken by the same event (both rows of one
            # answer, the answers of one burst) start out in one transaction.
            await asyncio.sleep(0)
            while self._rows:
                rows, self._rows = self._rows, []
                sweeps, self._sweeps = self._sweeps, {}
                try:
                    await self._commit(rows, sweeps)
                except BaseException as err:
                    for _, _, done in rows:
                        _settle(done, err)
                    if not isinstance(err, Exception):
                        raise
                else:
                    for _, _, done in rows:
                        _settle(done, None)
        finally:
            self._writing = None
            for _, _, done in self._rows:  # only left when the task itself was cancelled
                done.cancel()
            self._rows = []

    async def _commit(
        self, rows: list[tuple[Table, dict[str, Any], asyncio.Future[None]]], sweeps: dict[Table, float]
    ) -> None:
        by_table: dict[Table, list[dict[str, Any]]] = {}
        for table, row, _ in rows:
            by_table.setdefault(table, []).append(row)
        async with self._db.begin() as conn:
            for table, before in sweeps.items():
                await conn.execute(delete(table).where(table.c.expires_at <= before))
            for table, values in by_table.items():
                await conn.execute(insert(table), values)


def _settle(done: asyncio.Future[None], error: BaseException | None) -> None:
    if done.done():  # its caller is gone (cancelled): nobody to tell
        return
    if error is None:
        done.set_result(None)
    elif isinstance(error, asyncio.CancelledError):
        done.cancel()
    else:
        done.set_exception(error)


# Expired rows are swept on one put in this many, so a table stays near a TTL's worth of rows without a DELETE
# on every answer.
_SWEEP_EVERY = 50


class ButtonRows:
    """Rows a button's key finds again (Share, Check again): kept for their owner until a wall-clock expiry
    (every process agrees on it; a monotonic clock is per machine), written through a :class:`GroupCommit` the
    bots share, so an answer's rows (and a burst's) go in one transaction."""

    table: Table

    def __init__(
        self,
        database: Database,
        ttl: float,
        clock: Callable[[], float] = time.time,
        writes: GroupCommit | None = None,
    ) -> None:
        self._db = database
        self._ttl = ttl
        self._clock = clock
        self._puts = 0
        self._writes = writes or GroupCommit(database)

    async def _put(self, owner: str, payload: str) -> str:
        """Keep ``payload`` (JSON) for ``owner``; return the new row's key once it is committed."""
        key = secrets.token_urlsafe(12)
        now = self._clock()
        self._puts += 1
        row = {"token": key, "owner": owner, "payload": payload, "expires_at": now + self._ttl}
        await self._writes.insert(
            self.table, row, sweep_before=now if self._puts % _SWEEP_EVERY == 1 else None
        )
        return key
