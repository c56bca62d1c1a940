"""Small, honest stand-ins for the probe engine, for tests of the layers above it (service, worker, client).

They implement the ``probes.service.Prober`` protocol; end-to-end tests use the real engine instead.
"""

from __future__ import annotations

import asyncio

from probes.models import PortResult, ProbeReport, ProbeRequest, State
from probes.policy import parse_ip_literal
from probes.service import Admit
from probes.targets import parse_target


class StaticProber:
    """Answers every port of a literal target with ``state``, counting calls."""

    def __init__(self, state: State = State.OPEN, names: dict[str, str] | None = None) -> None:
        self.state = state
        self.names = names or {}  # what each host name "resolves" to
        self.calls: list[ProbeRequest] = []

    async def probe(
        self, request: ProbeRequest, *, vantage: str = "here", local: bool = True, admit: Admit | None = None
    ) -> ProbeReport:
        host = parse_target(request.target).host  # as the engine reads it: URLs, host:port, any spelling
        where = self.names.get(host, host)
        resolved = parse_ip_literal(where)
        if admit is not None and resolved is not None:
            await admit([resolved])  # as the engine does: after "resolving", before probing
        self.calls.append(request)
        protocol = "udp" if request.protocol == "udp" else "tcp"
        results = tuple(
            PortResult(address=where, port=p, protocol=protocol, state=self.state, reason="test", rtt_ms=1.5)
            for p in request.ports
        )
        return ProbeReport(target=request.target, host=host, vantage=vantage, results=results, local=local)


class BlockingProber(StaticProber):
    """Like StaticProber, but each probe waits until ``release`` is set; ``entered`` is set once one waits."""

    def __init__(self, state: State = State.OPEN) -> None:
        super().__init__(state)
        self.entered = asyncio.Event()
        self.release = asyncio.Event()
        self.started = 0
        self.finished = 0

    async def probe(
        self, request: ProbeRequest, *, vantage: str = "here", local: bool = True, admit: Admit | None = None
    ) -> ProbeReport:
        self.started += 1
        self.entered.set()
        await self.release.wait()
        report = await super().probe(request, vantage=vantage, local=local, admit=admit)
        self.finished += 1
        return report
