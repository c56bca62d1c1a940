"""One-time links: "check my own server" without pasting an address into chat.

The bot asks a worker for a link (``POST /v1/links``); the member opens it on the server's network; the worker
probes the address the visit came from and shows the verdict; the bot long-polls the result
(``GET /v1/links/{id}?wait=``).

A token is ``<id>.<signature>``: the id names the stored :class:`Link`, the signature is an HMAC under
``PORTBOT_WORKER_SECRET`` over everything the link is bound to (id, expiry, ports, protocol, hint, requester,
listener nonce). A token is good only for the link stored under its id with exactly those fields, only until
it expires (``PORTBOT_LINK_TTL``, 600 s by default), and only once: :meth:`LinkStore.claim` hands it out to
one visit and never again.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal, Protocol

from probes.models import ProbeReport, Requester

if TYPE_CHECKING:
    from redis.asyncio import Redis

__all__ = [
    "DEFAULT_TTL",
    "Claim",
    "Link",
    "LinkResult",
    "LinkState",
    "LinkStore",
    "Links",
    "MemoryLinkStore",
    "RedisLinkStore",
    "link_signature",
    "make_link",
    "split_token",
    "verify_token",
]

DEFAULT_TTL = 600.0
MAX_TTL = 3600.0
_DOMAIN = b"portbot-link-v1"  # keeps a link signature from ever verifying as a request signature


class LinkState(StrEnum):
    """Where a link stands, as ``GET /v1/links/{id}`` reports it."""

    PENDING = "pending"  # not visited yet, or being checked right now
    DONE = "done"
    EXPIRED = "expired"  # never used before its time ran out (or unknown to this worker)


class Claim(StrEnum):
    """What :meth:`LinkStore.claim` found: the visit may go ahead only on ``OK``."""

    OK = "ok"
    USED = "used"
    EXPIRED = "expired"
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Link:
    """A one-time link. ``url`` is the worker's public base; ``url_v4``/``url_v6`` force one address family
    (None unless the worker has ``PORTBOT_LINK_HOST_V4``/``_V6``)."""

    id: str
    token: str
    url: str
    url_v4: str | None
    url_v6: str | None
    expires_at: float
    ports: tuple[int, ...]
    protocol: Literal["auto", "tcp", "udp"]
    requester: Requester
    hint: str | None = None
    listener: str | None = None  # the nonce `portbot listen` answers with, when it opened the link

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "token": self.token,
            "url": self.url,
            "url_v4": self.url_v4,
            "url_v6": self.url_v6,
            "expires_at": self.expires_at,
            "ports": list(self.ports),
            "protocol": self.protocol,
            "requester": self.requester.to_dict(),
            "hint": self.hint,
            "listener": self.listener,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Link:
        protocol = data.get("protocol", "auto")
        if protocol not in ("auto", "tcp", "udp"):
            raise ValueError(f"bad protocol {protocol!r}")
        return cls(
            id=str(data["id"]),
            token=str(data["token"]),
            url=str(data["url"]),
            url_v4=None if data.get("url_v4") is None else str(data["url_v4"]),
            url_v6=None if data.get("url_v6") is None else str(data["url_v6"]),
            expires_at=float(data["expires_at"]),
            ports=tuple(int(p) for p in data["ports"]),
            protocol=protocol,
            requester=Requester.from_dict(data.get("requester") or {}),
            hint=None if data.get("hint") is None else str(data["hint"]),
            listener=None if data.get("listener") is None else str(data["listener"]),
        )


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What a visit found. ``address_kind`` is the family of the visitor's address; ``report`` the probe of
    it; ``wan_address`` what the member typed into the page's form; ``diagnosis`` the listen lane's judgement
    of the two; ``reached_listener`` per port, when `portbot listen` opened the link; ``error`` a sentence
    when the address could not be checked at all."""

    link_id: str
    address_kind: Literal["v4", "v6"]
    report: ProbeReport | None
    wan_address: str | None = None
    diagnosis: dict[str, Any] | None = None
    reached_listener: dict[int, bool] | None = None
    error: str | None = None
    todo: tuple[str, ...] = field(default=())  # what this worker could not do yet (a missing module)

    def to_dict(self) -> dict[str, Any]:
        return {
            "link_id": self.link_id,
            "address_kind": self.address_kind,
            "report": None if self.report is None else self.report.to_dict(),
            "wan_address": self.wan_address,
            "diagnosis": self.diagnosis,
            "reached_listener": None
            if self.reached_listener is None
            else {str(k): v for k, v in self.reached_listener.items()},
            "error": self.error,
            "todo": list(self.todo),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LinkResult:
        kind = data.get("address_kind")
        if kind not in ("v4", "v6"):
            raise ValueError(f"bad address kind {kind!r}")
        reached = data.get("reached_listener")
        return cls(
            link_id=str(data["link_id"]),
            address_kind=kind,
            report=None if data.get("report") is None else ProbeReport.from_dict(data["report"]),
            wan_address=None if data.get("wan_address") is None else str(data["wan_address"]),
            diagnosis=data.get("diagnosis"),
            reached_listener=None if reached is None else {int(k): bool(v) for k, v in reached.items()},
            error=None if data.get("error") is None else str(data["error"]),
            todo=tuple(str(t) for t in data.get("todo") or ()),
        )


# -- tokens ---------------------------------------------------------------------------------------------------


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def link_signature(secret: str | bytes, link: Link) -> str:
    """The HMAC binding a link's token to everything the link is for."""
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("PORTBOT_WORKER_SECRET is empty; links can't be signed.")
    bound = json.dumps(
        [
            link.id,
            int(link.expires_at),
            list(link.ports),
            link.protocol,
            link.hint,
            link.requester.to_dict(),
            link.listener,
        ],
        separators=(",", ":"),
        sort_keys=True,
    ).encode()
    return _b64(hmac.new(key, _DOMAIN + b"\0" + bound, hashlib.sha256).digest())


def make_link(
    secret: str | bytes,
    *,
    base_url: str,
    ports: tuple[int, ...],
    protocol: Literal["auto", "tcp", "udp"],
    requester: Requester,
    ttl: float = DEFAULT_TTL,
    hint: str | None = None,
    listener: str | None = None,
    host_v4: str | None = None,
    host_v6: str | None = None,
    now: float | None = None,
) -> Link:
    """A new link with a fresh id, signed, expiring ``ttl`` seconds from ``now``."""
    now = time.time() if now is None else now
    link = Link(
        id=_b64(secrets.token_bytes(12)),
        token="",
        url="",
        url_v4=None,
        url_v6=None,
        expires_at=float(int(now + ttl)),
        ports=ports,
        protocol=protocol,
        requester=requester,
        hint=hint,
        listener=listener,
    )
    token = f"{link.id}.{link_signature(secret, link)}"
    base = base_url.rstrip("/")
    return replace(
        link,
        token=token,
        url=f"{base}/l/{token}",
        url_v4=None if host_v4 is None else f"{_with_host(base, host_v4)}/l/{token}",
        url_v6=None if host_v6 is None else f"{_with_host(base, host_v6)}/l/{token}",
    )


def _with_host(base: str, host: str) -> str:
    """``base`` with its host name replaced by ``host`` (scheme, port and path kept)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(base)
    shown = f"[{host}]" if ":" in host and not host.startswith("[") else host
    netloc = shown if parts.port is None else f"{shown}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def split_token(token: str) -> tuple[str, str] | None:
    """``(id, signature)`` of a token that looks like one, else None (nothing is looked up for junk)."""
    if len(token) > 128 or token.count(".") != 1 or not token.isascii():
        return None
    link_id, sig = token.split(".")
    if not link_id or not sig:
        return None
    return link_id, sig


def verify_token(secret: str | bytes, token: str, link: Link) -> bool:
    """Whether ``token`` is the one signed for ``link`` (constant time)."""
    parts = split_token(token)
    if parts is None or parts[0] != link.id:
        return False
    return hmac.compare_digest(parts[1].encode(), link_signature(secret, link).encode())


# -- stores ---------------------------------------------------------------------------------------------------


class Links(Protocol):
    """Where links and their results live (:class:`LinkStore` in memory, :class:`RedisLinkStore`)."""

    async def add(self, link: Link) -> None: ...

    async def get(self, link_id: str) -> Link | None: ...

    async def claim(self, link_id: str, now: float) -> Claim:
        """Take the link for one visit; only the first caller before expiry gets ``Claim.OK``."""

    async def release(self, link_id: str) -> None:
        """Give a claimed link back (the visit could not check anything, so the member may try again)."""

    async def finish(self, link_id: str, result: LinkResult) -> None:
        """Store (or replace) the result and wake whoever waits for it."""

    async def result(self, link_id: str) -> LinkResult | None: ...

    async def wait(
        self, link_id: str, seconds: float, now: float | None = None
    ) -> tuple[LinkState, LinkResult | None]:
        """The result once there is one, waiting up to ``seconds`` for it."""

    async def aclose(self) -> None: ...


@dataclass
class _Entry:
    link: Link
    claimed: bool = False
    result: LinkResult | None = None
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class LinkStore:
    """Links in this worker's memory, at most ``max_links`` at once (the oldest expired ones go first, then
    the oldest). A restarted worker forgets its links: use Redis to keep them."""

    def __init__(self, max_links: int = 10_000, keep_results: float = 600.0) -> None:
        self.max_links = max_links
        self.keep_results = keep_results  # seconds a finished link stays readable after it expires
        self._entries: dict[str, _Entry] = {}

    def __len__(self) -> int:
        return len(self._entries)

    async def add(self, link: Link) -> None:
        self._prune(time.time())
        while len(self._entries) >= self.max_links:
            self._entries.pop(next(iter(self._entries)))
        self._entries[link.id] = _Entry(link)

    async def get(self, link_id: str) -> Link | None:
        entry = self._entries.get(link_id)
        return None if entry is None else entry.link

    async def claim(self, link_id: str, now: float) -> Claim:
        # No await between the check and the mark: two visits can't both pass.
        entry = self._entries.get(link_id)
        if entry is None:
            return Claim.UNKNOWN
        if entry.claimed:
            return Claim.USED
        if now >= entry.link.expires_at:
            return Claim.EXPIRED
        entry.claimed = True
        return Claim.OK

    async def release(self, link_id: str) -> None:
        entry = self._entries.get(link_id)
        if entry is not None and entry.result is None:
            entry.claimed = False

    async def finish(self, link_id: str, result: LinkResult) -> None:
        entry = self._entries.get(link_id)
        if entry is None:
            return
        entry.result = result
        entry.changed.set()

    async def result(self, link_id: str) -> LinkResult | None:
        entry = self._entries.get(link_id)
        return None if entry is None else entry.result

    async def wait(
        self, link_id: str, seconds: float, now: float | None = None
    ) -> tuple[LinkState, LinkResult | None]:
        entry = self._entries.get(link_id)
        if entry is None:
            return LinkState.EXPIRED, None
        if entry.result is None:
            now = time.time() if now is None else now
            # Unclaimed at expiry it can never be used: stop waiting then, not at the caller's wait.
            left = seconds if entry.claimed else min(seconds, entry.link.expires_at - now)
            if left > 0:
                try:
                    async with asyncio.timeout(left):
                        await entry.changed.wait()
                except TimeoutError:
                    pass
        return self._state(entry, time.time())

    @staticmethod
    def _state(entry: _Entry, now: float) -> tuple[LinkState, LinkResult | None]:
        if entry.result is not None:
            return LinkState.DONE, entry.result
        if not entry.claimed and now >= entry.link.expires_at:
            return LinkState.EXPIRED, None
        return LinkState.PENDING, None

    async def aclose(self) -> None:
        pass

    def _prune(self, now: float) -> None:
        stale = [
            key
            for key, entry in self._entries.items()
            if now >= entry.link.expires_at + (self.keep_results if entry.claimed else 0.0)
        ]
        for key in stale:
            self._entries.pop(key)


MemoryLinkStore = LinkStore


class RedisLinkStore:
    """Links in Redis, so any worker behind one name can serve a link another created, and a restart keeps
    them. The claim is ``SET NX`` on its own key: atomic across workers. Waiting polls every 0.25 s."""

    def __init__(self, url: str, *, prefix: str = "portbot:link:", keep_results: float = 600.0) -> None:
        try:
            from redis.asyncio import Redis
        except ImportError:
            raise ValueError(
                "PORTBOT_REDIS_URL is set but the redis package is not installed; "
                "`pip install 'portbot[redis]'`, or unset the variable."
            ) from None
        url = url.replace("redis+unix://", "unix://", 1)
        self._client: Redis = Redis.from_url(url, socket_timeout=2.0, socket_connect_timeout=2.0)
        self._prefix = prefix
        self.keep_results = keep_results
        self.poll = 0.25

    def _ttl(self, link: Link, now: float) -> int:
        return max(1, int(link.expires_at - now + self.keep_results) + 1)

    async def add(self, link: Link) -> None:
        await self._client.set(
            self._prefix + link.id, json.dumps(link.to_dict()), ex=self._ttl(link, time.time())
        )

    async def get(self, link_id: str) -> Link | None:
        raw = await self._client.get(self._prefix + link_id)
        return None if raw is None else Link.from_dict(json.loads(raw))

    async def claim(self, link_id: str, now: float) -> Claim:
        link = await self.get(link_id)
        if link is None:
            return Claim.UNKNOWN
        if await self._client.exists(self._prefix + link_id + ":claim"):
            return Claim.USED
        if now >= link.expires_at:
            return Claim.EXPIRED
        won = await self._client.set(
            self._prefix + link_id + ":claim", b"1", nx=True, ex=self._ttl(link, now)
        )
        return Claim.OK if won else Claim.USED

    async def release(self, link_id: str) -> None:
        if await self.result(link_id) is None:
            await self._client.delete(self._prefix + link_id + ":claim")

    async def finish(self, link_id: str, result: LinkResult) -> None:
        link = await self.get(link_id)
        if link is None:
            return
        await self._client.set(
            self._prefix + link_id + ":result",
            json.dumps(result.to_dict()),
            ex=self._ttl(link, time.time()),
        )

    async def result(self, link_id: str) -> LinkResult | None:
        raw = await self._client.get(self._prefix + link_id + ":result")
        return None if raw is None else LinkResult.from_dict(json.loads(raw))

    async def wait(
        self, link_id: str, seconds: float, now: float | None = None
    ) -> tuple[LinkState, LinkResult | None]:
        deadline = time.monotonic() + seconds
        while True:
            link = await self.get(link_id)
            if link is None:
                return LinkState.EXPIRED, None
            found = await self.result(link_id)
            if found is not None:
                return LinkState.DONE, found
            claimed = bool(await self._client.exists(self._prefix + link_id + ":claim"))
            if not claimed and time.time() >= link.expires_at:
                return LinkState.EXPIRED, None
            if time.monotonic() >= deadline:
                return LinkState.PENDING, None
            await asyncio.sleep(min(self.poll, max(0.0, deadline - time.monotonic())))

    async def aclose(self) -> None:
        await self._client.aclose()
