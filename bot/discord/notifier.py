"""The Discord :class:`~bot.watch.notify.Notifier`: a watch's status message kept up to date, and an alert on each
change, posted through the bot's REST client.

Inside ``portbot discord`` it uses the running client's HTTP session. ``portbot watch run`` (its own process) logs
in over REST only (:func:`rest_notifier`): no gateway connection, no shard, nothing received.

Everything posted here is public: replies come from :mod:`bot.core.watch_replies` (host masked), are masked once
more for any address literal, rendered as one embed, and sent with ``AllowedMentions.none()``.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import discord

from bot.core.watch_desk import retired_reply
from bot.core.watch_replies import alert_reply, status_reply
from bot.discord.render import render_embed
from bot.discord.responder import NO_MENTIONS

if TYPE_CHECKING:
    from bot.core.reply import Reply
    from bot.settings import Settings
    from bot.watch.models import Watch
    from bot.watch.notify import Change, CheckSummary

log = logging.getLogger(__name__)


class DiscordNotifier:
    """Posts and edits watch messages in Discord channels through ``client`` (logged in; gateway optional)."""

    def __init__(self, client: discord.Client) -> None:
        self.client = client

    def _channel(self, watch: Watch) -> discord.PartialMessageable:
        if not watch.channel_id:
            raise ValueError(f"watch {watch.id} has no channel")
        return self.client.get_partial_messageable(int(watch.channel_id))

    async def _post(self, watch: Watch, reply: Reply) -> str:
        message = await self._channel(watch).send(embed=_embed(reply), allowed_mentions=NO_MENTIONS)
        return str(message.id)

    async def post_pending(self, watch: Watch) -> str:
        """Post the first status message ("first check pending") and return its id."""
        return await self._post(watch, status_reply(watch, None))

    async def show_status(self, watch: Watch, summary: CheckSummary) -> str | None:
        """Edit the status message in place; post a new one (and return its id) when there is none or it was
        deleted."""
        reply = status_reply(watch, summary)
        if watch.status_message_id:
            message = self._channel(watch).get_partial_message(int(watch.status_message_id))
            try:
                await message.edit(embed=_embed(reply), allowed_mentions=NO_MENTIONS)
                return None
            except discord.NotFound:  # someone deleted it: a new one takes its place
                log.info("watch %s: its status message is gone; posting a new one", watch.id)
        return await self._post(watch, reply)

    async def alert(self, change: Change) -> None:
        await self._post(change.watch, alert_reply(change))

    async def retire(self, watch: Watch) -> None:
        """Say on the status message that the watch was removed (best effort: it may be gone already)."""
        if not watch.status_message_id or not watch.channel_id:
            return
        message = self._channel(watch).get_partial_message(int(watch.status_message_id))
        try:
            await message.edit(embed=_embed(retired_reply(watch)), allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as err:
            log.info("watch %s: could not mark its status message as removed: %s", watch.id, err)


def _embed(reply: Reply) -> discord.Embed:
    # Watch replies are written masked; masking again catches an address inside text Portbot did not write
    # (a probe's reason quoting a server's answer).
    return render_embed(reply.masked())


@contextlib.asynccontextmanager
async def notifier_from_settings(settings: Settings) -> AsyncIterator[DiscordNotifier]:
    """For ``portbot watch run``: :func:`rest_notifier` with ``DISCORD_TOKEN``, aimed at ``DISCORD_API_BASE`` when
    set. Raises SettingsError when the token is missing or Discord rejects it."""
    from bot.discord._endpoints import pointed_at
    from bot.settings import WHERE, SettingsError

    settings.require("DISCORD_TOKEN")
    assert settings.discord.token is not None
    with pointed_at(settings.discord.api_base, None):
        try:
            async with rest_notifier(settings.discord.token.get_secret_value()) as notifier:
                yield notifier
        except discord.LoginFailure:
            raise SettingsError(
                f"DISCORD_TOKEN was rejected by Discord: get a fresh one from {WHERE['DISCORD_TOKEN']}."
            ) from None


@contextlib.asynccontextmanager
async def rest_notifier(token: str) -> AsyncIterator[DiscordNotifier]:
    """A notifier for a process without a gateway connection (``portbot watch run``): log in over REST, post and
    edit, log out on exit. Aim it elsewhere with :func:`bot.discord._endpoints.pointed_at`."""
    client = discord.Client(intents=discord.Intents.none(), allowed_mentions=NO_MENTIONS)
    async with client:
        await client.login(token)
        yield DiscordNotifier(client)
