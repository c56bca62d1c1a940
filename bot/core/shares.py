"""Private probe results waiting for their "Share in channel" click, for every chat adapter.

A result cannot ride in a button (Discord's ``custom_id`` holds 100 characters, and Slack does not send an
ephemeral message back when its button is pressed), so the button carries a random key instead. Only the
masked copy is kept, so nothing holds more of someone's address than the channel may see; only the person who
ran the check can share it, once, until it expires.

Two keepers behind one interface (:class:`Shares`): :class:`ShareStore`, in this process's memory (tests, and
tools without a database), and ``bot.store.shares.StoredShares``, in the store, which the bots use so a click
handled by another bot process (or after a restart) still finds its result.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.core._keyed import OwnedStore
from bot.core.reply import Reply

CAPACITY = 2000  # enough for a busy hour on a big server; the oldest go first beyond it


class Shares(Protocol):
    """Where the Share buttons' masked results wait."""

    async def put(self, reply: Reply, owner: str) -> str:
        """Keep ``reply.masked()`` for ``owner`` and return the key for the button."""
        ...

    async def take(self, key: str, owner: str) -> Reply | None:
        """The masked reply behind ``key``, once, for its owner; None when unknown, expired or someone else's.

        Someone else's click does not use the share up."""
        ...


class ShareStore:
    """A bounded, expiring map in memory from a random key to a masked reply and the one user who may share it."""

    def __init__(
        self, ttl: float, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._store: OwnedStore[Reply] = OwnedStore(ttl, capacity, clock)

    async def put(self, reply: Reply, owner: str) -> str:
        """Keep ``reply.masked()`` for ``owner`` and return the key for the button."""
        return self._store.put(reply.masked(), owner)

    async def take(self, key: str, owner: str) -> Reply | None:
        """The masked reply behind ``key``, once, for its owner; None when unknown, expired or someone else's.

        Someone else's click does not use the share up."""
        return self._store.get(key, owner, take=True)

    def __len__(self) -> int:
        return len(self._store)


async def button_keys(
    share: Awaitable[str] | None, recheck: Awaitable[str] | None
) -> tuple[str | None, str | None]:
    """The keys of a private answer's Share and "Check again" buttons (None for a button it lacks). Both puts
    run at once when there are two, so the store writes both rows in one transaction."""
    if share is not None and recheck is not None:
        share_key, recheck_key = await asyncio.gather(share, recheck)
        return share_key, recheck_key
    return (await share if share is not None else None), (await recheck if recheck is not None else None)
