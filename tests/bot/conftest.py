"""Fixtures shared by the chat adapters' tests: real loopback targets for live probes."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest

from bot.store import _engine

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine


@pytest.fixture(autouse=True)
async def _dispose_engines(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[None]:
    """Every database engine a test opens (a bot or app built without a store of the test's own opens one)
    is disposed at the test's end, on its event loop: a pooled SQLite connection left to the garbage collector
    warns, and its thread may find the loop already closed."""
    opened: list[AsyncEngine] = []
    make = _engine._engine

    def recording(url: str, *, pool_size: int) -> AsyncEngine:
        engine = make(url, pool_size=pool_size)
        opened.append(engine)
        return engine

    monkeypatch.setattr(_engine, "_engine", recording)
    yield
    for engine in opened:
        await engine.dispose()


@pytest.fixture
async def listening() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts and hangs up."""

    async def hang_up(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.fixture
def closed_port() -> int:
    """A loopback port with nothing listening (bound then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


#: The names the watch tests add, all on loopback: their checks (the bots run the scheduler) stay on this machine.
WATCH_NAMES = {
    "mc.example.com": [("A", "127.0.0.2")],
    "play.example.net": [("A", "127.0.0.3")],
    "other.example.com": [("A", "127.0.0.4")],
}


@pytest.fixture
async def watch_names(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A DNS server of the test's own for the watch tests' host names, named in PORTBOT_DNS_SERVERS, with
    loopback allowed: a watch is judged when added and checked by the bot's scheduler, never via the system's
    resolver nor off this machine."""
    from tests.probes.servers import serve

    async with serve("dns", "127.0.0.1", records=WATCH_NAMES) as dns:
        address = f"127.0.0.1:{dns.port}"
        monkeypatch.setenv("PORTBOT_DNS_SERVERS", address)
        monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
        yield address
