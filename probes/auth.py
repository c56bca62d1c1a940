"""Request signing between the bot and its probe workers: HMAC-SHA256 over a timestamp and the body.

The bot sends ``X-Portbot-Timestamp`` (Unix seconds) and ``X-Portbot-Signature`` (``v1=<hex>``, the HMAC of
``"<timestamp>." + body`` under the shared secret ``PORTBOT_WORKER_SECRET``). A worker refuses a request that is
unsigned, signed with another key, more than five minutes old or early, or already seen (a replay). Bodies carry
a fresh ``request_id``, so two honest requests never share a signature.

Replays are remembered for as long as a signature stays fresh: in the worker's memory by default (so a
restarted worker accepts again what was signed in the five minutes before the restart), or in Redis when
``PORTBOT_REDIS_URL`` is set (shared by every worker, and kept across restarts).
"""

from __future__ import annotations

import hashlib
import hmac
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from redis.asyncio import Redis

TIMESTAMP_HEADER = "X-Portbot-Timestamp"
SIGNATURE_HEADER = "X-Portbot-Signature"
SECRET_VARIABLE = "PORTBOT_WORKER_SECRET"  # noqa: S105 (the variable's name, not a secret)
MAX_SKEW_SECONDS = 300.0
_VERSION = "v1="


class AuthError(Exception):
    """A request failed authentication. ``reason`` is one of: unsigned, malformed, bad-signature, stale,
    replayed."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ReplayCheckUnavailable(Exception):
    """The shared replay store (Redis) did not answer, so the request can't be accepted safely."""


@dataclass(frozen=True, slots=True)
class Signed:
    """A request whose signature and clock checked out: what a replay guard remembers it by."""

    signature: str
    timestamp: int


class Replays(Protocol):
    """Where signatures already used are remembered (:class:`ReplayGuard`, :class:`RedisReplayGuard`)."""

    async def remember(self, signed: Signed, now: float) -> None:
        """Raise :class:`AuthError` (replayed) if ``signed`` was seen before; else remember it."""

    async def aclose(self) -> None: ...


def _key(secret: str | bytes) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError(
            f"{SECRET_VARIABLE} is empty; set the same long random string on the bot and workers."
        )
    return key


def signature(secret: str | bytes, timestamp: str, body: bytes) -> str:
    """The ``X-Portbot-Signature`` value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(_key(secret), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return _VERSION + digest


def sign(secret: str | bytes, body: bytes, *, now: float | None = None) -> dict[str, str]:
    """The two headers that authenticate ``body``."""
    timestamp = str(int(time.time() if now is None else now))
    return {TIMESTAMP_HEADER: timestamp, SIGNATURE_HEADER: signature(secret, timestamp, body)}


class ReplayGuard:
    """Remembers signatures seen within the allowed clock window, in bounded memory.

    When full, the oldest signing seconds are forgotten and everything signed at or before the newest forgotten
    second is refused from then on, so a forgotten signature can never be replayed.
    """

    def __init__(self, max_entries: int = 100_000, window: float = MAX_SKEW_SECONDS) -> None:
        self.max_entries = max_entries
        self.window = window
        # Signatures grouped by the second they were signed at. A replay carries the same timestamp (it is
        # signed), so membership is one small dict lookup, and whole seconds expire at once. Plain dicts of
        # strings are also invisible to the garbage collector: an OrderedDict of 100,000 signatures added about
        # 20 ms to every full collection, which a busy worker runs every second or two.
        self._by_second: dict[int, dict[str, None]] = {}
        self._count = 0
        self._horizon = -1  # requests signed at or before this second cannot be checked any more
        self._expired_at = -1  # the second of the last expiry pass

    def __len__(self) -> int:
        return self._count

    def check(self, sig: str, timestamp: int, now: float) -> None:
        """Raise :class:`AuthError` if ``sig`` was seen before (or can no longer be checked); else remember it."""
        self._expire(now)
        seen = self._by_second.get(timestamp)
        if timestamp <= self._horizon or (seen is not None and sig in seen):
            raise AuthError("replayed", _REPLAYED)
        if seen is None:
            seen = self._by_second[timestamp] = {}
        seen[sig] = None
        self._count += 1
        while self._count > self.max_entries:
            oldest = min(self._by_second)
            self._count -= len(self._by_second.pop(oldest))
            self._horizon = max(self._horizon, oldest)

    async def remember(self, signed: Signed, now: float) -> None:
        self.check(signed.signature, signed.timestamp, now)

    async def aclose(self) -> None:
        pass

    def _expire(self, now: float) -> None:
        # Once a second is plenty: the clock check refuses anything older than the window anyway.
        if int(now) == self._expired_at:
            return
        self._expired_at = int(now)
        cutoff = now - self.window
        for second in [s for s in self._by_second if s < cutoff]:
            self._count -= len(self._by_second.pop(second))


class RedisReplayGuard:
    """Remembers signatures in Redis (``SET NX`` with an expiry at the end of the signature's freshness), so
    every worker sharing the Redis refuses a replay, before and after a restart."""

    def __init__(
        self, url: str, *, window: float = MAX_SKEW_SECONDS, prefix: str = "portbot:replay:"
    ) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ValueError(
                "PORTBOT_REDIS_URL is set but the redis package is not installed; "
                "`pip install 'portbot[redis]'`, or unset the variable."
            ) from None
        self.window = window
        self._prefix = prefix
        # The rate limiter's spelling for a Unix socket (limits' "redis+unix://") is redis-py's "unix://".
        url = url.replace("redis+unix://", "unix://", 1)
        try:
            self._client: Redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        except ValueError as err:
            raise ValueError(f"PORTBOT_REDIS_URL: {url!r} is not a Redis URL ({err}).") from None

    async def remember(self, signed: Signed, now: float) -> None:
        from redis.exceptions import RedisError

        # Fresh until timestamp + window (the clock check refuses it after that), so remembered until then.
        ttl = max(1, math.ceil(signed.timestamp + self.window - now) + 1)
        try:
            fresh = await self._client.set(
                self._prefix + signed.signature.removeprefix(_VERSION), b"1", nx=True, ex=ttl
            )
        except RedisError as err:
            raise ReplayCheckUnavailable(str(err)) from err
        if not fresh:
            raise AuthError("replayed", _REPLAYED)

    async def aclose(self) -> None:
        await self._client.aclose()


_REPLAYED = "This request was already used; sign every request afresh."


def verify(
    secret: str | bytes,
    headers: Mapping[str, str],
    body: bytes,
    *,
    guard: ReplayGuard | None = None,
    now: float | None = None,
    max_skew: float = MAX_SKEW_SECONDS,
) -> Signed:
    """Raise :class:`AuthError` unless ``headers`` carry a fresh, valid signature of ``body`` (and, given an
    in-memory ``guard``, an unused one). Returns what a replay guard remembers the request by."""
    now = time.time() if now is None else now
    timestamp = headers.get(TIMESTAMP_HEADER)
    sig = headers.get(SIGNATURE_HEADER)
    if not timestamp or not sig:
        raise AuthError(
            "unsigned", f"Sign the request with the {TIMESTAMP_HEADER} and {SIGNATURE_HEADER} headers."
        )
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        raise AuthError("malformed", f"{TIMESTAMP_HEADER} must be Unix time in whole seconds.")
    # Header values arrive decoded with surrogate escapes for bytes that aren't UTF-8 (aiohttp), or as any
    # text at all: only ASCII can be a signature, and encoding anything else would raise.
    if not sig.isascii():
        raise AuthError("malformed", f"{SIGNATURE_HEADER} must be v1= and a hex digest.")
    expected = signature(secret, timestamp, body)
    if not hmac.compare_digest(expected.encode(), sig.encode()):
        raise AuthError("bad-signature", f"The signature does not match; check {SECRET_VARIABLE}.")
    # Checked after the signature so an attacker learns nothing about our clock from unsigned probes.
    if abs(now - int(timestamp)) > max_skew:
        raise AuthError(
            "stale",
            "The request's timestamp is more than five minutes off; check the clocks of bot and worker.",
        )
    if guard is not None:
        guard.check(sig, int(timestamp), now)
    return Signed(sig, int(timestamp))
