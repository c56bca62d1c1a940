"""Socket Mode end to end in-process: run() opens a connection via apps.connections.open, takes an envelope
over the fake's WebSocket, acks it on the socket, and answers at the response_url."""

from __future__ import annotations

import asyncio
import contextlib
from urllib.parse import parse_qsl

import pytest

from bot.settings import Settings
from bot.slack import run
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
