"""Fixtures for the Slack adapter: the fake Slack, settings aimed at it, and a helper that sends signed requests
through Bolt's own dispatch and waits for the lazy listeners to finish."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.core.commands import Portbot
from bot.settings import Settings
from bot.slack import build_app, lazy_runner
from bot.store import store_for
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.slack.portbots import ScriptedBackend, real_portbot


@pytest.fixture
async def fake_slack() -> AsyncIterator[FakeSlack]:
    fake = await FakeSlack().start()
    try:
        yield fake
    finally:
        await fake.close()


@pytest.fixture
def slack_env(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> None:
    """A single-workspace HTTP app's settings, Web API aimed at the fake."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", payloads.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)


@pytest.fixture
def settings(slack_env: None) -> Settings:
    return Settings.load(env_file=None)


@pytest.fixture
def backend() -> ScriptedBackend:
    return ScriptedBackend()


@pytest.fixture
def portbot(backend: ScriptedBackend) -> Portbot:
    """The real command core and knowledge base; only the probe backend is scripted."""
    return real_portbot(backend)


@pytest.fixture
async def app(settings: Settings, portbot: Portbot) -> AsyncIterator[AsyncApp]:
    """The app as run() builds it: answers travel on one shared HTTP session; its store is closed after (its
    pooled connections would otherwise be left to the garbage collector)."""
    database = store_for(settings)
    try:
        async with aiohttp.ClientSession() as session:
            app = build_app(settings, portbot, http=True, session=session, database=database)
            yield app
            await lazy_runner(app).drain()
    finally:
        await database.close()


@dataclass
class Slack:
    """Sends Slack's requests into the app and waits for everything they started."""

    app: AsyncApp
    fake: FakeSlack

    async def send(self, body: str, *, content_type: str = payloads.FORM) -> BoltResponse:
        headers = payloads.signature_headers(body, content_type=content_type)
        request = AsyncBoltRequest(body=body, headers={k: [v] for k, v in headers.items()})
        response = await self.app.async_dispatch(request)
        await lazy_runner(self.app).drain()
        return response

    async def command(self, text: str, hook: str = "cmd") -> BoltResponse:
        return await self.send(payloads.command(text, self.fake.response_url(hook)))

    async def press(self, action_id: str, value: str, hook: str = "press", **kwargs: object) -> BoltResponse:
        body = payloads.block_action(action_id, value, self.fake.response_url(hook), **kwargs)  # type: ignore[arg-type]
        return await self.send(body)

    async def event(self, body: str) -> BoltResponse:
        return await self.send(body, content_type=payloads.JSON)


@pytest.fixture
def slack(app: AsyncApp, fake_slack: FakeSlack) -> Slack:
    return Slack(app, fake_slack)
