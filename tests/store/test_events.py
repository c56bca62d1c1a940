"""Slack events already answered, in the store: a redelivery is recognised whichever process or host on the
database it reaches, and the record of old events is swept."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import func, select

from bot.store import Store, database_url_for, open_store
from bot.store.events import KEEP_SECONDS, StoredEvents
from bot.store.tables import slack_events


async def test_only_the_first_delivery_counts(state_db: Store) -> None:
    """The first claim of an event id is True, every later one False; another id is its own."""
    events = StoredEvents(state_db)
    assert [await events.first("Ev01"), await events.first("Ev01"), await events.first("Ev02")] == [
        True,
        False,
        True,
    ]


async def test_a_redelivery_to_another_process_is_recognised(database_url: str, tmp_path: Path) -> None:
    """Two processes (a store each) on one database: the event answered by one is a redelivery for the other."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        assert await StoredEvents(a_db).first("Ev01")
        assert not await StoredEvents(b_db).first("Ev01")
    finally:
        await a_db.close()
        await b_db.close()


async def test_simultaneous_deliveries_are_answered_once(database_url: str, tmp_path: Path) -> None:
    """Ten processes claiming one event at the same moment: exactly one of them answers it."""
    url = database_url_for(database_url, tmp_path)
    stores = [await open_store(url) for _ in range(10)]
    try:
        claims = await asyncio.gather(*(StoredEvents(store).first("Ev01") for store in stores))
    finally:
        for store in stores:
            await store.close()
    assert sorted(claims) == [False] * 9 + [True]


async def test_events_older_than_an_hour_are_swept(state_db: Store) -> None:
    """The first claim of a process sweeps what is older than KEEP_SECONDS; newer rows stay."""
    now = [1_800_000_000.0]
    await StoredEvents(state_db, clock=lambda: now[0]).first("old")
    now[0] += KEEP_SECONDS / 2
    await StoredEvents(state_db, clock=lambda: now[0]).first("recent")
    now[0] += KEEP_SECONDS / 2 + 1
    await StoredEvents(state_db, clock=lambda: now[0]).first("new")
    async with state_db.connect() as conn:
        kept = set((await conn.scalars(select(slack_events.c.event_id))).all())
        assert await conn.scalar(select(func.count()).select_from(slack_events)) == 2
    assert kept == {"recent", "new"}
