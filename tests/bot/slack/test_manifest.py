"""slack-manifest.yml stays valid YAML and in step with what the code listens for and calls: every scope it
grants is needed by a call or an event in bot/slack/, and every call's scope is granted (least privilege)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.slack import BOT_SCOPES

ROOT = Path(__file__).parents[3]
MANIFEST = ROOT / "slack-manifest.yml"
SOURCES = sorted((ROOT / "bot" / "slack").glob("*.py"))

# Each Web API method the adapter calls, and the bot scope Slack's reference lists for it (None: any bot token).
METHOD_SCOPES: dict[str, str | None] = {
    "chat_postMessage": "chat:write",
    "chat_postEphemeral": "chat:write",
    "chat_update": "chat:write",
    "views_open": None,
    "views_update": None,
    "views_publish": None,
    "users_info": "users:read",
}
# Each event the adapter listens for: its manifest name and the scope it needs.
EVENTS: dict[str, tuple[str, str | None]] = {
    "app_mention": ("app_mention", "app_mentions:read"),
    "message": ("message.im", "im:history"),  # DMs only: the code drops every other channel type
    "app_home_opened": ("app_home_opened", None),
}
_CALL = re.compile(r"\bclient\.([a-z]+_[A-Za-z]+)\(")
_EVENT = re.compile(r"\bapp\.event\(\"([a-z_.]+)\"\)")
_COMMAND = re.compile(r"\bapp\.command\(")


def _source() -> str:
    return "\n".join(path.read_text(encoding="utf-8") for path in SOURCES)


def called_methods() -> set[str]:
    return set(_CALL.findall(_source()))


def listened_events() -> set[str]:
    return set(_EVENT.findall(_source()))


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
    assert settings["event_subscriptions"]["bot_events"] == ["app_mention", "message.im", "app_home_opened"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is True


def test_display_name(manifest: dict[str, Any]) -> None:
    """The bot is called Portbot, within Slack's 35-character name limit."""
    assert manifest["display_information"]["name"] == "Portbot"
    assert manifest["features"]["bot_user"]["display_name"] == "Portbot"
    assert len(manifest["display_information"]["description"]) <= 140


def test_every_web_api_call_has_a_known_scope() -> None:
    """A new Web API call in bot/slack/ fails here until its scope is written down above (and granted)."""
    called = called_methods()
    assert called >= {"chat_postMessage", "chat_postEphemeral", "views_publish", "users_info"}
    assert called <= set(METHOD_SCOPES), f"no scope recorded for {called - set(METHOD_SCOPES)}"


def test_every_scope_is_needed_and_every_need_is_granted() -> None:
    """The bot scopes are exactly those the calls, events and /port need: nothing unused, nothing missing."""
    needed = {METHOD_SCOPES[method] for method in called_methods()}
    needed |= {EVENTS[event][1] for event in listened_events()}
    if _COMMAND.search(_source()):
        needed.add("commands")
    needed.discard(None)
    assert set(BOT_SCOPES) == needed
    assert len(BOT_SCOPES) == len(set(BOT_SCOPES))


def test_unused_dm_scopes_are_gone(manifest: dict[str, Any]) -> None:
    """im:read and im:write are not asked for: Portbot never lists or opens conversations."""
    granted = set(manifest["oauth_config"]["scopes"]["bot"])
    assert not granted & {"im:read", "im:write", "channels:read", "users:read.email"}


def test_subscribed_events_are_exactly_those_listened_for(manifest: dict[str, Any]) -> None:
    """Every event the code listens for is subscribed, and no other."""
    listened = listened_events()
    assert listened <= set(EVENTS), f"unknown events {listened - set(EVENTS)}"
    subscribed = manifest["settings"]["event_subscriptions"]["bot_events"]
    assert sorted(subscribed) == sorted(EVENTS[event][0] for event in listened)


def test_the_home_tab_is_on(manifest: dict[str, Any]) -> None:
    """The App Home tab Portbot publishes is enabled, and so is the Messages tab members write in."""
    home = manifest["features"]["app_home"]
    assert home["home_tab_enabled"] is True
    assert home["messages_tab_enabled"] is True
