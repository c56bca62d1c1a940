"""Which Slack events were already answered, in the store, so a retry that reaches another process (or host) on
the same database gets no second answer (bot/slack/app.py keeps the per-process memory in front of it)."""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import delete

from bot.store._shared import Database, upsert
from bot.store.tables import slack_events

#: Slack retries an event three times within about five minutes; an hour covers that with room to spare.
KEEP_SECONDS = 3600.0
_SWEEP_EVERY = 100  # rows older than KEEP_SECONDS go on one claim in this many


class StoredEvents:
    """First deliveries of Slack events, decided once across every process on the database."""

    def __init__(self, database: Database, clock: Callable[[], float] = time.time) -> None:
        self._db = database
        self._clock = clock
        self._claims = 0

    async def first(self, event_id: str) -> bool:
        """True for the first delivery of ``event_id`` anywhere; False for a redelivery."""
        now = self._clock()
        self._claims += 1
        statement = upsert(self._db, slack_events).values(event_id=event_id, seen_at=now)
        async with self._db.begin() as conn:
            if self._claims % _SWEEP_EVERY == 1:
                await conn.execute(delete(slack_events).where(slack_events.c.seen_at < now - KEEP_SECONDS))
            result = await conn.execute(statement.on_conflict_do_nothing(index_elements=["event_id"]))
        return bool(result.rowcount)
