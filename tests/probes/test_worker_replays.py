"""What workers share through Redis: the replay guard (shared by every worker, surviving restarts; in memory it
is not), and rate-limit counters a bot and its workers charge once per check."""

from __future__ import annotations

import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.auth import RedisReplayGuard, Signed, sign
from probes.client import WorkerClient
from probes.errors import RateLimited
from probes.models import ProbeRequest, Requester
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.service import ProbeService
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._probers import StaticProber
from tests.probes._redis import redis_server
from tests.probes.test_worker import DOCS, SECRET, body

StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with redis_server(tmp_path) as server:
        yield server


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """Starts workers on loopback port 0; stops those still running after the test."""
    running: list[RunningWorker] = []

    async def _start(**options: Any) -> RunningWorker:
        config = WorkerConfig(secret=SECRET, port=0, region="Frankfurt", policy=DOCS, audit=False, **options)
        worker = await start(config, StaticProber())
        running.append(worker)
        return worker

    yield _start
    for worker in running:
        await worker.stop()


async def send(
    http: httpx.AsyncClient, worker: RunningWorker, content: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await http.post(f"{worker.url}/v1/probe", content=content, headers=headers)


async def test_a_replay_to_another_worker_on_the_same_redis_is_refused(
    start_worker: StartWorker, http: httpx.AsyncClient, redis: tuple[str, Any]
) -> None:
    """A request answered by one worker is refused as a replay by a second one sharing its Redis."""
    first = await start_worker(redis_url=redis[0])
    second = await start_worker(redis_url=redis[0])
    content = body()
    headers = sign(SECRET, content)
    assert (await send(http, first, content, headers)).status_code == 200
    replay = await send(http, second, content, headers)
    assert (replay.status_code, replay.json()["reason"]) == (401, "replayed")


async def test_a_replay_after_a_restart_is_refused_with_redis(
    start_worker: StartWorker, http: httpx.AsyncClient, redis: tuple[str, Any]
) -> None:
    """A worker restarted on the same Redis still refuses a request its previous run answered."""
    worker = await start_worker(redis_url=redis[0])
    content = body()
    headers = sign(SECRET, content)
    assert (await send(http, worker, content, headers)).status_code == 200
    await worker.stop()
    restarted = await start_worker(redis_url=redis[0])
    replay = await send(http, restarted, content, headers)
    assert (replay.status_code, replay.json()["reason"]) == (401, "replayed")


async def test_without_redis_a_restart_forgets_what_it_saw(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """In memory, a restart reopens replays of requests signed in the five minutes before it (README)."""
    worker = await start_worker()
    content = body()
    headers = sign(SECRET, content)
    assert (await send(http, worker, content, headers)).status_code == 200
    assert (await send(http, worker, content, headers)).status_code == 401
    await worker.stop()
    restarted = await start_worker()
    assert (await send(http, restarted, content, headers)).status_code == 200


async def test_redis_remembers_a_signature_until_it_goes_stale(redis: tuple[str, Any]) -> None:
    """The key expires when the signature's freshness window ends (timestamp + 300 s), not before."""
    from redis.asyncio import Redis

    guard = RedisReplayGuard(redis[0])
    client = Redis.from_url(redis[0])
    try:
        now = time.time()
        await guard.remember(Signed("v1=" + "ab" * 32, int(now) - 100), now)
        ttl = await client.ttl("portbot:replay:" + "ab" * 32)
    finally:
        await guard.aclose()
        await client.aclose()
    assert 195 <= ttl <= 202


async def test_unreachable_redis_refuses_requests_with_503(
    start_worker: StartWorker, http: httpx.AsyncClient, redis: tuple[str, subprocess.Popen[bytes]]
) -> None:
    """If Redis stops answering, requests are refused (503, fail closed) rather than let through unchecked."""
    url, proc = redis
    worker = await start_worker(redis_url=url)
    proc.terminate()
    proc.wait(timeout=10)
    content = body()
    response = await send(http, worker, content, sign(SECRET, content))
    assert response.status_code == 503
    assert response.json() == {
        "error": "unavailable",
        "message": "This worker can't check requests right now; try another.",
        "retry_after": 1,
    }


async def test_one_check_through_two_workers_costs_its_user_one(
    start_worker: StartWorker, http: httpx.AsyncClient, redis: tuple[str, Any]
) -> None:
    """A bot's service and two workers on one Redis, 2 checks a minute per user: the user gets both checks
    (each charged once, by the bot) and the third is refused by the bot. Counted again by every worker, the
    first check alone would have used three."""
    limits = RateLimits(per_user="2/minute")
    workers = [await start_worker(redis_url=redis[0], rate_limits=limits) for _ in range(2)]
    limiter = ProbeRateLimiter(limits, storage_url=redis[0])
    client = WorkerClient([w.url for w in workers], SECRET, http, attempts=1)
    service = ProbeService(limiter=limiter, source=client, policy=DOCS)
    user = Requester(platform="discord", user_id="42", guild_id="g")
    try:
        for _ in range(2):
            reports = await service.run_all(ProbeRequest(target="198.51.100.7", ports=(25565,)), user)
            assert [r.error for r in reports] == [None, None]
        with pytest.raises(RateLimited) as refused:
            await service.run_all(ProbeRequest(target="198.51.100.7", ports=(25565,)), user)
    finally:
        await limiter.aclose()
    assert refused.value.scope == "user"
