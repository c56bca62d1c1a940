"""Round-trip times to the routers on the way to an address, from TTL-limited SYNs (as tcptraceroute does).

    asker = HopAsker(address, port, on_hop, on_answer)
    asker.ask()      # one SYN per TTL in HOP_TTLS, to address:port, all at once
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
        self._on_hop = on_hop
        self._on_answer = on_answer
        self._sent: list[tuple[socket.socket, asyncio.Future[None], float]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._asked = False
        self._closed = False
        self.sent = 0  # SYNs that went out

    def ask(self) -> None:
        """Send one SYN per TTL (once; later calls do nothing). Failures to open a socket send nothing."""
        if self._asked or self._closed:
            return
        self._asked = True
        loop = asyncio.get_running_loop()
        for ttl in self.ttls:
            sock = _hop_socket(self.address, ttl)
            if sock is None:
                return  # no socket for this family here (or out of descriptors): no hop RTT, as without this
            started = loop.time()
            task = asyncio.ensure_future(loop.sock_connect(sock, (str(self.address), self.port)))
            task.add_done_callback(functools.partial(self._done, sock=sock, started=started))
            self._sent.append((sock, task, started))
            self.sent += 1
        self._timer = loop.call_later(HOP_WAIT, self._stop)

    def _done(self, task: asyncio.Future[None], *, sock: socket.socket, started: float) -> None:
        # A done callback runs after asyncio unregistered the socket, so closing it here is safe.
        try:
            if not task.cancelled() and not self._closed:
                self._judge(task, sock, asyncio.get_running_loop().time() - started)
        finally:
            sock.close()  # nothing more to learn; closing also stops the kernel retransmitting the SYN

    def _judge(self, task: asyncio.Future[None], sock: socket.socket, seconds: float) -> None:
        err = task.exception()
        if err is None:
            self._on_answer(seconds)  # reached the address: its SYN-ACK
            return
        if not isinstance(err, OSError):
            return
        icmp = read_error_queue(sock)
        if icmp is not None:
            if icmp.type == _TIME_EXCEEDED[icmp.version]:
                self._on_hop(seconds)
            return
        verdict = classify(err, sock, "tcp")
        if verdict is not None and verdict[1] == "rst":
            self._on_answer(seconds)  # reached the address: its reset

    def _stop(self) -> None:
        # Cancelling a connect ends in _done, which closes its socket before the kernel's retransmission.
        self._timer = None
        for _sock, task, _started in self._sent:
            task.cancel()

    def close(self) -> None:
        """Stop waiting: no more callbacks; each socket closes once asyncio has unregistered it."""
        self._closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        for _sock, task, _started in self._sent:
            task.cancel()

    async def aclose(self) -> None:
        """:meth:`close`, then wait until every socket is closed."""
        self.close()
        sent, self._sent = self._sent, []
        try:
            await asyncio.gather(*(task for _sock, task, _started in sent), return_exceptions=True)
        finally:
            for sock, _task, _started in sent:
                sock.close()


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
