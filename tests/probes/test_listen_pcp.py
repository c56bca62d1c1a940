"""The stdlib listener's PCP client (RFC 6887), against a small real PCP server on loopback written here.

The server speaks the wire format byte for byte (24-byte headers, the 36-byte MAP body, result codes) and
records what it was asked, so each test can say exactly what went over the wire. Debian's miniupnpd, with
PCP, is exercised in the netns labs (tests/probes/netns/test_selfcheck_labs.py).
"""

from __future__ import annotations

import ipaddress
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from probes.listen_standalone import describe, pcp_external_address, port_control_address, router_wan_address

LOOPBACK = "127.0.0.1"
ANNOUNCE, MAP = 0, 1
SUCCESS, UNSUPP_VERSION, NOT_AUTHORIZED, NETWORK_FAILURE = 0, 1, 2, 7
EPOCH = 4242


@dataclass(frozen=True)
class Request:
    """One datagram the server got: NAT-PMP (version 0) or PCP (version 2), decoded."""

    version: int
    opcode: int
    lifetime: int = 0
    client: str = ""
    nonce: bytes = b""
    protocol: int = 0
    internal_port: int = 0
    source_port: int = 0


def decode(data: bytes, source_port: int) -> Request:
    if data[0] != 2:
        return Request(data[0], data[1], source_port=source_port)
    lifetime = struct.unpack("!I", data[4:8])[0]
    client = str(ipaddress.IPv6Address(data[8:24]).ipv4_mapped)
    if data[1] != MAP:
        return Request(2, data[1], lifetime, client, source_port=source_port)
    protocol, internal_port = struct.unpack("!B3xH", data[36:42])
    return Request(2, MAP, lifetime, client, data[24:36], protocol, internal_port, source_port)


def pcp_response(opcode: int, result: int, lifetime: int = 0, body: bytes = b"") -> bytes:
    """A PCP response: version 2, R bit and opcode, reserved, result, lifetime, epoch, 96 reserved bits."""
    return struct.pack("!BBBBII", 2, 0x80 | opcode, 0, result, lifetime, EPOCH) + bytes(12) + body


def map_body(request: Request, external: str) -> bytes:
    mapped = ipaddress.IPv6Address("::ffff:" + external).packed
    return request.nonce + struct.pack("!B3xHH", request.protocol, request.internal_port, 40000) + mapped


@dataclass
class Router:
    """What the server answers: ``external`` on MAP, or ``map_result``; ``pcp``: False for NAT-PMP only."""

    external: str = "203.0.113.20"
    pcp: bool = True
    natpmp: bool = False  # a NAT-PMP answer with an address, as miniupnpd gives
    natpmp_result: int = SUCCESS  # with ``natpmp``: 3 is "network failure", as miniupnpd without an address
    natpmp_silent: bool = False  # PCP only, and NAT-PMP requests dropped without an answer
    map_result: int = SUCCESS
    silent: bool = False
    seen: list[Request] = field(default_factory=list)

    def answer(self, request: Request) -> bytes | None:
        if self.silent:
            return None
        if request.version == 0:
            if self.natpmp_silent:
                return None
            if self.natpmp:
                address = self.external if self.natpmp_result == SUCCESS else "0.0.0.0"
                return struct.pack("!BBHI", 0, 128, self.natpmp_result, EPOCH) + socket.inet_aton(address)
            # A PCP-only router: UNSUPP_VERSION, in PCP's format (RFC 6887 §9).
            return pcp_response(request.opcode, UNSUPP_VERSION)
        if not self.pcp:
            return struct.pack("!BBHI", 0, 128 + request.opcode, UNSUPP_VERSION, EPOCH)  # RFC 6886 §3.5
        if request.opcode == ANNOUNCE:
            return pcp_response(ANNOUNCE, SUCCESS)
        if self.map_result != SUCCESS:
            return pcp_response(MAP, self.map_result, 0, map_body(request, "0.0.0.0"))
        return pcp_response(MAP, SUCCESS, request.lifetime, map_body(request, self.external))


def serve(router: Router) -> Iterator[int]:
    """The router's NAT-PMP/PCP port on loopback, answered from a thread; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(0.05)
    stop = threading.Event()

    def run() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(1100)
            except TimeoutError:
                continue
            request = decode(data, peer[1])
            router.seen.append(request)
            reply = router.answer(request)
            if reply is not None:
                sock.sendto(reply, peer)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        sock.close()


@pytest.fixture
def running() -> Iterator[Callable[[Router], int]]:
    """Start a Router's server on loopback; every one started is stopped after the test."""
    servers: list[Iterator[int]] = []

    def start(router: Router) -> int:
        servers.append(serve(router))
        return next(servers[-1])

    yield start
    for server in servers:
        next(server, None)


@pytest.mark.parametrize("external", ["203.0.113.20", "100.64.7.1", "192.168.1.2"])
def test_pcp_reads_the_external_address_from_a_throwaway_map(
    running: Callable[[Router], int], external: str
) -> None:
    """ANNOUNCE, then a MAP whose response carries the external address, reserved ones included."""
    router = Router(external=external)
    assert pcp_external_address(LOOPBACK, timeout=1.0, port=running(router)) == external
    assert [(r.version, r.opcode) for r in router.seen[:2]] == [(2, ANNOUNCE), (2, MAP)]
    assert router.seen[0].client == LOOPBACK  # the header names the address the router sees us from


def test_the_map_is_for_the_querys_own_udp_port_and_is_deleted_at_once(
    running: Callable[[Router], int],
) -> None:
    """The mapping asked for is UDP, for the query socket's own port (never a port being checked), for the
    shortest lifetime, and it is deleted (lifetime 0, same nonce) before the function returns."""
    router = Router()
    pcp_external_address(LOOPBACK, timeout=1.0, port=running(router))
    announce, asked, deleted = router.seen
    assert (asked.protocol, asked.lifetime) == (17, 120)
    assert asked.internal_port == asked.source_port == announce.source_port
    assert (deleted.opcode, deleted.lifetime, deleted.nonce) == (MAP, 0, asked.nonce)
    assert len(asked.nonce) == 12 and asked.nonce != bytes(12)


def test_a_nat_pmp_only_router_gets_no_map(running: Callable[[Router], int]) -> None:
    """A router that answers PCP with NAT-PMP's "unsupported version" is never asked for a mapping."""
    router = Router(pcp=False)
    assert pcp_external_address(LOOPBACK, timeout=1.0, port=running(router)) is None
    assert [(r.version, r.opcode) for r in router.seen] == [(2, ANNOUNCE)]


@pytest.mark.parametrize("result", [NOT_AUTHORIZED, NETWORK_FAILURE])
def test_a_refused_map_is_none(running: Callable[[Router], int], result: int) -> None:
    """A MAP refused (not authorised; network failure, as miniupnpd says without a public address) gives
    None, and there is no mapping to delete."""
    router = Router(map_result=result)
    assert pcp_external_address(LOOPBACK, timeout=1.0, port=running(router)) is None
    assert [r.lifetime for r in router.seen if r.opcode == MAP] == [120]


def maps(router: Router) -> list[Request]:
    return [r for r in router.seen if r.version == 2 and r.opcode == MAP]


def test_router_wan_address_falls_back_to_pcp(running: Callable[[Router], int]) -> None:
    """A PCP-only router answers NAT-PMP with UNSUPP_VERSION: the WAN address then comes over PCP."""
    router = Router(external="100.64.0.20")
    assert router_wan_address(LOOPBACK, timeout=1.0, port=running(router)) == ("100.64.0.20", "pcp")


def test_a_pcp_router_that_ignores_nat_pmp_is_asked_over_pcp(running: Callable[[Router], int]) -> None:
    """NAT-PMP dropped without a word, PCP answering: the ANNOUNCE sent alongside finds PCP, and the MAP
    follows after a short grace for NAT-PMP."""
    router = Router(external="192.168.1.20", natpmp_silent=True)
    assert port_control_address(LOOPBACK, timeout=1.0, port=running(router)) == ("192.168.1.20", "pcp")
    assert [m.lifetime for m in maps(router)] == [120, 0]


def test_nat_pmp_is_preferred_and_nothing_is_mapped(running: Callable[[Router], int]) -> None:
    """A router that speaks both (miniupnpd) gives its address over NAT-PMP: no PCP mapping is asked for
    (the ANNOUNCE sent alongside changes nothing on a router)."""
    router = Router(natpmp=True)
    assert port_control_address(LOOPBACK, timeout=1.0, port=running(router)) == ("203.0.113.20", "nat-pmp")
    assert maps(router) == []


def test_a_nat_pmp_only_router_without_an_address_is_left_alone(running: Callable[[Router], int]) -> None:
    """NAT-PMP says "network failure" and PCP is "unsupported": no address, no mapping, well within the wait."""
    router = Router(pcp=False, natpmp=True, natpmp_result=3)
    port = running(router)
    started = time.monotonic()
    assert port_control_address(LOOPBACK, timeout=2.0, port=port) == (None, None)
    assert time.monotonic() - started < 1.5
    assert maps(router) == []


def test_silence_is_one_wait_and_asks_for_no_mapping(running: Callable[[Router], int]) -> None:
    """Nothing answering on the port: one wait for both protocols, and no mapping asked for."""
    router = Router(silent=True)
    port = running(router)
    started = time.monotonic()
    assert port_control_address(LOOPBACK, timeout=0.6, port=port) == (None, None)
    assert 0.55 <= time.monotonic() - started < 1.0
    assert router.seen and maps(router) == []


def test_nothing_listening_on_the_port_ends_at_once() -> None:
    """No NAT-PMP/PCP service at all (the ICMP port unreachable reaches the connected socket): no wait."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    started = time.monotonic()
    assert port_control_address(LOOPBACK, timeout=2.0, port=port) == (None, None)
    assert time.monotonic() - started < 1.0


def test_describe_says_the_wan_address_came_over_pcp() -> None:
    """The report names PCP as where the router's WAN address came from."""
    report = {
        "ports": [],
        "public_address": "203.0.113.30",
        "wan_address": "100.64.0.20",
        "wan_source": "pcp",
    }
    assert describe(report) == [
        "Your public address: 203.0.113.30. Your router's WAN address: 100.64.0.20 (it said so over PCP)."
    ]
