"""The worker client against real local workers: fan-out, retries, error mapping, and the local prober."""

from __future__ import annotations

import re
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest

from probes.auth import verify
from probes.client import LocalProber, WorkerClient, WorkerEndpoint, parse_workers
from probes.errors import InputError, RateLimited, RefusedTarget, WorkerError
from probes.models import ProbeRequest, Requester
from probes.policy import SafetyPolicy
from probes.ratelimit import RateLimits
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._probers import BlockingProber, StaticProber

SECRET = "shared-secret-for-client-tests"
DOCS = SafetyPolicy.from_strings(allow=["198.51.100.0/24"])
REQUEST = ProbeRequest("198.51.100.7", (25565,))

StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    running: list[RunningWorker] = []

    async def _start(region: str, prober: Any = None, **options: Any) -> RunningWorker:
        options.setdefault("policy", DOCS)
        options.setdefault("secret", SECRET)
        config = WorkerConfig(host="127.0.0.1", port=0, region=region, **options)
        worker = await start(config, prober or StaticProber())
        running.append(worker)
        return worker

    yield _start
    for worker in running:
        await worker.stop()


def closed_port_url() -> str:
    """A loopback URL nobody listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


async def outcome_count(http: httpx.AsyncClient, worker: RunningWorker, outcome: str) -> float:
    """How many requests the worker itself counted with ``outcome`` (read from its /metrics)."""
    text = (await http.get(f"{worker.url}/metrics")).text
    match = re.search(rf'^portbot_worker_requests_total{{outcome="{outcome}"}} (\S+)$', text, re.M)
    assert match is not None
    return float(match.group(1))


def client(urls: list[str], http: httpx.AsyncClient, secret: str = SECRET, **options: Any) -> WorkerClient:
    options.setdefault("backoff", 0.01)
    return WorkerClient(urls, secret, http, **options)


async def test_fans_out_to_every_worker(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """Each configured worker answers from its own region, in configured order."""
    fra = await start_worker("Frankfurt", StaticProber())
    sgp = await start_worker("Singapore", StaticProber())
    reports = await client([fra.url, sgp.url], http).probe(REQUEST)
    assert [(r.vantage, r.local, r.error) for r in reports] == [
        ("Frankfurt", False, None),
        ("Singapore", False, None),
    ]
    assert [r.results[0].port for r in reports] == [25565, 25565]


async def test_down_worker_is_retried_then_reported(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A worker that can't be reached becomes a report with an error; the others still count."""
    fra = await start_worker("Frankfurt")
    down = closed_port_url()
    reports = await client([fra.url, f"Singapore={down}"], http).probe(REQUEST)
    assert reports[0].error is None
    assert (reports[1].vantage, reports[1].results) == ("Singapore", ())
    assert reports[1].error == "Singapore could not be reached (connection failed)."


async def test_5xx_is_retried_with_backoff(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """An overloaded worker (503) is asked again, up to the attempt limit."""
    fra = await start_worker("Frankfurt")
    busy = await start_worker("Busy", max_concurrency=0)
    reports = await client([fra.url, busy.url], http, attempts=3).probe(REQUEST)
    assert await outcome_count(http, busy, "overloaded") == 3
    assert reports[1].error is not None and "This worker is busy" in reports[1].error


async def test_timeout_is_retried(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A worker that doesn't answer in time is retried, then reported as too slow."""
    fra = await start_worker("Frankfurt")
    slow_prober = BlockingProber()
    slow = await start_worker("Slow", slow_prober)
    async with httpx.AsyncClient(timeout=0.3) as impatient:
        reports = await WorkerClient([fra.url, slow.url], SECRET, impatient, attempts=2, backoff=0.01).probe(
            REQUEST
        )
    assert slow_prober.started == 2
    assert reports[1].error == f"{slow.url.removeprefix('http://')} did not answer in time."
    slow_prober.release.set()


async def test_refusal_is_not_retried_and_raised(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A 422 refusal comes back as RefusedTarget with its category, after exactly one request per worker."""
    fra = await start_worker("Frankfurt")
    sgp = await start_worker("Singapore")
    with pytest.raises(RefusedTarget) as info:
        await client([fra.url, sgp.url], http).probe(ProbeRequest("10.1.2.3", (22,)))
    assert (info.value.category, info.value.address) == ("private", "10.1.2.3")
    assert info.value.message.startswith("10.1.2.3 is a LAN (private) address")
    assert [await outcome_count(http, w, "refused") for w in (fra, sgp)] == [1, 1]


async def test_wrong_secret_is_a_clear_worker_error(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A 401 says to check PORTBOT_WORKER_SECRET and is not retried."""
    fra = await start_worker("Frankfurt")
    with pytest.raises(WorkerError) as info:
        await client([f"Frankfurt={fra.url}"], http, secret="wrong").probe(REQUEST)
    assert info.value.message == (
        "Frankfurt rejected our signature: check PORTBOT_WORKER_SECRET (it must be the same on the bot and "
        "every worker)."
    )
    assert await outcome_count(http, fra, "unauthorized") == 1


async def test_rate_limit_is_raised_not_retried(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A 429 becomes RateLimited with the worker's scope and retry time."""
    fra = await start_worker("Frankfurt", rate_limits=RateLimits(per_target="1/minute"))
    workers = client([fra.url], http)
    await workers.probe(REQUEST)
    with pytest.raises(RateLimited) as info:
        await workers.probe(REQUEST)
    assert info.value.scope == "target"
    assert 1 <= info.value.retry_after <= 60
    assert await outcome_count(http, fra, "rate_limited") == 1


async def test_bad_input_is_raised_not_retried(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A 400 becomes InputError with the worker's message."""
    fra = await start_worker("Frankfurt")
    with pytest.raises(InputError, match=r"^I check at most 5 ports at a time, and never scan ranges\.$"):
        await client([fra.url], http).probe(ProbeRequest("198.51.100.7", (1, 2, 3, 4, 5, 6)))
    assert await outcome_count(http, fra, "invalid") == 1


async def test_all_workers_down_is_a_worker_error(http: httpx.AsyncClient) -> None:
    """When no worker answers at all, one WorkerError names each failure."""
    first, second = closed_port_url(), closed_port_url()
    with pytest.raises(WorkerError) as info:
        await client([f"Frankfurt={first}", f"Singapore={second}"], http, attempts=2).probe(REQUEST)
    assert info.value.message == (
        "No probe worker could run the check (Frankfurt: Frankfurt could not be reached (connection failed).; "
        "Singapore: Singapore could not be reached (connection failed).)."
    )


async def test_requester_is_forwarded_to_the_workers_audit(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """The worker audits the chat user the bot forwards."""
    from probes.audit import AuditLog

    fra = await start_worker("Frankfurt")
    await client([fra.url], http).probe(REQUEST, requester=Requester("discord", "42", "g1", "c1"))
    await fra.stop()
    log = AuditLog()
    [row] = await log.recent()
    await log.close()
    assert (row.platform, row.user_id, row.guild_id, row.channel_id, row.vantage) == (
        "discord",
        "42",
        "g1",
        "c1",
        "Frankfurt",
    )


async def test_transport_is_injectable_and_requests_are_signed() -> None:
    """Any httpx transport can stand in for the network; every request carries a valid signature."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        verify(SECRET, request.headers, request.content)
        return httpx.Response(
            200, json={"target": "198.51.100.7", "host": "198.51.100.7", "vantage": "Lab", "results": []}
        )

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as mocked:
        reports = await WorkerClient(["https://lab.example.net/"], SECRET, mocked).probe(REQUEST)
    assert [r.vantage for r in reports] == ["Lab"]
    assert str(seen[0].url) == "https://lab.example.net/v1/probe"


def test_parse_workers_reads_names_and_urls() -> None:
    """PORTBOT_WORKERS takes plain or named URLs, comma-separated."""
    assert parse_workers("Frankfurt=https://fra.example.net/, http://10.0.0.5:8471") == (
        WorkerEndpoint("https://fra.example.net", "Frankfurt"),
        WorkerEndpoint("http://10.0.0.5:8471", "10.0.0.5:8471"),
    )


@pytest.mark.parametrize("value", ["fra.example.net", "ftp://x", "Frankfurt=", "https://"])
def test_parse_workers_rejects_non_urls(value: str) -> None:
    """Something that isn't an http(s) URL is one clear error naming PORTBOT_WORKERS."""
    with pytest.raises(ValueError, match=r"^PORTBOT_WORKERS: .* is not a worker URL"):
        parse_workers(value)


async def test_local_prober_reports_from_the_bots_own_network() -> None:
    """Without workers, the in-process engine probes and marks the report as local."""
    [report] = await LocalProber(StaticProber()).probe(REQUEST)
    assert (report.vantage, report.local) == ("this bot's own network", True)
