"""The Discord adapter: slash commands, buttons and a modal on top of the platform-neutral :class:`Portbot`.

``run(settings, portbot)`` is the one entry point; the CLI's ``portbot discord`` calls it.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

import discord

from bot.app import open_watch_store, run_watches, watch_desk
from bot.discord._endpoints import gateway_from_api, pointed_at
from bot.discord.client import PortbotClient
from bot.discord.guild_settings import GuildSettingsStore
from bot.discord.responder import SHARE_TTL, Responder
from bot.discord.saved_servers import SavedServerStore
from bot.settings import WHERE, SettingsError
from bot.store import GroupCommit, store_for
from bot.store.rechecks import StoredRechecks
from bot.store.shares import StoredShares
from bot.watch.models import Platform

if TYPE_CHECKING:
    from bot.core.commands import Portbot
    from bot.settings import Settings
    from bot.store import LazyStore

__all__ = ["PortbotClient", "run"]

log = logging.getLogger(__name__)


async def run(
    settings: Settings,
    portbot: Portbot,
    *,
    sync: bool = False,
    database: LazyStore | None = None,
    shard_ids: list[int] | None = None,
    shard_count: int | None = None,
) -> None:
    """Run the Discord bot until cancelled, or with ``sync`` publish the command schema and exit.

    Settings, saved servers, shares and watches live in ``database`` (the process's store; without one, the
    store the settings name, opened here). ``shard_ids`` of ``shard_count`` (see :func:`parse_shards`) runs only
    those shards in this process. Cancelling the task (Ctrl-C under ``asyncio.run``) closes the gateway, HTTP
    session and the store it opened cleanly. Raises SettingsError when the token is missing or Discord rejects
    it, DatabaseUnavailable when the store cannot be opened.
    """
    settings.require("DISCORD_TOKEN")
    token = settings.discord.token.get_secret_value() if settings.discord.token else ""
    owned = None
    if database is None:
        owned = database = store_for(settings)
    if settings.discord.gateway_url and shard_count is None:
        # Only GET /gateway/bot advises a shard count, and it names Discord's own gateway: with a gateway of
        # its own (a proxy that shards for us) the bot connects once, as before it was sharded.
        shard_count = 1
    stop = asyncio.Event()
    watching: asyncio.Task[None] | None = None
    try:
        # Open and upgrade now, not inside the first member's 3-second window.
        watch_store = None if sync else await open_watch_store(settings, database)
        writes = GroupCommit(database)  # an answer's Share and Check-again rows in one transaction
        responder = Responder(
            portbot,
            GuildSettingsStore(database),
            shares=StoredShares(database, ttl=SHARE_TTL, writes=writes),
            saved=SavedServerStore(database),
            rechecks=StoredRechecks(database, ttl=SHARE_TTL, writes=writes),
        )
        client = PortbotClient(
            responder,
            dev_guild_id=settings.discord.dev_guild_id,
            watches=None
            if watch_store is None
            else watch_desk(settings, watch_store, command="/portbot watch", portbot=portbot),
            shard_ids=shard_ids,
            shard_count=shard_count,
        )
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
                # The watch scheduler runs beside the gateway on the same store; its Discord news goes through
                # this client's REST session, command-line watches' through their webhooks.
                if watch_store is not None:
                    watching = asyncio.create_task(
                        run_watches(
                            settings, watch_store, portbot, Platform.DISCORD, client.notifier, stop=stop
                        )
                    )
                await client.connect()
    finally:
        stop.set()
        if watching is not None:
            await watching
        if owned is not None:
            await owned.close()


def parse_shards(ids: str | None, count: int | None) -> tuple[list[int] | None, int | None]:
    """``--shard-ids 0,1 --shard-count 4`` → ([0, 1], 4). Raises ValueError with a sentence for the user."""
    if ids is None:
        if count is not None and count < 1:
            raise ValueError(f"--shard-count must be 1 or more, not {count}.")
        return None, count
    if count is None:
        raise ValueError(
            "--shard-ids needs --shard-count: how many shards the bot has in all, e.g. --shard-count 4."
        )
    if count < 1:
        raise ValueError(f"--shard-count must be 1 or more, not {count}.")
    parsed: list[int] = []
    for part in ids.split(","):
        text = part.strip()
        if not text.isascii() or not text.isdigit():
            raise ValueError(
                f"--shard-ids takes shard numbers separated by commas, e.g. 0,1; {text!r} is not one."
            )
        shard = int(text)
        if shard >= count:
            raise ValueError(
                f"Shard {shard} does not exist with --shard-count {count}: shards go from 0 to {count - 1}."
            )
        if shard in parsed:
            raise ValueError(f"Shard {shard} is listed twice in --shard-ids.")
        parsed.append(shard)
    return parsed, count


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
