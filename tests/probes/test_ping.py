"""ICMP echo round-trip times (probes/_ping.py): the codec, reply matching, and real echoes on loopback."""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import json
import os
import random
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from probes import _ping
from probes._ping import EchoAsker, EchoReply, build_request, checksum, echo_rtt, parse_reply
from probes.engine import EngineConfig, ProbeEngine
from probes.models import ProbeRequest
from probes.policy import SafetyPolicy
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

REPO_ROOT = Path(__file__).resolve().parents[2]
IDENT, SEQ, PAYLOAD = 0x1234, 7, b"portbot\0abcdefgh"


def ipv4_header(payload_length: int, ihl_words: int = 5) -> bytes:
    header = struct.pack(
        "!BBHHHBBH4s4s", 0x40 | ihl_words, 0, 20 + payload_length, 0, 0, 64, 1, 0, bytes(4), bytes(4)
    )
    return header + bytes(4 * (ihl_words - 5))


def can_ping() -> bool:
    sock = _ping.open_socket(4)
    if sock is None:
        return False
    sock.close()
    return True


needs_icmp = pytest.mark.skipif(not can_ping(), reason="no ICMP socket here (not root, ping_group_range)")


# --- codec -----------------------------------------------------------------------------------------------


def test_checksum_matches_rfc1071_example() -> None:
    """The RFC 1071 worked example: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2, so the checksum is 220d."""
    assert checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_checksum_pads_an_odd_length() -> None:
    """An odd trailing byte counts as the high half of a last 16-bit word."""
    assert checksum(b"\x01") == checksum(b"\x01\x00")


def test_ipv4_request_carries_a_valid_checksum() -> None:
    """An ICMPv4 echo request checksums to zero over itself, with type 8, our identifier and sequence."""
    packet = build_request(4, IDENT, SEQ, PAYLOAD)
    assert checksum(packet) == 0
    assert struct.unpack("!BBxxHH", packet[:8]) == (8, 0, IDENT, SEQ)
    assert packet[8:] == PAYLOAD


def test_ipv6_request_leaves_the_checksum_to_the_kernel() -> None:
    """An ICMPv6 echo request is type 128 with a zero checksum (the kernel computes it with the pseudo-header)."""
    assert build_request(6, IDENT, SEQ, PAYLOAD) == struct.pack("!BBHHH", 128, 0, 0, IDENT, SEQ) + PAYLOAD


def reply(kind: int, code: int = 0, payload: bytes = PAYLOAD) -> bytes:
    return struct.pack("!BBHHH", kind, code, 0, IDENT, SEQ) + payload


@pytest.mark.parametrize(
    ("data", "version", "ip_header", "expected"),
    [
        (reply(0), 4, False, EchoReply(IDENT, SEQ, PAYLOAD)),
        (ipv4_header(24) + reply(0), 4, True, EchoReply(IDENT, SEQ, PAYLOAD)),
        (ipv4_header(24, ihl_words=6) + reply(0), 4, True, EchoReply(IDENT, SEQ, PAYLOAD)),  # IP options
        (reply(129), 6, False, EchoReply(IDENT, SEQ, PAYLOAD)),
        (reply(0, payload=b""), 4, False, EchoReply(IDENT, SEQ, b"")),
        (reply(8), 4, False, None),  # our own echo request, seen by a raw socket on loopback
        (reply(128), 6, False, None),
        (reply(0), 6, False, None),  # an ICMPv4 type number on an ICMPv6 socket
        (reply(3, 3), 4, False, None),  # destination unreachable
        (reply(0, code=1), 4, False, None),
        (reply(0)[:7], 4, False, None),  # truncated header
        (ipv4_header(24)[:12], 4, True, None),  # truncated IP header
        (b"\x60" + bytes(30), 4, True, None),  # not IPv4 at all
    ],
)
def test_parse_reply(data: bytes, version: int, ip_header: bool, expected: EchoReply | None) -> None:
    """Echo replies are read with or without the IPv4 header; anything else is not a reply."""
    assert parse_reply(data, version, ip_header=ip_header) == expected


# --- matching replies to echoes, with a real socket ------------------------------------------------------


def forged(channel: _ping._Channel, *, ident: int, seq: int, payload: bytes) -> bytes:
    header = ipv4_header(8 + len(payload)) if channel.raw and channel.version == 4 else b""
    return header + struct.pack("!BBHHH", _ping.ECHO_REPLY[channel.version], 0, 0, ident, seq) + payload


@needs_icmp
async def test_only_our_own_reply_gives_an_rtt() -> None:
    """Replies with another identifier, sequence number, payload or sender are ignored; ours resolves the echo."""
    rtt: asyncio.Future[float] = asyncio.get_running_loop().create_future()
    asker = EchoAsker(ipaddress.ip_address("127.0.0.1"), rtt.set_result)
    try:
        assert asker.ask()
        # Fed in before the loop reads the kernel's real reply, which is already waiting on the socket.
        channel = asker._channel
        assert channel is not None
        ((seq, echo),) = channel._echoes.items()
        ident = channel.ident
        strangers = [
            (forged(channel, ident=ident ^ 1, seq=seq, payload=echo.payload), "127.0.0.1"),
            (forged(channel, ident=ident, seq=(seq + 1) & 0xFFFF, payload=echo.payload), "127.0.0.1"),
            (forged(channel, ident=ident, seq=seq, payload=echo.payload[:-1] + b"?"), "127.0.0.1"),
            (forged(channel, ident=ident, seq=seq, payload=echo.payload), "127.0.0.2"),
        ]
        for data, sender in strangers:
            channel._received(data, sender)
            assert not rtt.done()
        seconds = await asyncio.wait_for(rtt, 5)
    finally:
        asker.close()
    assert _ping._channels == {}
    assert 0 <= seconds < 5


# --- real echoes on loopback -----------------------------------------------------------------------------


@needs_icmp
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
async def test_loopback_answers_with_a_small_rtt(host: str) -> None:
    """The kernel answers our echo on loopback; the socket is closed once nobody needs it."""
    rtt = await echo_rtt(ipaddress.ip_address(host), max_wait=5)
    assert rtt is not None and 0 <= rtt < 5
    assert _ping._channels == {}
    gc.collect()


def echo_requests_to(sniffer: socket.socket, target: str) -> int:
    count = 0
    while True:
        try:
            data, _ = sniffer.recvfrom(2048)
        except BlockingIOError:
            return count
        ihl = (data[0] & 0x0F) * 4
        if (
            data[16:20] == socket.inet_aton(target)
            and data[ihl] == 8
            and data[ihl + 8 :].startswith(b"portbot")
        ):
            count += 1


@needs_icmp
async def test_concurrent_askers_share_one_echo() -> None:
    """Twenty requests for the same address's RTT at once put one echo on the wire, not twenty."""
    target = random_loopback()
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sniffer:
        sniffer.setblocking(False)
        rtts = await asyncio.gather(*(echo_rtt(ipaddress.ip_address(target), max_wait=5) for _ in range(20)))
        await asyncio.sleep(0.05)  # let the one request reach the sniffer's queue
        sent = echo_requests_to(sniffer, target)
    assert all(r is not None for r in rtts)
    assert len(set(rtts)) == 1
    assert sent == 1


def random_loopback() -> str:
    return f"127.{random.randrange(1, 255)}.{random.randrange(1, 255)}.{random.randrange(2, 255)}"


@needs_icmp
async def test_nothing_is_sent_once_nobody_waits() -> None:
    """When no probe waits on the address any more, no echo goes out and the answer is None at once."""
    target = random_loopback()
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sniffer:
        sniffer.setblocking(False)
        rtt = await echo_rtt(ipaddress.ip_address(target), max_wait=5, still_wanted=lambda: False)
        await asyncio.sleep(0.05)
        sent = echo_requests_to(sniffer, target)
    assert (rtt, sent) == (None, 0)
    assert _ping._channels == {}


async def test_cancelled_echo_closes_its_socket() -> None:
    """Cancelling a wait for a reply releases the shared socket (an unclosed one fails the test as a warning)."""
    task = asyncio.ensure_future(echo_rtt(ipaddress.ip_address("127.0.0.1"), max_wait=5))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert _ping._channels == {}
    gc.collect()


# --- which socket, in a private network namespace --------------------------------------------------------

TOOLS = ("unshare", "setpriv", "sysctl", "ip")


def run_in_private_netns(
    host: str, *, ping_group_range: str, net_raw: bool, ignore_echo: bool = False
) -> dict[str, object]:
    """tests/probes/_ping_child.py in a fresh network namespace (only its own loopback), with the given
    ping_group_range, with or without CAP_NET_RAW, and with the kernel answering pings or not."""
    drop = "" if net_raw else "setpriv --bounding-set=-net_raw --inh-caps=-net_raw "
    ignore = int(ignore_echo)
    script = (
        f"ip link set lo up && sysctl -qw net.ipv4.ping_group_range='{ping_group_range}' "
        f"net.ipv4.icmp_echo_ignore_all={ignore} net.ipv6.icmp.echo_ignore_all={ignore} && "
        f"exec {drop}{sys.executable} -m tests.probes._ping_child {host}"
    )
    done = subprocess.run(
        ["unshare", "--net", "sh", "-c", script],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
        timeout=30,
    )
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


needs_netns = pytest.mark.skipif(
    os.geteuid() != 0 or any(shutil.which(t) is None for t in TOOLS),
    reason="needs root, unshare and setpriv to try the socket kinds in a private namespace",
)


@needs_netns
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
@pytest.mark.parametrize(
    ("ping_group_range", "net_raw", "kind"),
    [
        ("0 2147483647", False, "dgram"),  # an ordinary user where distributions allow unprivileged ping
        ("1 0", True, "raw"),  # root where nobody may use datagram ICMP (the kernel's default)
    ],
)
def test_silent_port_is_called_early_with_either_socket(
    host: str, ping_group_range: str, net_raw: bool, kind: str
) -> None:
    """With a datagram or a raw ICMP socket, a lone silent port is called filtered long before the timeout."""
    seen = run_in_private_netns(host, ping_group_range=ping_group_range, net_raw=net_raw)
    assert (seen["kind"], seen["state"], seen["reason"]) == (kind, "filtered", "timeout")
    assert isinstance(seen["elapsed"], float) and seen["elapsed"] < 1.0  # the timeout is 1.5 s


@needs_netns
def test_without_any_icmp_socket_silence_waits_the_whole_timeout() -> None:
    """No datagram ICMP allowed and no CAP_NET_RAW: no echo, and the verdict waits the full timeout as before."""
    seen = run_in_private_netns("127.0.0.1", ping_group_range="1 0", net_raw=False)
    assert (seen["kind"], seen["state"], seen["reason"]) == (None, "filtered", "timeout")
    assert isinstance(seen["elapsed"], float) and seen["elapsed"] >= 1.5


@needs_netns
@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_unanswered_pings_leave_the_whole_timeout(host: str) -> None:
    """A host that ignores pings (many home routers do): the verdict waits the full timeout, as before."""
    seen = run_in_private_netns(host, ping_group_range="1 0", net_raw=True, ignore_echo=True)
    assert (seen["kind"], seen["state"], seen["reason"]) == ("raw", "filtered", "timeout")
    assert isinstance(seen["elapsed"], float) and seen["elapsed"] >= 1.5


# --- the engine's use of them ----------------------------------------------------------------------------


@needs_icmp
@pytest.mark.parametrize(
    ("kind", "state", "echoes"), [("tcp-open", "open", 0), ("tcp-backlog", "filtered", 1)]
)
async def test_engine_pings_only_while_a_port_is_silent(kind: str, state: str, echoes: int) -> None:
    """A port that answers at once causes no echo at all; a silent one exactly one (answered at once here)."""
    target = random_loopback()
    policy = SafetyPolicy.from_strings(allow=["127.0.0.0/8"])
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sniffer:
        sniffer.setblocking(False)
        async with serve(kind, target) as server:
            report = await ProbeEngine(policy, EngineConfig(timeout=5.0, identify=False)).probe(
                ProbeRequest(target, (server.port,))
            )
        await asyncio.sleep(0.05)
        sent = echo_requests_to(sniffer, target)
    assert [r.state for r in report.results] == [state]
    assert sent == echoes
    assert _ping._channels == {}
