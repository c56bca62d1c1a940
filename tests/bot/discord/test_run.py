"""``bot.discord.run``: where it connects, command sync only on request, and clear errors for bad tokens."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.discord import run
from bot.settings import Settings, SettingsError
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import APP_ID, FakeDiscord

ALL_CONTEXTS = [0, 1, 2]  # guild, bot DM, private channel
BOTH_INSTALLS = [0, 1]  # guild install, user install


def load(monkeypatch: pytest.MonkeyPatch, fake: FakeDiscord, tmp_path: Path, **env: str) -> Settings:
    monkeypatch.setenv("DISCORD_TOKEN", env.pop("token", "fake-token"))
    monkeypatch.setenv("DISCORD_API_BASE", fake.api_base)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.load(env_file=None)


def by_name(commands: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {command["name"]: command for command in commands}


async def test_normal_start_asks_rest_for_the_gateway_and_never_syncs(bot: RunningBot) -> None:
    """Without DISCORD_GATEWAY_URL the gateway comes from GET /gateway/bot; starting never publishes commands."""
    calls = [(r.method, r.path) for r in bot.fake.requests]
    assert ("GET", "/gateway/bot") in calls
    assert not any(method == "PUT" for method, _ in calls)
    assert bot.fake.gateway_queries == [{"v": "10", "encoding": "json", "compress": "zlib-stream"}]


async def test_explicit_gateway_url_is_used_as_is(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With DISCORD_GATEWAY_URL set the bot connects there without asking REST."""
    async with running(fake_discord, portbot, monkeypatch, tmp_path, gateway=True):
        assert ("GET", "/gateway/bot") not in [(r.method, r.path) for r in fake_discord.requests]
        identify = fake_discord.identifies[0]
        assert identify["token"] == "fake-token"
        assert identify["intents"] == 1  # guilds only: no privileged intents


async def test_sync_publishes_the_global_schema_and_exits(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """sync=True PUTs the command schema globally, never touches the gateway, and returns."""
    await run(load(monkeypatch, fake_discord, tmp_path), portbot, sync=True)
    assert fake_discord.identifies == []
    commands = by_name(fake_discord.commands[None])
    assert set(commands) == {"port", "portcheck", "portbot", "help", "myserver", "Check this server"}

    port = commands["port"]
    assert port["contexts"] == ALL_CONTEXTS and port["integration_types"] == BOTH_INSTALLS
    (query,) = port["options"]
    assert (query["name"], query["type"], query["required"], query["autocomplete"]) == (
        "query",
        3,
        True,
        True,
    )

    check = commands["portcheck"]
    assert check["contexts"] == ALL_CONTEXTS and check["integration_types"] == BOTH_INSTALLS
    options = by_name(check["options"])
    assert (options["host"]["type"], options["host"]["required"]) == (3, True)
    assert (options["port"]["type"], options["port"]["min_value"], options["port"]["max_value"]) == (
        4,
        1,
        65535,
    )
    assert [c["value"] for c in options["protocol"]["choices"]] == ["auto", "tcp", "udp"]
    assert options["protocol"]["required"] is False


async def test_settings_command_is_for_server_admins_only(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """/portbot (settings, server, and the watch group) defaults to Manage Server, guild installs and guild
    channels only."""
    await run(load(monkeypatch, fake_discord, tmp_path), portbot, sync=True)
    group = by_name(fake_discord.commands[None])["portbot"]
    assert int(group["default_member_permissions"]) == payloads.MANAGE_GUILD
    assert group["contexts"] == [0] and group["integration_types"] == [0]
    settings, server, watch = group["options"]
    assert (settings["name"], settings["type"]) == ("settings", 1)
    assert {o["name"] for o in settings["options"]} == {"probe_results", "knowledge_answers"}
    assert (server["name"], server["type"]) == ("server", 1)
    assert {o["name"] for o in server["options"]} == {"host", "forget"}
    assert (watch["name"], watch["type"]) == ("watch", 2)
    subcommands = {o["name"]: o for o in watch["options"]}
    assert list(subcommands) == ["add", "list", "remove"]
    assert [o["name"] for o in subcommands["add"]["options"]] == [
        "host",
        "port",
        "protocol",
        "every",
        "label",
        "game",
    ]
    assert subcommands["remove"]["options"][0]["autocomplete"] is True


async def test_sync_goes_to_the_dev_guild_when_set(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With DISCORD_DEV_GUILD_ID the schema goes to that guild (instant) and not globally."""
    settings = load(monkeypatch, fake_discord, tmp_path, DISCORD_DEV_GUILD_ID=str(payloads.GUILD_ID))
    await run(settings, portbot, sync=True)
    assert set(fake_discord.commands) == {str(payloads.GUILD_ID)}
    assert {c["name"] for c in fake_discord.commands[str(payloads.GUILD_ID)]} == {
        "port",
        "portcheck",
        "portbot",
        "help",
        "myserver",
        "Check this server",
    }
    assert ("PUT", f"/applications/{APP_ID}/guilds/{payloads.GUILD_ID}/commands") in [
        (r.method, r.path) for r in fake_discord.requests
    ]


async def test_a_rejected_token_is_one_clear_settings_error(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Discord answering 401 becomes a SettingsError naming DISCORD_TOKEN and where to get one."""
    settings = load(monkeypatch, fake_discord, tmp_path, token="wrong")
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN was rejected by Discord: get a fresh one from "):
        await run(settings, portbot)


async def test_a_missing_token_is_one_clear_settings_error(tmp_path: Path, portbot: Portbot) -> None:
    """No DISCORD_TOKEN: SettingsError before any connection is attempted."""
    with pytest.raises(SettingsError, match=r"^DISCORD_TOKEN is not set: "):
        await run(Settings.load(env_file=None), portbot)


async def test_sync_summary_names_slash_commands_and_the_message_command(
    fake_discord: FakeDiscord,
    portbot: Portbot,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The operator sees every synced command, the message command by its menu name."""
    await run(load(monkeypatch, fake_discord, tmp_path), portbot, sync=True)
    assert capsys.readouterr().out == (
        "Synced 6 commands (/port, /portcheck, /help, /myserver, /portbot, 'Check this server') globally; "
        "Discord can take up to an hour to show them.\n"
    )


async def test_new_commands_are_published_where_members_use_them(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """/help, /myserver and the message command work in servers, DMs and private channels, for both installs."""
    await run(load(monkeypatch, fake_discord, tmp_path), portbot, sync=True)
    commands = by_name(fake_discord.commands[None])
    for name, kind in (("help", 1), ("myserver", 1), ("Check this server", 3)):
        command = commands[name]
        assert command["type"] == kind
        assert command["contexts"] == ALL_CONTEXTS and command["integration_types"] == BOTH_INSTALLS
    assert commands["help"].get("options", []) == []
    assert {(o["name"], o["type"], o["required"]) for o in commands["myserver"]["options"]} == {
        ("host", 3, False),
        ("forget", 5, False),
    }
    remember = by_name(commands["portcheck"]["options"])["remember"]
    assert (remember["type"], remember["required"]) == (5, False)
