"""Runs Portbot's probe engine inside a namespace and prints what it found, as JSON.

    python -m tests.probes.netns._run_probe '{"target": "203.0.113.20", "ports": [25565]}'
    python -m tests.probes.netns._run_probe --serve     # prints "ready", then one JSON request per line in,
                                                        # one JSON answer per line out

A request holds the ProbeRequest fields (``target``, ``ports``, ``protocol``, ``service_hint``), any
EngineConfig field (``timeout``, ``identify``, ``dns_servers``, ``identify_timeout``) and ``allow`` (the
safety policy's allow-list; the documentation ranges by default, so they play the internet). An answer is
``{"elapsed": seconds, "report": ProbeReport.to_dict()}`` or ``{"elapsed": seconds, "error": {...}}`` when
the engine raised a PortbotError (e.g. a refused target).
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
import time
from typing import Any

from probes.engine import EngineConfig, ProbeEngine
from probes.errors import PortbotError
from probes.models import ProbeRequest
from probes.policy import SafetyPolicy
from tests.probes.netns.topology import INTERNET_ALLOW


async def probe(request: dict[str, Any]) -> dict[str, Any]:
    config_fields = {f.name for f in dataclasses.fields(EngineConfig)}
    config: dict[str, Any] = {
        k: tuple(v) if isinstance(v, list) else v for k, v in request.items() if k in config_fields
    }
    engine = ProbeEngine(
        SafetyPolicy.from_strings(allow=request.get("allow", INTERNET_ALLOW)), EngineConfig(**config)
    )
    probe_request = ProbeRequest(
        target=request["target"],
        ports=tuple(request["ports"]),
        protocol=request.get("protocol", "auto"),
        service_hint=request.get("service_hint"),
    )
    started = time.perf_counter()
    try:
        report = await engine.probe(probe_request)
    except PortbotError as err:
        error = {"type": type(err).__name__, "message": str(err), "category": getattr(err, "category", None)}
        return {"elapsed": time.perf_counter() - started, "error": error}
    finally:
        close = getattr(engine, "aclose", None)
        if close is not None:
            await close()
    return {"elapsed": time.perf_counter() - started, "report": report.to_dict()}


def main() -> None:
    if sys.argv[1:] == ["--serve"]:
        print("ready", flush=True)
        for line in sys.stdin:
            if line.strip():
                print(json.dumps(asyncio.run(probe(json.loads(line)))), flush=True)
        return
    print(json.dumps(asyncio.run(probe(json.loads(sys.argv[1])))))


if __name__ == "__main__":
    main()
