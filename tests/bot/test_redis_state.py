"""What PORTBOT_REDIS_URL moves into Redis, through the same wiring the commands use (bot/app.py): rate-limit
counters (bots and workers), the worker's replay guard, and one-time link tokens. Each test looks in Redis
itself for the keys, so a path that quietly stayed in memory fails."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_probe_backend, worker_config
from bot.settings import Settings
from probes.errors import RateLimited
from probes.models import ProbeRequest, Requester
from tests.probes._redis import redis_server

SECRET = "s" * 40
ALICE = Requester("discord", "alice", "g1", "c1")


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as (url, _):
        yield url


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[Any]:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url)
    yield client
    await client.aclose()


@pytest.fixture
def listener() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield int(sock.getsockname()[1])


def settings_with(monkeypatch: pytest.MonkeyPatch, redis_url: str, **more: str) -> Settings:
    monkeypatch.setenv("PORTBOT_REDIS_URL", redis_url)
    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
    for name, value in more.items():
        monkeypatch.setenv(name, value)
    return Settings.load(env_file=None)


async def keys(client: Any, pattern: str) -> list[str]:
    return sorted(key.decode() for key in await client.keys(pattern))


async def test_two_bot_processes_share_rate_limits_in_redis(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: Any, listener: int
) -> None:
    """Two bots' probe backends built from the settings count one user's checks together, in Redis's keys."""
    settings = settings_with(monkeypatch, redis_url, PORTBOT_LIMIT_USER="1/minute")
    first, second = build_probe_backend(settings), build_probe_backend(settings)
    try:
        await first.probe(ProbeRequest("127.0.0.1", (listener,), "tcp"), ALICE)
        assert await keys(redis_client, "LIMITS*")  # the counters are in Redis, not in either process
        with pytest.raises(RateLimited):
            await second.probe(ProbeRequest("127.0.0.1", (listener,), "tcp"), ALICE)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_worker_keeps_limits_replays_and_link_tokens_in_redis(
    monkeypatch: pytest.MonkeyPatch, redis_url: str, redis_client: Any, listener: int
) -> None:
    """`portbot worker`'s configuration from the settings: a signed probe leaves a rate-limit counter and a
    replay record in Redis, and a one-time link lives there too."""
    from probes.client import WorkerClient
    from probes.worker import start

    settings = settings_with(monkeypatch, redis_url, PORTBOT_WORKER_SECRET=SECRET)
    config = worker_config(settings, host="127.0.0.1", port=0)
    assert config.redis_url == redis_url
    worker = await start(config)
    client = WorkerClient([worker.url], SECRET)
    try:
        await client.probe(ProbeRequest("127.0.0.1", (listener,), "tcp"), requester=ALICE)
        link = await client.create_link([listener], "tcp", ALICE)
    finally:
        await client.aclose()
        await worker.stop()
    assert await keys(redis_client, "LIMITS*")
    assert len(await keys(redis_client, "portbot:replay:*")) == 2  # the probe's and the link's signatures
    assert any(link.id in key for key in await keys(redis_client, "portbot:link:*"))
