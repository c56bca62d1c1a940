"""``/help``, ``/myserver``, ``/portbot server`` and the "Check this server" message command.

Everything here answers the asker alone: a saved server and a server named in a message are someone's address.
Probes go through :meth:`Responder.portcheck`, so they are deferred and private like ``/portcheck``.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import discord

from bot.core.commands import help_reply, problem
from bot.core.popular import popular
from bot.core.reply import Field, Reply, ReplyKind
from bot.discord.message_target import find_server
from bot.discord.render import clip, plain
from bot.discord.saved_servers import saveable

if TYPE_CHECKING:
    from discord import app_commands

    from bot.discord.responder import Responder
    from bot.discord.saved_servers import SavedServerStore

Interaction = discord.Interaction[Any]
log = logging.getLogger(__name__)

NO_SERVER_IN_MESSAGE = problem(
    "I couldn't find a server in that message",
    "**Check this server** looks for a server address with its port, such as `mc.example.com:25565`, "
    "`[2001:db8::7]:25565` or `mc.example.com 25565`.",
    "Use `/portcheck` and type the host and port yourself.",
)
NO_PORT_IN_MESSAGE = problem(
    "That message names a server but no port",
    "I need the port to check, such as `:25565` after the address.",
    "Use `/portcheck` with the host and port, or ask for the full `host:port`.",
)
SERVER_OUTSIDE_GUILD = problem(
    "A default server belongs to a Discord server",
    "Run `/portbot server` in the Discord server whose default you want to see or change.",
)
SERVER_REFUSED = problem(
    "Only server admins can set the default server",
    "You need the **Manage Server** permission. To save your own server, use `/myserver`.",
)

DISCORD_HELP = Field(
    "On Discord",
    "`/port` ask anything above  ·  `/portcheck` check a host and port\n"
    "Right-click a message → **Apps → Check this server** to check the `host:port` in it\n"
    "`/myserver` save your server so the **Check this port** form is filled in for you\n"
    "Server admins: `/portbot settings` (who sees answers), `/portbot server` (a default server) and "
    "`/portbot watch` (a live status message for a server, with an alert when it goes down)\n"
    "Checks are always shown only to you; **Share in channel** posts a copy with the address masked.",
)


def discord_help() -> Reply:
    """The core's help, plus the Discord commands; always private."""
    core = help_reply()
    return replace(core, fields=(*core.fields, DISCORD_HELP))


def _shown(host: str) -> str:
    return f"`{clip(plain(host).replace('`', ''), 120)}`"


def saved_reply(title: str, host: str | None, *, mine: bool) -> Reply:
    """What is saved now. Private: it names the address."""
    if mine:
        summary = (
            f"{_shown(host)} fills in the **Check this port** form for you. Only you can see it."
            if host
            else "Save one with `/myserver host:…`, or type it into a **Check this port** form."
        )
        how = "Change it with `/myserver host:…`; erase it with `/myserver forget:True`."
    else:
        summary = (
            f"{_shown(host)} fills in the **Check this port** form for members here who saved no server "
            "of their own. It is never posted in a channel."
            if host
            else "Set one with `/portbot server host:…`; members then find it in the **Check this port** form."
        )
        how = "Change it with `/portbot server host:…`; remove it with `/portbot server forget:True`."
    return Reply(
        title=title,
        summary=summary,
        fields=(Field("Change or erase", how),),
        kind=ReplyKind.HELP,
        private=True,
        sensitive=(host,) if host else (),
    )


def message_text(message: discord.Message) -> str:
    """The words of a message a server may hide in: its content, then its embeds (bots post servers there)."""
    parts = [message.content or ""]
    for embed in message.embeds:
        parts += [embed.title or "", embed.description or ""]
        parts += [f"{field.name} {field.value}" for field in embed.fields]
    return "\n".join(part for part in parts if part)


class Extras:
    """Handlers for the commands above, bound to the Responder that sends replies."""

    def __init__(self, responder: Responder, saved: SavedServerStore) -> None:
        self.responder = responder
        self.saved = saved

    async def help(self, interaction: Interaction) -> None:
        async with self.responder.handling(interaction, "help"):
            await self.responder.send_private(interaction, discord_help())

    async def check_message(self, interaction: Interaction, message: discord.Message) -> None:
        """ "Check this server": probe the ``host:port`` a message names, privately, like ``/portcheck``."""
        found = find_server(message_text(message))
        if found is not None and found.port is not None:
            await self.responder.portcheck(interaction, found.host, found.port, "auto")  # logged as portcheck
            return
        async with self.responder.handling(interaction, "message:check"):
            reply = NO_SERVER_IN_MESSAGE if found is None else NO_PORT_IN_MESSAGE
            await self.responder.send_private(interaction, reply)

    async def my_server(self, interaction: Interaction, host: str | None, forget: bool) -> None:
        """``/myserver``: show, save or forget the asker's own server."""
        async with self.responder.handling(interaction, "myserver"):
            await self._my_server(interaction, host, forget)

    async def _my_server(self, interaction: Interaction, host: str | None, forget: bool) -> None:
        user = interaction.user.id
        if forget:
            await self.saved.save_user(user, None)
            await self.responder.send_private(interaction, saved_reply("Forgot your server", None, mine=True))
            return
        if host is not None:
            await self._save(interaction, host, lambda value: self.saved.save_user(user, value), mine=True)
            return
        current = await self.saved.user(user)
        title = "Your saved server" if current else "You have no saved server"
        await self.responder.send_private(interaction, saved_reply(title, current, mine=True))

    async def guild_server(self, interaction: Interaction, host: str | None, forget: bool) -> None:
        """``/portbot server``: show or change this Discord server's default. Manage Server only."""
        async with self.responder.handling(interaction, "server"):
            await self._guild_server(interaction, host, forget)

    async def _guild_server(self, interaction: Interaction, host: str | None, forget: bool) -> None:
        guild = interaction.guild_id
        if guild is None:
            await self.responder.send_private(interaction, SERVER_OUTSIDE_GUILD)
            return
        # Discord hides /portbot from non-admins by default, but a server can re-grant it to anyone.
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            await self.responder.send_private(interaction, SERVER_REFUSED)
            return
        if forget:
            await self.saved.save_guild(guild, None)
            reply = saved_reply("Removed this server's default", None, mine=False)
            await self.responder.send_private(interaction, reply)
            return
        if host is not None:
            await self._save(interaction, host, lambda value: self.saved.save_guild(guild, value), mine=False)
            return
        current = await self.saved.guild(guild)
        title = "This server's default" if current else "This server has no default server"
        await self.responder.send_private(interaction, saved_reply(title, current, mine=False))

    async def _save(
        self, interaction: Interaction, host: str, save: Callable[[str], Awaitable[None]], *, mine: bool
    ) -> None:
        value = saveable(host)
        if value is None:
            reply = problem(
                "That isn't a server I can save",
                "Give your server's public host name or address, such as `mc.example.com` or "
                "`203.0.113.7`. Home-network addresses (`192.168.…`, `10.…`) can't be checked from the internet.",
            )
        else:
            await save(value)
            reply = saved_reply(
                "Saved your server" if mine else "Saved this server's default", value, mine=mine
            )
        await self.responder.send_private(interaction, reply)

    def popular_choices(self) -> list[app_commands.Choice[str]]:
        """Autocomplete before anything is typed: popular games and services."""
        from discord import app_commands

        try:
            suggestions = popular(self.responder.portbot.knowledge)
        except Exception:  # discord.py would only log it; an empty list at least answers the request
            log.exception("popular autocomplete failed")
            return []
        return [app_commands.Choice(name=s.label, value=s.value) for s in suggestions]
