"""``/portbot watch add|list|remove``: watches kept per Discord server, for members with Manage Server.

Discord offers a command either options or subcommands, never both, and ``/port`` takes a question, so the
watch commands live in the admins' ``/portbot`` group (hidden from other members by its default permissions,
and checked again here: a server can re-grant the group to anyone). Answers are private (they name the host);
the status message in the channel is public and masked (:mod:`bot.discord.notifier`).
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import discord

from bot.core.commands import problem
from bot.core.watch_desk import Added, WatchDesk, WatchRequest, private_name, public_choice, removed_reply
from bot.discord.render import clip, plain
from bot.watch.models import Platform, Protocol, Watch

if TYPE_CHECKING:
    from discord import app_commands

    from bot.discord.notifier import DiscordNotifier
    from bot.discord.responder import Responder

Interaction = discord.Interaction[Any]
log = logging.getLogger(__name__)

COMMAND = "/portbot watch"
WATCH_OUTSIDE_SERVER = problem(
    "Watches belong to a server",
    "Run `/portbot watch` in the Discord server whose channel should show the server's status.",
)
WATCH_REFUSED = problem(
    "Only server admins can manage watches",
    "You need the **Manage Server** permission to add, list or remove watches.",
)
WATCHES_OFF = problem(
    "Watches are not set up on this Portbot",
    "The people running this Portbot have not given it a place to keep watches.",
)


def status_not_posted(watch: Watch) -> Any:
    return problem(
        f"Watching {private_name(watch)} (#{watch.id}), but I couldn't post its status here",
        "I need **View Channel**, **Send Messages** and **Embed Links** in this channel. Once I have them, "
        "the status message appears with the next check.",
    )


class WatchCommands:
    """Handlers for ``/portbot watch …``, bound to the Responder that sends replies."""

    def __init__(
        self, responder: Responder, desk: WatchDesk | None, notifier: DiscordNotifier | None
    ) -> None:
        self.responder = responder
        self.desk = desk
        self.notifier = notifier

    async def _allowed(self, interaction: Interaction) -> WatchDesk | None:
        """The desk when this member may manage watches here; otherwise answer why not and return None."""
        if interaction.guild_id is None:
            await self.responder.send_private(interaction, WATCH_OUTSIDE_SERVER)
            return None
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            await self.responder.send_private(interaction, WATCH_REFUSED)
            return None
        if self.desk is None:
            await self.responder.send_private(interaction, WATCHES_OFF)
            return None
        return self.desk

    async def add(
        self,
        interaction: Interaction,
        host: str,
        port: int,
        protocol: Protocol,
        every: float | None,
        label: str | None,
        game: str | None = None,
    ) -> None:
        async with self.responder.handling(interaction, "watch:add"):
            desk = await self._allowed(interaction)
            if desk is None:
                return
            # Storing and posting the status message may outlast Discord's 3 seconds: answer "thinking" first.
            await self.responder.defer_private(interaction)
            request = WatchRequest(
                platform=Platform.DISCORD,
                scope_id=str(interaction.guild_id),
                user_id=str(interaction.user.id),
                channel_id=str(interaction.channel_id),
                host=host,
                port=port,
                protocol=protocol,
                every=every,
                label=label,
                game=game,
            )
            added = await desk.add(request)
            if not isinstance(added, Added):
                await self.responder.follow_up_private(interaction, added)
                return
            if not await self._post_status(added.watch):
                await self.responder.follow_up_private(interaction, status_not_posted(added.watch))
                return
            await self.responder.follow_up_private(interaction, added.reply)

    async def _post_status(self, watch: Watch) -> bool:
        if self.notifier is None or self.desk is None:
            return False
        try:
            message_id = await self.notifier.post_pending(watch)
        except discord.HTTPException as err:
            log.info("could not post a watch's status message: %s", err)
            return False
        await self.desk.repository.set_status_message(watch.id, message_id)
        return True

    async def show(self, interaction: Interaction) -> None:
        async with self.responder.handling(interaction, "watch:list"):
            desk = await self._allowed(interaction)
            if desk is None:
                return
            await self.responder.send_private(
                interaction, await desk.list(Platform.DISCORD, str(interaction.guild_id))
            )

    async def remove(self, interaction: Interaction, watch_id: int) -> None:
        async with self.responder.handling(interaction, "watch:remove"):
            desk = await self._allowed(interaction)
            if desk is None:
                return
            removed = await desk.remove(Platform.DISCORD, str(interaction.guild_id), watch_id)
            if not isinstance(removed, Watch):
                await self.responder.send_private(interaction, removed)
                return
            await self.responder.send_private(interaction, removed_reply(removed))
            if self.notifier is not None:
                await self.notifier.retire(removed)

    async def choices(self, interaction: Interaction, current: str) -> list[app_commands.Choice[int]]:
        """Autocomplete for ``remove``: this server's watches, by number and name (masked: others may look on)."""
        from discord import app_commands

        if self.desk is None or interaction.guild_id is None:
            return []
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            return []
        try:
            found = await self.desk.repository.list(Platform.DISCORD, str(interaction.guild_id))
        except Exception:  # discord.py would only log it; an empty list at least answers the request
            log.exception("watch autocomplete failed")
            return []
        typed = current.strip().lower().lstrip("#")
        out: list[app_commands.Choice[int]] = []
        for watch in found:
            name = clip(plain(public_choice(watch)), 100)
            if typed in name.lower():
                out.append(app_commands.Choice(name=name, value=watch.id))
        return out[:25]
