"""The slash commands: ``/port``, ``/portcheck`` and ``/portbot settings``. Thin: the Responder does the work."""

from __future__ import annotations

from typing import Any

import discord
from discord import app_commands

from bot.core.intents import ProtocolChoice
from bot.discord.responder import Responder

Interaction = discord.Interaction[Any]

PROTOCOLS = [
    app_commands.Choice(name="Automatic (the port's usual protocol)", value="auto"),
    app_commands.Choice(name="TCP", value="tcp"),
    app_commands.Choice(name="UDP", value="udp"),
]
VISIBILITY = [
    app_commands.Choice(name="Only the person who asked", value="private"),
    app_commands.Choice(name="Everyone in the channel", value="public"),
]


def _private(choice: app_commands.Choice[str] | None) -> bool | None:
    return None if choice is None else choice.value == "private"


def build_commands(responder: Responder) -> list[app_commands.Command[Any, ..., Any] | app_commands.Group]:
    """The application commands, bound to ``responder``. Add them to a CommandTree."""

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
        return responder.choices(current)

    @app_commands.command(name="portcheck", description="Check whether a port is reachable from the internet")
    @app_commands.describe(
        host="Your server's public host name or IP address",
        port="The port number, 1 to 65535",
        protocol="TCP or UDP; automatic picks the usual one for the port",
    )
    @app_commands.choices(protocol=PROTOCOLS)
    @app_commands.allowed_installs(guilds=True, users=True)
    @app_commands.allowed_contexts(guilds=True, dms=True, private_channels=True)
    async def portcheck(
        interaction: Interaction,
        host: app_commands.Range[str, 1, 255],
        port: app_commands.Range[int, 1, 65535],
        protocol: app_commands.Choice[str] | None = None,
    ) -> None:
        value = protocol.value if protocol else "auto"
        chosen: ProtocolChoice = "tcp" if value == "tcp" else "udp" if value == "udp" else "auto"
        await responder.portcheck(interaction, host, port, chosen)

    group = app_commands.Group(
        name="portbot",
        description="Portbot's settings for this server",
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

    return [port, portcheck, group]
