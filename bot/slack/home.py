"""Portbot's App Home: the Home tab (help, and this workspace's settings, which its admins can change there) and
the welcome a member gets the first time they open or write in Portbot's DM.

Whether someone may change settings is asked of Slack (``users.info``: ``is_admin`` / ``is_owner``) on every
change, never taken from the request: a member who was an admin yesterday may not be today.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.async_context import AsyncBoltContext
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.commands import help_reply
from bot.core.reply import Reply, ReplyKind
from bot.slack.render import mrkdwn, render
from bot.slack.workspace import WorkspaceSettings, WorkspaceStore

log = logging.getLogger(__name__)

ACTION_KNOWLEDGE = "portbot_home_knowledge"  # value: "private" or "public", the state asked for
PRIVATE, PUBLIC = "private", "public"

PROBES_ALWAYS_PRIVATE = (
    "Only the person who asked sees them, always: they show a member's address. "
    "The asker can post a copy with the address masked (Share in channel)."
)
KNOWLEDGE_PUBLIC = (
    "Posted in the channel for everyone. "
    "An answer to a question that holds an address or a server name is always private."
)
KNOWLEDGE_PRIVATE = "Only the person who asked sees them."
ADMINS_ONLY = "Only workspace admins and owners can change these settings."
NOT_ALLOWED = "Only workspace admins and owners can change settings. Nothing was changed."
SAVED = "Saved. New answers in this workspace follow it from now on."

WELCOME = Reply(
    title="Welcome to Portbot",
    summary=(
        "I explain ports in plain words and check whether a port on your server is reachable from the "
        "internet. Ask me here, with `/port` in any channel, or by mentioning me. "
        "Reachability checks are only ever shown to you."
    ),
    fields=help_reply().fields,
    actions=help_reply().actions,
    kind=ReplyKind.HELP,
)


def home_view(settings: WorkspaceSettings, *, admin: bool, notice: str | None = None) -> dict[str, Any]:
    """The Home tab for one member: help, then the workspace's settings (with buttons for admins)."""
    # The help's Ask buttons would arrive with nowhere to answer (a Home tab has no channel): left out here.
    blocks = list(render(dataclasses.replace(help_reply(), actions=()))["blocks"])
    blocks += [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Settings for this workspace"}},
        _section(f"**Reachability checks**\n{PROBES_ALWAYS_PRIVATE}"),
        _section(
            "**Port and service answers**\n"
            + (KNOWLEDGE_PRIVATE if settings.knowledge_private else KNOWLEDGE_PUBLIC)
        ),
    ]
    if admin:
        make = PUBLIC if settings.knowledge_private else PRIVATE
        label = "Answer in the channel" if make == PUBLIC else "Answer only the asker"
        blocks.append(
            {
                "type": "actions",
                "block_id": "settings",
                "elements": [
                    {
                        "type": "button",
                        "action_id": ACTION_KNOWLEDGE,
                        "text": {"type": "plain_text", "text": label},
                        "value": make,
                    }
                ],
            }
        )
    else:
        blocks.append(_context(ADMINS_ONLY))
    if notice:
        blocks.append(_context(notice))
    return {"type": "home", "blocks": blocks}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": mrkdwn(text), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn(text), "verbatim": True}]}


def workspace_of(context: AsyncBoltContext) -> str | None:
    """Whose settings apply: the workspace, or for an org-wide (Enterprise Grid) install, the organisation."""
    return context.team_id or context.enterprise_id


async def is_admin(client: AsyncWebClient, user_id: str) -> bool:
    """Whether Slack says ``user_id`` is an admin or owner of the workspace; False when Slack can't say."""
    try:
        response = await client.users_info(user=user_id)
    except SlackApiError as err:
        log.warning("users.info failed (%s): treating the member as not an admin", err)
        return False
    user = response.get("user") or {}
    return bool(user.get("is_admin") or user.get("is_owner") or user.get("is_primary_owner"))


class Home:
    """The Home tab's listeners, and the once-per-member welcome."""

    def __init__(self, store: WorkspaceStore, client_for: Callable[[AsyncWebClient], AsyncWebClient]) -> None:
        self.store = store
        self._client_for = client_for  # the request's client on the shared session

    def register(self, app: AsyncApp) -> None:
        app.event("app_home_opened")(ack=self.ack, lazy=[self.opened])
        app.action(ACTION_KNOWLEDGE)(ack=self.ack, lazy=[self.change_knowledge])

    async def ack(self, ack: AsyncAck) -> None:
        await ack()

    async def opened(self, event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient) -> None:
        """Home tab: publish it for this member. Messages tab: the welcome, the first time."""
        client = self._client_for(client)
        user = event.get("user")
        if not isinstance(user, str):
            return
        try:
            if event.get("tab") == "messages":
                await self.welcome(client, workspace_of(context), user, event.get("channel") or user)
            else:
                await self.publish(client, workspace_of(context), user)
        except Exception:  # a Home tab has nowhere to apologise; the member can open it again
            log.exception("App Home listener failed")

    async def change_knowledge(
        self, body: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        """An admin's press on the Home tab's settings button; anyone else's changes nothing."""
        client = self._client_for(client)
        user = context.user_id
        if not user:
            return
        try:
            value = body["actions"][0].get("value")
            if value not in (PRIVATE, PUBLIC):
                return
            if not await is_admin(client, user):
                await self.publish(client, workspace_of(context), user, admin=False, notice=NOT_ALLOWED)
                return
            await self.store.update(workspace_of(context), knowledge_private=value == PRIVATE)
            log.info("workspace settings changed by an admin: knowledge answers %s", value)
            await self.publish(client, workspace_of(context), user, admin=True, notice=SAVED)
        except Exception:
            log.exception("changing workspace settings failed")

    async def publish(
        self,
        client: AsyncWebClient,
        team_id: str | None,
        user: str,
        *,
        admin: bool | None = None,
        notice: str | None = None,
    ) -> None:
        if admin is None:
            admin = await is_admin(client, user)
        view = home_view(await self.store.get(team_id), admin=admin, notice=notice)
        await client.views_publish(user_id=user, view=view)

    async def welcome(self, client: AsyncWebClient, team_id: str | None, user: str, channel: str) -> None:
        """Post the welcome in ``channel`` (the member's DM with Portbot) if this member never had it."""
        if not await self.store.first_welcome(team_id, user):
            return
        try:
            await client.chat_postMessage(
                channel=channel, **render(WELCOME), unfurl_links=False, unfurl_media=False
            )
        except (
            SlackApiError
        ) as err:  # a welcome is a nicety: never let it stand between a member and an answer
            log.warning("could not post the welcome (%s)", err)
