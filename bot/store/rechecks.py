"""The "Check again" buttons' checks in the store, so any bot process can answer the click (bot/core/rechecks.py)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable

from sqlalchemy import select

from bot.core.intents import Check
from bot.store._batch import GroupCommit
from bot.store._shared import Database
from bot.store.tables import rechecks

_SWEEP_EVERY = 50  # as for shares (bot/store/shares.py): expired rows go on one put in this many


class StoredRechecks:
    """Satisfies :class:`bot.core.rechecks.Rechecks` on the ``rechecks`` table, with wall-clock expiry; rows are
    written through ``writes`` (see :class:`~bot.store.shares.StoredShares`)."""

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

    async def put(self, check: Check, owner: str) -> str:
        """Keep ``check`` for ``owner`` and return the key for the button."""
        key = secrets.token_urlsafe(12)
        now = self._clock()
        self._puts += 1
        payload = {
            "target": check.target,
            "ports": list(check.ports),
            "protocol": check.protocol,
            "game": check.game,
            "hint": check.hint,
        }
        row = {"token": key, "owner": owner, "payload": json.dumps(payload), "expires_at": now + self._ttl}
        await self._writes.insert(rechecks, row, sweep_before=now if self._puts % _SWEEP_EVERY == 1 else None)
        return key

    async def get(self, key: str, owner: str) -> Check | None:
        """The check behind ``key`` for its owner (it stays, for the next click); None when unknown, expired
        or someone else's."""
        async with self._db.connect() as conn:
            payload = await conn.scalar(
                select(rechecks.c.payload).where(
                    rechecks.c.token == key, rechecks.c.owner == owner, rechecks.c.expires_at > self._clock()
                )
            )
        if payload is None:
            return None
        data = json.loads(payload)
        return Check(
            target=data["target"],
            ports=tuple(data["ports"]),
            protocol=data["protocol"],
            game=data["game"],
            hint=data["hint"],
        )
