"""``/portbot settings``: admins only, stored in SQLite, and it changes who sees answers."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.discord.responder import KNOWLEDGE_WITH_ADDRESS, PROBES_ALWAYS_PRIVATE
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.test_interactions import embed_of
from tests.store.test_legacy import old_files


async def settings(
    bot: RunningBot, permissions: int, *, guild: bool = True, **options: str
) -> dict[str, Any]:
    sent = await bot.fake.push_interaction(
        payloads.slash("portbot", subcommand="settings", guild=guild, permissions=permissions, **options)
    )
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)
    return embed_of(callback.data)


def stored(bot: RunningBot) -> list[tuple[str, int, int]]:
    with sqlite3.connect(bot.db) as db:
        return db.execute("SELECT guild_id, probes_private, knowledge_private FROM guild_settings").fetchall()


async def test_non_admin_is_refused_and_nothing_changes(bot: RunningBot) -> None:
    """A member without Manage Server gets a private refusal, even if a server re-granted the command."""
    embed = await settings(bot, payloads.MEMBER_PERMISSIONS, probe_results="public")
    assert embed["title"] == "❗ Only server admins can change Portbot's settings"
    assert embed["description"] == "You need the **Manage Server** permission to see or change them."
    assert stored(bot) == []


async def test_administrators_count_as_admins(bot: RunningBot) -> None:
    """The Administrator permission alone is enough."""
    embed = await settings(
        bot, payloads.MEMBER_PERMISSIONS | payloads.ADMINISTRATOR, knowledge_answers="private"
    )
    assert embed["title"] == "Portbot settings updated"
    assert stored(bot) == [(str(payloads.GUILD_ID), 1, 1)]


async def test_settings_outside_a_server_are_refused(bot: RunningBot) -> None:
    """In a DM there is no server to configure: a private explanation, nothing stored."""
    embed = await settings(bot, payloads.ADMIN_PERMISSIONS, guild=False, probe_results="public")
    assert embed["title"] == "❗ Settings belong to a server"
    assert stored(bot) == []


async def test_admin_sees_the_defaults(bot: RunningBot) -> None:
    """With no options the command shows the current settings: probes private, knowledge public."""
    embed = await settings(bot, payloads.ADMIN_PERMISSIONS)
    assert embed["title"] == "Portbot settings for this server"
    values = {field["name"]: field["value"] for field in embed["fields"]}
    assert values == {
        "Reachability checks": PROBES_ALWAYS_PRIVATE,
        "Port and service answers": f"Posted in the channel. {KNOWLEDGE_WITH_ADDRESS}",
    }
    assert PROBES_ALWAYS_PRIVATE.startswith("Only the person who asked sees them, always")


async def test_probe_results_cannot_be_made_public(bot: RunningBot) -> None:
    """Asking for public probe results stores nothing less private, says so, and /portcheck stays private."""
    embed = await settings(bot, payloads.ADMIN_PERMISSIONS, probe_results="public")
    assert {f["name"]: f["value"] for f in embed["fields"]}["Reachability checks"] == PROBES_ALWAYS_PRIVATE
    assert stored(bot) == [(str(payloads.GUILD_ID), 1, 0)]

    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=25565))
    deferred = await bot.fake.wait_callback(sent.id)
    assert (deferred.type, deferred.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    assert followup.body["flags"] & 64


async def test_private_knowledge_answers_flip_the_default(bot: RunningBot) -> None:
    """After an admin makes knowledge answers private, /port 25565 answers ephemerally."""
    await settings(bot, payloads.ADMIN_PERMISSIONS, knowledge_answers="private")
    sent = await bot.fake.push_interaction(payloads.slash("port", query="25565"))
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)


async def test_settings_are_per_server(bot: RunningBot) -> None:
    """A server's choice does not leak into DMs."""
    await settings(bot, payloads.ADMIN_PERMISSIONS, knowledge_answers="private")
    sent = await bot.fake.push_interaction(payloads.slash("port", guild=False, query="25565"))
    assert not (await bot.fake.wait_callback(sent.id)).ephemeral


async def test_an_upgraded_bot_keeps_a_servers_choice_from_the_old_file(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """First start on the store with an old discord.sqlite3 in the data dir: the server's private-knowledge
    choice is imported and /port answers privately there, the old file still in place."""
    data = tmp_path / "data"
    old_files(data)  # guild 111 chose private knowledge answers, in the old file's schema
    monkeypatch.setattr(payloads, "GUILD_ID", 111)
    async with running(fake_discord, portbot, monkeypatch, data) as bot:
        sent = await bot.fake.push_interaction(payloads.slash("port", query="25565"))
        callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)
    assert (data / "discord.sqlite3").is_file()
