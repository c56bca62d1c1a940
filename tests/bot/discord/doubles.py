"""A probe backend double: records each request and reports the port open, without touching the network.

Knowledge in these tests is the real knowledge base; probes go through the real core (target parsing, probe
replies) down to this backend, which stands in for the probe service until a test needs real packets.
"""

from __future__ import annotations

from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State

PUBLIC_ADDRESS = "203.0.113.7"


class RecordingBackend:
    """Implements the core's ProbeBackend protocol; every probe finds the port open from "Frankfurt"."""

    def __init__(self) -> None:
        self.requests: list[tuple[ProbeRequest, Requester]] = []

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        self.requests.append((request, requester))
        results = tuple(
            PortResult(PUBLIC_ADDRESS, port, "tcp", State.OPEN, "syn-ack", rtt_ms=12.0)
            for port in request.ports
        )
        return [ProbeReport(request.target, request.target, "Frankfurt", results)]
