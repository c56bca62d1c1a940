"""TTL-limited SYNs on loopback: what comes back when they reach the address itself, and that they clean up.

Loopback has no router to answer "time exceeded"; that part runs for real in tests/probes/netns/test_hops.py.
"""

from __future__ import annotations

import asyncio
import gc
import ipaddress
import socket

import pytest

from probes._hops import HOP_TTLS, HopAsker, _hop_socket
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACKS = ["127.0.0.1", "::1"]


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class Heard:
    """Collects the asker's callbacks; ``answered`` is set on the first TCP answer."""

    def __init__(self) -> None:
        self.hops: list[float] = []
        self.answers: list[float] = []
        self.answered = asyncio.Event()

    def hop(self, seconds: float) -> None:
        self.hops.append(seconds)

    def answer(self, seconds: float) -> None:
        self.answers.append(seconds)
        self.answered.set()


@pytest.mark.parametrize("host", LOOPBACKS)
@pytest.mark.parametrize("kind", ["tcp-open", "closed"])
async def test_syns_that_reach_the_address_report_its_tcp_answer(host: str, kind: str) -> None:
    """On loopback every TTL reaches the address: its SYN-ACK or reset is a TCP answer, never a hop."""
    heard = Heard()
    if kind == "closed":
        asker = HopAsker(ipaddress.ip_address(host), free_port(host), heard.hop, heard.answer, ttls=(1, 2))
        asker.ask()
        await asyncio.wait_for(heard.answered.wait(), 5)
    else:
        async with serve("tcp-open", host) as server:
            asker = HopAsker(ipaddress.ip_address(host), server.port, heard.hop, heard.answer, ttls=(1, 2))
            asker.ask()
            await asyncio.wait_for(heard.answered.wait(), 5)
    await asker.aclose()
    assert heard.hops == [] and 1 <= len(heard.answers) <= 2
    assert all(0 <= seconds < 5 for seconds in heard.answers)


async def test_silent_port_hears_nothing_and_every_socket_closes() -> None:
    """A SYN that nobody answers reports nothing; one SYN per TTL went out, asking again sends no more, and
    closing leaves no socket open (an unclosed one would fail the test as a warning)."""
    heard = Heard()
    async with serve("tcp-backlog") as silent:
        asker = HopAsker(ipaddress.ip_address("127.0.0.1"), silent.port, heard.hop, heard.answer)
        asker.ask()
        asker.ask()
        await asyncio.sleep(
            0.05
        )  # let the SYNs go; nothing is expected back, so there is no event to wait on
        await asker.aclose()
    assert asker.sent == len(HOP_TTLS) == 4
    assert heard.hops == heard.answers == []
    gc.collect()


async def test_unanswered_syns_are_closed_before_the_kernel_would_resend_them() -> None:
    """Each TTL-limited socket is closed by HOP_WAIT (0.9 s), before the kernel's first SYN retransmission
    at 1 s, even while the owner keeps the asker open."""
    heard = Heard()
    loop = asyncio.get_running_loop()
    async with serve("tcp-backlog") as silent:
        asker = HopAsker(ipaddress.ip_address("127.0.0.1"), silent.port, heard.hop, heard.answer, ttls=(1,))
        started = loop.time()
        asker.ask()
        assert asker._walk is not None
        sock, connect = asker._walk.sent[0]
        await asyncio.gather(connect, return_exceptions=True)  # our close callback runs before gather's
        elapsed = loop.time() - started
        closed = sock.fileno() == -1
        await asker.aclose()
    assert closed and 0.85 <= elapsed < 1.0
    assert heard.hops == heard.answers == []


async def test_concurrent_askers_for_one_address_share_one_walk() -> None:
    """A second asker for the same address while SYNs are in flight sends none and hears what the first
    one hears, including what came before it joined; a walk after the first ended sends again."""
    first, second, third = Heard(), Heard(), Heard()
    port = free_port("127.0.0.1")
    address = ipaddress.ip_address("127.0.0.1")
    a = HopAsker(address, port, first.hop, first.answer, ttls=(1, 2))
    a.ask()
    await asyncio.wait_for(first.answered.wait(), 5)
    b = HopAsker(address, port + 1, second.hop, second.answer, ttls=(1, 2))
    b.ask()
    assert second.answered.is_set()  # replayed at once: the first SYN's reset
    await asyncio.gather(a.aclose(), b.aclose())
    c = HopAsker(address, port, third.hop, third.answer, ttls=(1, 2))
    c.ask()
    await asyncio.wait_for(third.answered.wait(), 5)
    await c.aclose()
    assert (a.sent, b.sent, c.sent) == (2, 0, 2)
    assert second.answers[0] == first.answers[0]


@pytest.mark.parametrize(
    ("host", "level", "option"),
    [
        ("127.0.0.1", socket.IPPROTO_IP, socket.IP_TTL),
        ("::1", socket.IPPROTO_IPV6, socket.IPV6_UNICAST_HOPS),
    ],
)
def test_hop_socket_carries_the_ttl(host: str, level: int, option: int) -> None:
    """The socket's IPv4 TTL or IPv6 hop limit is the one asked for, so the kernel's own SYN carries it."""
    sock = _hop_socket(ipaddress.ip_address(host), 3)
    assert sock is not None
    with sock:
        assert sock.getsockopt(level, option) == 3
