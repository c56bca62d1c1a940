"""Checks kept for "Check again": owner only, as often as wanted, until they expire."""

from __future__ import annotations

from bot.core.intents import Check
from bot.core.rechecks import RecheckStore

CHECK = Check("mc.example.com", (2456,), hint="valheim")


async def test_the_owner_can_run_it_again_and_again() -> None:
    """A check stays for every click of its owner."""
    store = RecheckStore(ttl=60)
    key = await store.put(CHECK, "u1")
    assert await store.get(key, "u1") == CHECK
    assert await store.get(key, "u1") == CHECK


async def test_someone_else_gets_nothing() -> None:
    """Another user's click finds nothing (the check names someone's host)."""
    store = RecheckStore(ttl=60)
    assert await store.get(await store.put(CHECK, "u1"), "u2") is None


async def test_it_expires() -> None:
    """After the time to live, the key is gone."""
    now = [0.0]
    store = RecheckStore(ttl=60, clock=lambda: now[0])
    key = await store.put(CHECK, "u1")
    now[0] = 61.0
    assert await store.get(key, "u1") is None
    assert len(store) == 0


async def test_the_oldest_go_beyond_capacity() -> None:
    """Memory stays bounded: the oldest check goes first."""
    store = RecheckStore(ttl=60, capacity=2)
    first = await store.put(CHECK, "u1")
    await store.put(CHECK, "u1")
    await store.put(CHECK, "u1")
    assert await store.get(first, "u1") is None
    assert len(store) == 2
