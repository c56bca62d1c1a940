"""ICMP echo ("ping") round-trip times to one address, so a silent TCP port can be called filtered early.

    rtt = await echo_rtt(address, max_wait=3.0)   # seconds, or None (no reply, or no way to send ICMP here)

    asker = EchoAsker(address, on_rtt)   # the same with callbacks, as probes/tcp.py uses it:
    asker.ask()                          # one echo now (call again for another), on_rtt(seconds) on the
    asker.close()                        # first reply; close() when done

Which socket, in order:

1. An unprivileged ICMP datagram socket (``SOCK_DGRAM``, ``IPPROTO_ICMP`` / ``IPPROTO_ICMPV6``). Linux allows
   it when our group id is inside ``net.ipv4.ping_group_range`` (many distributions allow every group). The
   kernel picks the echo identifier, fills in the checksum and hands the socket only replies to its own
   identifier.
2. A raw ICMP socket, when running as root (or with CAP_NET_RAW). A raw socket gets a copy of every echo reply
   the machine receives, so replies are matched by identifier, sequence number, a random payload and the
   sender's address; the kernel filter (``ICMP_FILTER`` / ``ICMP6_FILTER``) lets only echo replies through.
3. Neither: :func:`echo_rtt` returns None at once and the caller carries on as if no reply had come.

One socket per address family per event loop is shared by every request in flight and closed as soon as the
last one is done, so 10,000 concurrent probes don't open 10,000 raw sockets that each see every reply. An
echo to an address that is still unanswered and less than ``JOIN_WINDOW`` old is shared too, rather than
sending another: concurrent requests for one host cost it one echo, not one each.

Echoes only ever go to the address the caller passes, which the engine has already checked against the
safety policy: one per :meth:`EchoAsker.ask` (probes/tcp.py asks at most twice per address per request), and
:func:`echo_rtt` sends at most ``tries``, ``spacing`` apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import os
import random
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field

from probes.policy import IPAddress

log = logging.getLogger(__name__)

ECHO_REQUEST = {4: 8, 6: 128}
ECHO_REPLY = {4: 0, 6: 129}
JOIN_WINDOW = 0.5  # seconds an unanswered echo is shared with new askers instead of sending another
_FORGET_AFTER = 120.0  # an unanswered echo older than this is dropped from the table (nobody waits that long)
_MAGIC = b"portbot\0"  # first half of every payload; the second half is random per echo

_HEADER = struct.Struct("!BBHHH")  # type, code, checksum, identifier, sequence
_SOL_RAW = 255
_ICMP_FILTER = 1  # SOL_RAW option: a bit mask of ICMP types to block
_ICMP6_FILTER = 1  # IPPROTO_ICMPV6 option: 256 bits, one per ICMPv6 type, set = block


@dataclass(frozen=True, slots=True)
class EchoReply:
    """An ICMP echo reply, as read off the socket."""

    ident: int
    seq: int
    payload: bytes


def checksum(data: bytes) -> int:
    """The Internet checksum (RFC 1071) of ``data``."""
    if len(data) % 2:
        data += b"\0"
    total: int = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def build_request(version: int, ident: int, seq: int, payload: bytes) -> bytes:
    """An echo request. The checksum is filled in for ICMPv4; for ICMPv6 the kernel always computes it
    (it covers a pseudo-header with addresses only the kernel knows), and datagram sockets rewrite both."""
    header = _HEADER.pack(ECHO_REQUEST[version], 0, 0, ident, seq)
    if version == 6:
        return header + payload
    return _HEADER.pack(ECHO_REQUEST[version], 0, checksum(header + payload), ident, seq) + payload


def parse_reply(data: bytes, version: int, *, ip_header: bool) -> EchoReply | None:
    """The echo reply in ``data``, or None for anything else (other ICMP types, truncated or foreign packets).
    ``ip_header``: the data starts with the IPv4 header (raw IPv4 sockets deliver it; the others don't)."""
    if ip_header:
        if len(data) < 20 or data[0] >> 4 != 4:
            return None
        data = data[(data[0] & 0x0F) * 4 :]
    if len(data) < _HEADER.size:
        return None
    kind, code, _checksum, ident, seq = _HEADER.unpack_from(data)
    if kind != ECHO_REPLY[version] or code != 0:
        return None
    return EchoReply(ident, seq, bytes(data[_HEADER.size :]))


@dataclass(eq=False)
class _Echo:
    address: IPAddress
    payload: bytes
    sent: float
    # Who to tell the RTT. A set rather than callbacks on one shared future: thousands of concurrent askers
    # each leave in O(1) (removing a future's done-callback is O(callbacks)).
    askers: set[EchoAsker] = field(default_factory=set)
    answered: bool = False


class _Channel:
    """One ICMP socket of one family on one event loop, and the echoes it has in flight."""

    def __init__(self, sock: socket.socket, version: int, loop: asyncio.AbstractEventLoop) -> None:
        self.sock = sock
        self.version = version
        self.loop = loop
        self.raw = sock.type == socket.SOCK_RAW
        # A datagram socket's identifier is its "port", chosen by the kernel at bind time.
        self.ident = random.getrandbits(16) if self.raw else int(sock.getsockname()[1])
        self.users = 0
        self._seq = random.getrandbits(16)
        self._echoes: dict[int, _Echo] = {}
        self._latest: dict[IPAddress, _Echo] = {}
        loop.add_reader(sock.fileno(), self._readable)

    def echo(self, address: IPAddress) -> _Echo | None:
        """An echo to ``address``: a recent unanswered one, or a new one. None if it couldn't be sent (no route,
        a local firewall, a full send buffer)."""
        now = self.loop.time()
        latest = self._latest.get(address)
        if latest is not None and not latest.answered and now - latest.sent < JOIN_WINDOW:
            return latest
        self._forget_older_than(now - _FORGET_AFTER)
        seq = self._next_seq()
        payload = _MAGIC + os.urandom(8)
        try:
            self.sock.sendto(build_request(self.version, self.ident, seq, payload), (str(address), 0))
        except OSError as err:
            log.debug("echo to %s not sent: %s", address, err)
            return None
        echo = _Echo(address, payload, now)
        self._echoes[seq] = echo
        self._latest[address] = echo
        return echo

    def close(self) -> None:
        # Unregister before closing, or a later socket reusing the descriptor could be read by our callback.
        self.loop.remove_reader(self.sock.fileno())
        self.sock.close()
        self._echoes.clear()
        self._latest.clear()

    def _next_seq(self) -> int:
        for _ in range(0x10000):
            self._seq = (self._seq + 1) & 0xFFFF
            if self._seq not in self._echoes:
                break
        return self._seq

    def _forget_older_than(self, cutoff: float) -> None:
        stale = []
        for seq, echo in self._echoes.items():  # oldest first: sequence numbers are handed out in time order
            if echo.sent >= cutoff:
                break
            stale.append((seq, echo))
        for seq, echo in stale:
            del self._echoes[seq]
            if self._latest.get(echo.address) is echo:
                del self._latest[echo.address]

    def _readable(self) -> None:
        while True:
            try:
                data, sender = self.sock.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as err:  # e.g. a queued ICMP error surfacing; the socket itself is still fine
                log.debug("ICMP socket read failed: %s", err)
                return
            self._received(data, sender[0])

    def _received(self, data: bytes, sender: str) -> None:
        reply = parse_reply(data, self.version, ip_header=self.raw and self.version == 4)
        if reply is None or reply.ident != self.ident:
            return
        echo = self._echoes.get(reply.seq)
        if echo is None or reply.payload != echo.payload or _address(sender) != echo.address:
            return  # someone else's ping, a late duplicate, or a reply from another host: no RTT to us
        del self._echoes[reply.seq]
        if self._latest.get(echo.address) is echo:
            del self._latest[echo.address]
        echo.answered = True
        rtt = self.loop.time() - echo.sent
        askers, echo.askers = echo.askers, set()
        for asker in askers:
            asker._answered(rtt)


def _address(text: str) -> IPAddress | None:
    with contextlib.suppress(ValueError):
        return ipaddress.ip_address(text.split("%", 1)[0])
    return None


def open_socket(version: int) -> socket.socket | None:
    """A non-blocking ICMP socket for IP ``version``: datagram if allowed, else raw, else None."""
    family, proto = (socket.AF_INET, socket.IPPROTO_ICMP) if version == 4 else (socket.AF_INET6, 58)
    for kind in (socket.SOCK_DGRAM, socket.SOCK_RAW):
        try:
            sock = socket.socket(family, kind, proto)
        except OSError:
            continue  # EACCES: group not in ping_group_range; EPERM: not root; EAFNOSUPPORT: no IPv6
        try:
            sock.setblocking(False)
            if kind == socket.SOCK_DGRAM:
                # An ICMP socket listens on no port: binding only makes the kernel pick our echo identifier.
                sock.bind(("0.0.0.0", 0) if version == 4 else ("::", 0))  # noqa: S104
            else:
                _only_echo_replies(sock, version)
        except OSError:
            sock.close()
            continue
        return sock
    return None


def _only_echo_replies(sock: socket.socket, version: int) -> None:
    # Best effort: without the filter every ICMP message wakes us up, and _received discards it.
    with contextlib.suppress(OSError):
        if version == 4:
            sock.setsockopt(_SOL_RAW, _ICMP_FILTER, struct.pack("=I", ~(1 << ECHO_REPLY[4]) & 0xFFFFFFFF))
        else:
            words = [0xFFFFFFFF] * 8
            words[ECHO_REPLY[6] >> 5] &= ~(1 << (ECHO_REPLY[6] & 31))
            sock.setsockopt(58, _ICMP6_FILTER, struct.pack("=8I", *words))


_channels: dict[tuple[asyncio.AbstractEventLoop, int], _Channel] = {}
_unavailable_logged: set[int] = set()


def _acquire(version: int) -> _Channel | None:
    loop = asyncio.get_running_loop()
    channel = _channels.get((loop, version))
    if channel is None:
        sock = open_socket(version)
        if sock is None:
            if version not in _unavailable_logged:
                _unavailable_logged.add(version)
                log.info(
                    "no ICMP socket for IPv%d (not root, and our group is outside net.ipv4.ping_group_range): "
                    "silent TCP ports wait the full timeout",
                    version,
                )
            return None
        try:
            channel = _Channel(sock, version, loop)
        except BaseException:
            sock.close()
            raise
        _channels[(loop, version)] = channel
    channel.users += 1
    return channel


def _release(channel: _Channel) -> None:
    channel.users -= 1
    if channel.users == 0:
        del _channels[(channel.loop, channel.version)]
        channel.close()


class EchoAsker:
    """Asks one address for echoes, one :meth:`ask` at a time, and calls ``on_rtt`` with the first reply's
    round-trip time in seconds. Callbacks, not a task, so thousands of concurrent probes cost little.
    :meth:`close` when done (it releases the shared socket)."""

    def __init__(self, address: IPAddress, on_rtt: Callable[[float], None]) -> None:
        self.address = address
        self._on_rtt: Callable[[float], None] | None = on_rtt
        self._channel: _Channel | None = None
        self._echoes: list[_Echo] = []
        self._unavailable = False
        self._closed = False

    def ask(self) -> bool:
        """Send an echo (or join a recent unanswered one). False if it couldn't go out: no ICMP socket on
        this machine, a send error, or already answered or closed."""
        if self._closed or self._unavailable or self._on_rtt is None:
            return False
        if self._channel is None:
            self._channel = _acquire(self.address.version)
            if self._channel is None:
                self._unavailable = True
                return False
        echo = self._channel.echo(self.address)
        if echo is None:
            return False
        echo.askers.add(self)
        self._echoes.append(echo)
        return True

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._on_rtt = None
        for echo in self._echoes:
            echo.askers.discard(self)
        self._echoes.clear()
        if self._channel is not None:
            _release(self._channel)
            self._channel = None

    def _answered(self, rtt: float) -> None:
        on_rtt, self._on_rtt = self._on_rtt, None
        if on_rtt is not None:
            on_rtt(rtt)


async def echo_rtt(
    address: IPAddress,
    *,
    max_wait: float,
    tries: int = 2,
    spacing: float = 1.0,
    still_wanted: Callable[[], bool] = lambda: True,
) -> float | None:
    """The round-trip time in seconds of the first echo reply from ``address``, or None if none came within
    ``max_wait`` seconds or this machine can't send ICMP echoes. Up to ``tries`` echoes, ``spacing`` seconds
    apart, each only while ``still_wanted()``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_wait
    rtt: asyncio.Future[float] = loop.create_future()
    asker = EchoAsker(address, rtt.set_result)
    try:
        for attempt in range(tries):
            if not still_wanted():
                break
            if not asker.ask() and asker._unavailable:
                return None
            until = deadline if attempt == tries - 1 else min(deadline, loop.time() + spacing)
            await asyncio.wait([rtt], timeout=max(0.0, until - loop.time()))
            if rtt.done():
                return rtt.result()
            if loop.time() >= deadline:
                break
        return None
    finally:
        asker.close()
