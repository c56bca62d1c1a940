"""The Discord client: application commands, registered buttons, one error handler, no mentions ever."""

from __future__ import annotations

import asyncio
import logging

import discord
from discord import app_commands

from bot import runtime
from bot.core.watch_desk import WatchDesk
from bot.discord.commands import build_commands
from bot.discord.notifier import DiscordNotifier
from bot.discord.responder import NO_MENTIONS, Responder
from bot.discord.translations import PortbotTranslator
from bot.discord.views import DYNAMIC_ITEMS
from bot.discord.watches import WatchCommands

log = logging.getLogger(__name__)


class PortbotClient(discord.AutoShardedClient):
    """A slash-command-only client. It needs no privileged intents and caches next to nothing.

    Sharded: by default it runs as many shards as Discord recommends (``GET /gateway/bot``); with ``shard_ids``
    and ``shard_count`` this process runs only those shards of that many, so several processes can split them.
    """

    def __init__(
        self,
        responder: Responder,
        *,
        dev_guild_id: int | None = None,
        watches: WatchDesk | None = None,
        shard_ids: list[int] | None = None,
        shard_count: int | None = None,
    ) -> None:
        # discord.py's stubs want a list, but None (all shards, as many as Discord advises) is its default.
        super().__init__(
            shard_ids=shard_ids,  # type: ignore[arg-type]
            shard_count=shard_count,
            # Interactions arrive whatever the intents. We read no messages, members or presences; the
            # (unprivileged) guilds intent keeps discord.py's guild state consistent.
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            member_cache_flags=discord.MemberCacheFlags.none(),
            chunk_guilds_at_startup=False,
            max_messages=None,
        )
        self.responder = responder
        self.dev_guild_id = dev_guild_id
        self.tree: app_commands.CommandTree[PortbotClient] = app_commands.CommandTree(self)
        #: Posts and edits watch status messages and alerts (the scheduler calls it too).
        self.notifier = DiscordNotifier(self)
        for command in build_commands(responder, WatchCommands(responder, watches, self.notifier)):
            self.tree.add_command(command)
        self.tree.error(responder.on_app_command_error)

    async def setup_hook(self) -> None:
        await self.tree.set_translator(PortbotTranslator())  # localised names, read when the schema is synced
        self.add_dynamic_items(*DYNAMIC_ITEMS)
        # Load the knowledge base now, off the event loop, so the first /port is as fast as the rest.
        try:
            await asyncio.to_thread(lambda: self.responder.portbot.knowledge)
        except Exception:  # the core answers with an apology later; starting up matters more
            log.exception("could not load the knowledge base at start-up")
        runtime.started()  # in `portbot discord`: what start-up made is kept out of the collector's walks

    async def close(self) -> None:
        """Close, after the checks already running have sent their answers (at most DRAIN_TIMEOUT seconds):
        a deferred probe's follow-up needs this client's HTTP session, which closing ends."""
        if not self.is_closed():
            await self.responder.drain()
        await super().close()

    async def sync_commands(self) -> list[app_commands.AppCommand]:
        """Publish the command schema: to the dev guild (instant) if one is set, else globally."""
        if self.dev_guild_id:
            guild = discord.Object(id=self.dev_guild_id)
            self.tree.copy_global_to(guild=guild)
            return await self.tree.sync(guild=guild)
        return await self.tree.sync()
