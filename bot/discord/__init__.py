"""The Discord adapter: slash commands, buttons and a modal on top of the platform-neutral :class:`Portbot`.

``run(settings, portbot)`` is the one entry point; the CLI's ``portbot discord`` calls it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import discord

from bot.discord._endpoints import gateway_from_api, pointed_at
from bot.discord.client import PortbotClient
from bot.discord.guild_settings import GuildSettingsStore
from bot.discord.responder import Responder
from bot.discord.saved_servers import SavedServerStore
from bot.settings import WHERE, SettingsError

if TYPE_CHECKING:
    from bot.core.commands import Portbot
    from bot.settings import Settings

__all__ = ["PortbotClient", "run"]

log = logging.getLogger(__name__)

SETTINGS_DB = "discord.sqlite3"


async def run(settings: Settings, portbot: Portbot, *, sync: bool = False) -> None:
    """Run the Discord bot until cancelled, or with ``sync`` publish the command schema and exit.

    Cancelling the task (Ctrl-C under ``asyncio.run``) closes the gateway, HTTP session and settings store
    cleanly. Raises SettingsError when the token is missing or Discord rejects it.
    """
    settings.require("DISCORD_TOKEN")
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    store = GuildSettingsStore(settings.portbot.data_dir / SETTINGS_DB)
    saved = SavedServerStore(settings.portbot.data_dir / SETTINGS_DB)
    client = PortbotClient(Responder(portbot, store, saved=saved), dev_guild_id=settings.discord.dev_guild_id)
    try:
        with pointed_at(settings.discord.api_base, settings.discord.gateway_url) as endpoints:
            async with client:
                try:
                    await client.login(token)
                except discord.LoginFailure:
                    raise SettingsError(
                        f"DISCORD_TOKEN was rejected by Discord: get a fresh one from {WHERE['DISCORD_TOKEN']}."
                    ) from None
                if sync:
                    synced = await client.sync_commands()
                    print(_sync_summary(synced, settings.discord.dev_guild_id))
                    return
                if settings.discord.api_base and not settings.discord.gateway_url:
                    endpoints.set_gateway(await gateway_from_api(client))
                await client.connect()
    finally:
        store.close()
        saved.close()


def _sync_summary(synced: list[discord.app_commands.AppCommand], guild_id: int | None) -> str:
    names = (
        ", ".join(
            f"/{command.name}" if command.type is discord.AppCommandType.chat_input else f"'{command.name}'"
            for command in synced
        )
        or "none"
    )
    if guild_id:
        return f"Synced {len(synced)} commands ({names}) to server {guild_id}; they work there right away."
    return f"Synced {len(synced)} commands ({names}) globally; Discord can take up to an hour to show them."
