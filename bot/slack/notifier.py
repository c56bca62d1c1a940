"""The Slack :class:`~bot.watch.notify.Notifier`: a watch's status message posted with ``chat.postMessage`` and kept
up to date with ``chat.update``, and an alert on each change, in Block Kit from the one Slack renderer.

A watch belongs to a workspace (its ``scope_id`` is the team id); each call uses that workspace's bot token:
the single-workspace token, or the one its OAuth install stored (:func:`installation_tokens`). Everything posted
is public, so replies come from :mod:`bot.core.watch_replies` (host masked), are masked once more, and go out
with ``parse=none`` and ``link_names`` off: nothing a server says can mention anyone.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from slack_sdk.errors import SlackApiError

from bot.core.watch_desk import retired_reply
from bot.core.watch_replies import alert_reply, status_reply
from bot.slack.render import render

if TYPE_CHECKING:
    from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.core.reply import Reply
    from bot.watch.models import Watch
    from bot.watch.notify import Change, CheckSummary

log = logging.getLogger(__name__)

TokenFor = Callable[[str], Awaitable[str | None]]
_QUIET: dict[str, Any] = {"unfurl_links": False, "unfurl_media": False, "parse": "none", "link_names": False}
_GONE = ("message_not_found", "cant_update_message", "channel_not_found")


class NoToken(Exception):
    """No bot token for a watch's workspace (the app was uninstalled there)."""


class SlackNotifier:
    """Posts and updates watch messages through ``client``, with each workspace's token from ``token_for``."""

    def __init__(self, client: AsyncWebClient, token_for: TokenFor) -> None:
        self.client = client
        self.token_for = token_for

    async def _token(self, watch: Watch) -> str:
        token = await self.token_for(watch.scope_id)
        if not token:
            raise NoToken(f"no Slack bot token for workspace {watch.scope_id} (watch {watch.id})")
        return token

    async def _post(self, watch: Watch, reply: Reply) -> str:
        response = await self.client.chat_postMessage(
            token=await self._token(watch), channel=str(watch.channel_id), **_message(reply), **_QUIET
        )
        return str(response["ts"])

    async def post_pending(self, watch: Watch) -> str:
        """Post the first status message ("first check pending") and return its ts (its id in Slack)."""
        return await self._post(watch, status_reply(watch, None))

    async def show_status(self, watch: Watch, summary: CheckSummary) -> str | None:
        """``chat.update`` the status message; post a new one (and return its ts) when there is none or it was
        deleted."""
        reply = status_reply(watch, summary)
        if watch.status_message_id:
            try:
                await self._update(watch, reply)
                return None
            except SlackApiError as err:
                if err.response.get("error") not in _GONE:
                    raise
                log.info("watch %s: its status message is gone; posting a new one", watch.id)
        return await self._post(watch, reply)

    async def _update(self, watch: Watch, reply: Reply) -> None:
        await self.client.chat_update(
            token=await self._token(watch),
            channel=str(watch.channel_id),
            ts=str(watch.status_message_id),
            parse="none",
            link_names=False,
            **_message(reply),
        )

    async def alert(self, change: Change) -> None:
        await self._post(change.watch, alert_reply(change))

    async def retire(self, watch: Watch) -> None:
        """Say on the status message that the watch was removed (best effort: it may be gone already)."""
        if not watch.status_message_id or not watch.channel_id:
            return
        try:
            await self._update(watch, retired_reply(watch))
        except (SlackApiError, NoToken) as err:
            log.info("watch %s: could not mark its status message as removed: %s", watch.id, err)


def _message(reply: Reply) -> dict[str, Any]:
    # Watch replies are written masked; masking again catches an address in text Portbot did not write.
    return dict(render(reply.masked()))


def fixed_token(token: str | None) -> TokenFor:
    """One workspace: the app's own bot token (``SLACK_BOT_TOKEN``) for every watch."""

    async def token_for(_team_id: str) -> str | None:
        return token

    return token_for


def installation_tokens(store: AsyncInstallationStore) -> TokenFor:
    """Several workspaces (OAuth installs): the bot token the workspace's install stored."""

    async def token_for(team_id: str) -> str | None:
        bot = await store.async_find_bot(enterprise_id=None, team_id=team_id)
        return bot.bot_token if bot is not None else None

    return token_for
