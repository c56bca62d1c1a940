"""A real worker with the real engine on loopback, and listeners to probe, for the one-time link tests."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from probes.engine import EngineConfig, ProbeEngine
from probes.policy import SafetyPolicy
from probes.worker import RunningWorker, WorkerConfig, start

SECRET = "s3cret-for-link-tests"
# Loopback is allowed for these tests through the allow-list, as in the other end-to-end tests.
LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])
FAST = EngineConfig(timeout=1.0, identify=False, icmp_rtt=False, ttl_rtt=False, rtt_memory=False)

StartWorker = Callable[..., Awaitable[RunningWorker]]


@pytest.fixture
async def start_worker() -> AsyncIterator[StartWorker]:
    """Starts workers with the real engine on loopback port 0 and stops them after the test."""
    running: list[RunningWorker] = []

    async def _start(**options: Any) -> RunningWorker:
        options.setdefault("policy", LOOPBACK)
        options.setdefault("host", "127.0.0.1")
        config = WorkerConfig(secret=SECRET, port=0, region="Frankfurt", audit=False, engine=FAST, **options)
        worker = await start(config, ProbeEngine(config.policy, FAST))
        running.append(worker)
        return worker

    yield _start
    for worker in running:
        await worker.stop()


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1 that accepts and closes; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


def free_port() -> int:
    """A port nothing listens on (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
