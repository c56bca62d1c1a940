"""The "Check again" buttons' checks in the store: the owner's, as often as wanted, until they expire, whichever
bot process handles the click."""

from __future__ import annotations

from pathlib import Path

from bot.core.intents import Check
from bot.store import Store, database_url_for, open_store
from bot.store.rechecks import StoredRechecks

CHECK = Check("mc.example.com", (2456, 2457), protocol="udp", game="valheim", hint="valheim")


async def test_the_owner_runs_it_again_and_again(state_db: Store) -> None:
    """The check comes back whole, for every click of its owner; someone else gets nothing."""
    rechecks = StoredRechecks(state_db, ttl=60)
    key = await rechecks.put(CHECK, "u1")
    assert await rechecks.get(key, "u1") == CHECK
    assert await rechecks.get(key, "u1") == CHECK
    assert await rechecks.get(key, "u2") is None


async def test_it_expires(state_db: Store) -> None:
    """After the time to live the key finds nothing."""
    now = [1_800_000_000.0]
    rechecks = StoredRechecks(state_db, ttl=60, clock=lambda: now[0])
    key = await rechecks.put(CHECK, "u1")
    now[0] += 61
    assert await rechecks.get(key, "u1") is None


async def test_a_click_on_another_process_finds_the_check(database_url: str, tmp_path: Path) -> None:
    """Kept by one bot process (a store of its own), found by another on the same database."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        key = await StoredRechecks(a_db, ttl=60).put(CHECK, "u1")
        assert await StoredRechecks(b_db, ttl=60).get(key, "u1") == CHECK
    finally:
        await a_db.close()
        await b_db.close()
