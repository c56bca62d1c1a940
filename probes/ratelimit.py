"""Rate limits for probes: per user, per chat server or workspace, and per target address.

Sliding-window counters, as the ``limits`` library defines them. Counters live in process memory by default
(probes/_window.py: the same arithmetic, O(1) a hit), or in Redis when ``PORTBOT_REDIS_URL`` is set, through
``limits``' async strategy (so several bot or worker processes share them; needs the optional ``redis`` extra,
imported only then).
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from limits import RateLimitItem, parse
from limits.aio.storage import Storage
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.errors import ConfigurationError, StorageError
from limits.storage import storage_from_string

from probes._window import WindowCounters
from probes.errors import ProbeError, RateLimited

REDIS_URL_VARIABLE = "PORTBOT_REDIS_URL"

USER = "user"
GUILD = "guild"
TARGET = "target"


@dataclass(frozen=True, slots=True)
class RateLimits:
    """Limits in the ``limits`` notation (``"10/minute"``, ``"100 per hour"``). An empty string disables one."""

    per_user: str = "10/minute"
    per_guild: str = "60/minute"
    per_target: str = "20/minute"


class ProbeRateLimiter:
    """Counts probes and raises :class:`RateLimited` when one of the limits is used up."""

    def __init__(self, limits: RateLimits | None = None, *, storage_url: str | None = None) -> None:
        limits = limits or RateLimits()
        self._items: dict[str, RateLimitItem | None] = {
            USER: _parse_limit(limits.per_user, "per_user"),
            GUILD: _parse_limit(limits.per_guild, "per_guild"),
            TARGET: _parse_limit(limits.per_target, "per_target"),
        }
        # The sliding window counter keeps two counters per key: O(1) per hit at any limit, where a moving
        # window keeps (and copies) one timestamp per hit. It smooths the window edge by weighting the previous
        # window's count, which is plenty for "a few checks a minute".
        self._local: WindowCounters | None = None
        self._storage: Storage | None = None
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        if storage_url:
            self._storage = _storage(storage_url)
            self._limiter = SlidingWindowCounterRateLimiter(self._storage)
        else:
            self._local = WindowCounters()

    async def hit(self, keys: list[tuple[str, str]], *, platform: str = "") -> None:
        """Count one probe against every ``(scope, key)`` in order; raise :class:`RateLimited` at the first
        limit used up (later keys are not charged, so list the user first). ``platform`` only picks the
        wording ("server" or "workspace")."""
        local = self._local
        if local is not None:
            for scope, key in keys:
                item = self._items[scope]
                if item is not None and not local.hit(item, scope, key):
                    raise _limited(scope, item, local.reset_after(item, scope, key), platform)
            return
        assert self._limiter is not None
        try:
            for scope, key in keys:
                item = self._items[scope]
                if item is not None and not await self._limiter.hit(item, scope, key):
                    stats = await self._limiter.get_window_stats(item, scope, key)
                    raise _limited(scope, item, stats.reset_time - time.time(), platform)
        except StorageError as err:
            raise ProbeError(
                "The rate limiter's storage isn't answering, so I can't run checks right now; try again soon."
            ) from err

    async def record(self, keys: list[tuple[str, str]]) -> None:
        """Count a probe that already ran against ``keys`` without refusing anything (e.g. the addresses a
        name resolved to, known only afterwards)."""
        for scope, key in keys:
            item = self._items[scope]
            if item is None:
                continue
            if self._local is not None:
                self._local.hit(item, scope, key)
                continue
            assert self._limiter is not None
            try:
                await self._limiter.hit(item, scope, key)
            except StorageError:
                return

    async def allowed(self, scope: str, key: str) -> bool:
        """Whether one more probe would fit under ``scope``'s limit for ``key`` (counts nothing)."""
        item = self._items[scope]
        if item is None:
            return True
        if self._local is not None:
            return self._local.test(item, scope, key)
        assert self._limiter is not None
        return await self._limiter.test(item, scope, key)

    async def reset(self) -> None:
        """Forget every counter (for tests and operators)."""
        if self._local is not None:
            self._local.reset()
        if self._storage is not None:
            await self._storage.reset()

    async def aclose(self) -> None:
        """Close the Redis connection pool, if any (memory storage holds nothing to close)."""
        # limits exposes no close(); its redis-py bridge keeps the client as ``bridge.storage``.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()


def _limited(scope: str, item: RateLimitItem, wait: float, platform: str) -> RateLimited:
    retry_after = max(1.0, math.ceil(wait))
    message = _message(scope, _window(item), _duration(retry_after), platform)
    return RateLimited(message, retry_after=retry_after, scope=scope)


def _message(scope: str, window: str, wait: str, platform: str) -> str:
    if scope == USER:
        return f"You've run a lot of checks in {window}; try again in {wait}."
    if scope == GUILD:
        place = "workspace" if platform == "slack" else "server"
        return f"This {place} has run a lot of checks in {window}; try again in {wait}."
    return f"That address has been checked a lot in {window}; try again in {wait}."


def _window(item: RateLimitItem) -> str:
    unit = item.GRANULARITY.name
    if item.multiples == 1:
        return f"an {unit}" if unit == "hour" else f"a {unit}"
    return f"{item.multiples} {unit}s"


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 120:
        return f"{seconds} s"
    return f"{math.ceil(seconds / 60)} min"


def _parse_limit(text: str, name: str) -> RateLimitItem | None:
    if not text.strip():
        return None
    try:
        return parse(text)
    except ValueError:
        raise ValueError(
            f"Rate limit {name}: {text!r} is not a rate like '10/minute' or '100 per hour'."
        ) from None


def _storage(url: str) -> Storage:
    scheme = url.split("://", 1)[0]
    options: dict[str, str | bool] = {"wrap_exceptions": True}
    if scheme in ("redis", "rediss", "redis+unix"):
        url = "async+" + url
    if url.startswith("async+redis"):
        options["implementation"] = "redispy"  # the `redis` extra, not coredis
    elif not url.startswith("async+"):
        raise ValueError(
            f"{REDIS_URL_VARIABLE}: {url!r} is not a Redis URL; use redis://host:6379 (or rediss:// for TLS)."
        )
    try:
        storage = storage_from_string(url, **options)
    except ConfigurationError as err:
        raise ValueError(
            f"{REDIS_URL_VARIABLE} is set but Redis can't be used ({err}); install the extra with "
            "`pip install 'portbot[redis]'`, or unset the variable to count in memory."
        ) from None
    assert isinstance(storage, Storage)
    return storage
