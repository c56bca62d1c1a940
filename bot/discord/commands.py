"""The application commands: ``/port``, ``/portcheck``, ``/help``, ``/myserver``, ``/portbot settings|server`` and
the "Check this server" message command. Thin: the Responder (and :class:`Extras`) do the work.

Every string here is English and is translated when the schema is synced (bot.discord.translations).
"""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.core.intents import ProtocolChoice
from bot.discord.extras import Extras
from bot.discord.responder import Responder
from bot.discord.watches import WatchCommands
from bot.watch.models import Protocol

Interaction = discord.Interaction[Any]

PROTOCOLS = [
    app_commands.Choice(name="Automatic (the port's usual protocol)", value="auto"),
    app_commands.Choice(name="TCP", value="tcp"),
    app_commands.Choice(name="UDP", value="udp"),
]
WATCH_PROTOCOLS = [
    app_commands.Choice(name="TCP", value="tcp"),
    app_commands.Choice(name="UDP", value="udp"),
]
VISIBILITY = [
    app_commands.Choice(name="Only the person who asked", value="private"),
    app_commands.Choice(name="Everyone in the channel", value="public"),
]


def _private(choice: app_commands.Choice[str] | None) -> bool | None:
    return None if choice is None else choice.value == "private"


AnyCommand = app_commands.Command[Any, ..., Any] | app_commands.Group | app_commands.ContextMenu


def build_commands(responder: Responder, watches: WatchCommands | None = None) -> list[AnyCommand]:
    """The application commands, bound to ``responder``. Add them to a CommandTree."""
    extras = Extras(responder, responder.saved)
    watching = watches if watches is not None else WatchCommands(responder, None, None)

    @app_commands.command(name="port", description="Ask about a port, a game or app, or check a port")
    @app_commands.describe(
        query="A port (25565), a game or app (minecraft), a question, or check <host> <port>"
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def port(interaction: Interaction, query: app_commands.Range[str, 1, 500]) -> None:
        await responder.port(interaction, query)

    @port.autocomplete("query")
    async def port_autocomplete(interaction: Interaction, current: str) -> list[app_commands.Choice[str]]:
        if not current.strip():  # nothing typed yet: what people ask about most
            return extras.popular_choices()
        return responder.choices(current)

    @app_commands.command(name="portcheck", description="Check whether a port is reachable from the internet")
    @app_commands.describe(
        host="Your server's public host name or IP address",
        port="The port number, 1 to 65535",
        protocol="TCP or UDP; automatic picks the usual one for the port",
        remember="Save this host as your server, to fill in the Check form next time (only you see it)",
    )
    @app_commands.choices(protocol=PROTOCOLS)
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def portcheck(
        interaction: Interaction,
        host: app_commands.Range[str, 1, 255],
        port: app_commands.Range[int, 1, 65535],
        protocol: app_commands.Choice[str] | None = None,
        remember: bool = False,
    ) -> None:
        value = protocol.value if protocol else "auto"
        chosen: ProtocolChoice = "tcp" if value == "tcp" else "udp" if value == "udp" else "auto"
        if remember:
            await responder.remember(interaction, host)
        await responder.portcheck(interaction, host, port, chosen)

    @app_commands.command(name="help", description="What Portbot can do, with examples")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def help_command(interaction: Interaction) -> None:
        await extras.help(interaction)

    @app_commands.command(name="myserver", description="Show, save or forget your server (only you see it)")
    @app_commands.describe(
        host="Your server's public host name or IP address, to fill in the Check form",
        forget="Forget the server I saved for you",
    )
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def myserver(
        interaction: Interaction, host: app_commands.Range[str, 1, 255] | None = None, forget: bool = False
    ) -> None:
        await extras.my_server(interaction, host, forget)

    @app_commands.context_menu(name="Check this server")
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def check_this_server(interaction: Interaction, message: discord.Message) -> None:
        await extras.check_message(interaction, message)

    group = app_commands.Group(
        name="portbot",
        description="Portbot's settings and watches for this server",
        default_permissions=discord.Permissions(manage_guild=True),
        allowed_contexts=app_commands.AppCommandContext(guild=True),
        allowed_installs=app_commands.AppInstallationType(guild=True),
    )

    @group.command(name="settings", description="Show or change who sees Portbot's answers in this server")
    @app_commands.describe(
        probe_results="Reachability checks are always private (they show a member's address)",
        knowledge_answers="Who sees answers about ports, games and apps",
    )
    @app_commands.choices(probe_results=VISIBILITY, knowledge_answers=VISIBILITY)
    async def settings(
        interaction: Interaction,
        probe_results: app_commands.Choice[str] | None = None,
        knowledge_answers: app_commands.Choice[str] | None = None,
    ) -> None:
        await responder.settings(interaction, _private(probe_results), _private(knowledge_answers))

    @group.command(
        name="server", description="Show or set the server the Check form suggests to members here"
    )
    @app_commands.describe(
        host="The host members here usually check, e.g. your community's game server",
        forget="Remove this server's default",
    )
    async def server(
        interaction: Interaction, host: app_commands.Range[str, 1, 255] | None = None, forget: bool = False
    ) -> None:
        await extras.guild_server(interaction, host, forget)

    watch = app_commands.Group(
        name="watch", description="Watch a server and show its status here", parent=group
    )

    @watch.command(
        name="add", description="Watch a server: a status message here, and an alert when it changes"
    )
    @app_commands.describe(
        host="The server's public host name or IP address",
        port="The port number, 1 to 65535",
        protocol="TCP (the default) or UDP",
        every="Seconds between checks; the shortest allowed when left out",
        label="A name for the status message instead of the masked address, e.g. Survival server",
        game="The game it runs, to show players (minecraft, valheim, …)",
    )
    @app_commands.choices(protocol=WATCH_PROTOCOLS)
    async def watch_add(
        interaction: Interaction,
        host: app_commands.Range[str, 1, 255],
        port: app_commands.Range[int, 1, 65535],
        protocol: app_commands.Choice[str] | None = None,
        every: app_commands.Range[int, 1, 86400] | None = None,
        label: app_commands.Range[str, 1, 80] | None = None,
        game: app_commands.Range[str, 1, 60] | None = None,
    ) -> None:
        chosen: Protocol = "udp" if protocol is not None and protocol.value == "udp" else "tcp"
        seconds = None if every is None else float(every)
        await watching.add(interaction, host, port, chosen, seconds, label, game)

    @watch.command(name="list", description="The servers watched here")
    async def watch_list(interaction: Interaction) -> None:
        await watching.show(interaction)

    @watch.command(name="remove", description="Stop watching a server")
    @app_commands.describe(watch="The watch's number, from the list")
    async def watch_remove(interaction: Interaction, watch: app_commands.Range[int, 1]) -> None:
        await watching.remove(interaction, watch)

    @watch_remove.autocomplete("watch")
    async def watch_remove_autocomplete(
        interaction: Interaction, current: str
    ) -> list[app_commands.Choice[int]]:
        return await watching.choices(interaction, current)

    return [port, portcheck, help_command, myserver, group, check_this_server]
