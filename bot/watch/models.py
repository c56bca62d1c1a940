"""The records a watch is made of. Plain data: no database, chat or probe code here."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from probes.errors import UserError

Protocol = Literal["tcp", "udp"]


class Platform(StrEnum):
    """Where a watch reports. Its ``scope_id`` is a guild id, a Slack team id, or ``"cli"``."""

    DISCORD = "discord"
    SLACK = "slack"
    CLI = "cli"


class Health(StrEnum):
    """A watch's confirmed (or candidate) state. ``UNKNOWN`` is a check that could not run (refused, limited)."""

    UP = "up"
    DOWN = "down"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class NewWatch:
    """What someone asked to watch. ``every`` is in seconds; ``game`` is a knowledge entry key (``minecraft``)
    whose protocol the check speaks, for player counts."""

    platform: Platform
    scope_id: str
    created_by: str
    host: str
    port: int
    protocol: Protocol = "tcp"
    every: float = 60.0
    game: str | None = None
    label: str | None = None
    channel_id: str | None = None
    notify_url: str | None = None


@dataclass(frozen=True, slots=True)
class Watch:
    """One stored watch with its last known state (times are UTC epoch seconds)."""

    id: int
    platform: Platform
    scope_id: str
    created_by: str
    host: str
    port: int
    protocol: Protocol
    every: float
    game: str | None
    label: str | None
    channel_id: str | None
    notify_url: str | None
    status_message_id: str | None
    created_at: float
    next_due: float
    state: Health | None  # confirmed; None until the first result
    state_since: float | None
    candidate: Health | None  # a different result seen, not yet confirmed
    candidate_count: int
    last_checked: float | None
    last_result: str | None  # JSON summary of the last check (see the scheduler)


class WatchError(UserError):
    """A watch request the person can fix; the message is shown to them as it is."""


class WatchQuotaReached(WatchError):
    """The server or workspace already has as many watches as ``PORTBOT_WATCH_QUOTA`` allows."""


class WatchNotFound(WatchError):
    """No watch with that id here (or it belongs to another server)."""


class DuplicateWatch(WatchError):
    """This server already watches that host, port and protocol."""
