"""Private probe results waiting for their "Share in channel" click, kept briefly in memory.

A result cannot ride in a button's 100-character ``custom_id``, so the button carries a random key instead.
Entries expire with the interaction token that showed them (15 minutes); after a restart the button answers
that the result can no longer be shared.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.reply import Reply

TTL_SECONDS = 15 * 60
MAX_ENTRIES = 2000


@dataclass(frozen=True, slots=True)
class Shareable:
    reply: Reply
    user_id: int
    expires: float


class ShareCache:
    """Bounded, expiring map from a random key to a private reply and the user who may share it."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        max_entries: int = MAX_ENTRIES,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._max = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, Shareable] = OrderedDict()

    def put(self, reply: Reply, user_id: int) -> str:
        """Keep ``reply`` for ``user_id`` and return the key for the button."""
        self._expire()
        key = secrets.token_urlsafe(12)
        self._entries[key] = Shareable(reply, user_id, self._clock() + self._ttl)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)
        return key

    def get(self, key: str, user_id: int) -> Reply | None:
        """The reply behind ``key`` if it has not expired and belongs to ``user_id``."""
        self._expire()
        entry = self._entries.get(key)
        if entry is None or entry.user_id != user_id:
            return None
        return entry.reply

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
