"""build_app: which settings each mode needs, and that each mode really authorises the way it should."""

from __future__ import annotations

import os

import pytest
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.settings import Settings, SettingsError
from bot.slack import build_app, lazy_runner
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.slack.portbots import real_portbot

BOT_TOKEN_MISSING = (
    "SLACK_BOT_TOKEN is not set: Slack app settings → OAuth & Permissions → Bot User OAuth Token (xoxb-…)."
)
APP_TOKEN_MISSING = (
    "SLACK_APP_TOKEN is not set: Slack app settings → Basic Information → App-Level Tokens, "
    "scope connections:write (xapp-…)."
)
SIGNING_SECRET_MISSING = "SLACK_SIGNING_SECRET is not set: Slack app settings → Basic Information → App Credentials → Signing Secret."
CLIENT_SECRET_MISSING = "SLACK_CLIENT_SECRET is not set: Slack app settings → Basic Information → App Credentials → Client Secret."


@pytest.mark.parametrize(
    ("env", "http", "message"),
    [
        ({}, False, f"{BOT_TOKEN_MISSING}\n{APP_TOKEN_MISSING}"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, False, APP_TOKEN_MISSING),
        ({}, True, f"{BOT_TOKEN_MISSING}\n{SIGNING_SECRET_MISSING}"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, True, SIGNING_SECRET_MISSING),
        ({"SLACK_CLIENT_ID": "1.2", "SLACK_SIGNING_SECRET": "s"}, True, CLIENT_SECRET_MISSING),
    ],
)
def test_missing_settings_are_named_one_a_line(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], http: bool, message: str
) -> None:
    """Each mode names exactly the variables it still needs, and where to find them."""
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SettingsError) as raised:
        build_app(Settings.load(env_file=None), real_portbot(), http=http)
    assert str(raised.value) == message


def test_api_url_without_trailing_slash_still_works(monkeypatch: pytest.MonkeyPatch) -> None:
    """SLACK_API_URL=http://host/api is read as http://host/api/ (slack_sdk joins by concatenation)."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_SIGNING_SECRET", payloads.SIGNING_SECRET)
    monkeypatch.setenv("SLACK_API_URL", "http://127.0.0.1:9/api")
    app = build_app(Settings.load(env_file=None), real_portbot(), http=True)
    assert app.client.base_url == "http://127.0.0.1:9/api/"


async def test_socket_mode_uses_the_bot_token_even_with_oauth_credentials_around(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    """Bolt turns on OAuth by itself when SLACK_CLIENT_ID/SECRET are in the environment; Socket Mode must not."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", payloads.APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("SLACK_CLIENT_ID", "1234.5678")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    app = build_app(Settings.load(env_file=None), real_portbot(), http=False)
    assert os.environ["SLACK_CLIENT_ID"] == "1234.5678"  # put back after building

    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
    await lazy_runner(app).drain()
    assert response.status == 200
    assert [c.token for c in fake_slack.calls_to("auth.test")] == [payloads.BOT_TOKEN]
    assert len(fake_slack.posted_to("cmd")) == 1


async def test_handling_a_request_leaves_portbots_loggers_alone(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack
) -> None:
    """Bolt sets its app logger to the root's level of the moment on every request; that logger must not be
    the parent of ours, or a quiet root then would silence portbot.interaction for good."""
    import logging

    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_APP_TOKEN", payloads.APP_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    ours = logging.getLogger("portbot")
    monkeypatch.setattr(ours, "level", logging.NOTSET)
    monkeypatch.setattr(logging.root, "level", logging.WARNING)
    app = build_app(Settings.load(env_file=None), real_portbot(), http=False)
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    await app.async_dispatch(AsyncBoltRequest(body=body, mode="socket_mode"))
    assert ours.level == logging.NOTSET
