"""slack-manifest.yml stays valid YAML and in step with what the code listens for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack import BOT_SCOPES

MANIFEST = Path(__file__).parents[3] / "slack-manifest.yml"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_bot_scopes_match_the_oauth_install(manifest: dict[str, Any]) -> None:
    """The scopes the manifest grants are exactly those the OAuth install asks for."""
    assert tuple(manifest["oauth_config"]["scopes"]["bot"]) == BOT_SCOPES


def test_port_command_has_a_usage_hint(manifest: dict[str, Any]) -> None:
    """/port is declared with a description and usage hint, unescaped so mentions arrive as typed."""
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/port"
    assert command["usage_hint"] and command["description"]
    assert len(command["description"]) <= 100
    assert command["should_escape"] is False


def test_events_interactivity_and_socket_mode(manifest: dict[str, Any]) -> None:
    """Mentions and DMs are subscribed, buttons and modals reach the app, Socket Mode by default."""
    settings = manifest["settings"]
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention", "message.im"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_display_name(manifest: dict[str, Any]) -> None:
    """The bot is called Portbot, within Slack's 35-character name limit."""
    assert manifest["display_information"]["name"] == "Portbot"
    assert manifest["features"]["bot_user"]["display_name"] == "Portbot"
    assert len(manifest["display_information"]["description"]) <= 140
