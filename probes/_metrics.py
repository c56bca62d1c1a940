"""Prometheus metrics for one probe worker, in a registry of its own (so several workers can share a process)."""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

from probes.models import ProbeReport

# Outcomes of a POST /v1/probe, as the `outcome` label.
OUTCOMES = (
    "ok",
    "refused",
    "invalid",
    "unresolvable",
    "rate_limited",
    "unauthorized",
    "overloaded",
    "deadline",
    "failed",
)

# What became of connections, as the `outcome` label: admitted, shed at a cap, dropped to make room, cut at a
# deadline, or (accept_error) never accepted because the process ran out of descriptors or memory.
CONNECTION_OUTCOMES = (
    "accepted",
    "shed_full",
    "shed_source",
    "evicted",
    "evicted_idle",
    "header_timeout",
    "body_timeout",
    "body_reset",  # the client went away before its request body ended
    "idle_timeout",
    "accept_error",
)


class WorkerMetrics:
    """Requests by outcome, probe latency, verdicts by state, and requests in flight (the owner points
    ``in_flight`` at its own count with ``set_function``, so a request costs no gauge updates)."""

    content_type = CONTENT_TYPE_LATEST

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "portbot_worker_requests", "Probe requests by outcome.", ["outcome"], registry=self.registry
        )
        # Children looked up once: labels() takes a lock and builds a key on every call.
        # Created up front, so dashboards see every outcome (at zero) from the start.
        self._outcomes = {outcome: self.requests.labels(outcome) for outcome in OUTCOMES}
        self.latency = Histogram(
            "portbot_worker_probe_seconds",
            "Time to answer a probe request that reached the engine.",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20),
            registry=self.registry,
        )
        self.verdicts = Counter(
            "portbot_worker_verdicts",
            "Port verdicts by protocol and state.",
            ["protocol", "state"],
            registry=self.registry,
        )
        self._verdicts: dict[tuple[str, str], Counter] = {}
        self.connections = Counter(
            "portbot_worker_connections",
            "Client connections by what became of them.",
            ["outcome"],
            registry=self.registry,
        )
        self._connections = {outcome: self.connections.labels(outcome) for outcome in CONNECTION_OUTCOMES}
        self.in_flight = Gauge(
            "portbot_worker_in_flight", "Probe requests being worked on.", registry=self.registry
        )

    def count(self, outcome: str) -> None:
        self._outcomes[outcome].inc()

    def connection(self, outcome: str) -> None:
        self._connections[outcome].inc()

    def observe(self, report: ProbeReport) -> None:
        for result in report.results:
            key = (result.protocol, result.state.value)
            child = self._verdicts.get(key)
            if child is None:
                child = self._verdicts[key] = self.verdicts.labels(*key)
            child.inc()

    def render(self) -> bytes:
        return generate_latest(self.registry)
