"""The worker's HTTP front: which connections aiohttp gets, and for how long.

aiohttp parses and answers requests; it has no total deadline for a request's headers (its keep-alive timer
is the only bound, and its behaviour has changed between releases) and no connection caps. So every
connection passes through here first:

- **Admission**, on the bare accepted socket, before aiohttp sees a byte: a source address (IPv4, or IPv6
  /64) over its cap is answered 503 and closed at once. At the global cap, the connection that has waited
  longest for its request headers is dropped to make room (a slow or silent client, not one with a request
  in progress); if every connection is busy, the newcomer is answered 503 and closed. Accepting and closing
  keeps the listen backlog moving: a connection left there holds a kernel slot and, once accepted later, a
  file descriptor.
- **Deadlines**: the request headers must arrive in full within ``header_timeout`` of the connection opening
  (or of the first byte after the previous answer), however slowly they trickle: the clock is not reset by
  each byte. Between requests a connection may idle for ``idle_timeout``. The body deadline is the handler's
  (:func:`probes.worker` reads the body under a timeout), since only it knows when it wants the body.
- **Accept failures** (``EMFILE`` and the like) are logged once per interval with a count. asyncio's own
  accept loop (``loop.create_server``) reports each failed attempt through the loop's exception handler with
  a traceback (on Python 3.11 up to ``backlog`` of them per wake-up) and leaves the connections waiting in
  the backlog; here a reserved descriptor is freed to accept and shed each one with a 503.

aiohttp's low-level ``RequestHandler`` is subclassed here and nowhere else, including its private
``_handle_request`` (pinned in pyproject.toml; tests/probes/test_worker_hostile.py fails if the hook stops
being called).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import ipaddress
import json
import logging
import os
import resource
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web, web_protocol
from aiohttp.http_exceptions import HttpProcessingError
from aiohttp.web_request import BaseRequest
from aiohttp.web_response import StreamResponse

log = logging.getLogger("portbot.worker")

# Where each phase's connections wait, oldest first (dicts keep insertion order; a phase change pops then
# re-inserts, so the first key is always the longest waiting).
_HEADERS = 1  # waiting for a request's headers
_BUSY = 2  # a request is being handled
_IDLE = 3  # answered; waiting for the next request

# File descriptors one in-flight probe may hold: up to 5 ports on 2 addresses, a DNS socket and an ICMP
# socket, with slack. The connection cap must leave them room, or probes fail with "too many open files".
FDS_PER_PROBE = 12
FDS_BASE = 32  # the listening socket, the loop, the audit database, Redis, stdio, logs


@dataclass(frozen=True, slots=True)
class ConnectionLimits:
    """How many connections the worker holds and how long it waits on each (``PORTBOT_WORKER_*``)."""

    max_connections: int = 1024
    max_per_source: int = 128  # 0: no per-address cap (e.g. behind a reverse proxy, where all share one)
    header_timeout: float = 10.0
    body_timeout: float = 10.0
    idle_timeout: float = 15.0


def fd_budget(max_concurrency: int, soft_limit: int | None = None) -> int:
    """How many client connections fit under the open-file limit, with room for ``max_concurrency`` probes."""
    if soft_limit is None:
        soft_limit = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    if soft_limit == resource.RLIM_INFINITY:
        return 1 << 30
    return soft_limit - FDS_BASE - FDS_PER_PROBE * max_concurrency


def fds_needed(limits: ConnectionLimits, max_concurrency: int) -> int:
    """The open-file limit at which ``limits.max_connections`` fits beside ``max_concurrency`` probes."""
    return limits.max_connections + FDS_BASE + FDS_PER_PROBE * max_concurrency


def raise_fd_limit(wanted: int) -> int:
    """Raise this process's soft open-file limit towards ``wanted`` (never past the hard limit); return it.

    Many systems start services at a soft limit of 1,024 under a far higher hard one."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError):
            return soft
        return target
    return soft


class Throttle:
    """Lets one event through per ``interval`` seconds and counts the ones it held back."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self._clock = clock
        self._last = -float("inf")
        self.suppressed = 0

    def allow(self) -> int | None:
        """None to stay quiet; else how many events were held back since the last one let through."""
        now = self._clock()
        if now - self._last < self.interval:
            self.suppressed += 1
            return None
        self._last = now
        held, self.suppressed = self.suppressed, 0
        return held


def since(held: int) -> str:
    """The tail of a throttled log line: how many like it were held back."""
    return f" ({held:,} more since the last message)" if held else ""


def _canned(status: str, code: str, message: str) -> bytes:
    """A whole HTTP answer, written straight to a connection aiohttp never saw (or gave up on)."""
    body = json.dumps({"error": code, "message": message}).encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n".encode()
        + (b"Retry-After: 1\r\n" if status.startswith("503") else b"")
        + b"\r\n"
        + body
    )


#: How long a shed connection may take to close its side after our answer (a client reads 503, then closes).
SHED_LINGER = 0.5

_FULL = _canned(
    "503 Service Unavailable", "overloaded", "This worker has too many connections; try again soon."
)
_SOURCE_FULL = _canned(
    "503 Service Unavailable", "overloaded", "Too many connections from your address; close some first."
)
_HEADERS_LATE = _canned("408 Request Timeout", "timeout", "The request headers took too long to arrive.")


def source_key(peer: Any) -> str:
    """What the per-source cap counts: an IPv4 address, or an IPv6 /64 (one customer's usual allocation)."""
    if not isinstance(peer, tuple) or not peer:
        return ""
    host = str(peer[0])
    if ":" not in host:
        return host
    try:
        address = ipaddress.IPv6Address(host.split("%", 1)[0])
    except ValueError:
        return host
    if address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return f"{ipaddress.IPv6Network((address, 64), strict=False).network_address}/64"


class Front:
    """Accepts connections for an aiohttp server under :class:`ConnectionLimits` and enforces the deadlines.

    It runs its own accept loop rather than ``loop.create_server``: the caps are checked on the bare socket,
    before any transport, protocol or task exists (a shed connection costs an accept, a send and a close),
    and running out of descriptors is handled where it happens."""

    def __init__(
        self,
        server: web.Server,
        limits: ConnectionLimits,
        *,
        count: Callable[[str], None] = lambda outcome: None,
        log_interval: float = 10.0,
        handler_options: dict[str, Any] | None = None,
    ) -> None:
        self.server = server
        self.limits = limits
        self._count = count
        self._handler_options = handler_options or {}
        self._loop = asyncio.get_running_loop()
        self.connections = 0
        self._per_source: dict[str, int] = {}
        self._waiting: dict[int, dict[_GuardedHandler, float]] = {_HEADERS: {}, _IDLE: {}}
        self._shed_log = Throttle(log_interval)
        self._accept_log = Throttle(log_interval)
        self._listeners: list[socket.socket] = []
        self._starting: set[asyncio.Task[None]] = set()
        # One descriptor held in reserve: when accept() fails for want of descriptors, it is freed to accept
        # and shed the waiting connection, so the client hears 503 at once instead of waiting in the backlog.
        self._reserve: int | None = _open_reserve()
        # Deadlines are checked by one periodic sweep, not a timer per request: two dict operations a request
        # instead of scheduling and cancelling timer handles. They fire up to one tick late.
        self._tick = min(1.0, max(0.05, min(limits.header_timeout, limits.idle_timeout) / 8))
        self._sweeper: asyncio.TimerHandle | None = self._loop.call_later(self._tick, self._sweep)

    # --- listening and accepting -------------------------------------------------------------------------

    def listen(self, host: str, port: int, backlog: int) -> list[tuple[str, int]]:
        """Listen on every address ``host`` resolves to (all interfaces for ""); return the bound addresses."""
        infos = socket.getaddrinfo(host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
        bound: list[tuple[str, int]] = []
        try:
            for family, kind, proto, _, address in dict.fromkeys(infos):
                sock = socket.socket(family, kind, proto)
                self._listeners.append(sock)
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if port == 0 and bound:  # one port for every address
                    address = (address[0], bound[0][1], *address[2:])
                sock.bind(address)
                sock.listen(backlog)
                sock.setblocking(False)
                name = sock.getsockname()
                bound.append((str(name[0]), int(name[1])))
        except BaseException:
            self.close()
            raise
        for sock in self._listeners:
            self._loop.add_reader(sock.fileno(), self._accept, sock)
        return bound

    def _accept(self, listener: socket.socket) -> None:
        for _ in range(128):  # a burst at a time, then the loop's other work gets its turn
            try:
                conn, peer = listener.accept()
            except (BlockingIOError, InterruptedError, ConnectionAbortedError):
                return
            except OSError as exc:
                self._accept_failed(listener, exc)
                return
            self._admit(conn, peer)

    def _accept_failed(self, listener: socket.socket, exc: OSError) -> None:
        if exc.errno not in _OUT_OF_RESOURCES:
            # A connection that failed on its way in: Linux reports some network errors through accept().
            log.debug("accept() failed: %s", exc)
            return
        self._count("accept_error")
        held = self._accept_log.allow()
        if held is not None:
            log.error(
                "cannot accept connections: %s (%s)%s. Raise the open-file limit (ulimit -n) or lower "
                "PORTBOT_WORKER_MAX_CONNECTIONS.",
                exc.strerror,
                errno.errorcode.get(exc.errno or 0, str(exc.errno)),
                since(held),
            )
        if exc.errno in (errno.EMFILE, errno.ENFILE) and self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None
            try:
                conn, _ = listener.accept()
            except OSError:
                pass
            else:
                self._count("shed_full")
                # The reserve's descriptor is this connection's until it has closed cleanly; the listener
                # waits for it (one client round trip), then sheds the next one the same way.
                self._loop.remove_reader(listener.fileno())
                self._shed_later(conn, _FULL, then=lambda: self._restore_reserve(listener))
                return
            self._reserve = _open_reserve()
            if self._reserve is not None:
                return
        # Out of memory or buffers, or no reserve left: pause this listener for a moment (its readiness would
        # wake the loop over and over), as asyncio's own accept loop does.
        self._loop.remove_reader(listener.fileno())
        self._loop.call_later(1.0, self._resume, listener)

    def _restore_reserve(self, listener: socket.socket) -> None:
        self._reserve = _open_reserve()
        self._resume(listener)

    def _shed_later(self, conn: socket.socket, answer: bytes, then: Callable[[], None] | None = None) -> None:
        """Answer ``conn`` and close it without a reset (see :func:`_shed`), off the accept path."""
        task = self._loop.create_task(_shed(conn, answer, self._loop))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)
        if then is not None:
            task.add_done_callback(lambda _: then())

    def _resume(self, listener: socket.socket) -> None:
        if listener in self._listeners:
            self._loop.add_reader(listener.fileno(), self._accept, listener)

    # --- admission ---------------------------------------------------------------------------------------

    def _admit(self, conn: socket.socket, peer: Any) -> None:
        source = source_key(peer)
        limits = self.limits
        if limits.max_per_source and self._per_source.get(source, 0) >= limits.max_per_source:
            self._refuse(
                conn, _SOURCE_FULL, "shed_source", f"{source} is at its cap of {limits.max_per_source}"
            )
            return
        if self.connections >= limits.max_connections and not self._evict():
            self._refuse(conn, _FULL, "shed_full", f"all {limits.max_connections} connections are busy")
            return
        handler = _GuardedHandler(self, source, self.server, loop=self._loop, **self._handler_options)
        # The slot is taken now, not once the transport is ready, so a burst can't overshoot the caps.
        self.connections += 1
        self._per_source[source] = self._per_source.get(source, 0) + 1
        self._count("accepted")
        # On the header clock from now, and a candidate for eviction even before its transport is ready.
        self.enter(handler, _HEADERS)
        conn.setblocking(False)
        task = self._loop.create_task(self._serve(conn, handler))
        self._starting.add(task)
        task.add_done_callback(self._starting.discard)

    async def _serve(self, conn: socket.socket, handler: _GuardedHandler) -> None:
        try:
            await self._loop.connect_accepted_socket(lambda: handler, conn)
        except BaseException:
            self._release(handler)
            conn.close()
            raise

    def _refuse(self, conn: socket.socket, answer: bytes, outcome: str, why: str) -> None:
        self._shed_later(conn, answer)
        self._count(outcome)
        held = self._shed_log.allow()
        if held is not None:
            log.warning("refusing new connections: %s%s", why, since(held))

    def _evict(self) -> bool:
        """Drop the connection that has waited longest for its request headers (else the longest idle one)."""
        for phase, outcome in ((_HEADERS, "evicted"), (_IDLE, "evicted_idle")):
            waiting = self._waiting[phase]
            if waiting:
                victim = next(iter(waiting))
                self._release(victim)
                victim.force_close()
                self._count(outcome)
                return True
        return False

    # --- accounting, called by the handlers --------------------------------------------------------------

    def enter(self, handler: _GuardedHandler, phase: int) -> None:
        old = handler.phase
        if old != _BUSY:
            self._waiting[old].pop(handler, None)
        handler.phase = phase
        if phase != _BUSY:
            self._waiting[phase][handler] = self._loop.time()

    def _release(self, handler: _GuardedHandler) -> None:
        if not handler.counted:
            return
        handler.counted = False
        for waiting in self._waiting.values():
            waiting.pop(handler, None)
        self.connections -= 1
        left = self._per_source[handler.source] - 1
        if left:
            self._per_source[handler.source] = left
        else:
            del self._per_source[handler.source]

    def closed(self, handler: _GuardedHandler) -> None:
        self._release(handler)

    # --- deadlines ---------------------------------------------------------------------------------------

    def _sweep(self) -> None:
        # Rescheduled first: whatever happens below, the deadlines keep being enforced.
        self._sweeper = self._loop.call_later(self._tick, self._sweep)
        now = self._loop.time()
        for phase, timeout in ((_HEADERS, self.limits.header_timeout), (_IDLE, self.limits.idle_timeout)):
            waiting = self._waiting[phase]
            while waiting:
                handler, began = next(iter(waiting.items()))
                if now - began < timeout:
                    break
                self._release(handler)
                if phase == _HEADERS:
                    self._count("header_timeout")
                    handler.answer_and_close(_HEADERS_LATE)
                else:
                    self._count("idle_timeout")
                    handler.force_close()

    def close(self) -> None:
        """Stop listening and stop the deadline sweep (the server's own shutdown closes the connections)."""
        for sock in self._listeners:
            with contextlib.suppress(ValueError, OSError):
                self._loop.remove_reader(sock.fileno())
            sock.close()
        self._listeners.clear()
        for task in self._starting:
            task.cancel()
        if self._sweeper is not None:
            self._sweeper.cancel()
            self._sweeper = None
        if self._reserve is not None:
            os.close(self._reserve)
            self._reserve = None


_OUT_OF_RESOURCES = {errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM}


def _open_reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY)
    except OSError:
        return None


async def _shed(conn: socket.socket, answer: bytes, loop: asyncio.AbstractEventLoop) -> None:
    """Answer and close a connection nobody will serve. Closing over bytes the client sent and we never read
    makes the kernel reset the connection, and the reset can overtake the answer (seen in tests under load);
    so after the answer the connection is half-closed and what the client sent is read and discarded,
    unparsed, until it closes its side, for at most ``SHED_LINGER`` seconds."""
    conn.setblocking(False)
    try:
        async with asyncio.timeout(SHED_LINGER):
            await loop.sock_sendall(conn, answer)
            conn.shutdown(socket.SHUT_WR)
            while await loop.sock_recv(conn, 65536):
                pass
    except (OSError, TimeoutError):
        pass
    finally:
        conn.close()


class _GuardedHandler(web_protocol.RequestHandler):
    """aiohttp's per-connection handler, reporting to the :class:`Front` which phase it is in."""

    def __init__(self, front: Front, source: str, server: web.Server, **options: Any) -> None:
        super().__init__(server, **options)
        self.front = front
        self.source = source
        self.phase = _BUSY  # in no waiting list until admitted
        self.counted = True

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)
        if not self.counted:  # dropped (evicted, or out of time) before its transport was even ready
            self.force_close()

    def connection_lost(self, exc: BaseException | None) -> None:
        self.front.closed(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.phase == _IDLE and self.counted:
            # The next request has begun: its headers are now on the clock.
            self.front.enter(self, _HEADERS)
        super().data_received(data)

    async def _handle_request(
        self,
        request: BaseRequest,
        start_time: float | None,
        request_handler: Callable[[BaseRequest], Awaitable[StreamResponse]],
    ) -> tuple[StreamResponse, bool]:
        # aiohttp calls this once per request, when its headers are in, and it returns once the answer is
        # written: the header clock stops here, and the idle clock starts when it returns. (A middleware would
        # do the same through public API at three times the cost a request, and miss Expect refusals.)
        if self.counted:
            self.front.enter(self, _BUSY)
        try:
            return await super()._handle_request(request, start_time, request_handler)
        finally:
            if self.counted and self.transport is not None:
                self.front.enter(self, _IDLE)

    def answer_and_close(self, answer: bytes) -> None:
        if self.transport is not None:
            self.transport.write(answer)
        self.force_close()

    def log_exception(self, *args: Any, **kw: Any) -> None:
        exc = kw.get("exc_info")
        if not isinstance(exc, HttpProcessingError):
            super().log_exception(*args, **kw)
            return
        # aiohttp logs every malformed request with a traceback: from hostile clients, a log flood.
        held = _BAD_REQUESTS.allow()
        if held is not None:
            log.info("malformed request refused: %s%s", exc.message, since(held))


_BAD_REQUESTS = Throttle(10.0)
