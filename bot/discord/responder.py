"""What Portbot does for each Discord interaction: ask the core, pick who may see the answer, send it.

Knowledge answers are fast and answered directly; probes are slow: they are deferred at once, inside Discord's
3-second window, and answered with a follow-up. Who sees what is decided by :mod:`bot.core.visibility`: probe
results, errors and any answer to text holding an address or host name go only to the asker (who can share a
masked copy); knowledge answers are public unless the server made them private.
Every send carries ``AllowedMentions.none()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

import discord
from discord import app_commands

from bot.core import visibility
from bot.core.commands import INTERNAL_ERROR, Portbot, problem
from bot.core.intents import Check, CheckProtocol, ProtocolChoice, SelfCheck
from bot.core.interaction_log import Interaction as LogLine
from bot.core.rechecks import Rechecks, RecheckStore
from bot.core.reply import ActionKind, Field, Reply, ReplyKind
from bot.core.shares import Shares, ShareStore, button_keys
from bot.discord.guild_settings import GuildSettings, GuildSettingsStore
from bot.discord.render import clip, plain, render_embed
from bot.discord.saved_servers import SavedServerStore, saveable
from bot.discord.views import CheckModal, Handlers, build_view
from probes.models import Requester

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()
CHOICES_MAX = 25
CHOICE_MAX = 100  # both the shown name and the value
EMBED_CACHE = 512
#: How long a private result can be shared: as long as the interaction token that showed it lives.
SHARE_TTL = 15 * 60
#: How long shutdown waits for checks already running to send their answers before closing the connection.
DRAIN_TIMEOUT = 15.0

Interaction = discord.Interaction[Any]

SORRY = INTERNAL_ERROR
SHARE_EXPIRED = problem(
    "That result can no longer be shared",
    "I share a result once, for whoever ran the check, within 15 minutes. "
    "Run the check again, then share the new result.",
)
SETTINGS_OUTSIDE_SERVER = problem(
    "Settings belong to a server",
    "Run `/portbot settings` in the server whose settings you want to see or change.",
)
SETTINGS_REFUSED = problem(
    "Only server admins can change Portbot's settings",
    "You need the **Manage Server** permission to see or change them.",
)
COMMAND_OUTDATED = problem(
    "That command has changed",
    "Discord is still showing an older version of this command. Please try again in a few minutes.",
)
RECHECK_EXPIRED = problem(
    "That check can't be run again from here",
    'I keep a check for its "Check again" button for 15 minutes, for whoever ran it. '
    "Run the check again with `/portcheck`.",
)
BAD_OPTION = problem(
    "I couldn't use those options",
    "One of the values isn't valid for this command. Check them and try again.",
)


def requester_for(interaction: Interaction) -> Requester:
    """Who asked, for rate limits and the audit log."""
    return Requester(
        platform="discord",
        user_id=str(interaction.user.id),
        guild_id=str(interaction.guild_id) if interaction.guild_id else None,
        channel_id=str(interaction.channel_id) if interaction.channel_id else None,
    )


PROBES_ALWAYS_PRIVATE = (
    "Only the person who asked sees them, always: they show a member's address. "
    "The asker can post a copy with the address masked (Share in channel)."
)
KNOWLEDGE_WITH_ADDRESS = "An answer to a question that holds an address or a server name is always private."


def settings_reply(settings: GuildSettings, *, changed: bool) -> Reply:
    knowledge = (
        "Only the person who asked sees them."
        if settings.knowledge_private
        else f"Posted in the channel. {KNOWLEDGE_WITH_ADDRESS}"
    )
    return Reply(
        title="Portbot settings updated" if changed else "Portbot settings for this server",
        summary="Who sees Portbot's answers here. Change them with the options of `/portbot settings`.",
        fields=(
            Field("Reachability checks", PROBES_ALWAYS_PRIVATE),
            Field("Port and service answers", knowledge),
        ),
        kind=ReplyKind.HELP,
    )


@functools.lru_cache(maxsize=EMBED_CACHE)
def _shared_embed(reply: Reply) -> discord.Embed:
    # The core hands out the same Reply for the same question, and an embed is only read when sent: one
    # instance serves every send. Probe results are one-offs (and name someone's address): never kept.
    return render_embed(reply)


class Responder:
    """Turns interactions into core calls and core Replies into Discord responses."""

    def __init__(
        self,
        portbot: Portbot,
        store: GuildSettingsStore,
        shares: Shares | None = None,
        saved: SavedServerStore | None = None,
        rechecks: Rechecks | None = None,
    ) -> None:
        self.portbot = portbot
        self.store = store
        self.shares: Shares = shares if shares is not None else ShareStore(ttl=SHARE_TTL)
        self.saved = saved if saved is not None else SavedServerStore(None)
        self.rechecks: Rechecks = rechecks if rechecks is not None else RecheckStore(ttl=SHARE_TTL)
        self._lines: dict[int, LogLine] = {}
        self._in_flight: set[asyncio.Task[Any]] = set()

    # -- bookkeeping: one log line per interaction, and what is still running at shutdown --------------------

    @contextlib.asynccontextmanager
    async def _handling(self, interaction: Interaction, command: str) -> AsyncIterator[None]:
        """Log one line for this interaction when it ends, and let shutdown wait for it to finish."""
        line = LogLine("discord", command, str(interaction.guild_id) if interaction.guild_id else None)
        self._lines[interaction.id] = line
        task = asyncio.current_task()
        if task is not None:
            self._in_flight.add(task)
        failed = False
        try:
            yield
        except BaseException:
            failed = True
            raise
        finally:
            self._lines.pop(interaction.id, None)
            if task is not None:
                self._in_flight.discard(task)
            line.done(failed=failed)

    def handling(
        self, interaction: Interaction, command: str
    ) -> contextlib.AbstractAsyncContextManager[None]:
        """The same bookkeeping for handlers that live outside the Responder (bot/discord/extras.py)."""
        return self._handling(interaction, command)

    def _noted(self, interaction: Interaction, reply: Reply) -> None:
        line = self._lines.get(interaction.id)
        if line is not None:
            line.answered(reply)

    async def drain(self, grace: float = DRAIN_TIMEOUT) -> int:
        """Wait up to ``grace`` seconds for interactions still being handled (a probe's follow-up) so they
        are answered before the connection closes; returns how many were still running after that."""
        current = asyncio.current_task()
        pending = {t for t in self._in_flight if t is not current and not t.done()}
        if not pending:
            return 0
        log.info("waiting for %d interaction(s) still being answered", len(pending))
        _, still = await asyncio.wait(pending, timeout=grace)
        if still:
            log.warning("%d interaction(s) were still running at shutdown", len(still))
        return len(still)

    # -- slash commands ----------------------------------------------------------------------------------

    async def port(self, interaction: Interaction, query: str) -> None:
        """``/port query``: knowledge answered at once; a probe request deferred like ``/portcheck``."""
        async with self._handling(interaction, "port"):
            await self._port(interaction, query)

    async def _port(self, interaction: Interaction, query: str) -> None:
        settings = await self.store.get(interaction.guild_id)
        if (mine := self.portbot.self_check_intent(query)) is not None:
            await self._self_check(interaction, mine)
            return
        if self.portbot.is_probe(query):
            # Whoever sees the "thinking" message sees the follow-up: decide before the answer exists.
            await interaction.response.defer(
                ephemeral=visibility.decide(query, None, settings), thinking=True
            )
            reply = await self.portbot.handle(query, requester_for(interaction))
            await self._follow_up(interaction, reply, public=False)
            return
        reply = await self.portbot.handle(query, requester_for(interaction))
        await self._respond(interaction, reply, public=not visibility.decide(query, reply, settings))

    async def portcheck(
        self, interaction: Interaction, host: str, port: int, protocol: ProtocolChoice
    ) -> None:
        """``/portcheck host port protocol``: defer, probe, follow up, to the asker only."""
        async with self._handling(interaction, "portcheck"):
            await self._probe(interaction, Check(host, (port,), protocol))

    async def settings(
        self, interaction: Interaction, probes_private: bool | None, knowledge_private: bool | None
    ) -> None:
        """``/portbot settings``: show or change this server's defaults. Admins only, checked here too."""
        async with self._handling(interaction, "settings"):
            await self._settings(interaction, probes_private, knowledge_private)

    async def _settings(
        self, interaction: Interaction, probes_private: bool | None, knowledge_private: bool | None
    ) -> None:
        if interaction.guild_id is None:
            await self._respond(interaction, SETTINGS_OUTSIDE_SERVER, public=False)
            return
        # Discord hides the command from non-admins by default, but a server can re-grant it to anyone.
        permissions = interaction.permissions
        if not (permissions.manage_guild or permissions.administrator):
            await self._respond(interaction, SETTINGS_REFUSED, public=False)
            return
        # Probe results are private whatever a server wants (they show a member's address): a request to make
        # them public is not stored; the reply says why.
        changed = probes_private is not None or knowledge_private is not None
        if changed:
            current = await self.store.update(
                interaction.guild_id,
                probes_private=None if probes_private is None else True,
                knowledge_private=knowledge_private,
            )
        else:
            current = await self.store.get(interaction.guild_id)
        await self._respond(interaction, settings_reply(current, changed=changed), public=False)

    def choices(self, current: str) -> list[app_commands.Choice[str]]:
        """Autocomplete for ``/port query``: ports, services and games, within Discord's limits."""
        try:
            return self._choices(current)
        except Exception:  # discord.py would only log it; an empty list at least answers the request
            log.exception("autocomplete failed")  # no user text at INFO and above
            log.debug("the autocomplete text was %r", current[:200])
            return []

    def _choices(self, current: str) -> list[app_commands.Choice[str]]:
        out: list[app_commands.Choice[str]] = []
        for suggestion in self.portbot.suggest(current, limit=CHOICES_MAX):
            name = clip(plain(suggestion.label), CHOICE_MAX)
            value = suggestion.value
            # A cut value would ask a different question; skip it rather than mislead.
            if name and 1 <= len(value) <= CHOICE_MAX:
                out.append(app_commands.Choice(name=name, value=value))
            if len(out) == CHOICES_MAX:
                break
        return out

    # -- buttons and the modal ---------------------------------------------------------------------------

    async def ask(self, interaction: Interaction, query: str) -> None:
        """A follow-up question button: answered only to whoever clicked."""
        async with self._handling(interaction, "button:ask"):
            await self._ask(interaction, query)

    async def _ask(self, interaction: Interaction, query: str) -> None:
        if self.portbot.is_probe(query):
            await interaction.response.defer(ephemeral=True, thinking=True)
            reply = await self.portbot.handle(query, requester_for(interaction))
            await self._follow_up(interaction, reply, public=False)
            return
        reply = await self.portbot.handle(query, requester_for(interaction))
        await self._respond(interaction, reply, public=False)

    async def open_check_modal(
        self, interaction: Interaction, port: int, protocol: str, hint: str | None = None
    ) -> None:
        async with self._handling(interaction, "button:check"):
            # A modal is seen only by whoever clicked: the saved address may start it (bot.discord.saved_servers).
            default = await self.saved.default_for(interaction.user.id, interaction.guild_id)
            await interaction.response.send_modal(CheckModal(port, protocol, hint, default=default))

    async def check_from_modal(
        self, interaction: Interaction, host: str, port: int, protocol: str, hint: str | None = None
    ) -> None:
        chosen: CheckProtocol = (
            "tcp"
            if protocol == "tcp"
            else "udp"
            if protocol == "udp"
            else "both"
            if protocol == "both"
            else "auto"
        )
        async with self._handling(interaction, "modal:check"):
            await self.remember(
                interaction, host
            )  # the modal asks for "your server" and says it is kept for you
            await self._probe(interaction, Check(host, (port,), chosen, hint=hint))

    async def self_check(
        self, interaction: Interaction, port: int, protocol: str, hint: str | None = None
    ) -> None:
        """ "Check my own server": a private one-time link, then the same message shows the verdict."""
        chosen: ProtocolChoice = "tcp" if protocol == "tcp" else "udp" if protocol == "udp" else "auto"
        async with self._handling(interaction, "button:self"):
            await self._self_check(interaction, SelfCheck((port,), chosen, hint=hint))

    async def recheck(self, interaction: Interaction, key: str) -> None:
        """ "Check again": the same check for whoever ran it, as privately, through the same rate limits."""
        async with self._handling(interaction, "button:again"):
            check = await self.rechecks.get(key, str(interaction.user.id))
            if check is None:
                await self._respond(interaction, RECHECK_EXPIRED, public=False)
                return
            await self._probe(interaction, check)

    async def remember(self, interaction: Interaction, host: str) -> None:
        """Save ``host`` as the asker's own server, if it is one (see bot.discord.saved_servers)."""
        value = saveable(host)
        if value is not None:
            await self.saved.save_user(interaction.user.id, value)

    async def share(self, interaction: Interaction, key: str) -> None:
        """Post a private probe result publicly, masked. Only its owner can, once, within 15 minutes."""
        async with self._handling(interaction, "button:share"):
            reply = await self.shares.take(key, str(interaction.user.id))
            if reply is None:
                await self._respond(interaction, SHARE_EXPIRED, public=False)
                return
            await self._respond(interaction, reply, public=True)

    # -- errors ------------------------------------------------------------------------------------------

    async def on_app_command_error(
        self, interaction: Interaction, error: app_commands.AppCommandError
    ) -> None:
        """The command tree's single error handler: a friendly, private message, never a traceback."""
        if isinstance(error, app_commands.CommandNotFound | app_commands.CommandSignatureMismatch):
            await self._send_error(interaction, COMMAND_OUTDATED)
        elif isinstance(error, app_commands.TransformerError):
            await self._send_error(interaction, BAD_OPTION)
        else:
            original = error.original if isinstance(error, app_commands.CommandInvokeError) else error
            await self.report_unexpected(interaction, original)

    async def report_unexpected(self, interaction: Interaction, error: BaseException) -> None:
        log.error("unexpected error handling Discord interaction %s", interaction.id, exc_info=error)
        await self._send_error(interaction, SORRY)

    async def _send_error(self, interaction: Interaction, reply: Reply) -> None:
        try:
            if interaction.type is discord.InteractionType.autocomplete:
                if not interaction.response.is_done():
                    await interaction.response.autocomplete([])
            elif interaction.response.is_done():
                await self._follow_up(interaction, reply, public=False)
            else:
                await self._respond(interaction, reply, public=False)
        except discord.HTTPException:
            log.warning("could not tell the user about an error (interaction %s)", interaction.id)

    # -- sending -----------------------------------------------------------------------------------------

    async def _probe(self, interaction: Interaction, check: Check) -> None:
        # Defer first: a probe can take seconds, and Discord drops interactions not answered within 3.
        host = check.target
        private = visibility.decide(host, None, probe=True)
        await interaction.response.defer(ephemeral=private, thinking=True)
        reply = await self.portbot.check(
            host, check.ports, check.protocol, requester_for(interaction), check.hint
        )
        await self._follow_up(interaction, reply, public=not visibility.decide(host, reply, probe=True))

    async def _self_check(self, interaction: Interaction, request: SelfCheck) -> None:
        # Always ephemeral: the link is the member's alone, and so is the verdict about their home address.
        await interaction.response.defer(ephemeral=True, thinking=True)
        started = await self.portbot.start_self_check(request, requester_for(interaction))
        await self._edit_private(interaction, started.reply)
        # The interaction's token lasts 15 minutes, longer than a link (10), so the same message can be edited.
        verdict = await self.portbot.finish_self_check(started)
        if verdict is not None:
            await self._edit_private(interaction, verdict)

    async def _edit_private(self, interaction: Interaction, reply: Reply) -> None:
        """Replace the deferred (ephemeral) response with ``reply``."""
        embed, view = await self._message(interaction, reply, public=False)
        await interaction.edit_original_response(embed=embed, view=view, allowed_mentions=NO_MENTIONS)

    async def _message(
        self, interaction: Interaction, reply: Reply, *, public: bool
    ) -> tuple[discord.Embed, discord.ui.View | None]:
        if public and (reply.private or reply.sensitive):
            reply = reply.masked()  # nothing posted where others can read it shows an address
        self._noted(interaction, reply)
        owner = str(interaction.user.id)
        shared = not public and any(action.kind is ActionKind.SHARE for action in reply.actions)
        again = next((a.check for a in reply.actions if a.kind is ActionKind.RECHECK and a.check), None)
        share_key, recheck_key = await button_keys(
            self.shares.put(reply, owner) if shared else None,
            self.rechecks.put(again, owner) if not public and again is not None else None,
        )
        embed = render_embed(reply) if reply.kind == "probe" else _shared_embed(reply)
        return embed, build_view(reply.actions, share_key, recheck_key)

    async def send_private(self, interaction: Interaction, reply: Reply) -> None:
        """Answer ``interaction`` with ``reply``, for the asker only."""
        await self._respond(interaction, reply, public=False)

    async def defer_private(self, interaction: Interaction) -> None:
        """Answer "thinking…" to the asker only; :meth:`follow_up_private` then says the rest."""
        await interaction.response.defer(ephemeral=True, thinking=True)

    async def follow_up_private(self, interaction: Interaction, reply: Reply) -> None:
        """The answer to a deferred interaction, for the asker only."""
        await self._follow_up(interaction, reply, public=False)

    async def _respond(self, interaction: Interaction, reply: Reply, *, public: bool) -> None:
        embed, view = await self._message(interaction, reply, public=public)
        await interaction.response.send_message(
            embed=embed,
            view=view if view is not None else discord.utils.MISSING,
            ephemeral=not public,
            allowed_mentions=NO_MENTIONS,
        )

    async def _follow_up(self, interaction: Interaction, reply: Reply, *, public: bool) -> None:
        embed, view = await self._message(interaction, reply, public=public)
        await interaction.followup.send(
            embed=embed,
            view=view if view is not None else discord.utils.MISSING,
            ephemeral=not public,
            allowed_mentions=NO_MENTIONS,
        )


if TYPE_CHECKING:

    def _fits(responder: Responder) -> Handlers:
        return responder  # mypy checks here that the Responder is what the views call (bot.discord.views)
