"""Masked probe results waiting for their "Share in channel" button.

Slack does not send an ephemeral message's content back when one of its buttons is pressed, so the masked
copy is kept here under a random token (the button's value) for as long as Slack keeps the message's
``response_url`` usable. In memory, per process: a restart or a second process forgets, and the user is told
to run the check again.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from collections.abc import Callable

from bot.core.reply import Reply

TTL_SECONDS = 30 * 60  # Slack's response_url works for 30 minutes
CAPACITY = 2000


class ShareStore:
    """A bounded, expiring map from token to the masked reply to post."""

    def __init__(
        self,
        ttl: float = TTL_SECONDS,
        capacity: int = CAPACITY,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl
        self._capacity = capacity
        self._clock = clock
        self._items: OrderedDict[str, tuple[float, Reply]] = OrderedDict()

    def put(self, reply: Reply) -> str:
        """Keep ``reply.masked()`` and return the token for the Share button."""
        self._expire()
        token = secrets.token_urlsafe(12)
        self._items[token] = (self._clock() + self._ttl, reply.masked())
        while len(self._items) > self._capacity:
            self._items.popitem(last=False)
        return token

    def take(self, token: str) -> Reply | None:
        """The masked reply for ``token``, once; None when unknown or expired."""
        self._expire()
        item = self._items.pop(token, None)
        return item[1] if item else None

    def __len__(self) -> int:
        return len(self._items)

    def _expire(self) -> None:
        now = self._clock()
        while self._items:
            token, (deadline, _) = next(iter(self._items.items()))
            if deadline > now:
                break
            del self._items[token]
