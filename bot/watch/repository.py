"""Adding, listing and removing watches on the shared store. The scheduler's claim/complete statements live with
the scheduler; this module is what the chat commands and ``portbot watch add|list|remove`` use."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from bot.store import Store
from bot.store.tables import watches
from bot.watch.models import (
    DuplicateWatch,
    Health,
    NewWatch,
    Platform,
    Watch,
    WatchNotFound,
    WatchQuotaReached,
)


class WatchRepository:
    """Watches kept in ``store``, scoped by platform and server/workspace so one never sees another's."""

    def __init__(self, store: Store, *, clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self._clock = clock

    async def add(self, new: NewWatch, *, quota: int | None = None, first_check_in: float = 0.0) -> Watch:
        """Store ``new``, first due ``first_check_in`` seconds from now. Raises :class:`WatchQuotaReached` past ``quota`` for its scope and
        :class:`DuplicateWatch` when the scope already watches that target."""
        now = self._clock()
        values = {
            "platform": str(new.platform),
            "scope_id": new.scope_id,
            "created_by": new.created_by,
            "host": new.host,
            "port": new.port,
            "protocol": new.protocol,
            "every": float(new.every),
            "game": new.game,
            "label": new.label,
            "channel_id": new.channel_id,
            "notify_url": new.notify_url,
            "created_at": now,
            "next_due": now + first_check_in,
        }
        try:
            async with self.store.begin() as conn:
                if quota is not None:
                    # Counted inside the insert's transaction: on SQLite BEGIN IMMEDIATE already serialises
                    # writers; on PostgreSQL a per-scope advisory lock keeps two adds from both fitting.
                    if self.store.is_postgresql:
                        key = f"watch-quota:{new.platform}:{new.scope_id}"
                        await conn.execute(select(func.pg_advisory_xact_lock(func.hashtext(key))))
                    count = await conn.scalar(
                        select(func.count())
                        .select_from(watches)
                        .where(watches.c.platform == str(new.platform), watches.c.scope_id == new.scope_id)
                    )
                    if (count or 0) >= quota:
                        raise WatchQuotaReached(
                            f"This server already has {quota} watches, the most it can have. "
                            "Remove one with `/port watch remove` first."
                        )
                result = await conn.execute(insert(watches).values(**values).returning(watches.c.id))
                watch_id = int(result.scalar_one())
        except IntegrityError:
            raise DuplicateWatch(
                f"Port {new.port}/{new.protocol.upper()} on that server is already watched here."
            ) from None
        found = await self.get(watch_id)
        assert found is not None
        return found

    async def get(self, watch_id: int) -> Watch | None:
        async with self.store.connect() as conn:
            row = (await conn.execute(select(watches).where(watches.c.id == watch_id))).mappings().first()
        return None if row is None else from_row(row)

    async def list(self, platform: Platform, scope_id: str) -> list[Watch]:
        """The scope's watches, oldest first."""
        query = (
            select(watches)
            .where(watches.c.platform == str(platform), watches.c.scope_id == scope_id)
            .order_by(watches.c.id)
        )
        async with self.store.connect() as conn:
            rows = (await conn.execute(query)).mappings().all()
        return [from_row(row) for row in rows]

    async def remove(self, platform: Platform, scope_id: str, watch_id: int) -> Watch:
        """Delete one of the scope's watches and return it; :class:`WatchNotFound` when it is not theirs."""
        async with self.store.begin() as conn:
            row = (
                (
                    await conn.execute(
                        delete(watches)
                        .where(
                            watches.c.id == watch_id,
                            watches.c.platform == str(platform),
                            watches.c.scope_id == scope_id,
                        )
                        .returning(*watches.c)
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise WatchNotFound(
                f"There is no watch #{watch_id} here. `/port watch list` shows this server's."
            )
        return from_row(row)

    async def set_status_message(self, watch_id: int, message_id: str | None) -> None:
        """Remember the chat message that shows this watch's status, so later checks edit it in place."""
        async with self.store.begin() as conn:
            await conn.execute(
                update(watches).where(watches.c.id == watch_id).values(status_message_id=message_id)
            )


def from_row(row: Any) -> Watch:
    """A :class:`Watch` from a ``watches`` row mapping."""
    return Watch(
        id=int(row["id"]),
        platform=Platform(row["platform"]),
        scope_id=row["scope_id"],
        created_by=row["created_by"],
        host=row["host"],
        port=int(row["port"]),
        protocol=row["protocol"],
        every=float(row["every"]),
        game=row["game"],
        label=row["label"],
        channel_id=row["channel_id"],
        notify_url=row["notify_url"],
        status_message_id=row["status_message_id"],
        created_at=float(row["created_at"]),
        next_due=float(row["next_due"]),
        state=Health(row["state"]) if row["state"] else None,
        state_since=row["state_since"],
        candidate=Health(row["candidate"]) if row["candidate"] else None,
        candidate_count=int(row["candidate_count"]),
        last_checked=row["last_checked"],
        last_result=row["last_result"],
    )
