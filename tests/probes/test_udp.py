"""UDP verdicts and service details on loopback, against fake servers speaking the real protocols."""

from __future__ import annotations

import ipaddress
import socket
import struct
import time

import pytest

from probes import _ports
from probes._protocols import REGISTRY, stun
from probes.models import ServiceInfo, State
from probes.udp import probe_udp
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACKS = ["127.0.0.1", "::1"]


def free_udp_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


async def udp(host: str, port: int, kind: str, max_wait: float = 2.0):  # type: ignore[no-untyped-def]
    return await probe_udp(ipaddress.ip_address(host), port, kind=kind, max_wait=max_wait)


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_bedrock_pong_is_open_with_world_details(host: str) -> None:
    """A RakNet unconnected ping gets a pong: open, with MOTD, version and players."""
    async with serve("bedrock", host) as server:
        result = await udp(host, server.port, "bedrock")
    assert (result.state, result.reason, result.protocol) == (State.OPEN, "udp-response", "udp")
    assert result.rtt_ms is not None
    assert result.service == ServiceInfo(
        "bedrock",
        "Minecraft Bedrock 1.21.2, 3/20 players – “Portbot test world”",
        {
            "motd": "Portbot test world",
            "version": "1.21.2",
            "protocol": 712,
            "brand": "MCPE",
            "players_online": 3,
            "players_max": 20,
            "map": "Lobby",
            "gamemode": "Survival",
        },
    )


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_a2s_challenge_is_an_answer(host: str) -> None:
    """A Source server answering A2S_INFO with its challenge (0x41) is open."""
    async with serve("a2s", host) as server:
        result = await udp(host, server.port, "a2s")
    assert result.state == State.OPEN
    assert result.service == ServiceInfo(
        "a2s", "Steam game server (answers the Source server query)", {"challenge": True}
    )
    assert server.log == [b""]  # our first request carries no challenge, as the protocol starts


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_dns_server_answers(host: str) -> None:
    """A DNS query for the root's name servers gets a DNS answer."""
    async with serve("dns", host, records={}) as server:
        result = await udp(host, server.port, "dns")
    assert result.state == State.OPEN
    assert result.service == ServiceInfo(
        "dns",
        "DNS server (answered NOERROR, recursion available)",
        {"rcode": "NOERROR", "recursion_available": True, "authoritative": True},
    )
    assert server.log == [("", "NS")]


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_ntp_server_answers_with_stratum_and_time(host: str) -> None:
    """An NTP client packet gets a server packet: stratum, reference and the server's clock."""
    async with serve("ntp", host) as server:
        result = await udp(host, server.port, "ntp")
    assert result.state == State.OPEN
    assert result.service is not None
    assert result.service.summary == "NTP time server, stratum 2"
    assert result.service.details["reference"] == "192.0.2.123"
    assert str(result.service.details["server_time"]).startswith(time.strftime("%Y-%m-%dT", time.gmtime()))


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_stun_binding_reports_the_mapped_address(host: str) -> None:
    """A STUN binding request gets XOR-MAPPED-ADDRESS: the address and port the server saw us from."""
    async with serve("stun", host) as server:
        result = await udp(host, server.port, "stun")
    assert result.state == State.OPEN
    assert result.service is not None
    assert result.service.summary == "STUN server (PortbotTest STUN)"
    mapped = str(result.service.details["mapped_address"])
    assert mapped.startswith(f"[{host}]:" if ":" in host else f"{host}:")


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_nothing_listening_is_closed_via_icmp(host: str) -> None:
    """ICMP port unreachable (the kernel's answer on loopback) means closed."""
    result = await udp(host, free_udp_port(host), "generic")
    assert (result.state, result.reason) == (State.CLOSED, "icmp-port-unreachable")
    assert result.rtt_ms is not None


@pytest.mark.parametrize("host", LOOPBACKS)
async def test_silence_is_open_or_filtered_after_three_sends(host: str) -> None:
    """A listener that never answers is open|filtered (no-reply), after the request went out three times."""
    async with serve("udp-silent", host) as server:
        started = time.monotonic()
        result = await udp(host, server.port, "generic", max_wait=0.6)
        elapsed = time.monotonic() - started
    assert (result.state, result.reason, result.rtt_ms, result.service) == (
        State.OPEN_FILTERED,
        "no-reply",
        None,
        None,
    )
    assert server.hits == 3
    assert elapsed >= 0.6


async def test_an_answer_that_makes_no_sense_is_still_open() -> None:
    """Any datagram back proves the port open, even when it can't be decoded."""
    async with serve("udp-echo") as server:
        result = await udp("127.0.0.1", server.port, "bedrock")
    assert (result.state, result.reason, result.service) == (State.OPEN, "udp-response", None)


async def test_sockets_are_released_before_their_descriptor_is_reused() -> None:
    """A transport opened right after a probe may reuse its file descriptor without asyncio tripping over it."""
    async with serve("udp-silent") as server:
        await udp("127.0.0.1", server.port, "generic", max_wait=0.05)
        async with serve("udp-silent"):
            pass


@pytest.mark.parametrize("kind", ["bedrock", "a2s", "dns", "ntp", "stun", "generic"])
@pytest.mark.parametrize("garbage", [b"", b"\x00", b"\xff" * 3, b"\x1c" + b"\x00" * 40, bytes(range(256))])
def test_readers_never_raise(kind: str, garbage: bytes) -> None:
    """Malformed answers decode to nothing rather than an exception."""
    assert REGISTRY.parse(kind, garbage, 1.0) is None


def ntp_answer(stratum: int, refid: bytes) -> bytes:
    return (
        bytes([0x24, stratum, 6, 0xEC]) + bytes(8) + refid + bytes(24) + struct.pack(">II", 3_900_000_000, 0)
    )


@pytest.mark.parametrize(
    ("answer", "summary", "detail"),
    [
        (ntp_answer(1, b"GPS\x00"), "NTP time server, stratum 1", ("reference", "GPS")),
        (ntp_answer(0, b"RATE"), "NTP server (refused to serve us: RATE)", ("kiss_code", "RATE")),
        (
            ntp_answer(3, bytes([198, 51, 100, 1])),
            "NTP time server, stratum 3",
            ("reference", "198.51.100.1"),
        ),
    ],
)
def test_ntp_answers(answer: bytes, summary: str, detail: tuple[str, str]) -> None:
    """Stratum 1 names its clock, stratum 0 is a refusal, higher strata name their upstream server."""
    info = REGISTRY.parse("ntp", answer, 1.0)
    assert info is not None
    assert info.summary == summary
    assert info.details[detail[0]] == detail[1]


def test_stun_classic_mapped_address() -> None:
    """An old (RFC 3489) server's plain MAPPED-ADDRESS is read too."""
    attribute = struct.pack(">HHBBH", 0x0001, 8, 0, 1, 3478) + bytes([203, 0, 113, 9])
    answer = struct.pack(">HHI", 0x0101, len(attribute), stun.COOKIE) + bytes(12) + attribute
    info = REGISTRY.parse("stun", answer, 1.0)
    assert info == ServiceInfo("stun", "STUN server", {"mapped_address": "203.0.113.9:3478"})


@pytest.mark.parametrize(
    ("port", "hint", "protocols"),
    [
        (25565, None, ("tcp",)),
        (19132, None, ("udp",)),
        (2456, None, ("udp",)),
        (34197, None, ("udp",)),
        (9987, None, ("udp",)),
        (123, None, ("udp",)),
        (3478, None, ("udp",)),
        (53, None, ("tcp", "udp")),
        (27015, None, ("tcp", "udp")),
        (27015, "Counter-Strike 2", ("udp",)),
        (25565, "Minecraft Bedrock", ("udp",)),
        (19132, "minecraft java", ("tcp",)),
        (443, None, ("tcp",)),
        (5353, "dns", ("tcp", "udp")),
        (7777, None, ("tcp",)),
    ],
)
def test_auto_protocol(port: int, hint: str | None, protocols: tuple[str, ...]) -> None:
    """ "auto" probes UDP-only game and service ports over UDP, both for DNS and Source, TCP otherwise."""
    assert _ports.auto_protocols(port, hint) == protocols


@pytest.mark.parametrize(
    ("port", "hint", "kind"),
    [
        (19132, None, "bedrock"),
        (19133, None, "bedrock"),
        (27015, None, "a2s"),
        (27020, None, "a2s"),
        (2457, None, "a2s"),
        (15637, None, "a2s"),
        (9877, None, "a2s"),
        (53, None, "dns"),
        (123, None, "ntp"),
        (3478, None, "stun"),
        (34197, None, "generic"),
        (30000, "Valheim", "a2s"),
        (30000, "bedrock", "bedrock"),
        (30000, "parkour", "generic"),
    ],
)
def test_udp_request_per_port_and_hint(port: int, hint: str | None, kind: str) -> None:
    """Each known UDP port (or hint) gets the request its service answers; others a generic one."""
    assert _ports.udp_kind(port, hint) == kind
