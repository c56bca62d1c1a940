"""The Share buttons' masked results in the store, so any bot process can answer the click (bot/core/shares.py)."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete

from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status
from bot.store._batch import ButtonRows
from bot.store.tables import shares


class StoredShares(ButtonRows):
    """Satisfies :class:`bot.core.shares.Shares` on the ``shares`` table (see :class:`ButtonRows`)."""

    table = shares

    async def put(self, reply: Reply, owner: str) -> str:
        """Keep ``reply.masked()`` for ``owner`` and return the key for the button."""
        return await self._put(owner, json.dumps(to_json(reply.masked())))

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
