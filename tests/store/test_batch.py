"""The group commit behind the Share and "Check again" rows: rows handed in together go in one transaction, and
each caller returns only once its row is committed."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.core.intents import Check
from bot.core.shares import button_keys
from bot.store import GroupCommit, Store, open_store
from bot.store.rechecks import StoredRechecks
from bot.store.shares import StoredShares
from bot.store.tables import rechecks, shares
from tests.store.test_shares import OWNER, PRIVATE

CHECK = Check(target="home.example.com", ports=(25565,), protocol="tcp", game="minecraft", hint=None)


class CountingDatabase:
    """A store that counts the write transactions begun on it (the :class:`bot.store.Database` protocol)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.transactions = 0

    @property
    def dialect(self) -> str:
        return self.store.dialect

    def begin(self) -> Any:
        self.transactions += 1
        return self.store.begin()

    def connect(self) -> Any:
        return self.store.connect()


async def count(store: Store, table: Any) -> int:
    async with store.connect() as conn:
        return int(await conn.scalar(select(func.count()).select_from(table)))


async def test_an_answers_share_and_recheck_rows_go_in_one_transaction(state_db: Store) -> None:
    """button_keys with both buttons writes both rows in a single transaction, and both can be read back."""
    db = CountingDatabase(state_db)
    writes = GroupCommit(db)
    stored_shares = StoredShares(db, ttl=60, writes=writes)
    stored_rechecks = StoredRechecks(db, ttl=60, writes=writes)
    share_key, recheck_key = await button_keys(
        stored_shares.put(PRIVATE, OWNER), stored_rechecks.put(CHECK, OWNER)
    )
    assert db.transactions == 1
    assert share_key is not None and recheck_key is not None
    assert await stored_rechecks.get(recheck_key, OWNER) == CHECK
    assert await stored_shares.take(share_key, OWNER) == PRIVATE.masked()


async def test_a_burst_of_answers_shares_few_transactions(state_db: Store) -> None:
    """200 answers putting their rows at once are written in far fewer than 400 transactions, every row kept."""
    db = CountingDatabase(state_db)
    writes = GroupCommit(db)
    stored_shares = StoredShares(db, ttl=60, writes=writes)
    stored_rechecks = StoredRechecks(db, ttl=60, writes=writes)
    keys = await asyncio.gather(
        *(
            button_keys(stored_shares.put(PRIVATE, OWNER), stored_rechecks.put(CHECK, OWNER))
            for _ in range(200)
        )
    )
    assert db.transactions <= 3
    assert len({share for share, _ in keys}) == 200
    assert (await count(state_db, shares), await count(state_db, rechecks)) == (200, 200)


async def test_a_row_is_committed_when_put_returns(state_db: Store) -> None:
    """Another store on the same database (another bot process) reads the row as soon as put returns."""
    key = await StoredRechecks(state_db, ttl=60).put(CHECK, OWNER)
    other = await open_store(state_db.url, migrate=False)
    try:
        assert await StoredRechecks(other, ttl=60).get(key, OWNER) == CHECK
    finally:
        await other.close()


async def test_a_failed_commit_fails_every_caller_in_it(state_db: Store) -> None:
    """When the transaction fails, each put of the batch raises, and the next batch is written as usual."""
    writes = GroupCommit(state_db)
    duplicate = {"token": "same", "owner": OWNER, "payload": "{}", "expires_at": 2e9}
    results = await asyncio.gather(
        writes.insert(rechecks, duplicate), writes.insert(rechecks, duplicate), return_exceptions=True
    )
    assert all(isinstance(result, Exception) for result in results)
    assert await count(state_db, rechecks) == 0
    await writes.insert(rechecks, duplicate)
    assert await count(state_db, rechecks) == 1


async def test_a_cancelled_caller_does_not_drop_the_others_rows(state_db: Store) -> None:
    """Cancelling one waiting put leaves the batch to commit the rows of the callers still waiting."""
    writes = GroupCommit(state_db)
    stored = StoredRechecks(state_db, ttl=60, writes=writes)
    cancelled = asyncio.ensure_future(stored.put(CHECK, OWNER))
    kept = asyncio.ensure_future(stored.put(CHECK, OWNER))
    await asyncio.sleep(0)
    cancelled.cancel()
    key = await kept
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert await stored.get(key, OWNER) == CHECK
