"""One TCP port, one address: open, closed, filtered or unreachable, with the measured round-trip time.

Deciding "filtered" (silence) fast without ever calling a slow-but-open port filtered
-------------------------------------------------------------------------------------
Silence can only be concluded by waiting. Waiting the full timeout every time is slow; waiting too little
calls an open port filtered, the worst mistake we can make (people then tear down a working set-up). So:

* With no round-trip time (RTT) known for the address, we wait the full ``max_wait`` (the engine's
  ``timeout``). The kernel retries an unanswered SYN after 1 s and again 2 s later, so a 3 s wait survives
  one lost SYN.
* Once any probe to the same address gets an answer from the target itself (a SYN-ACK or a reset), its time
  is that address's RTT: an :class:`RttTracker` shares it among the probes to that address running side by
  side, and pending probes shorten their wait on the spot. A SYN-ACK is sent by the server's kernel, not by
  the application, so an open port answers in about one RTT whatever the application is doing.
* With ``echo`` on (the engine's ``icmp_rtt``), a probe still waiting 50 ms after its SYN also asks the
  address for an ICMP echo (probes/_ping.py; at most two, 1 s apart, while someone still waits). The echo
  reply, like a SYN-ACK, comes from the host's kernel over the same path, so its time stands in for the RTT.
  Asking 50 ms late costs nothing: the reply is only needed before our second SYN at 2·RTT + 100 ms, and a
  port that answers within 50 ms (any open or closed port on a fast path) causes no ping at all. The echo is
  trusted less than a TCP answer, and can only ever shorten the wait:

  - a TCP answer's RTT always replaces an echo's, even a longer one: the TCP path is what we judge;
  - a reply only counts if it carries our identifier, sequence number and random payload and comes from
    the address we asked (someone else's ping, a stray duplicate or another host's reply is ignored);
  - no reply (many routers drop pings), or no ICMP socket on this machine: the full wait, as before;
  - the one way an echo can mislead is by being faster than TCP: a router answering pings for a port
    it forwards to a slower machine behind it, or a firewall that answers pings on a host's behalf. The
    floors below cover that: after an echo RTT of R, a SYN-ACK is still open if it comes within
    2·R + 100 ms + W of our first SYN, or W of our second (W as below), so the TCP path may be at least
    350 ms slower than ICMP (at least 250 ms if our first SYN is lost) and still be judged right. Operators
    whose targets sit further behind whatever answers their pings turn ``icmp_rtt`` off.

  Knowing the RTT, we then:

  - send our own second SYN (a second connect) at ``2·RTT + 100 ms``, because we are about to give up long
    before the kernel's own 1 s retry: one lost packet must not turn "open" into "filtered";
  - give up W after that second SYN (counted from when it really went out: an RTT learned late still
    leaves the second SYN its full time), where W is the smaller of ``4·RTT + 250 ms`` and
    ``RTT + 300 ms``: the second SYN's own round trip plus room for jitter and the extra hop behind a port
    forward (the RTT may come from the router, the SYN-ACK from a machine behind it). On short paths that
    room is three RTTs and 250 ms (a sleepy Wi-Fi LAN host, a busy event loop); on long ones it stops
    growing at 300 ms, because what makes an answer late (queues, the LAN behind the router, a loaded
    host) doesn't grow with the distance: an answer due after 200 ms that hasn't come 500 ms later is a
    lost packet, not a slow one, and four RTTs there would only add a second (issue 11: a 200 ms path's
    filtered verdict in 1.0 s rather than 1.55 s, where nmap takes about 2.1 s).

  Either way the wait never exceeds ``max_wait``, and a SYN-ACK that arrives at any moment before we give up,
  on either connection, makes the port open, with the RTT of the connection that got it.

* An RTT remembered from a recent probe to the same /24 or /48 (probes/_rtt_memory.py; a TCP answer's or an
  echo's, never a router's below) starts the request as an echo's would: same floors, replaced by any TCP
  answer, shortened by a faster echo. With one there is nothing to ask, so no echo or SYN below is sent.

* With ``hops`` on (the engine's ``ttl_rtt``) and no RTT yet, the probe that would ask for the echo also
  sends SYNs to the same address and port with IP TTLs 1, 2, 4 and 8, once per address per request
  (probes/_hops.py; concurrent requests for one address share one round): the routers where they run out of TTL answer "time exceeded", the way tcptraceroute
  finds a path through a firewall that drops pings. The largest such time, R, is the RTT to the router
  nearest the host that answered; only a TCP answer, an echo or a remembered RTT is preferred to it. It is
  used with the floors above plus one more: give up no sooner than ``HOP_FLOOR`` (0.8 s) after our first
  SYN. Why that can't call a slow-but-open port filtered:

  - a router that answered lies on the path to the host, so R is at most the host's RTT T, except for the
    router's own time to make the ICMP message, which makes R longer and the wait longer: the safe side. The
    kernel only passes a time-exceeded to the socket whose ports and sequence number it quotes: only our
    own SYN's counts;
  - an open port's SYN-ACK comes T after our first SYN, and we wait max(2·R + 100 ms + W, 800 ms): the
    host may be at least 350 ms, and never less than 800 ms − R, further away than that router. If our
    first SYN is lost, the second (at 2·R + 100 ms) has max(W, 700 ms − 2·R) for its whole round trip
    (tests/probes/netns/test_hops.py drops the first SYN on the 200 ms path);
  - when the answering router is the home router's own ISP hop (the delay-line case in
    tests/probes/netns: the home router's TCP 200 ms behind the ISP's time-exceeded), the rest is the
    access line: milliseconds for fibre, cable and DSL, some tens for mobile, all inside the floor; a
    geostationary satellite's ~600 ms too (tests/probes/netns/test_hops.py), though if our first SYN is
    also lost it stays open only while R is under ~30 ms. A router forwarding a port to a LAN machine answers "time exceeded"
    for the TTL that dies there; the LAN hop behind it (sleepy Wi-Fi) is inside the floor too;
  - the worst case is a long path where only routers near us answer (R of a millisecond): then the floor
    alone decides, and a host more than ~0.8 s away (0.7 s if our first SYN is lost) would be called
    filtered; nmap gives up after ~2 s. Operators who probe such paths turn ``ttl_rtt`` off;
  - no time-exceeded at all (routers that don't send them, no error queue on this system): no RTT, the full
    wait, as before.

What stays out of reach: a server so overloaded that its accept queue overflows drops SYNs until it catches
up; if that takes longer than our deadline we say filtered (nmap would too). The netns tests show the rule
with real path delay; on loopback, ``tests/probes/test_tcp.py`` uses a listener with a full accept queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field

from probes import _ping
from probes._connect import FROM_TARGET, tcp_verdict
from probes._connect import new_socket as new_socket  # probes/udp.py's, kept here
from probes._hops import HopAsker
from probes._icmp import enable_error_queue
from probes.models import PortResult, State
from probes.policy import IPAddress

RETRY_FACTOR = 2.0  # second SYN after 2·RTT ...
RETRY_FLOOR = 0.1  # ... + 100 ms
GIVE_UP_FACTOR = 4.0  # give up 4·RTT ...
GIVE_UP_FLOOR = 0.25  # ... + 250 ms after the second SYN ...
LATE_CAP = 0.3  # ... but no later than RTT + 300 ms after it (see above)


# With an RTT from the routers on the way only: give up no sooner than this after the first SYN.
HOP_FLOOR = 0.8


def schedule(rtt: float | None, max_wait: float, floor: float = 0.0) -> tuple[float | None, float]:
    """(when to send a second SYN or None, when to give up), in seconds after the first SYN; never giving up
    before ``floor``."""
    if rtt is None:
        return None, max_wait
    retry = RETRY_FACTOR * rtt + RETRY_FLOOR
    give_up = min(max_wait, max(floor, retry + after_retry(rtt)))
    return (retry if retry < give_up else None), give_up


def after_retry(rtt: float) -> float:
    """How long the second SYN gets: W, the smaller of 4·RTT + 250 ms and RTT + 300 ms (see above)."""
    return min(GIVE_UP_FACTOR * rtt + GIVE_UP_FLOOR, rtt + LATE_CAP)


ECHO_DELAY = 0.05  # ask for an ICMP echo only if no TCP answer came this soon (see above)
ECHO_TRIES = 2  # at most this many echoes per address per request ...
ECHO_SPACING = 1.0  # ... this far apart


@dataclass
class RttTracker:
    """The round-trip time to one address, shared by the probes to it running side by side.

    ``rtt`` is what the schedule uses: the best TCP answer's time once there is one; until then the ICMP
    echo's (or the one it was created with, e.g. remembered); failing those, the routers' on the way, with
    :attr:`floor`. With ``echo`` or ``hops`` on, the first probe left waiting arranges the echoes and the
    TTL-limited SYNs; :meth:`aclose` stops them.
    """

    rtt: float | None = None
    echo: bool = False
    hops: bool = False
    from_tcp: bool = False  # rtt came from a SYN-ACK or reset, not from an echo
    from_hops: bool = False  # rtt came from the routers on the way (time-exceeded), see HOP_FLOOR
    learned: bool = False  # rtt was measured by this tracker, not given when it was made
    _changed: asyncio.Event = field(default_factory=asyncio.Event)
    _waiting: int = 0
    _asker: _ping.EchoAsker | None = None
    _hop_asker: HopAsker | None = None
    _timer: asyncio.TimerHandle | None = None
    _asked: bool = False
    _echoes_left: int = ECHO_TRIES

    @property
    def floor(self) -> float:
        """The least time to wait for a silent port after its first SYN, given where ``rtt`` came from."""
        return HOP_FLOOR if self.from_hops else 0.0

    def record(self, seconds: float) -> None:
        """A TCP answer from the target itself took ``seconds``."""
        if not self.from_tcp or self.rtt is None or seconds < self.rtt:
            self.from_tcp, self.from_hops = True, False
            self._set(seconds)

    def record_echo(self, seconds: float) -> None:
        """An ICMP echo reply took ``seconds``; ignored once a TCP answer gave the RTT. An echo comes from the
        host itself, so it replaces the routers' RTT even when longer."""
        if not self.from_tcp and (self.rtt is None or self.from_hops or seconds < self.rtt):
            self.from_hops = False
            self._set(seconds)

    def record_hop(self, seconds: float) -> None:
        """A router on the way answered a TTL-limited SYN after ``seconds``; used only while nothing better
        is known, and the largest such time wins (the router nearest the host)."""
        if self.rtt is None or (self.from_hops and seconds > self.rtt):
            self.from_hops = True
            self._set(seconds)

    async def changed(self) -> None:
        """Return when the RTT changes."""
        await self._changed.wait()

    def close(self) -> None:
        """Stop asking for echoes, release the ICMP socket and stop the TTL-limited SYNs (their sockets close
        once the event loop has unregistered them: :meth:`aclose` waits for that)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._asker is not None:
            self._asker.close()
        if self._hop_asker is not None:
            self._hop_asker.close()
        self._echoes_left = 0
        self._asked = True

    async def aclose(self) -> None:
        """:meth:`close`, then wait until every socket it opened is closed."""
        self.close()
        if self._hop_asker is not None:
            await self._hop_asker.aclose()

    def _set(self, seconds: float) -> None:
        self.learned = True
        if seconds != self.rtt:
            self.rtt = seconds
            self._changed.set()
            self._changed = asyncio.Event()

    @contextlib.contextmanager
    def _wait_on(self, address: IPAddress, port: int) -> Iterator[None]:
        """Count a probe waiting on ``address``; the first one arranges the echo and the TTL-limited SYNs
        (to its own port) if there are to be any."""
        self._waiting += 1
        if (self.echo or self.hops) and self.rtt is None and not self._asked:
            self._asked = True
            if self.echo:
                self._asker = _ping.EchoAsker(address, self.record_echo)
            if self.hops:
                self._hop_asker = HopAsker(address, port, self.record_hop, self.record)
            self._timer = asyncio.get_running_loop().call_later(ECHO_DELAY, self._ask)
        try:
            yield
        finally:
            self._waiting -= 1

    def _ask(self) -> None:
        # Timer callbacks rather than a task per request: 10,000 concurrent requests stay cheap.
        self._timer = None
        if self.rtt is not None or self._waiting == 0:
            return
        if self._hop_asker is not None:
            self._hop_asker.ask()  # once: later calls do nothing
        if self._asker is None or self._echoes_left <= 0:
            return
        self._echoes_left -= 1
        self._asker.ask()
        if self._echoes_left > 0:
            self._timer = asyncio.get_running_loop().call_later(ECHO_SPACING, self._ask)


@dataclass
class _Attempt:
    sock: socket.socket
    task: asyncio.Future[None]
    started: float


async def probe_tcp(
    address: IPAddress, port: int, *, max_wait: float, tracker: RttTracker | None = None
) -> PortResult:
    """Connect to ``address``:``port`` and say what happened; silence for ``max_wait`` seconds (less once
    the address's RTT is known, see above) means filtered. Raises only :class:`ProbeError`, for failures on
    this machine's side (e.g. out of file descriptors). Echoes and TTL-limited SYNs arranged through
    ``tracker`` are the tracker owner's to stop (:meth:`RttTracker.aclose`)."""
    loop = asyncio.get_running_loop()
    tracker = tracker if tracker is not None else RttTracker()
    attempts: list[_Attempt] = []
    waiter: asyncio.Future[None] | None = None
    start = loop.time()
    try:
        attempts.append(_connect(address, port, loop))
        with tracker._wait_on(address, port):
            while True:
                retry_at, give_up_at = schedule(tracker.rtt, max_wait, tracker.floor)
                elapsed = loop.time() - start
                if retry_at is not None and len(attempts) == 1 and elapsed >= retry_at:
                    attempts.append(_connect(address, port, loop))
                if len(attempts) > 1 and tracker.rtt is not None:
                    # Give the second SYN its whole time even when the RTT (an echo) was learned late.
                    second = attempts[1].started - start + after_retry(tracker.rtt)
                    give_up_at = min(max_wait, max(give_up_at, second))
                if elapsed >= give_up_at:
                    break
                wake = give_up_at if retry_at is None or len(attempts) > 1 else min(retry_at, give_up_at)
                if waiter is None or waiter.done():
                    waiter = asyncio.ensure_future(tracker.changed())
                await asyncio.wait(
                    [waiter, *(a.task for a in attempts)],
                    timeout=wake - elapsed,
                    return_when=asyncio.FIRST_COMPLETED,
                )
                for attempt in attempts:
                    if attempt.task.done():
                        result = _outcome(attempt, address, port, loop.time())
                        if result.rtt_ms is not None and result.reason in FROM_TARGET:
                            tracker.record(result.rtt_ms / 1000)
                        return result
        return PortResult(str(address), port, "tcp", State.FILTERED, "timeout")
    finally:
        if waiter is not None:
            waiter.cancel()
        await _close(attempts)


async def _close(attempts: list[_Attempt]) -> None:
    """Stop the pending connects, let asyncio unregister their sockets, then close them. Closing first would
    let asyncio's late clean-up hit a new socket that reused the file descriptor."""
    try:
        for attempt in attempts:
            attempt.task.cancel()
        await asyncio.gather(*(a.task for a in attempts), return_exceptions=True)
    finally:
        for attempt in attempts:
            attempt.sock.close()


def _connect(address: IPAddress, port: int, loop: asyncio.AbstractEventLoop) -> _Attempt:
    sock = new_socket(address, socket.SOCK_STREAM)
    try:
        sock.setblocking(False)
        enable_error_queue(sock)
        task = asyncio.ensure_future(loop.sock_connect(sock, (str(address), port)))
    except BaseException:
        sock.close()
        raise
    return _Attempt(sock, task, loop.time())


def _outcome(attempt: _Attempt, address: IPAddress, port: int, now: float) -> PortResult:
    rtt_ms = round((now - attempt.started) * 1000, 3)
    return tcp_verdict(attempt.task.exception(), attempt.sock, address, port, rtt_ms)
