"""The real command core for the adapter's tests: the real knowledge base, real probe replies, and a probe
backend that answers from a script instead of the network (it records who asked for what)."""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from bot.core.commands import Portbot
from knowledge import KnowledgeBase
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State

PUBLIC_ADDRESS = "203.0.113.7"  # documentation range: never probed, only named


@functools.cache
def knowledge() -> KnowledgeBase:
    return KnowledgeBase.load()


@dataclass
class ScriptedBackend:
    """Every port "open" at PUBLIC_ADDRESS, seen from Frankfurt, as a worker would report it."""

    calls: list[tuple[ProbeRequest, Requester]] = field(default_factory=list)
    refuse: BaseException | None = None  # raised instead of answering, as the probe service does

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        self.calls.append((request, requester))
        if self.refuse is not None:
            raise self.refuse
        protocol = "udp" if request.protocol == "udp" else "tcp"
        results = tuple(
            PortResult(PUBLIC_ADDRESS, port, protocol, State.OPEN, "syn-ack", rtt_ms=12.5)
            for port in request.ports
        )
        return [ProbeReport(target=request.target, host=request.target, vantage="Frankfurt", results=results)]


def real_portbot(backend: ScriptedBackend | None = None) -> Portbot:
    return Portbot(knowledge=knowledge(), probes=backend if backend is not None else ScriptedBackend())
