"""Checks waiting for their "Check again" click, for every chat adapter.

The check names a host, and a button's id or value can be read by whoever sees the message (and a Discord
``custom_id`` holds only 100 characters), so the button carries a random key and the check stays here. Only
the person who ran it can run it again, as often as the rate limits allow, until it expires.

Two keepers behind one interface (:class:`Rechecks`): :class:`RecheckStore` in this process's memory (tests,
tools), and ``bot.store.rechecks.StoredRechecks`` in the store, which the bots use so the click may land on any
bot process, or after a restart.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Protocol

from bot.core._keyed import OwnedStore
from bot.core.intents import Check

CAPACITY = 2000  # as many as the share store: one per private result


class Rechecks(Protocol):
    """Where the "Check again" buttons' checks wait."""

    async def put(self, check: Check, owner: str) -> str:
        """Keep ``check`` for ``owner`` and return the key for the button."""
        ...

    async def get(self, key: str, owner: str) -> Check | None:
        """The check behind ``key`` for its owner (it stays, for the next click); None when unknown, expired
        or someone else's."""
        ...


class RecheckStore:
    """A bounded, expiring map in memory from a random key to a check and the one user who may run it again."""

    def __init__(
        self, ttl: float, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store: OwnedStore[Check] = OwnedStore(ttl, capacity, clock)

    async def put(self, check: Check, owner: str) -> str:
        """Keep ``check`` for ``owner`` and return the key for the button."""
        return self._store.put(check, owner)

    async def get(self, key: str, owner: str) -> Check | None:
        """The check behind ``key`` for its owner (it stays, for the next click); None when unknown, expired
        or someone else's."""
        return self._store.get(key, owner)

    def __len__(self) -> int:
        return len(self._store)
