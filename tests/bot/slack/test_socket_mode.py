"""Socket Mode end to end in-process: run() opens a connection via apps.connections.open, takes an envelope
over the fake's WebSocket, acks it on the socket, and answers at the response_url."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl

import pytest

from bot.settings import Settings
from bot.slack import run
from bot.slack.app import CHECKING
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.slack.portbots import real_portbot


async def test_socket_mode_answers_a_slash_command(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    """The ack travels back on the socket with the envelope id; the answer goes to the response_url."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", payloads.APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    portbot = real_portbot()
    running = asyncio.create_task(run(Settings.load(env_file=None), portbot, http=False))
    try:
        command = dict(parse_qsl(payloads.command("25565", fake_slack.response_url("cmd"))))
        fake_slack.send_envelope(
            {
                "envelope_id": "57d6a792-4d35-4d0b-b6aa-3361493e1caf",
                "type": "slash_commands",
                "accepts_response_payload": True,
                "payload": command,
            }
        )
        ack = await fake_slack.wait_for_socket_ack("57d6a792-4d35-4d0b-b6aa-3361493e1caf")
        posted = await fake_slack.wait_for_post("cmd")
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running
    assert ack["payload"] == {"text": "", "response_type": "in_channel"}
    assert posted.body["response_type"] == "in_channel"
    assert posted.body["blocks"][0]["text"]["text"] == ":information_source: Port 25565"
    assert [c.token for c in fake_slack.calls_to("apps.connections.open")] == [payloads.APP_TOKEN]


@pytest.fixture
async def socket_mode(monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack) -> AsyncIterator[None]:
    """``portbot slack`` in Socket Mode against the fake, for the length of a test."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", payloads.APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    running = asyncio.create_task(run(Settings.load(env_file=None), real_portbot(), http=False))
    try:
        yield
    finally:
        running.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await running


@pytest.mark.usefixtures("socket_mode")
async def test_socket_mode_acks_a_probe_with_checking(fake_slack: FakeSlack) -> None:
    """Over the socket too, a probe's ack is the private "Checking…" that the result then replaces."""
    command = dict(parse_qsl(payloads.command("check example.com 443", fake_slack.response_url("cmd"))))
    fake_slack.send_envelope(
        {
            "envelope_id": "env-probe",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": command,
        }
    )
    ack = await fake_slack.wait_for_socket_ack("env-probe")
    posted = await fake_slack.wait_for_post("cmd")
    assert ack["payload"] == {"text": CHECKING, "response_type": "ephemeral"}
    assert posted.body["replace_original"] is True


@pytest.mark.usefixtures("socket_mode")
async def test_socket_mode_publishes_the_home_tab(fake_slack: FakeSlack) -> None:
    """An app_home_opened envelope is acked on the socket and the Home tab published."""
    fake_slack.send_envelope(
        {
            "envelope_id": "env-home",
            "type": "events_api",
            "accepts_response_payload": False,
            "payload": json.loads(payloads.home_opened()),
        }
    )
    await fake_slack.wait_for_socket_ack("env-home")
    published = await fake_slack.wait_for_call("views.publish")
    assert published.args["user_id"] == payloads.USER
    assert published.args["view"]["type"] == "home"
