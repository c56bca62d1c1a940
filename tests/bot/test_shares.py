"""The one share store behind both platforms' Share buttons: masked copies only, for their owner, once,
bounded and expiring."""

from __future__ import annotations

from bot.core.reply import Action, ActionKind, Reply, Status
from bot.core.shares import ShareStore

PRIVATE = Reply(
    title="Port check: home.example.com",
    summary="203.0.113.7:25565 answered.",
    status=Status.OK,
    actions=(Action(ActionKind.SHARE, "Share in channel"),),
    kind="probe",
    private=True,
    sensitive=("home.example.com", "203.0.113.7"),
)
OWNER = "U0ALICE01"
OTHER = "U0MALLORY"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_store_keeps_only_the_masked_copy() -> None:
    """What comes back is already masked and cannot be shared again."""
    store = ShareStore(ttl=60)
    shared = await store.take(await store.put(PRIVATE, OWNER), OWNER)
    assert shared == PRIVATE.masked()
    assert shared is not None and "203.0.113.7" not in shared.summary and not shared.actions


async def test_only_the_owner_can_take_it_and_a_stranger_does_not_use_it_up() -> None:
    """Someone else's key gets nothing, and the owner can still share afterwards."""
    store = ShareStore(ttl=60)
    key = await store.put(PRIVATE, OWNER)
    assert await store.take(key, OTHER) is None
    assert await store.take(key, OWNER) is not None


async def test_each_key_works_once() -> None:
    """A second take of the same key finds nothing, so a button cannot flood a channel."""
    store = ShareStore(ttl=60)
    key = await store.put(PRIVATE, OWNER)
    assert await store.take(key, OWNER) is not None
    assert await store.take(key, OWNER) is None


async def test_keys_expire_after_the_ttl() -> None:
    """After the TTL the result is gone; a result put later is still there."""
    clock = Clock()
    store = ShareStore(ttl=1800, clock=clock)
    key = await store.put(PRIVATE, OWNER)
    clock.now += 1799
    kept = await store.put(PRIVATE, OWNER)
    clock.now += 2
    assert await store.take(key, OWNER) is None
    assert await store.take(kept, OWNER) is not None
    assert len(store) == 0


async def test_capacity_drops_the_oldest() -> None:
    """A flood of checks cannot grow memory without bound."""
    store = ShareStore(ttl=60, capacity=3)
    keys = [await store.put(PRIVATE, OWNER) for _ in range(5)]
    assert len(store) == 3
    assert await store.take(keys[0], OWNER) is None and await store.take(keys[1], OWNER) is None
    assert await store.take(keys[4], OWNER) is not None


async def test_keys_are_unguessable_and_distinct() -> None:
    """Keys are random (96 bits), so one user cannot share another's result by guessing."""
    store = ShareStore(ttl=60)
    keys = {await store.put(PRIVATE, OWNER) for _ in range(200)}
    assert len(keys) == 200
    assert all(len(k) >= 16 for k in keys)
