"""Run inside a private network namespace by tests/probes/test_ping.py: ``python -m tests.probes._ping_child HOST``.

Prints one JSON line: which ICMP socket this process may open (``dgram``, ``raw`` or null), and the engine's
verdict and time for a silent (full accept queue) port on ``HOST``, a loopback address, with a 1.5 s timeout.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import time

from probes import _ping
from probes.engine import EngineConfig, ProbeEngine
from probes.models import ProbeRequest
from probes.policy import SafetyPolicy
from tests.probes.servers import serve

TIMEOUT = 1.5


def socket_kind(version: int) -> str | None:
    sock = _ping.open_socket(version)
    if sock is None:
        return None
    with sock:
        return "dgram" if sock.type == socket.SOCK_DGRAM else "raw"


async def main(host: str) -> dict[str, object]:
    engine = ProbeEngine(
        SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"]),
        EngineConfig(timeout=TIMEOUT, identify=False),
    )
    async with serve("tcp-backlog", host) as silent:
        started = time.monotonic()
        report = await engine.probe(ProbeRequest(host, (silent.port,)))
        elapsed = time.monotonic() - started
    (result,) = report.results
    kind = socket_kind(6 if ":" in host else 4)
    return {"kind": kind, "state": str(result.state), "reason": result.reason, "elapsed": elapsed}


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(sys.argv[1]))))
