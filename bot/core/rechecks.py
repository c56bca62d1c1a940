"""Checks waiting for their "Check again" click, for every chat adapter.

The check names a host, and a button's id or value can be read by whoever sees the message (and a Discord
``custom_id`` holds only 100 characters), so the button carries a random key and the check stays here. Only
the person who ran it can run it again, as often as the rate limits allow, until it expires. In memory, per
process: after a restart the button answers that the check has to be asked again.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.intents import Check

CAPACITY = 2000  # as many as the share store: one per private result


@dataclass(frozen=True, slots=True)
class _Kept:
    check: Check
    owner: str
    expires: float


class RecheckStore:
    """A bounded, expiring map from a random key to a check and the one user who may run it again."""

    def __init__(
        self, ttl: float, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[str, _Kept] = OrderedDict()

    def put(self, check: Check, owner: str) -> str:
        """Keep ``check`` for ``owner`` and return the key for the button."""
        self._expire()
        key = secrets.token_urlsafe(12)
        self._entries[key] = _Kept(check, owner, self._clock() + self._ttl)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return key

    def get(self, key: str, owner: str) -> Check | None:
        """The check behind ``key`` for its owner (it stays, for the next click); None when unknown, expired
        or someone else's."""
        self._expire()
        entry = self._entries.get(key)
        if entry is None or entry.owner != owner:
            return None
        return entry.check

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
