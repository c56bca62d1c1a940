"""Drives Portbot's probe engine inside the ``prober`` namespace: one long-lived process, one request a line."""

from __future__ import annotations

import json
import selectors
import subprocess
import sys
from dataclasses import dataclass
from typing import Any

from probes.models import PortResult, ProbeReport
from tests.probes.netns.topology import RESOLVER, HarnessError, Internet


@dataclass(frozen=True)
class Outcome:
    """What one engine call produced, and how long it took inside the namespace."""

    elapsed: float
    report: ProbeReport | None
    error: dict[str, Any] | None

    @property
    def result(self) -> PortResult:
        """The only port result (the tests probe one port at a time)."""
        assert self.report is not None, f"engine raised {self.error}"
        assert len(self.report.results) == 1, self.report
        return self.report.results[0]


class Prober:
    """Runs ``tests.probes.netns._run_probe --serve`` in the prober namespace and talks to it."""

    def __init__(self, internet: Internet, *, answer_timeout: float = 60.0) -> None:
        self._server = internet.start(
            internet.prober,
            [sys.executable, "-m", "tests.probes.netns._run_probe", "--serve"],
            stdin=subprocess.PIPE,
        )
        self._answer_timeout = answer_timeout

    def probe(self, target: str, *ports: int, protocol: str = "tcp", **config: Any) -> Outcome:
        """Probe ``target`` on ``ports``; ``config`` overrides EngineConfig fields (the resolver is ours)."""
        request = {"target": target, "ports": list(ports), "protocol": protocol, "dns_servers": [RESOLVER]}
        request.update(config)
        proc = self._server.proc
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(json.dumps(request) + "\n")
        proc.stdin.flush()
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            if not sel.select(self._answer_timeout):
                raise HarnessError(f"no answer to {request}: {self._server.stderr()}")
        line = proc.stdout.readline()
        if not line:
            raise HarnessError(f"the probe runner died on {request}: {self._server.stderr()}")
        answer = json.loads(line)
        report = ProbeReport.from_dict(answer["report"]) if "report" in answer else None
        return Outcome(elapsed=answer["elapsed"], report=report, error=answer.get("error"))
