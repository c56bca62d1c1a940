"""A tiny one-time-link worker on loopback for the chat flow tests, until the worker's own link routes exist.

``create_link`` hands out ``http://127.0.0.1:<port>/l/<token>``; a GET on it probes the visitor's TCP source
address (127.0.0.1) on the link's ports with the real engine, as the worker will, and completes the link. A
second visit gets 410. Everything stays on loopback.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from probes.engine import EngineConfig, ProbeEngine
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.policy import SafetyPolicy

LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])


@dataclass(frozen=True)
class Link:
    id: str
    token: str
    url: str
    expires_at: float
    ports: tuple[int, ...]
    protocol: str
    requester: Requester


@dataclass(frozen=True)
class LinkResult:
    link_id: str
    family: int
    report: ProbeReport
    diagnosis: Mapping[str, Any] | None = None
    reached_listener: Mapping[int, bool] | None = None


@dataclass
class _Pending:
    link: Link
    done: asyncio.Event = field(default_factory=asyncio.Event)
    result: LinkResult | None = None
    used: bool = False


class LoopbackLinks:
    """A probe backend with one-time links served on loopback (see the module docstring)."""

    def __init__(self, *, ttl: float = 600.0, diagnosis: Mapping[str, Any] | None = None) -> None:
        self.ttl = ttl
        self.diagnosis = diagnosis
        self.engine = ProbeEngine(LOOPBACK, EngineConfig(timeout=2.0))
        self.links: dict[str, _Pending] = {}
        self.created = asyncio.Event()
        self._runner: web.AppRunner | None = None
        self.base = ""

    async def start(self) -> LoopbackLinks:
        app = web.Application()
        app.router.add_get("/l/{token}", self._visit)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        return [await self.engine.probe(request)]

    async def create_link(
        self, ports: Sequence[int], protocol: str, requester: Requester, hint: str | None = None
    ) -> Link:
        token = secrets.token_urlsafe(16)
        link = Link(
            id=secrets.token_hex(8),
            token=token,
            url=f"{self.base}/l/{token}",
            expires_at=time.time() + self.ttl,
            ports=tuple(ports),
            protocol=protocol,
            requester=requester,
        )
        self.links[token] = _Pending(link)
        self.created.set()
        return link

    async def wait_link(self, link_id: str, timeout: float) -> LinkResult | None:
        pending = next(p for p in self.links.values() if p.link.id == link_id)
        try:
            async with asyncio.timeout(timeout):
                await pending.done.wait()
        except TimeoutError:
            return None
        return pending.result

    async def _visit(self, request: web.Request) -> web.Response:
        pending = self.links.get(request.match_info["token"])
        if pending is None:
            return web.Response(status=404, text="This link isn't valid.")
        if pending.used:
            return web.Response(status=410, text="This link was already used.")
        pending.used = True
        visitor = request.remote or ""
        link = pending.link
        protocol = link.protocol if link.protocol in ("tcp", "udp") else "auto"
        report = await self.engine.probe(ProbeRequest(visitor, link.ports, protocol))  # type: ignore[arg-type]
        pending.result = LinkResult(link.id, 6 if ":" in visitor else 4, report, self.diagnosis)
        pending.done.set()
        return web.Response(text="Checked.")


async def visit(url: str) -> int:
    """Open ``url`` as the member would (a real HTTP GET from 127.0.0.1); the status code."""
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(url) as response:
        await response.read()
        return response.status


async def open_port() -> tuple[asyncio.Server, int]:
    """A TCP server on an ephemeral loopback port: "the member's game server"."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]
