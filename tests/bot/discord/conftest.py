"""Fixtures: a fake Discord on loopback and the real bot (``bot.discord.run``) connected to it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from bot.core.commands import Portbot
from bot.discord import run
from bot.settings import Settings
from knowledge import KnowledgeBase
from tests.bot.discord.doubles import RecordingBackend
from tests.bot.discord.fake_discord import FakeDiscord


@pytest.fixture
async def fake_discord() -> AsyncIterator[FakeDiscord]:
    fake = FakeDiscord()
    await fake.start()
    yield fake
    await fake.close()


@pytest.fixture(scope="session")
def knowledge_base() -> KnowledgeBase:
    """The real knowledge base, loaded once: lookups are read-only."""
    return KnowledgeBase.load()


@pytest.fixture
def backend() -> RecordingBackend:
    return RecordingBackend()


@pytest.fixture
def portbot(knowledge_base: KnowledgeBase, backend: RecordingBackend) -> Portbot:
    return Portbot(knowledge=knowledge_base, probes=backend)


@dataclass
class RunningBot:
    fake: FakeDiscord
    portbot: Portbot
    data_dir: Path
    task: asyncio.Task[None]

    @property
    def backend(self) -> RecordingBackend:
        backend = self.portbot.probes
        assert isinstance(backend, RecordingBackend)
        return backend

    @property
    def db(self) -> Path:
        """The store's default SQLite file, which the bot uses when no PORTBOT_DATABASE_URL is set."""
        return self.data_dir / "portbot.sqlite3"


@contextlib.asynccontextmanager
async def running(
    fake: FakeDiscord,
    portbot: Portbot,
    monkeypatch: pytest.MonkeyPatch,
    data_dir: Path,
    *,
    gateway: bool = False,
) -> AsyncIterator[RunningBot]:
    """``run()`` as the CLI calls it, pointed at ``fake``; stopped (cancelled) and awaited on exit."""
    monkeypatch.setenv("DISCORD_TOKEN", "fake-token")
    monkeypatch.setenv("DISCORD_API_BASE", fake.api_base)
    if gateway:
        monkeypatch.setenv("DISCORD_GATEWAY_URL", fake.gateway_url)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(data_dir))
    settings = Settings.load(env_file=None)
    task = asyncio.create_task(run(settings, portbot))
    identified = asyncio.create_task(fake.wait_identified())
    done, _ = await asyncio.wait({task, identified}, return_when=asyncio.FIRST_COMPLETED)
    if task in done:  # run() ended before connecting: surface its error
        identified.cancel()
        await asyncio.gather(identified, return_exceptions=True)
        task.result()
        raise AssertionError("run() returned before connecting")
    try:
        yield RunningBot(fake, portbot, data_dir, task)
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as running_bot:
        yield running_bot
