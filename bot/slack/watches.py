"""``/port watch add|list|remove …``: watches kept per Slack workspace, for its admins and owners.

Who is an admin is asked of Slack (``users.info``: ``is_admin``, ``is_owner``) on every command, never taken
from the request, as the Home tab's settings do: a member who was an admin yesterday may not be today. (The
member who installed the app is not special: in a workspace they are usually an admin anyway, and an install
record says nothing about who may change things today.)

Answers are private (they name the host). The status message in the channel is public and masked, posted with
``chat.postMessage`` and then kept up to date with ``chat.update`` (:mod:`bot.slack.notifier`).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk.errors import SlackApiError

from bot.core.commands import problem
from bot.core.reply import Field, Reply, ReplyKind
from bot.core.watch_desk import Added, WatchDesk, WatchRequest, private_name, removed_reply
from bot.slack.home import is_admin
from bot.watch.models import Platform, Protocol, Watch

if TYPE_CHECKING:
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack.notifier import SlackNotifier

log = logging.getLogger(__name__)

COMMAND = "/port watch"
_WATCH = re.compile(r"^\s*watch(?:\s+|$)", re.IGNORECASE)
_USAGE = (
    "`/port watch add <host> <port> [tcp|udp] [every <seconds>] [game <game>] [label <name>]`\n"
    "`/port watch list`  ·  `/port watch remove <number>`"
)
USAGE = Reply(
    title="Watch a server",
    summary=(
        "Portbot checks the server on a schedule, keeps a status message in this channel up to date (the address "
        "masked) and announces each change. Workspace admins and owners can add and remove watches."
    ),
    fields=(Field("Commands", _USAGE),),
    kind=ReplyKind.HELP,
    private=True,
)
WATCH_REFUSED = problem(
    "Only workspace admins and owners can manage watches",
    "Ask an admin or owner of this workspace to add, list or remove watches.",
)
WATCH_OUTSIDE_WORKSPACE = problem(
    "Watches belong to a workspace channel",
    "Run `/port watch` in the channel that should show the server's status.",
)
WATCHES_OFF = problem(
    "Watches are not set up on this Portbot",
    "The people running this Portbot have not given it a place to keep watches.",
)


def is_watch_command(text: str) -> bool:
    """Whether ``/port`` text is a watch command (``watch``, ``watch add …``), not a question."""
    return bool(_WATCH.match(text))


@dataclass(frozen=True, slots=True)
class Parsed:
    action: str  # add, list, remove
    host: str = ""
    port: int = 0
    protocol: Protocol = "tcp"
    every: float | None = None
    label: str | None = None
    game: str | None = None
    watch_id: int = 0


def parse(text: str) -> Parsed | Reply:
    """Read ``watch add|list|remove …``; a private usage or problem reply when it doesn't read."""
    words = text.split()[1:]
    if not words:
        return USAGE
    action, rest = words[0].lower(), words[1:]
    if action in ("list", "ls"):
        return Parsed("list")
    if action in ("remove", "rm", "delete"):
        number = rest[0].lstrip("#") if len(rest) == 1 else ""
        if not number.isascii() or not number.isdigit():
            return _bad(
                "Which watch should I remove? Give its number from `/port watch list`, e.g. `/port watch remove 3`."
            )
        return Parsed("remove", watch_id=int(number))
    if action != "add":
        return USAGE
    return _parse_add(rest)


def _parse_add(rest: list[str]) -> Parsed | Reply:
    if len(rest) < 2:
        return _bad("Give the host and the port, e.g. `/port watch add mc.example.com 25565`.")
    host, port_text, options = rest[0], rest[1], rest[2:]
    if not port_text.isascii() or not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        return _bad(f"`{port_text[:20]}` is not a port: ports go from 1 to 65535.")
    protocol: Protocol = "tcp"
    every: float | None = None
    label: str | None = None
    game: str | None = None
    index = 0
    while index < len(options):
        word = options[index].lower()
        if word in ("tcp", "udp"):
            protocol = "udp" if word == "udp" else "tcp"
        elif word == "every" and index + 1 < len(options):
            index += 1
            seconds = options[index].lower().removesuffix("s")
            if not seconds.isascii() or not seconds.isdigit():
                return _bad(
                    f"`every` takes seconds, e.g. `every 300`; `{options[index][:20]}` is not a number."
                )
            every = float(seconds)
        elif word == "game" and index + 1 < len(options):
            index += 1
            game = options[index]
        elif word == "label" and index + 1 < len(options):
            label = " ".join(options[index + 1 :])
            break
        else:
            return _bad(f"I don't know `{options[index][:30]}` here. {_USAGE.splitlines()[0]}")
        index += 1
    return Parsed(
        "add", host=host, port=int(port_text), protocol=protocol, every=every, label=label, game=game
    )


def _bad(message: str) -> Reply:
    return problem("I couldn't read that watch command", message, "`/port watch` shows the commands.")


def status_not_posted(watch: Watch) -> Reply:
    return problem(
        f"Watching {private_name(watch)} (#{watch.id}), but I couldn't post its status here",
        "Invite me to this channel (`/invite @Portbot`); the status message appears with the next check.",
    )


class SlackWatches:
    """Runs one ``/port watch …`` command and returns the private reply for the asker."""

    def __init__(self, desk: WatchDesk | None, notifier: SlackNotifier | None) -> None:
        self.desk = desk
        self.notifier = notifier

    async def handle(
        self,
        text: str,
        client: AsyncWebClient,
        team_id: str | None,
        user_id: str | None,
        channel_id: str | None,
    ) -> Reply:
        parsed = parse(text)
        if isinstance(parsed, Reply):
            return parsed
        if not team_id or not channel_id or not user_id:
            return WATCH_OUTSIDE_WORKSPACE
        if not await is_admin(client, user_id):
            return WATCH_REFUSED
        if self.desk is None:
            return WATCHES_OFF
        if parsed.action == "list":
            return await self.desk.list(Platform.SLACK, team_id)
        if parsed.action == "remove":
            removed = await self.desk.remove(Platform.SLACK, team_id, parsed.watch_id)
            if not isinstance(removed, Watch):
                return removed
            if self.notifier is not None:
                await self.notifier.retire(removed)
            return removed_reply(removed)
        request = WatchRequest(
            platform=Platform.SLACK,
            scope_id=team_id,
            user_id=user_id,
            channel_id=channel_id,
            host=parsed.host,
            port=parsed.port,
            protocol=parsed.protocol,
            every=parsed.every,
            label=parsed.label,
            game=parsed.game,
        )
        added = await self.desk.add(request)
        if not isinstance(added, Added):
            return added
        if not await self._post_status(added.watch):
            return status_not_posted(added.watch)
        return added.reply

    async def _post_status(self, watch: Watch) -> bool:
        if self.notifier is None or self.desk is None:
            return False
        try:
            ts = await self.notifier.post_pending(watch)
        except SlackApiError as err:
            log.info("could not post a watch's status message: %s", err.response.get("error"))
            return False
        await self.desk.repository.set_status_message(watch.id, ts)
        return True
