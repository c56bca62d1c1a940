"""The real probe worker on loopback, serving one-time links, and the bot wired to it as in production
(``PORTBOT_WORKERS`` → :func:`bot.app.build_probe_backend`), for the chat self-check tests.

The link page probes the visitor's TCP source: 127.0.0.1 here, allowed for these tests only (as in
tests/probes/_links.py). Everything stays on loopback.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bot.app import ServiceBackend, build_probe_backend
from bot.settings import Settings
from probes.engine import ProbeEngine
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._links import FAST, LOOPBACK, SECRET


@contextlib.asynccontextmanager
async def worker_backend(
    monkeypatch: pytest.MonkeyPatch, data_dir: Path, **options: Any
) -> AsyncIterator[tuple[RunningWorker, ServiceBackend]]:
    """A worker on 127.0.0.1:0 with the real engine, and the bot's probe backend built from settings naming it."""
    config = WorkerConfig(
        secret=SECRET,
        host="127.0.0.1",
        port=0,
        region="Frankfurt",
        audit=False,
        engine=FAST,
        policy=LOOPBACK,
        **options,
    )
    worker = await start(config, ProbeEngine(config.policy, FAST))
    monkeypatch.setenv("PORTBOT_WORKERS", worker.url)
    monkeypatch.setenv("PORTBOT_WORKER_SECRET", SECRET)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(data_dir))
    backend = build_probe_backend(Settings.load(env_file=None))
    try:
        yield worker, backend
    finally:
        await backend.aclose()
        await worker.stop()


async def visit(url: str) -> httpx.Response:
    """Open ``url`` as the member's browser would: a real HTTP GET from 127.0.0.1."""
    async with httpx.AsyncClient() as client:
        return await client.get(url)


@contextlib.asynccontextmanager
async def game_server() -> AsyncIterator[int]:
    """A TCP server on an ephemeral loopback port, "the member's game server"; yields its port."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    async with server:
        yield server.sockets[0].getsockname()[1]
