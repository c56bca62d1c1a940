"""A bounded, expiring map from a random key to a value and the one user it belongs to.

Buttons can't carry what they act on (Discord's ``custom_id`` holds 100 characters, a Slack button's value is
readable by everyone who sees it), so they carry a random key and the value stays here, in memory, per process.
Used by the share store (bot/core/shares.py) and the "Check again" store (bot/core/rechecks.py).
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class _Kept(Generic[T]):
    value: T
    owner: str
    expires: float


class OwnedStore(Generic[T]):
    """Keeps values for ``ttl`` seconds, at most ``capacity`` of them (the oldest go first beyond it)."""

    def __init__(self, ttl: float, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[str, _Kept[T]] = OrderedDict()

    def put(self, value: T, owner: str) -> str:
        """Keep ``value`` for ``owner`` and return the key for the button."""
        self._expire()
        key = secrets.token_urlsafe(12)
        self._entries[key] = _Kept(value, owner, self._clock() + self._ttl)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return key

    def get(self, key: str, owner: str, *, take: bool = False) -> T | None:
        """The value behind ``key`` for its owner (removed when ``take``); None when unknown, expired or
        someone else's. Someone else's click never uses it up."""
        self._expire()
        entry = self._entries.get(key)
        if entry is None or entry.owner != owner:
            return None
        if take:
            del self._entries[key]
        return entry.value

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
