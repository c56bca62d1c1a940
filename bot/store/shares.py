"""The Share buttons' masked results in the store, so any bot process can answer the click (bot/core/shares.py)."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete

from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status
from bot.store._batch import GroupCommit
from bot.store._shared import Database
from bot.store.tables import shares

# Expired rows are swept on one put in this many, so the table stays near a TTL's worth of shares without a
# DELETE on every answer.
_SWEEP_EVERY = 50


class StoredShares:
    """Satisfies :class:`bot.core.shares.Shares` on the ``shares`` table. Times are wall-clock seconds, which
    every process agrees on (a monotonic clock is per machine). Rows are written through ``writes``, which the
    bots share with their :class:`~bot.store.rechecks.StoredRechecks`, so an answer's two rows (and a burst's)
    go in one transaction."""

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

    async def put(self, reply: Reply, owner: str) -> str:
        """Keep ``reply.masked()`` for ``owner`` and return the key for the button."""
        key = secrets.token_urlsafe(12)
        now = self._clock()
        self._puts += 1
        row = {
            "token": key,
            "owner": owner,
            "payload": json.dumps(to_json(reply.masked())),
            "expires_at": now + self._ttl,
        }
        await self._writes.insert(shares, row, sweep_before=now if self._puts % _SWEEP_EVERY == 1 else None)
        return key

    async def take(self, key: str, owner: str) -> Reply | None:
        """The masked reply behind ``key``, once, for its owner; None when unknown, expired or someone else's.

        The row goes in the same statement that reads it, so two processes handling a double click cannot both
        post it."""
        async with self._db.begin() as conn:
            payload = await conn.scalar(
                delete(shares)
                .where(shares.c.token == key, shares.c.owner == owner, shares.c.expires_at > self._clock())
                .returning(shares.c.payload)
            )
        return None if payload is None else from_json(json.loads(payload))


def to_json(reply: Reply) -> dict[str, Any]:
    """A masked reply as JSON (masked replies carry no re-check, so no host rides along)."""
    return {
        "title": reply.title,
        "summary": reply.summary,
        "fields": [[f.name, f.value, f.inline] for f in reply.fields],
        "status": str(reply.status),
        "actions": [
            {
                "kind": str(a.kind),
                "label": a.label,
                "port": a.port,
                "protocol": a.protocol,
                "query": a.query,
                "hint": a.hint,
            }
            for a in reply.actions
        ],
        "footer": reply.footer,
        "kind": str(reply.kind),
    }


def from_json(data: dict[str, Any]) -> Reply:
    return Reply(
        title=data["title"],
        summary=data["summary"],
        fields=tuple(Field(name, value, inline) for name, value, inline in data["fields"]),
        status=Status(data["status"]),
        actions=tuple(
            Action(
                ActionKind(a["kind"]),
                a["label"],
                port=a["port"],
                protocol=a["protocol"],
                query=a["query"],
                hint=a["hint"],
            )
            for a in data["actions"]
        ),
        footer=data["footer"],
        kind=ReplyKind(data["kind"]),
    )
