"""Reachability checks from Slack with everything real: the app wiring (``bot.app.build_portbot``), the probe
service (policy, rate limits, audit) and engine, probing TCP servers this test runs on loopback. Loopback is
allow-listed with PORTBOT_ALLOW_NETWORKS, as an operator would for a lab."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp

from bot.app import ServiceBackend, build_portbot
from bot.core.commands import Portbot
from bot.settings import Settings
from bot.slack import build_app, lazy_runner
from bot.slack.modals import CheckContext
from bot.slack.render import ACTION_SHARE
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import TEAM_ID, FakeSlack


@pytest.fixture
def live_settings(slack_env: None, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("PORTBOT_LIMIT_USER", "3/minute")
    return Settings.load(env_file=None)


@pytest.fixture
async def live_portbot(live_settings: Settings) -> AsyncIterator[Portbot]:
    portbot = build_portbot(live_settings)
    yield portbot
    if isinstance(portbot.probes, ServiceBackend):
        await portbot.probes.aclose()  # flushes the audit log


@pytest.fixture
async def live_app(live_settings: Settings, live_portbot: Portbot) -> AsyncIterator[AsyncApp]:
    async with aiohttp.ClientSession() as session:
        app = build_app(live_settings, live_portbot, http=True, session=session)
        yield app
        await lazy_runner(app).drain()


@pytest.fixture
def live(live_app: AsyncApp, fake_slack: FakeSlack) -> Slack:
    return Slack(live_app, fake_slack)


def header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def share_token(message: dict[str, Any]) -> str:
    (share,) = [
        e
        for b in message["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == ACTION_SHARE
    ]
    return str(share["value"])


async def test_open_port_is_reported_reachable_to_the_asker(
    live: Slack, fake_slack: FakeSlack, listening: int
) -> None:
    """/port check 127.0.0.1 <port> with a server listening: a green, private verdict."""
    await live.command(f"check 127.0.0.1 {listening}")
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert header(posted.body) == ":large_green_circle: Port check: 127.0.0.1"
    assert f"*{listening}/tcp*: reachable" in json.dumps(posted.body)


async def test_closed_port_is_reported_closed(live: Slack, fake_slack: FakeSlack, closed_port: int) -> None:
    """Nothing listening: the verdict says so, in yellow."""
    await live.command(f"check 127.0.0.1 {closed_port}")
    (posted,) = fake_slack.posted_to("cmd")
    assert header(posted.body) == ":large_yellow_circle: Port check: 127.0.0.1"
    assert f"*{closed_port}/tcp*: closed: nothing is listening" in posted.body["blocks"][1]["text"]["text"]


async def test_shared_live_result_masks_the_address(
    live: Slack, fake_slack: FakeSlack, listening: int
) -> None:
    """Share posts the real verdict for the channel with the address masked."""
    await live.command(f"check 127.0.0.1 {listening}")
    await live.press(ACTION_SHARE, share_token(fake_slack.posted_to("cmd")[0].body), ephemeral=True)
    (shared,) = fake_slack.posted_to("press")
    text = json.dumps(shared.body, ensure_ascii=False)
    assert shared.body["response_type"] == "in_channel"
    assert "127.0.0.1" not in text
    assert header(shared.body) == ":large_green_circle: Port check: 127.0.x.x"


async def test_modal_check_probes_the_port_from_the_button(
    live: Slack, fake_slack: FakeSlack, listening: int
) -> None:
    """The Check modal's submission runs the real probe on the button's port and answers ephemerally."""
    metadata = CheckContext(port=listening, protocol="tcp", channel_id=payloads.CHANNEL).to_metadata()
    await live.send(payloads.view_submission(metadata, "127.0.0.1"))
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert call.args["user"] == payloads.USER
    assert header(call.args) == ":large_green_circle: Port check: 127.0.0.1"


async def test_private_network_outside_the_allow_list_is_refused(live: Slack, fake_slack: FakeSlack) -> None:
    """The real safety policy refuses a LAN address, and the asker alone is told why."""
    await live.command("check 10.1.2.3 25565")
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert header(posted.body) == ":warning: I won't check that address"


async def test_rate_limit_per_user_is_explained(live: Slack, fake_slack: FakeSlack, closed_port: int) -> None:
    """The fourth check in a minute (PORTBOT_LIMIT_USER=3/minute) is refused with a plain explanation."""
    for index in range(4):
        await live.command(f"check 127.0.0.1 {closed_port}", hook=f"n{index}")
    assert [header(fake_slack.posted_to(f"n{i}")[0].body) for i in range(4)] == [
        ":large_yellow_circle: Port check: 127.0.0.1",
        ":large_yellow_circle: Port check: 127.0.0.1",
        ":large_yellow_circle: Port check: 127.0.0.1",
        ":warning: Too many checks",
    ]


async def test_checks_are_audited_with_the_slack_requester(
    live: Slack, live_portbot: Portbot, live_settings: Settings, listening: int
) -> None:
    """The audit log names the Slack user, workspace and channel behind each check."""
    await live.command(f"check 127.0.0.1 {listening}")
    assert isinstance(live_portbot.probes, ServiceBackend)
    await live_portbot.probes.aclose()
    with sqlite3.connect(live_settings.portbot.audit_path) as db:
        rows = db.execute(
            "select platform, user_id, guild_id, channel_id, target, outcome from probes"
        ).fetchall()
    assert rows == [("slack", payloads.USER, TEAM_ID, payloads.CHANNEL, "127.0.0.1", "probed")]
