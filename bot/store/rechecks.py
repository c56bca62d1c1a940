"""The "Check again" buttons' checks in the store, so any bot process can answer the click (bot/core/rechecks.py)."""

from __future__ import annotations

import json

from sqlalchemy import select

from bot.core.intents import Check
from bot.store._batch import ButtonRows
from bot.store.tables import rechecks


class StoredRechecks(ButtonRows):
    """Satisfies :class:`bot.core.rechecks.Rechecks` on the ``rechecks`` table (see :class:`ButtonRows`)."""

    table = rechecks

    async def put(self, check: Check, owner: str) -> str:
        """Keep ``check`` for ``owner`` and return the key for the button."""
        payload = {
            "target": check.target,
            "ports": list(check.ports),
            "protocol": check.protocol,
            "game": check.game,
            "hint": check.hint,
        }
        return await self._put(owner, json.dumps(payload))

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
