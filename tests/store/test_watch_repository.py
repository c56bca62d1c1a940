"""Adding, listing and removing watches, on SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.store import Store, database_url_for, open_store
from bot.watch.models import DuplicateWatch, NewWatch, Platform, WatchNotFound, WatchQuotaReached
from bot.watch.repository import WatchRepository


@pytest.fixture
async def repo(database_url: str, tmp_path: Path) -> AsyncIterator[WatchRepository]:
    store: Store = await open_store(database_url_for(database_url, tmp_path))
    try:
        yield WatchRepository(store, clock=lambda: 1000.0)
    finally:
        await store.close()


def _new(port: int = 25565, scope: str = "g1", **extra: object) -> NewWatch:
    return NewWatch(
        platform=Platform.DISCORD, scope_id=scope, created_by="u1", host="mc.example.net", port=port, **extra
    )  # type: ignore[arg-type]


async def test_added_watch_is_due_at_once(repo: WatchRepository) -> None:
    """A new watch is stored with no state yet and due immediately."""
    watch = await repo.add(_new(game="minecraft", channel_id="c9"))
    assert (watch.host, watch.port, watch.protocol, watch.game) == (
        "mc.example.net",
        25565,
        "tcp",
        "minecraft",
    )
    assert watch.next_due == 1000.0 and watch.state is None and watch.channel_id == "c9"


async def test_list_is_scoped(repo: WatchRepository) -> None:
    """A server lists only its own watches."""
    await repo.add(_new(25565, "g1"))
    await repo.add(_new(2456, "g2"))
    assert [w.port for w in await repo.list(Platform.DISCORD, "g1")] == [25565]
    assert await repo.list(Platform.SLACK, "g1") == []


async def test_same_target_twice_is_refused(repo: WatchRepository) -> None:
    """Watching the same host, port and protocol twice in one server gets a plain refusal."""
    await repo.add(_new())
    with pytest.raises(DuplicateWatch, match="already watched here"):
        await repo.add(_new())


async def test_quota_holds_under_concurrent_adds(repo: WatchRepository) -> None:
    """Ten adds at once against a quota of 3 store exactly 3."""
    results = await asyncio.gather(
        *(repo.add(_new(1000 + n), quota=3) for n in range(10)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 3
    assert all(isinstance(r, WatchQuotaReached) for r in results if isinstance(r, BaseException))
    assert len(await repo.list(Platform.DISCORD, "g1")) == 3


async def test_remove_only_within_scope(repo: WatchRepository) -> None:
    """Another server cannot remove a watch by guessing its id."""
    watch = await repo.add(_new())
    with pytest.raises(WatchNotFound):
        await repo.remove(Platform.DISCORD, "g2", watch.id)
    assert (await repo.remove(Platform.DISCORD, "g1", watch.id)).id == watch.id
    assert await repo.get(watch.id) is None
