"""Runs inside a trap namespace: one dual-stack listener on every local address, then the real probe service
and engine aimed at each target on the listener's port. Prints what happened, as JSON:

    python -m tests.probes.netns._trap '{"targets": ["64:ff9b::7f00:1"], "allow": [], "nat64": []}'
    → {"port": 40123, "results": {"64:ff9b::7f00:1": {"refused": "loopback"}}, "hits": 0}

``hits`` counts the connections the kernel completed on the listener (its backlog, drained at the end), so it
counts every handshake a probe made, whatever the probe reported.
"""

from __future__ import annotations

import asyncio
import json
import socket
import sys
from typing import Any

from probes.engine import EngineConfig, ProbeEngine
from probes.errors import PortbotError, RefusedTarget
from probes.models import ProbeRequest, Requester
from probes.policy import SafetyPolicy
from probes.service import ProbeService

TESTER = Requester("cli", "trap-tester", None, None)


async def run(request: dict[str, Any], port: int) -> dict[str, Any]:
    policy = SafetyPolicy.from_strings(allow=request.get("allow", []), nat64=request.get("nat64", []))
    service = ProbeService(ProbeEngine(policy, EngineConfig(timeout=2.0, identify=False)), policy=policy)
    results: dict[str, Any] = {}
    for target in request["targets"]:
        try:
            report = await service.run(ProbeRequest(target, (port,), protocol="tcp"), TESTER)
        except RefusedTarget as err:
            results[target] = {"refused": err.category, "message": err.message}
        except PortbotError as err:
            results[target] = {"error": type(err).__name__, "message": str(err)}
        else:
            results[target] = {"states": [r.state.value for r in report.results]}
    return results


def main() -> None:
    request = json.loads(sys.argv[1])
    with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as trap:
        trap.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)  # IPv4 (127.0.0.1) lands here too
        trap.bind(("::", 0))
        trap.listen(128)
        port = trap.getsockname()[1]
        results = asyncio.run(run(request, port))
        trap.setblocking(False)
        hits = 0
        while True:
            try:
                conn, _ = trap.accept()
            except BlockingIOError:
                break
            conn.close()
            hits += 1
    print(json.dumps({"port": port, "results": results, "hits": hits}))


if __name__ == "__main__":
    main()
