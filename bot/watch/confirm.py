"""When a result changes a watch's state: two results in a row must agree, and UNKNOWN never counts.

Pure data work, so the rules are tested as a table (tests/watch/test_confirm.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.watch.models import Health

#: Consecutive results that must agree before a change counts (issue 10: "no flapping").
CONFIRMATIONS = 2


@dataclass(frozen=True, slots=True)
class Tally:
    """A watch's confirmed state and the different result it has seen in a row, ``count`` times."""

    state: Health | None
    candidate: Health | None = None
    count: int = 0


@dataclass(frozen=True, slots=True)
class Step:
    """The tally after one result, and the change it confirmed (``before`` → ``tally.state``), if any."""

    tally: Tally
    changed: bool
    before: Health | None = None
    first: bool = False  # the first state ever seen: recorded, never alerted


def step(tally: Tally, health: Health) -> Step:
    """Apply one check's ``health`` to ``tally``."""
    if health is Health.UNKNOWN:
        # Says nothing about the server: neither confirms nor breaks a run of results.
        return Step(tally, changed=False)
    if tally.state is None:
        return Step(Tally(health), changed=False, first=True)
    if health is tally.state:
        return Step(Tally(tally.state), changed=False)
    count = tally.count + 1 if tally.candidate is health else 1
    if count >= CONFIRMATIONS:
        return Step(Tally(health), changed=True, before=tally.state)
    return Step(Tally(tally.state, health, count), changed=False)
