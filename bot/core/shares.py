"""Private probe results waiting for their "Share in channel" click, for every chat adapter.

A result cannot ride in a button (Discord's ``custom_id`` holds 100 characters, and Slack does not send an
ephemeral message back when its button is pressed), so the button carries a random key instead. Only the
masked copy is kept, so memory never holds more of someone's address than the channel may see; only the
person who ran the check can share it, once, until it expires. In memory, per process: after a restart the
button answers that the result can no longer be shared.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.reply import Reply

CAPACITY = 2000  # enough for a busy hour on a big server; the oldest go first beyond it


@dataclass(frozen=True, slots=True)
class _Shareable:
    masked: Reply
    owner: str
    expires: float


class ShareStore:
    """A bounded, expiring map from a random key to a masked reply and the one user who may share it."""

    def __init__(
        self, ttl: float, capacity: int = CAPACITY, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._entries: OrderedDict[str, _Shareable] = OrderedDict()

    def put(self, reply: Reply, owner: str) -> str:
        """Keep ``reply.masked()`` for ``owner`` and return the key for the button."""
        self._expire()
        key = secrets.token_urlsafe(12)
        self._entries[key] = _Shareable(reply.masked(), owner, self._clock() + self._ttl)
        while len(self._entries) > self._capacity:
            self._entries.popitem(last=False)
        return key

    def take(self, key: str, owner: str) -> Reply | None:
        """The masked reply behind ``key``, once, for its owner; None when unknown, expired or someone else's.

        Someone else's click does not use the share up."""
        self._expire()
        entry = self._entries.get(key)
        if entry is None or entry.owner != owner:
            return None
        del self._entries[key]
        return entry.masked

    def __len__(self) -> int:
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock()
        while self._entries:
            key, entry = next(iter(self._entries.items()))
            if entry.expires > now:
                break
            del self._entries[key]
