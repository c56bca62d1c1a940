"""TCP verdicts on loopback against real listeners, and the adaptive "filtered" deadline."""

from __future__ import annotations

import asyncio
import contextlib
import errno
import gc
import ipaddress
import os
import resource
import socket
import time

import pytest

from probes import _icmp, reasons
from probes._icmp import IcmpError, classify_errno, classify_icmp, enable_error_queue, read_error_queue
from probes.errors import ProbeError
from probes.models import State
from probes.tcp import RttTracker, probe_tcp, schedule
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACKS = ["127.0.0.1", "::1"]


def free_port(host: str) -> int:
    """A port nothing listens on: bind to get one, then close it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_listening_port_is_open_with_rtt(host: str) -> None:
    """A completed handshake is open, reason syn-ack, with a measured RTT."""
    async with serve("tcp-open", host) as server:
        result = await probe_tcp(ipaddress.ip_address(host), server.port, max_wait=3)
    assert (result.address, result.port, result.protocol) == (host, server.port, "tcp")
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and 0 <= result.rtt_ms < 3000


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_port_without_listener_is_closed(host: str) -> None:
    """A reset is closed, reason rst, with a measured RTT."""
    result = await probe_tcp(ipaddress.ip_address(host), free_port(host), max_wait=3)
    assert (result.state, result.reason) == (State.CLOSED, "rst")
    assert result.rtt_ms is not None


async def test_silent_port_without_known_rtt_waits_the_whole_time() -> None:
    """With no RTT to go on, silence is filtered only after the full wait."""
    async with serve("tcp-backlog") as server:
        started = time.monotonic()
        result = await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=0.6)
        elapsed = time.monotonic() - started
    assert (result.state, result.reason, result.rtt_ms) == (State.FILTERED, "timeout", None)
    assert elapsed >= 0.6


async def test_silent_port_is_filtered_early_once_the_rtt_is_known() -> None:
    """A reset from another port of the same address gives the RTT; the silent port is then called early."""
    tracker = RttTracker()
    async with serve("tcp-backlog") as server:
        started = time.monotonic()
        silent, closed = await asyncio.gather(
            probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=20, tracker=tracker),
            probe_tcp(
                ipaddress.ip_address("127.0.0.1"), free_port("127.0.0.1"), max_wait=20, tracker=tracker
            ),
        )
        elapsed = time.monotonic() - started
    assert closed.state == State.CLOSED
    assert (silent.state, silent.reason) == (State.FILTERED, "timeout")
    assert tracker.rtt is not None
    assert elapsed < 5  # nowhere near the 20 s wait: the deadline followed the (tiny) loopback RTT


async def test_late_handshake_is_still_open() -> None:
    """A listener that drops the first SYN and accepts later is open, not filtered (the kernel's retry gets in)."""
    async with serve("tcp-backlog") as server:
        asyncio.get_running_loop().call_later(0.2, server.release)
        result = await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=5)
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms > 500  # answered to the kernel's retry after 1 s


async def test_our_own_second_syn_rescues_a_lost_first_one() -> None:
    """With a known RTT the probe sends its own second SYN before giving up, so one lost SYN stays open."""
    tracker = RttTracker(rtt=0.2)  # second SYN at 0.5 s, before the kernel's retry at 1 s; give up at 1.0 s
    async with serve("tcp-backlog") as server:
        asyncio.get_running_loop().call_later(0.1, server.release)
        result = await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=5, tracker=tracker)
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms < 400  # timed on the second connection


async def test_rtt_learned_late_still_gives_the_second_syn_its_time() -> None:
    """An RTT that arrives after the second SYN was due (a late echo) sends it then and waits its whole W
    (4·RTT + 250 ms here) for its answer, rather than giving up on the spot."""
    tracker = RttTracker()
    loop = asyncio.get_running_loop()
    async with serve("tcp-backlog") as server:
        loop.call_later(0.5, server.release)  # the first SYN is gone; the kernel would retry it at 1 s
        loop.call_later(0.6, tracker.record_echo, 0.001)  # schedule: second SYN at 0.102 s, long past
        result = await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=5, tracker=tracker)
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms < 300  # timed on the late second connection


@pytest.mark.parametrize(
    ("events", "rtt", "from_tcp"),
    [
        ([("echo", 0.05)], 0.05, False),
        ([("echo", 0.05), ("echo", 0.02)], 0.02, False),  # a faster echo lowers it
        ([("echo", 0.02), ("echo", 0.05)], 0.02, False),
        ([("echo", 0.001), ("tcp", 0.08)], 0.08, True),  # a TCP answer replaces an echo, even a longer one
        ([("tcp", 0.08), ("echo", 0.001)], 0.08, True),  # echoes no longer count once TCP answered
        ([("tcp", 0.08), ("tcp", 0.03)], 0.03, True),
        ([("tcp", 0.03), ("tcp", 0.08)], 0.03, True),
    ],
)
def test_tracker_trusts_tcp_answers_over_echoes(
    events: list[tuple[str, float]], rtt: float, from_tcp: bool
) -> None:
    """The schedule's RTT: the fastest TCP answer once there is one, until then the fastest echo."""
    tracker = RttTracker()
    for source, seconds in events:
        (tracker.record if source == "tcp" else tracker.record_echo)(seconds)
    assert (tracker.rtt, tracker.from_tcp) == (rtt, from_tcp)


@pytest.mark.parametrize(
    ("events", "rtt", "floor"),
    [
        ([("hop", 0.01)], 0.01, 0.8),
        ([("hop", 0.01), ("hop", 0.03), ("hop", 0.02)], 0.03, 0.8),  # the slowest router: nearest the host
        ([("hop", 0.01), ("echo", 0.05)], 0.05, 0.0),  # the host's own echo replaces routers, even longer
        ([("hop", 0.05), ("echo", 0.01)], 0.01, 0.0),
        ([("echo", 0.01), ("hop", 0.05)], 0.01, 0.0),  # routers never replace an echo
        ([("hop", 0.05), ("tcp", 0.08)], 0.08, 0.0),
        ([("tcp", 0.08), ("hop", 0.2)], 0.08, 0.0),
    ],
)
def test_tracker_uses_routers_only_without_anything_better(
    events: list[tuple[str, float]], rtt: float, floor: float
) -> None:
    """Time-exceeded RTTs count only while no TCP answer or echo came, the largest wins, and they bring
    the 0.8 s floor with them."""
    tracker = RttTracker()
    record = {"tcp": tracker.record, "echo": tracker.record_echo, "hop": tracker.record_hop}
    for source, seconds in events:
        record[source](seconds)
    assert (tracker.rtt, tracker.floor) == (rtt, floor)


def test_tracker_keeps_an_rtt_it_was_given_over_routers() -> None:
    """An RTT given at creation (remembered for the network) is not replaced by a router's."""
    tracker = RttTracker(rtt=0.04)
    tracker.record_hop(0.001)
    assert (tracker.rtt, tracker.floor, tracker.learned) == (0.04, 0.0, False)


async def test_silent_port_with_a_routers_rtt_waits_for_the_floor() -> None:
    """With only a router's RTT (1 ms), a silent port is called filtered at the 0.8 s floor, not at the
    echo's schedule (filtered 350 ms after the first SYN)."""
    tracker = RttTracker()
    tracker.record_hop(0.001)
    async with serve("tcp-backlog") as server:
        started = time.monotonic()
        result = await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=5, tracker=tracker)
        elapsed = time.monotonic() - started
    assert (result.state, result.reason) == (State.FILTERED, "timeout")
    assert 0.8 <= elapsed < 1.5


async def test_cancelled_probe_leaves_no_socket_behind() -> None:
    """Cancelling a probe mid-wait closes its sockets (an unclosed one would fail the test as a warning)."""
    async with serve("tcp-backlog") as server:
        task = asyncio.ensure_future(probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=10))
        await asyncio.sleep(0)  # let it send its SYN
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    gc.collect()


@pytest.mark.parametrize(
    ("rtt", "max_wait", "expected"),
    [
        (None, 3.0, (None, 3.0)),
        (0.01, 3.0, (0.12, 0.41)),
        (0.015, 3.0, (0.13, 0.44)),  # 4·RTT + 250 ms and RTT + 300 ms meet at about 17 ms
        (0.03, 3.0, (0.16, 0.49)),
        (0.05, 3.0, (0.2, 0.55)),
        (0.2, 3.0, (0.5, 1.0)),  # a 200 ms path: RTT + 300 ms after the second SYN, not 4·RTT + 250 ms
        (0.5, 3.0, (1.1, 1.9)),
        (2.0, 3.0, (None, 3.0)),
        (0.01, 0.3, (0.12, 0.3)),
    ],
)
def test_schedule(rtt: float | None, max_wait: float, expected: tuple[float | None, float]) -> None:
    """Second SYN at 2·RTT + 100 ms, give up the smaller of 4·RTT + 250 ms and RTT + 300 ms later, never
    past max_wait."""
    assert schedule(rtt, max_wait) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("rtt", "floor", "expected"),
    [
        (0.001, 0.8, (0.102, 0.8)),  # a near router: the floor decides
        (0.02, 0.8, (0.14, 0.8)),
        (0.2, 0.8, (0.5, 1.0)),  # a far router: the RTT decides, as for an echo
        (None, 0.8, (None, 3.0)),
        (0.001, 5.0, (0.102, 3.0)),  # never past max_wait
    ],
)
def test_schedule_with_a_floor(rtt: float | None, floor: float, expected: tuple[float | None, float]) -> None:
    """A floor only ever delays giving up; the second SYN keeps its time."""
    assert schedule(rtt, 3.0, floor) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("icmp", "protocol", "verdict"),
    [
        (IcmpError(4, 3, 3, "192.0.2.2"), "tcp", (State.FILTERED, "icmp-port-unreachable")),
        (IcmpError(4, 3, 3, "192.0.2.2"), "udp", (State.CLOSED, "icmp-port-unreachable")),
        (IcmpError(4, 3, 13, "192.0.2.1"), "tcp", (State.FILTERED, "icmp-admin-prohibited")),
        (IcmpError(4, 3, 10, "192.0.2.1"), "tcp", (State.FILTERED, "icmp-host-prohibited")),
        (IcmpError(4, 3, 9, "192.0.2.1"), "udp", (State.FILTERED, "icmp-net-prohibited")),
        (IcmpError(4, 3, 1, "192.0.2.1"), "tcp", (State.UNREACHABLE, "icmp-host-unreachable")),
        (IcmpError(4, 3, 0, "192.0.2.1"), "tcp", (State.UNREACHABLE, "icmp-net-unreachable")),
        (IcmpError(4, 3, 2, "192.0.2.2"), "tcp", (State.FILTERED, "icmp-proto-unreachable")),
        (IcmpError(4, 11, 0, "192.0.2.1"), "tcp", (State.UNREACHABLE, "icmp-ttl-exceeded")),
        (IcmpError(4, 3, 4, "192.0.2.1"), "tcp", None),  # "fragmentation needed" says nothing about the port
        (IcmpError(6, 1, 1, "2001:db8::1"), "tcp", (State.FILTERED, "icmp-admin-prohibited")),
        (IcmpError(6, 1, 4, "2001:db8::2"), "tcp", (State.FILTERED, "icmp-port-unreachable")),
        (IcmpError(6, 1, 4, "2001:db8::2"), "udp", (State.CLOSED, "icmp-port-unreachable")),
        (IcmpError(6, 1, 3, "2001:db8::1"), "tcp", (State.UNREACHABLE, "icmp-host-unreachable")),
        (IcmpError(6, 1, 0, "2001:db8::1"), "tcp", (State.UNREACHABLE, "icmp-no-route")),
        (IcmpError(6, 1, 5, "2001:db8::1"), "udp", (State.FILTERED, "icmp-policy-failed")),
        (IcmpError(6, 3, 0, "2001:db8::1"), "tcp", (State.UNREACHABLE, "icmp-ttl-exceeded")),
        (IcmpError(6, 2, 0, "2001:db8::1"), "tcp", None),  # "packet too big"
    ],
)
def test_icmp_messages_map_to_verdicts(
    icmp: IcmpError, protocol: str, verdict: tuple[State, str] | None
) -> None:
    """Each ICMP unreachable code becomes the verdict documented in probes/_icmp.py."""
    assert classify_icmp(icmp, protocol) == verdict  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("code", "protocol", "verdict"),
    [
        (errno.ECONNREFUSED, "tcp", (State.CLOSED, "rst")),
        (errno.ECONNREFUSED, "udp", (State.CLOSED, "icmp-port-unreachable")),
        (errno.ENETUNREACH, "tcp", (State.UNREACHABLE, "no-route")),
        (errno.EHOSTUNREACH, "tcp", (State.UNREACHABLE, "host-unreachable")),
        (errno.EACCES, "tcp", (State.FILTERED, "local-firewall")),
        (errno.EPERM, "udp", (State.FILTERED, "local-firewall")),
        (errno.ETIMEDOUT, "tcp", (State.FILTERED, "timeout")),
        (errno.EMFILE, "tcp", None),
        (None, "tcp", None),
    ],
)
def test_errno_without_icmp_maps_to_verdicts(
    code: int | None, protocol: str, verdict: tuple[State, str] | None
) -> None:
    """With no ICMP message queued, the errno decides; errors about our own machine decide nothing."""
    assert classify_errno(code, protocol) == verdict  # type: ignore[arg-type]


@pytest.mark.parametrize(("host", "expected"), [("127.0.0.1", (4, 3, 3)), ("::1", (6, 1, 4))])
def test_error_queue_delivers_the_icmp_message(host: str, expected: tuple[int, int, int]) -> None:
    """The kernel's ICMP "port unreachable" for a loopback UDP datagram is read back from the error queue."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        assert enable_error_queue(sock)
        sock.connect((host, free_port(host)))
        sock.send(b"anyone?")
        sock.settimeout(2)
        with pytest.raises(ConnectionRefusedError):
            sock.recv(100)
        icmp = read_error_queue(sock)
    assert icmp is not None
    assert (icmp.version, icmp.type, icmp.code) == expected
    assert icmp.sender == host


async def test_sockets_are_released_before_their_descriptor_is_reused() -> None:
    """A transport opened right after a probe may reuse its file descriptor without asyncio tripping over it."""
    async with serve("tcp-backlog") as server:
        await probe_tcp(ipaddress.ip_address("127.0.0.1"), server.port, max_wait=0.05)
        async with serve("udp-silent"):  # its socket takes the lowest free descriptor: the probe's old one
            await asyncio.sleep(0)


def test_every_reason_has_plain_words() -> None:
    """Each reason the classifiers and probes can produce has a sentence in probes/reasons.py."""
    produced = {reason for _state, reason in (*_icmp._ICMP4_UNREACH.values(), *_icmp._ICMP6_UNREACH.values())}
    produced |= {reason for _state, reason in _icmp._ERRNO.values()}
    produced |= {
        "icmp-port-unreachable",
        "icmp-ttl-exceeded",
        "syn-ack",
        "timeout",
        "udp-response",
        "no-reply",
    }
    assert produced <= reasons.REASONS
    assert all(reasons.describe(r) != r for r in produced)


@pytest.mark.parametrize(
    ("reason", "protocol", "rejection", "text"),
    [
        (
            "icmp-admin-prohibited",
            "tcp",
            True,
            "A firewall actively rejected the connection (“administratively prohibited”).",
        ),
        ("icmp-port-unreachable", "tcp", True, None),
        (
            "icmp-port-unreachable",
            "udp",
            False,
            "The machine answered that nothing is listening on this UDP port.",
        ),
        ("timeout", "tcp", False, None),
        (
            "rst",
            "tcp",
            False,
            "The machine answered but refused the connection: nothing is listening on this port.",
        ),
    ],
)
def test_reasons_in_plain_words(reason: str, protocol: str, rejection: bool, text: str | None) -> None:
    """Renderers can tell an active firewall refusal from silence, and get a sentence per reason."""
    assert reasons.is_rejection(reason, protocol) is rejection  # type: ignore[arg-type]
    if text is not None:
        assert reasons.describe(reason, protocol) == text  # type: ignore[arg-type]


async def test_running_out_of_sockets_is_a_probe_error() -> None:
    """No file descriptors left on this machine: a ProbeError saying so, not an OSError traceback."""
    port = free_port("127.0.0.1")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    held: list[socket.socket] = []
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (len(os.listdir("/proc/self/fd")) + 8, hard))
        with contextlib.suppress(OSError):
            while len(held) < 1000:
                held.append(socket.socket())
        with pytest.raises(
            ProbeError, match=r"^This bot couldn't open a network socket \(Too many open files\)\.$"
        ):
            await probe_tcp(ipaddress.ip_address("127.0.0.1"), port, max_wait=1)
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
