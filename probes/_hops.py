"""Round-trip times to the routers on the way to an address, from TTL-limited SYNs (as tcptraceroute does).

    asker = HopAsker(address, port, on_hop, on_answer)
    asker.ask()      # one SYN per TTL in HOP_TTLS to address:port, all at once (or join a walk in flight)
    await asker.aclose()

Each SYN is an ordinary non-blocking TCP connect whose IP TTL (IPv6 hop limit) is set low, so the kernel
builds it: no raw socket and no privilege needed. A router that drops the SYN because its TTL ran out sends
ICMP "time exceeded"; for a socket still connecting, Linux fails the connect with EHOSTUNREACH and, with
``IP_RECVERR`` / ``IPV6_RECVERR`` set, queues the ICMP message (type 11 / ICMPv6 type 3, and the router's
address) on the socket's error queue (probes/_icmp.py reads it). Checked in network namespaces (kernel 6.x),
IPv4 and IPv6. The kernel only hands the socket an ICMP error that quotes its own ports and initial sequence
number, so a stray or forged one from elsewhere doesn't count.

``on_hop(seconds)`` is called for each time-exceeded, with the time since that SYN went out: the round trip
to that router, never more than the round trip to the address (it lies on the way), give or take the
router's own time to answer (which only ever makes it longer). ``on_answer(seconds)`` is called when a SYN
with a higher TTL reached the address and got a SYN-ACK or a reset from it: a real TCP answer.

Sent only when asked (probes/tcp.py asks once per address per request, while a port stays silent), to the
address and port the caller already probes: len(HOP_TTLS) SYNs, each closed after ``HOP_WAIT`` seconds, before
the kernel would send it again (its first retransmission comes 1 s later), so each TTL costs exactly one SYN.
Requests for the same address while a walk is in flight join it rather than sending more, so 10,000
concurrent requests for one host cost it four SYNs, not 40,000 (and this machine four sockets).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import socket
from collections.abc import Callable

from probes._icmp import classify, enable_error_queue, read_error_queue
from probes.policy import IPAddress

# TTLs tried, all at once. 1 and 2 reach the first routers (a bot in a namespace or a small network: the ISP
# hop right before a home router); 4 and 8 go further into a longer path, whose later hops are nearer the
# host. The largest RTT of those that answer is used: the router nearest the host.
HOP_TTLS = (1, 2, 4, 8)
HOP_WAIT = 0.9  # close each SYN's socket before the kernel retransmits it (1 s after the first)

_TIME_EXCEEDED = {4: 11, 6: 3}
_HOP, _ANSWER = "hop", "answer"


class _Walk:
    """One round of TTL-limited SYNs to one address, heard by every asker that joined it."""

    def __init__(self, address: IPAddress, port: int, ttls: tuple[int, ...]) -> None:
        self.address = address
        self.port = port
        self.ttls = ttls
        self.loop = asyncio.get_running_loop()
        self.listeners: set[HopAsker] = set()
        self.heard: list[tuple[str, float]] = []
        self.sent: list[tuple[socket.socket, asyncio.Future[None]]] = []
        self.finished = False
        self._timer: asyncio.TimerHandle | None = None

    def start(self) -> None:
        for ttl in self.ttls:
            sock = _hop_socket(self.address, ttl)
            if sock is None:
                break  # no socket for this family here (or out of descriptors): fewer hops, or none
            task = asyncio.ensure_future(self.loop.sock_connect(sock, (str(self.address), self.port)))
            task.add_done_callback(functools.partial(self._done, sock=sock, started=self.loop.time()))
            self.sent.append((sock, task))
        self._timer = self.loop.call_later(HOP_WAIT, self.finish)

    def finish(self) -> None:
        """No more listening: cancel what is left (each socket closes in its done callback)."""
        if self.finished:
            return
        self.finished = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if _walks.get((self.loop, self.address)) is self:
            del _walks[(self.loop, self.address)]
        for _sock, task in self.sent:
            task.cancel()

    def leave(self, asker: HopAsker) -> None:
        self.listeners.discard(asker)
        if not self.listeners:
            self.finish()

    async def wait_closed(self) -> None:
        try:
            await asyncio.gather(*(task for _sock, task in self.sent), return_exceptions=True)
        finally:
            for sock, _task in self.sent:
                sock.close()

    def _done(self, task: asyncio.Future[None], *, sock: socket.socket, started: float) -> None:
        # A done callback runs after asyncio unregistered the socket, so closing it here is safe.
        try:
            kind = None if task.cancelled() or self.finished else _judge(task, sock)
            if kind is not None:
                seconds = self.loop.time() - started
                self.heard.append((kind, seconds))
                for asker in list(self.listeners):
                    asker._hear(kind, seconds)
        finally:
            sock.close()  # nothing more to learn; closing also stops the kernel retransmitting the SYN


_walks: dict[tuple[asyncio.AbstractEventLoop, IPAddress], _Walk] = {}


def _judge(task: asyncio.Future[None], sock: socket.socket) -> str | None:
    err = task.exception()
    if err is None:
        return _ANSWER  # reached the address: its SYN-ACK
    if not isinstance(err, OSError):
        return None
    icmp = read_error_queue(sock)
    if icmp is not None:
        return _HOP if icmp.type == _TIME_EXCEEDED[icmp.version] else None
    verdict = classify(err, sock, "tcp")
    return _ANSWER if verdict is not None and verdict[1] == "rst" else None  # reached it: its reset


class HopAsker:
    """TTL-limited SYNs to one address and port; callbacks with the routers' and the target's times."""

    def __init__(
        self,
        address: IPAddress,
        port: int,
        on_hop: Callable[[float], None],
        on_answer: Callable[[float], None],
        *,
        ttls: tuple[int, ...] = HOP_TTLS,
    ) -> None:
        self.address = address
        self.port = port
        self.ttls = ttls
        self.sent = 0  # SYNs this asker sent (0 when it joined a walk in flight)
        self._on_hop = on_hop
        self._on_answer = on_answer
        self._walk: _Walk | None = None
        self._asked = False
        self._closed = False

    def ask(self) -> None:
        """Send one SYN per TTL, or join the walk to this address already in flight (once; later calls do
        nothing). What the walk heard before is passed on at once."""
        if self._asked or self._closed:
            return
        self._asked = True
        key = (asyncio.get_running_loop(), self.address)
        walk = _walks.get(key)
        if walk is None:
            walk = _walks[key] = _Walk(self.address, self.port, self.ttls)
            walk.start()
            self.sent = len(walk.sent)
        self._walk = walk
        walk.listeners.add(self)
        for kind, seconds in list(walk.heard):
            self._hear(kind, seconds)

    def _hear(self, kind: str, seconds: float) -> None:
        if not self._closed:
            (self._on_hop if kind == _HOP else self._on_answer)(seconds)

    def close(self) -> None:
        """Stop listening; the last listener to leave ends the walk (its sockets close once asyncio has
        unregistered them)."""
        self._closed = True
        if self._walk is not None:
            self._walk.leave(self)

    async def aclose(self) -> None:
        """:meth:`close`, then, if that ended the walk, wait until its sockets are closed."""
        self.close()
        if self._walk is not None and self._walk.finished:
            await self._walk.wait_closed()


def _hop_socket(address: IPAddress, ttl: int) -> socket.socket | None:
    family = socket.AF_INET6 if address.version == 6 else socket.AF_INET
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError:
        return None
    try:
        sock.setblocking(False)
        if address.version == 6:
            sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS, ttl)
        else:
            sock.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, ttl)
        if not enable_error_queue(sock):
            sock.close()
            return None  # without the error queue a time-exceeded can't be told from "host unreachable"
    except OSError:
        with contextlib.suppress(OSError):
            sock.close()
        return None
    return sock
