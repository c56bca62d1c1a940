"""In-process sliding-window counters: the ``limits`` library's sliding-window-counter arithmetic, O(1) a hit.

Why not ``limits``' own async ``MemoryStorage``: every counter increment schedules a task that walks every live
counter to expire old ones, so once a busy bot holds 10,000 counters (users, servers, targets seen in the last
two windows) each probe pays about a millisecond for it, and a worker's whole request budget is half that. Here
a counter rolls over lazily when it is next touched, and forgotten counters are swept at most once per window.

The numbers match ``limits.aio.strategies.SlidingWindowCounterRateLimiter`` exactly (tests compare the two
hit by hit): a window of ``E`` seconds is numbered ``int(now / E)``; the previous window's count weighs by the
share of it still inside the sliding window; a hit fits while ``floor(weighted) + 1 <= limit``. Redis storage
keeps using ``limits`` itself (shared between processes); the memory and SQLite paths never import it (it pulls
in ``deprecated``, ``wrapt`` and ``importlib.metadata``: about a third of a ``portbot probe`` process).
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable
from dataclasses import dataclass

# Seconds per unit, as ``limits`` counts them (a month is 30 days, a year 12 such months).
_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "month": 2592000, "year": 31104000}
# ``limits``' notation for one rate: "10/minute", "10 per minute", "100 per 2 hours" (tests hold the two to
# agreeing on every string, and bot/settings.py validates PORTBOT_LIMIT_* with this same parser).
# The unit is matched as ASCII letters, then looked up: re.IGNORECASE alone would let "ſ" (long s) match "s".
_RATE = re.compile(r"([0-9]+)\s*(?:/|[Pp][Ee][Rr])\s*(?:([0-9]+)\s*)?([A-Za-z]+)")


@dataclass(frozen=True, slots=True)
class Rate:
    """One rate limit: ``amount`` hits per ``multiples`` ``unit``s (``limits``' RateLimitItem, minus the import)."""

    amount: int
    multiples: int
    unit: str

    def get_expiry(self) -> int:
        """The window's length in seconds."""
        return self.multiples * _UNITS[self.unit]

    @property
    def notation(self) -> str:
        """The rate in ``limits``' notation, for its Redis path."""
        return f"{self.amount}/{self.multiples} {self.unit}"


def parse_rate(text: str) -> Rate:
    """Read one rate as ``limits.parse`` does (``"10/minute"``, ``"100 per 2 hours"``); ValueError otherwise."""
    match = _RATE.fullmatch(text.strip())
    unit = match[3].lower() if match else ""
    unit = unit if unit in _UNITS else unit.removesuffix("s")  # plurals: "2 hours"
    if match is None or unit not in _UNITS:
        raise ValueError(f"{text!r} is not a rate")
    # limits reads a missing or zero multiple as one.
    return Rate(int(match[1]), int(match[2] or 0) or 1, unit)


class WindowCounters:
    """Sliding-window counters keyed by ``(scope, key)``; not shared between processes."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        # (scope, key) -> [window length, window number, previous window's count, this window's count]
        self._counters: dict[tuple[str, str], list[int]] = {}
        self._next_sweep = 0.0

    def __len__(self) -> int:
        return len(self._counters)

    def hit(self, item: Rate, scope: str, key: str) -> bool:
        """Count one hit unless it would go over ``item``'s limit; return whether it was counted."""
        now = self._clock()
        if now >= self._next_sweep:
            self._sweep(now)
        expiry = item.get_expiry()
        counter = self._current(scope, key, expiry, now)
        if counter is None:
            counter = self._counters[(scope, key)] = new_counter(expiry, now)
        if not fits(item, counter, now):
            return False
        counter[3] += 1
        return True

    def test(self, item: Rate, scope: str, key: str) -> bool:
        """Whether one more hit would be counted (counts nothing)."""
        now = self._clock()
        counter = self._current(scope, key, item.get_expiry(), now)
        return counter is None or weighted(counter, now) < item.amount

    def reset_after(self, item: Rate, scope: str, key: str) -> float:
        """Seconds until the counter next drops (``limits``' window-stats reset time, less now)."""
        now = self._clock()
        counter = self._current(scope, key, item.get_expiry(), now)
        return 0.0 if counter is None else reset_after(counter, now)

    def reset(self) -> None:
        """Forget every counter."""
        self._counters.clear()

    def _current(self, scope: str, key: str, expiry: int, now: float) -> list[int] | None:
        """The counter rolled forward to the window ``now`` falls in, or None if it holds nothing."""
        counter = self._counters.get((scope, key))
        if counter is not None:
            roll(counter, now)
        return counter

    def _sweep(self, now: float) -> None:
        """Drop counters whose two windows are both over; runs at most once per (shortest) window."""
        stale = [k for k, (expiry, window, *_) in self._counters.items() if int(now / expiry) - window > 1]
        for key in stale:
            del self._counters[key]
        shortest = min((c[0] for c in self._counters.values()), default=60)
        self._next_sweep = now + shortest


# --- the arithmetic, on one counter: [window length, window number, previous window's count, this one's] ---
# Shared with probes/_sqlite_window.py, which keeps the same four numbers in a file.


def new_counter(expiry: int, now: float) -> list[int]:
    """An empty counter for windows of ``expiry`` seconds, in the window ``now`` falls in."""
    return [expiry, int(now / expiry), 0, 0]


def roll(counter: list[int], now: float) -> None:
    """Move ``counter`` forward to the window ``now`` falls in."""
    expiry = counter[0]
    window = int(now / expiry)
    age = window - counter[1]
    if age == 1:
        counter[1:] = [window, counter[3], 0]
    elif age > 1:
        counter[1:] = [window, 0, 0]


def weighted(counter: list[int], now: float) -> float:
    """The sliding window's count: this window's hits plus the share of the previous window still inside it."""
    expiry, _, previous, current = counter
    if not previous:
        return float(current)
    return previous * _previous_ttl(now, expiry) / expiry + current


def fits(item: Rate, counter: list[int], now: float) -> bool:
    """Whether one more hit stays within ``item``'s limit (``limits``' own test: floor(weighted) + 1)."""
    return math.floor(weighted(counter, now)) + 1 <= item.amount


def reset_after(counter: list[int], now: float) -> float:
    """Seconds until the rolled ``counter`` next drops (``limits``' window-stats reset time, less now)."""
    expiry, _, previous, current = counter
    if not (previous or current):
        return 0.0
    previous_reset = current_reset = math.inf
    if previous:
        previous_reset = _previous_ttl(now, expiry) % (expiry / previous)
    if current:
        current_reset = ((1 - ((now / expiry) % 1)) * expiry + expiry) % expiry
    return min(previous_reset, current_reset)


def _previous_ttl(now: float, expiry: int) -> float:
    """How much of the previous window is still inside the sliding window, in seconds."""
    return (1 - (((now - expiry) / expiry) % 1)) * expiry
