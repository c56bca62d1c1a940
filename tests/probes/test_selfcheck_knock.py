"""The knock handshake on loopback: the real listener answers, nothing else can."""

from __future__ import annotations

import asyncio
import secrets
import socket
from collections.abc import Iterator

import pytest
from aiohttp import web

from probes.listen_standalone import Listener, answer_for
from probes.selfcheck import knock, valid_listener_secret

LOOPBACK = "127.0.0.1"


@pytest.fixture
def secret() -> str:
    return secrets.token_hex(32)


@pytest.fixture
def tcp_listener(secret: str) -> Iterator[Listener]:
    listener = Listener([0], "tcp", secret, host=LOOPBACK)
    yield listener
    listener.close()


@pytest.fixture
def udp_listener(secret: str) -> Iterator[Listener]:
    listener = Listener([0], "udp", secret, host=LOOPBACK)
    yield listener
    listener.close()


def only_port(listener: Listener) -> int:
    (port,) = listener.status
    return port


async def test_tcp_knock_reaches_the_listener(tcp_listener: Listener, secret: str) -> None:
    """A knock on the real listener's TCP port gets the right answer, and the listener records it."""
    port = only_port(tcp_listener)
    assert await knock(LOOPBACK, port, "tcp", secret, 3.0) is True
    assert tcp_listener.status[port].knocked_from == [LOOPBACK]


async def test_udp_knock_reaches_the_listener(udp_listener: Listener, secret: str) -> None:
    """A knock datagram on the real listener's UDP port gets the right answer."""
    port = only_port(udp_listener)
    assert await knock(LOOPBACK, port, "udp", secret, 3.0) is True
    assert udp_listener.status[port].knocked_from == [LOOPBACK]


async def test_knock_with_another_runs_secret_fails(tcp_listener: Listener) -> None:
    """A listener of another run (another PC running portbot listen) can't give this run's answer."""
    assert await knock(LOOPBACK, only_port(tcp_listener), "tcp", secrets.token_hex(32), 3.0) is False


async def test_http_server_on_the_port_is_not_the_listener(secret: str) -> None:
    """An HTTP server on the port (a router's admin page) answers something, but never the knock."""
    app = web.Application()

    async def page(request: web.Request) -> web.Response:
        return web.Response(text="<html>Router login</html>")

    app.router.add_route("*", "/{tail:.*}", page)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, LOOPBACK, 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        assert await knock(LOOPBACK, port, "tcp", secret, 3.0) is False
    finally:
        await runner.cleanup()


async def test_echo_server_is_not_the_listener(secret: str) -> None:
    """A program that echoes the knock line back does not pass for the listener."""

    async def echo(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        writer.write(line.replace(b"KNOCK", b"HERE"))
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(echo, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await knock(LOOPBACK, port, "tcp", secret, 3.0) is False


async def test_closed_tcp_port_is_false(secret: str) -> None:
    """Nothing listening on the TCP port: the knock is refused and gives False."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]  # bound, never listening: connections are refused
        assert await knock(LOOPBACK, port, "tcp", secret, 3.0) is False


async def test_closed_udp_port_is_false(secret: str) -> None:
    """Nothing on the UDP port: the ICMP refusal (or silence) gives False within the timeout."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((LOOPBACK, 0))
        port = sock.getsockname()[1]
    assert await knock(LOOPBACK, port, "udp", secret, 1.0) is False


async def test_silent_tcp_server_times_out(secret: str) -> None:
    """A server that accepts and never answers gives False after the timeout."""
    done = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await done.wait()
        writer.close()

    server = await asyncio.start_server(silent, LOOPBACK, 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        assert await knock(LOOPBACK, port, "tcp", secret, 0.5) is False
        done.set()


@pytest.mark.parametrize("value", ["", "abc", "g" * 64, "A" * 64, "0" * 129, "0" * 31])
async def test_malformed_secret_is_refused_without_traffic(value: str) -> None:
    """A listener= value of the wrong shape is refused before any connection."""
    assert valid_listener_secret(value) is False
    assert await knock(LOOPBACK, 9, "tcp", value, 0.5) is False


def test_answer_is_hmac_sha256_hex() -> None:
    """The answer is the hex HMAC-SHA256 of the challenge keyed with the secret (RFC 4231 case 2)."""
    assert answer_for("Jefe", "what do ya want for nothing?") == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
    )


async def test_listener_ignores_junk_and_keeps_answering(tcp_listener: Listener, secret: str) -> None:
    """Junk and an HTTP request on the port get no answer, and a real knock right after still works."""
    port = only_port(tcp_listener)
    reader, writer = await asyncio.open_connection(LOOPBACK, port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    assert await reader.read() == b""
    writer.close()
    assert await knock(LOOPBACK, port, "tcp", secret, 3.0) is True
