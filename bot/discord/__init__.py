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
from bot.discord.responder import SHARE_TTL, Responder
from bot.discord.saved_servers import SavedServerStore
from bot.settings import WHERE, SettingsError
from bot.store import store_for
from bot.store.rechecks import StoredRechecks
from bot.store.shares import StoredShares

if TYPE_CHECKING:
    from bot.core.commands import Portbot
    from bot.settings import Settings
    from bot.store import LazyStore

__all__ = ["PortbotClient", "run"]

log = logging.getLogger(__name__)


async def run(
    settings: Settings, portbot: Portbot, *, sync: bool = False, database: LazyStore | None = None
) -> None:
    """Run the Discord bot until cancelled, or with ``sync`` publish the command schema and exit.

    Settings, saved servers and shares live in ``database`` (the process's store; without one, the store the
    settings name, opened here). Cancelling the task (Ctrl-C under ``asyncio.run``) closes the gateway, HTTP
    session and the store it opened cleanly. Raises SettingsError when the token is missing or Discord rejects
    it.
    """
    settings.require("DISCORD_TOKEN")
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    owned = None
    if database is None:
        owned = database = store_for(settings)
    responder = Responder(
        portbot,
        GuildSettingsStore(database),
        shares=StoredShares(database, ttl=SHARE_TTL),
        saved=SavedServerStore(database),
        rechecks=StoredRechecks(database, ttl=SHARE_TTL),
    )
    client = PortbotClient(responder, dev_guild_id=settings.discord.dev_guild_id)
    try:
        if not sync:
            await database.get()  # open and upgrade now, not inside the first member's 3-second window
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
        if owned is not None:
            await owned.close()


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
