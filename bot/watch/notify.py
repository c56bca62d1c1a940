"""How a watch's news leaves the scheduler: the status message kept up to date, and an alert on each change.

The scheduler knows nothing of chat platforms. It hands each check's :class:`CheckSummary` and each confirmed
:class:`Change` to the :class:`Notifier` for the watch's platform (Discord channel, Slack channel) or, for
``portbot watch add --notify URL``, to the webhook notifier. Notifiers turn them into replies with
``bot.core.watch_replies`` (host masked: status messages are public) and render those for their platform.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from bot.watch.models import Health, Platform, Watch


@dataclass(frozen=True, slots=True)
class CheckSummary:
    """One check of a watch, in the words a status message needs."""

    health: Health
    state: str  # the probe's verdict: open, closed, filtered, unreachable, open|filtered, refused, limited
    reason: str | None  # the plain-language cause when down or unknown
    checked_at: float
    latency_ms: float | None = None
    players: tuple[int, int] | None = None  # (online, max) when the game answered its status query
    version: str | None = None  # the game server's version string, when it told us


@dataclass(frozen=True, slots=True)
class Change:
    """A confirmed change of a watch's state (seen on two checks in a row). ``seq`` numbers the watch's changes
    from 1; the outbox holds at most one alert per (watch, seq)."""

    watch: Watch
    seq: int
    before: Health
    after: Health
    summary: CheckSummary
    at: float
    # Changes confirmed while this watch's alerts were held back by the rate limit, oldest first: told in the
    # same message as this one (each change is still told exactly once).
    earlier: tuple[Change, ...] = ()


class Notifier(Protocol):
    """Delivers one platform's watch news. Both calls may raise; the scheduler logs and retries later."""

    async def show_status(self, watch: Watch, summary: CheckSummary) -> str | None:
        """Post or edit the watch's status message; return its message id when a new one was posted
        (the scheduler stores it so the next call edits it), else None."""

    async def alert(self, change: Change) -> None:
        """Tell the watch's channel (or webhook) about ``change``."""


Notifiers = Mapping[Platform, Notifier]
