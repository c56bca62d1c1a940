"""The Share buttons' results in the store: masked, for their owner, once, until they expire, whichever bot
process handles the click."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.core.reply import Action, ActionKind, Field, Reply, Status
from bot.store import Store, database_url_for, open_store
from bot.store.shares import StoredShares

PRIVATE = Reply(
    title="Port check: home.example.com",
    summary="203.0.113.7:25565 answered.",
    fields=(Field("Address", "203.0.113.7", inline=True),),
    status=Status.OK,
    actions=(
        Action(ActionKind.SHARE, "Share in channel"),
        Action(ActionKind.ASK, "What is port 25565?", query="25565"),
    ),
    footer="Checked from Frankfurt",
    kind="probe",
    private=True,
    sensitive=("home.example.com", "203.0.113.7"),
)
OWNER = "U0ALICE01"
OTHER = "U0MALLORY"


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


async def test_the_masked_copy_comes_back_whole(state_db: Store) -> None:
    """What is kept is reply.masked(), field for field, and nothing of the address."""
    shares = StoredShares(state_db, ttl=60)
    shared = await shares.take(await shares.put(PRIVATE, OWNER), OWNER)
    assert shared == PRIVATE.masked()
    assert shared is not None and "203.0.113.7" not in repr(shared)


async def test_only_the_owner_takes_it_once(state_db: Store) -> None:
    """A stranger gets nothing and uses nothing up; the owner gets it once."""
    shares = StoredShares(state_db, ttl=60)
    key = await shares.put(PRIVATE, OWNER)
    assert await shares.take(key, OTHER) is None
    assert await shares.take(key, OWNER) is not None
    assert await shares.take(key, OWNER) is None


async def test_shares_expire_after_the_ttl_and_are_swept(state_db: Store) -> None:
    """Past the TTL a share is gone, and a later put removes the expired rows."""
    clock = Clock()
    shares = StoredShares(state_db, ttl=1800, clock=clock)
    old = await shares.put(PRIVATE, OWNER)
    clock.now += 1801
    assert await shares.take(old, OWNER) is None
    await shares.put(PRIVATE, OWNER)  # the first put of a process sweeps
    fresh = StoredShares(state_db, ttl=1800, clock=clock)
    await fresh.put(PRIVATE, OWNER)
    from sqlalchemy import func, select

    from bot.store.tables import shares as table

    async with state_db.connect() as conn:
        assert await conn.scalar(select(func.count()).select_from(table)) == 2


async def test_a_click_handled_by_another_process_finds_the_share(database_url: str, tmp_path: Path) -> None:
    """Put by one bot process, taken by another (the button click landed elsewhere, or after a restart)."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        key = await StoredShares(a_db, ttl=60).put(PRIVATE, OWNER)
        assert await StoredShares(b_db, ttl=60).take(key, OWNER) == PRIVATE.masked()
    finally:
        await a_db.close()
        await b_db.close()


async def test_a_double_click_on_two_processes_posts_once(database_url: str, tmp_path: Path) -> None:
    """Two processes taking the same share at the same moment: exactly one gets it."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        a, b = StoredShares(a_db, ttl=60), StoredShares(b_db, ttl=60)
        keys = [await a.put(PRIVATE, OWNER) for _ in range(10)]
        taken = await asyncio.gather(*(s.take(key, OWNER) for key in keys for s in (a, b)))
        assert sum(t is not None for t in taken) == 10
    finally:
        await a_db.close()
        await b_db.close()
