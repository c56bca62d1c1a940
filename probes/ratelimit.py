"""Rate limits for probes: per user, per chat server or workspace, and per target address.

Sliding-window counters, as the ``limits`` library defines them. Counters live in process memory by default
(probes/_window.py: the same arithmetic, O(1) a hit), in a SQLite file that outlives the process
(probes/_sqlite_window.py, for ``portbot probe``: a shell loop must not reset its limits), or in Redis when
``PORTBOT_REDIS_URL`` is set, through ``limits``' async strategy (so several bot or worker processes share them;
needs the optional ``redis`` extra, imported only then).

The per-target limit counts what is actually probed, never the text a user typed: :func:`target_key` turns a
resolved address into its IPv4 /32 or its IPv6 /64, so every spelling of one host (a decimal or mapped form, a
URL, a wildcard name) meets one counter.
"""

from __future__ import annotations

import ipaddress
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from probes._sqlite_window import CounterStoreError, SqliteWindowCounters
from probes._window import Rate, WindowCounters, parse_rate
from probes.errors import RateLimited, StoreUnavailable

if TYPE_CHECKING:
    # Only the Redis path imports limits (about a third of a `portbot probe` process otherwise).
    from limits import RateLimitItem
    from limits.aio.storage import Storage
    from limits.aio.strategies import SlidingWindowCounterRateLimiter

REDIS_URL_VARIABLE = "PORTBOT_REDIS_URL"

_STORE_DOWN = "The rate limiter's storage isn't answering, so I can't run checks right now; try again soon."

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

    def __init__(
        self,
        limits: RateLimits | None = None,
        *,
        storage_url: str | None = None,
        store_path: Path | None = None,
    ) -> None:
        limits = limits or RateLimits()
        self._items: dict[str, Rate | None] = {
            USER: _parse_limit(limits.per_user, "per_user"),
            GUILD: _parse_limit(limits.per_guild, "per_guild"),
            TARGET: _parse_limit(limits.per_target, "per_target"),
        }
        # The sliding window counter keeps two counters per key: O(1) per hit at any limit, where a moving
        # window keeps (and copies) one timestamp per hit. It smooths the window edge by weighting the previous
        # window's count, which is plenty for "a few checks a minute".
        # ``store_path`` (a SQLite file) keeps the counters across processes; Redis, when given, wins over it.
        self._local: WindowCounters | SqliteWindowCounters | None = None
        self._storage: Storage | None = None
        self._limiter: SlidingWindowCounterRateLimiter | None = None
        self._redis_items: dict[str, RateLimitItem] = {}  # the same rates as limits' own items
        if storage_url:
            from limits import parse
            from limits.aio.strategies import SlidingWindowCounterRateLimiter

            self._storage = _storage(storage_url)
            self._limiter = SlidingWindowCounterRateLimiter(self._storage)
            self._redis_items = {scope: parse(item.notation) for scope, item in self._items.items() if item}
        elif store_path is not None:
            self._local = SqliteWindowCounters(store_path)
        else:
            self._local = WindowCounters()

    @property
    def synchronous(self) -> bool:
        """Whether the counters are this process's or a file's, so :meth:`hit_now` can count without an event
        loop (not Redis)."""
        return self._local is not None

    async def hit(self, keys: list[tuple[str, str]], *, platform: str = "") -> None:
        """Count one probe against every ``(scope, key)`` in order; raise :class:`RateLimited` at the first
        limit used up (later keys are not charged, so list the user first). ``platform`` only picks the
        wording ("server" or "workspace")."""
        if self._local is not None:
            self.hit_now(keys, platform=platform)
            return
        from limits.errors import StorageError

        assert self._limiter is not None
        try:
            for scope, key in keys:
                item, limit = self._items[scope], self._redis_items.get(scope)
                if item is not None and limit is not None and not await self._limiter.hit(limit, scope, key):
                    stats = await self._limiter.get_window_stats(limit, scope, key)
                    raise _limited(scope, item, stats.reset_time - time.time(), platform)
        except StorageError as err:
            raise StoreUnavailable(_STORE_DOWN) from err

    def hit_now(self, keys: list[tuple[str, str]], *, platform: str = "") -> None:
        """:meth:`hit` without an event loop, for the memory and SQLite counters (``portbot probe``'s quick path,
        probes/quick.py); TypeError with Redis (see :attr:`synchronous`)."""
        local = self._local
        if local is None:
            raise TypeError("Redis counters are counted with hit()")
        try:
            for scope, key in keys:
                item = self._items[scope]
                if item is not None and not local.hit(item, scope, key):
                    raise _limited(scope, item, local.reset_after(item, scope, key), platform)
        except CounterStoreError as err:
            raise StoreUnavailable(_STORE_DOWN) from err

    async def admit(self, addresses: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
        """Charge the per-target limit once for a probe about to be sent to ``addresses`` (one count per
        distinct :func:`target_key`); raise :class:`RateLimited` if any of them is used up."""
        await self.hit(target_keys(addresses))

    def admit_now(self, addresses: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> None:
        """:meth:`admit` without an event loop (see :meth:`hit_now`)."""
        self.hit_now(target_keys(addresses))

    def close_now(self) -> None:
        """Close the SQLite file, for a caller without an event loop (Redis is never opened by one)."""
        if isinstance(self._local, SqliteWindowCounters):
            self._local.close()

    async def allowed(self, scope: str, key: str) -> bool:
        """Whether one more probe would fit under ``scope``'s limit for ``key`` (counts nothing)."""
        item = self._items[scope]
        if item is None:
            return True
        if self._local is not None:
            return self._local.test(item, scope, key)
        assert self._limiter is not None
        return await self._limiter.test(self._redis_items[scope], scope, key)

    async def reset(self) -> None:
        """Forget every counter (for tests and operators)."""
        if self._local is not None:
            self._local.reset()
        if self._storage is not None:
            await self._storage.reset()

    async def aclose(self) -> None:
        """Close the SQLite file or the Redis connection pool, if any (memory storage holds nothing to close)."""
        self.close_now()
        # limits exposes no close(); its redis-py bridge keeps the client as ``bridge.storage``.
        client = getattr(getattr(self._storage, "bridge", None), "storage", None)
        close = getattr(client, "aclose", None)
        if close is not None:
            await close()


_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_SIIT = ipaddress.IPv6Network("::ffff:0:0:0/96")
_COMPATIBLE = ipaddress.IPv6Network("::/96")


def target_keys(addresses: Iterable[ipaddress.IPv4Address | ipaddress.IPv6Address]) -> list[tuple[str, str]]:
    """The per-target counters a probe to ``addresses`` is charged to, once each."""
    return [(TARGET, key) for key in dict.fromkeys(target_key(address) for address in addresses)]


def target_key(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str:
    """The key the per-target limit counts ``address`` under: ``4:203.0.113.7/32``, or ``6:2001:db8:1:2::/64``.

    An IPv6 form that carries an IPv4 address (mapped, SIIT, IPv4-compatible, NAT64 64:ff9b::/96, 6to4,
    Teredo) counts as that IPv4 address: its packets end up there. Any other IPv6 address counts as its /64,
    the smallest network one host or one customer usually holds, so the addresses of one /64 can't each get a
    budget of their own.
    """
    if isinstance(address, ipaddress.IPv6Address):
        inner = _carried_ipv4(address)
        if inner is None:
            network = ipaddress.IPv6Network((int(address) >> 64 << 64, 64))
            return f"6:{network}"
        address = inner
    return f"4:{address}/32"


def _carried_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64 or address in _SIIT or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _limited(scope: str, item: Rate, wait: float, platform: str) -> RateLimited:
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


def _window(item: Rate) -> str:
    unit = item.unit
    if item.multiples == 1:
        return f"an {unit}" if unit == "hour" else f"a {unit}"
    return f"{item.multiples} {unit}s"


def _duration(seconds: float) -> str:
    seconds = math.ceil(seconds)
    if seconds < 120:
        return f"{seconds} s"
    return f"{math.ceil(seconds / 60)} min"


def _parse_limit(text: str, name: str) -> Rate | None:
    if not text.strip():
        return None
    try:
        return parse_rate(text)
    except ValueError:
        raise ValueError(
            f"Rate limit {name}: {text!r} is not a rate like '10/minute' or '100 per hour'."
        ) from None


def _storage(url: str) -> Storage:
    from limits.aio.storage import Storage
    from limits.errors import ConfigurationError
    from limits.storage import storage_from_string

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
