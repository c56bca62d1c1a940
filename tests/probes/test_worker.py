"""The probe worker over real HTTP on loopback: signing, status codes, capacity, deadline, metrics, shutdown."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from probes.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign
from probes.models import State
from probes.policy import SafetyPolicy
from probes.ratelimit import RateLimits
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._probers import BlockingProber, StaticProber

SECRET = "s3cret-for-tests"
DOCS = SafetyPolicy.from_strings(allow=["198.51.100.0/24"])

StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """Starts workers on loopback port 0 and stops them after the test."""
    running: list[RunningWorker] = []

    async def _start(prober: Any, **options: Any) -> RunningWorker:
        options.setdefault("policy", DOCS)
        config = WorkerConfig(secret=SECRET, host="127.0.0.1", port=0, region="Frankfurt", **options)
        worker = await start(config, prober)
        running.append(worker)
        return worker

    yield _start
    for worker in running:
        await worker.stop()


def body(**fields: Any) -> bytes:
    data: dict[str, Any] = {
        "target": "198.51.100.7",
        "ports": [25565],
        "request_id": str(time.monotonic_ns()),
    }
    data.update(fields)
    return json.dumps(data).encode()


async def post(
    http: httpx.AsyncClient, worker: RunningWorker, content: bytes, headers: dict[str, str] | None = None
) -> httpx.Response:
    headers = sign(SECRET, content) if headers is None else headers
    return await http.post(f"{worker.url}/v1/probe", content=content, headers=headers)


async def test_signed_probe_returns_the_report_from_this_region(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A signed request is probed and answered with the report, labelled with the worker's region."""
    prober = StaticProber()
    worker = await start_worker(prober)
    response = await post(http, worker, body(ports=[80, 443], protocol="tcp", service_hint="http"))
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json; charset=utf-8"
    data = response.json()
    assert (data["vantage"], data["local"], data["target"]) == ("Frankfurt", False, "198.51.100.7")
    assert [(r["port"], r["state"]) for r in data["results"]] == [(80, "open"), (443, "open")]
    assert prober.calls[0].service_hint == "http"


def _unsigned(content: bytes) -> dict[str, str]:
    return {}


def _wrong_key(content: bytes) -> dict[str, str]:
    return sign("not-the-secret", content)


def _stale(content: bytes) -> dict[str, str]:
    return sign(SECRET, content, now=time.time() - 301)


def _future(content: bytes) -> dict[str, str]:
    return sign(SECRET, content, now=time.time() + 301)


def _garbled(content: bytes) -> dict[str, str]:
    return {TIMESTAMP_HEADER: "yesterday", SIGNATURE_HEADER: "v1=abc"}


@pytest.mark.parametrize(
    ("make_headers", "reason"),
    [
        (_unsigned, "unsigned"),
        (_wrong_key, "bad-signature"),
        (_stale, "stale"),
        (_future, "stale"),
        (_garbled, "malformed"),
    ],
)
async def test_bad_signatures_get_401(
    start_worker: StartWorker,
    http: httpx.AsyncClient,
    make_headers: Callable[[bytes], dict[str, str]],
    reason: str,
) -> None:
    """Unsigned, wrong-key, stale, future and garbled requests are refused before any probe."""
    prober = StaticProber()
    worker = await start_worker(prober)
    content = body()
    response = await post(http, worker, content, make_headers(content))
    assert response.status_code == 401
    assert response.json()["error"] == "unauthorized"
    assert response.json()["reason"] == reason
    assert prober.calls == []


async def test_replayed_request_gets_401(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """Sending the exact same signed request twice probes once."""
    prober = StaticProber()
    worker = await start_worker(prober)
    content = body()
    headers = sign(SECRET, content)
    assert (await post(http, worker, content, headers)).status_code == 200
    replay = await post(http, worker, content, headers)
    assert (replay.status_code, replay.json()["reason"]) == (401, "replayed")
    assert len(prober.calls) == 1


async def test_tampered_body_gets_401(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A body changed after signing (another target) is refused."""
    prober = StaticProber()
    worker = await start_worker(prober)
    content = body()
    headers = sign(SECRET, content)
    response = await post(http, worker, content.replace(b"198.51.100.7", b"198.51.100.9"), headers)
    assert (response.status_code, response.json()["reason"]) == (401, "bad-signature")
    assert prober.calls == []


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"{not json", "The request body is not JSON."),
        (b"[1, 2]", "The request body must be a JSON object."),
        (body(target=""), "`target` must be a host name or address."),
        (body(ports="25565"), "`ports` must be a list of port numbers."),
        (body(ports=[True]), "`ports` must be a list of port numbers."),
        (body(protocol="icmp"), "`protocol` must be auto, tcp or udp."),
        (body(requester="me"), "`requester` must be an object."),
        (body(ports=[1, 2, 3, 4, 5, 6]), "I check at most 5 ports at a time, and never scan ranges."),
        (body(ports=[0]), "0 is not a port: ports go from 1 to 65535."),
    ],
)
async def test_bad_input_gets_400(
    start_worker: StartWorker, http: httpx.AsyncClient, content: bytes, message: str
) -> None:
    """Malformed or invalid requests get 400 with a readable message and are not probed."""
    prober = StaticProber()
    worker = await start_worker(prober)
    response = await post(http, worker, content)
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["message"]) == ("invalid", message)
    assert prober.calls == []


async def test_refused_target_gets_422_with_category(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """The worker applies its own policy whatever the caller checked: a LAN address is refused."""
    prober = StaticProber()
    worker = await start_worker(prober)
    response = await post(http, worker, body(target="0xc0.0xa8.1.20"))
    assert response.status_code == 422
    data = response.json()
    assert (data["error"], data["category"], data["address"]) == ("refused", "private", "192.168.1.20")
    assert data["message"].startswith("192.168.1.20 is a LAN (private) address")
    assert "router's status page" in data["hint"]
    assert prober.calls == []


async def test_rate_limited_gets_429_with_retry_after(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Past the per-user limit the worker answers 429 with the scope and a Retry-After header."""
    worker = await start_worker(StaticProber(), rate_limits=RateLimits(per_user="1/minute"))
    requester = {"platform": "discord", "user_id": "42", "guild_id": "g", "channel_id": "c"}
    assert (await post(http, worker, body(requester=requester))).status_code == 200
    response = await post(http, worker, body(requester=requester))
    assert response.status_code == 429
    assert response.json()["scope"] == "user"
    assert 1 <= int(response.headers["Retry-After"]) <= 60


async def test_a_caller_that_charged_the_requester_is_charged_only_the_target(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A signed request saying its service already charged the user (as probes/client.py's do) is not charged
    to that user again here, so one check through N workers on shared counters costs the user one; the target's
    limit still applies."""
    worker = await start_worker(
        StaticProber(), rate_limits=RateLimits(per_user="1/minute", per_target="2/minute")
    )
    requester = {"platform": "discord", "user_id": "42", "guild_id": "g", "channel_id": "c"}
    statuses = [
        (await post(http, worker, body(requester=requester, requester_charged=True))).status_code
        for _ in range(3)
    ]
    assert statuses == [200, 200, 429]
    third = await post(http, worker, body(requester=requester, requester_charged=True))
    assert third.json()["scope"] == "target"


@pytest.mark.parametrize("value", ["yes", 1, None, []])
async def test_requester_charged_must_be_true_or_false(
    start_worker: StartWorker, http: httpx.AsyncClient, value: object
) -> None:
    """Anything but a JSON boolean in ``requester_charged`` is a 400, before anything is probed or charged."""
    prober = StaticProber()
    worker = await start_worker(prober)
    response = await post(http, worker, body(requester_charged=value))
    assert (response.status_code, response.json()["message"]) == (
        400,
        "`requester_charged` must be true or false.",
    )
    assert prober.calls == []


async def test_over_capacity_gets_503_at_once(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """With every slot busy, a new request is turned away immediately instead of queueing."""
    prober = BlockingProber()
    worker = await start_worker(prober, max_concurrency=1)
    first = asyncio.create_task(post(http, worker, body()))
    await prober.entered.wait()
    second = await post(http, worker, body())
    assert (second.status_code, second.json()["error"]) == (503, "overloaded")
    prober.release.set()
    assert (await first).status_code == 200


async def test_deadline_stops_a_slow_probe_with_504(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A probe running past the request deadline is cancelled and answered with 504."""
    prober = BlockingProber()  # never released
    worker = await start_worker(prober, request_deadline=0.2)
    response = await post(http, worker, body())
    assert (response.status_code, response.json()["error"]) == (504, "deadline")
    health = await http.get(f"{worker.url}/healthz")
    assert health.json()["in_flight"] == 0


async def test_healthz_reports_region_and_load(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """/healthz needs no signature and says who and how busy the worker is."""
    worker = await start_worker(StaticProber(), max_concurrency=7)
    response = await http.get(f"{worker.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "region": "Frankfurt", "in_flight": 0, "max_concurrency": 7}


async def test_metrics_count_outcomes_verdicts_and_latency(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """/metrics exposes requests by outcome, verdict counts, the latency histogram and the in-flight gauge."""
    worker = await start_worker(StaticProber(State.FILTERED))
    await post(http, worker, body(ports=[80, 81]))
    await post(http, worker, body(target="10.0.0.1"))
    await post(http, worker, body(), headers={})
    response = await http.get(f"{worker.url}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    lines = set(response.text.splitlines())
    for expected in (
        'portbot_worker_requests_total{outcome="ok"} 1.0',
        'portbot_worker_requests_total{outcome="refused"} 1.0',
        'portbot_worker_requests_total{outcome="unauthorized"} 1.0',
        'portbot_worker_requests_total{outcome="overloaded"} 0.0',
        'portbot_worker_verdicts_total{protocol="tcp",state="filtered"} 2.0',
        "portbot_worker_probe_seconds_count 1.0",
        "portbot_worker_in_flight 0.0",
    ):
        assert expected in lines


async def test_metrics_show_a_probe_in_flight(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """While a probe runs, the in-flight gauge counts it; once answered it is back to zero."""
    prober = BlockingProber()
    worker = await start_worker(prober)
    running = asyncio.create_task(post(http, worker, body()))
    await prober.entered.wait()
    assert "portbot_worker_in_flight 1.0" in (await http.get(f"{worker.url}/metrics")).text.splitlines()
    prober.release.set()
    assert (await running).status_code == 200
    assert "portbot_worker_in_flight 0.0" in (await http.get(f"{worker.url}/metrics")).text.splitlines()


async def test_requests_are_audited_with_the_forwarded_requester(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """The worker writes its own audit rows, naming the user the bot forwarded."""
    from probes.audit import AuditLog

    worker = await start_worker(StaticProber())
    requester = {"platform": "slack", "user_id": "U1", "guild_id": "T1", "channel_id": "C1"}
    await post(http, worker, body(requester=requester))
    await post(http, worker, body(target="127.0.0.1", requester=requester))
    await worker.stop()  # flushes the audit log
    log = AuditLog()
    rows = await log.recent()
    await log.close()
    assert [(r.platform, r.user_id, r.guild_id, r.outcome, r.category, r.vantage) for r in rows] == [
        ("slack", "U1", "T1", "refused", "loopback", "Frankfurt"),
        ("slack", "U1", "T1", "probed", None, "Frankfurt"),
    ]


async def test_graceful_shutdown_finishes_the_in_flight_probe(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Stopping the worker waits for a running probe, answers it, then stops listening."""
    prober = BlockingProber()
    worker = await start_worker(prober, shutdown_grace=30)
    in_flight = asyncio.create_task(post(http, worker, body()))
    await prober.entered.wait()
    stopping = asyncio.create_task(worker.stop())
    await asyncio.sleep(0.05)  # give stop() time to close the listener; the probe must still be waited for
    assert not stopping.done()
    prober.release.set()
    response = await in_flight
    await stopping
    assert response.status_code == 200
    assert prober.finished == 1
    with pytest.raises(httpx.ConnectError):
        await http.get(f"{worker.url}/healthz")


async def test_shutdown_grace_period_is_bounded(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A probe that outlives the grace period is cut off rather than holding shutdown forever."""
    prober = BlockingProber()  # never released
    worker = await start_worker(prober, shutdown_grace=0.2)
    in_flight = asyncio.create_task(post(http, worker, body()))
    await prober.entered.wait()
    await asyncio.wait_for(worker.stop(), timeout=10)
    with pytest.raises(httpx.HTTPError):
        await in_flight
    assert prober.finished == 0


def test_report_json_matches_to_dict() -> None:
    """The worker's hand-written report JSON is exactly ProbeReport.to_dict(), service details included."""
    from probes.models import PortResult, ProbeReport, ServiceInfo
    from probes.worker import _report_json

    service = ServiceInfo("minecraft", "Minecraft 1.21.4, 3/20 players", {"players": 3, "version": "1.21.4"})
    report = ProbeReport(
        target="mc.example.org",
        host="mc.example.org",
        vantage="Frankfurt",
        results=(
            PortResult("198.51.100.7", 25565, "tcp", State.OPEN, "syn-ack", 12.5, service),
            PortResult("198.51.100.7", 19132, "udp", State.OPEN_FILTERED, "no-reply"),
        ),
        error=None,
    )
    assert json.loads(json.dumps(_report_json(report))) == json.loads(json.dumps(report.to_dict()))
    assert ProbeReport.from_dict(_report_json(report)) == report


SIGTERM_SCRIPT = """
import asyncio, sys
from probes.policy import SafetyPolicy
from probes.worker import WorkerConfig, serve
from tests.probes._probers import StaticProber

class SlowProber(StaticProber):
    async def probe(self, request, *, vantage="here", local=True, admit=None):
        await asyncio.sleep(1.0)
        return await super().probe(request, vantage=vantage, local=local, admit=admit)

config = WorkerConfig(secret=sys.argv[1], port=0, region="Frankfurt", audit=False,
                      policy=SafetyPolicy.from_strings(allow=["198.51.100.0/24"]))
asyncio.run(serve(config, SlowProber()))
"""


async def test_sigterm_lets_the_in_flight_probe_finish(http: httpx.AsyncClient) -> None:
    """`serve` turns SIGTERM into a graceful stop: the running probe is answered and the process exits 0."""
    import os
    import signal
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        SIGTERM_SCRIPT,
        SECRET,
        cwd=root,
        env={**os.environ, "PYTHONPATH": str(root)},
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await proc.stdout.readline()).decode()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        in_flight = asyncio.create_task(
            http.post(f"{url}/v1/probe", content=(b := body()), headers=sign(SECRET, b))
        )
        while (await http.get(f"{url}/healthz")).json()["in_flight"] == 0:
            await asyncio.sleep(0.01)
        proc.send_signal(signal.SIGTERM)
        response = await in_flight
        assert response.status_code == 200
        assert await asyncio.wait_for(proc.wait(), timeout=20) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
