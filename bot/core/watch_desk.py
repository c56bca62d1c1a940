"""Adding, listing and removing watches from chat: the checks and replies Discord and Slack share.

The adapters decide who may ask (server or workspace admins) and post the status message; everything a
platform must agree on (what a valid watch is, the quota, the shortest interval, what the replies say) is here.
Replies to these commands name the host, so they are private, with the host marked sensitive.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.reply import Field, Reply, ReplyKind, Status
from bot.core.watch_replies import watch_name, where
from bot.watch.models import NewWatch, Platform, Protocol, Watch, WatchError, WatchNotFound, WatchQuotaReached
from probes.errors import InputError, PortbotError, RefusedTarget, ResolveError
from probes.targets import parse_target

if TYPE_CHECKING:
    from bot.watch.repository import WatchRepository
    from knowledge import Service
    from probes.policy import SafetyPolicy

LABEL_MAX = 80
FIRST_CHECK_IN = 5.0  # seconds between adding a watch in chat and its first check
#: ``ProbeEngine.check_target(host, ports, hint)``: raises the probe's own RefusedTarget/ResolveError/InputError.
CheckTarget = Callable[[str, tuple[int, ...], str | None], Awaitable[None]]


class IntervalTooShort(WatchError):
    """``every`` below ``PORTBOT_WATCH_MIN_INTERVAL``."""


class UnknownGame(WatchError):
    """A game named that the knowledge base does not know."""


@dataclass(frozen=True, slots=True)
class WatchRequest:
    """What an admin typed: ``host`` and ``port`` as given; ``every`` None for the shortest interval."""

    platform: Platform
    scope_id: str
    user_id: str
    channel_id: str
    host: str
    port: int
    protocol: Protocol = "tcp"
    every: float | None = None
    label: str | None = None
    game: str | None = None  # a game or app as typed ("minecraft", "valheim"): its status query gives players


@dataclass(frozen=True, slots=True)
class Added:
    """A watch stored, and the private reply that says so."""

    watch: Watch
    reply: Reply


class WatchDesk:
    """The chat side of watches, on a :class:`WatchRepository`, the probe safety policy and the two settings."""

    def __init__(
        self,
        repository: WatchRepository,
        policy: SafetyPolicy,
        *,
        quota: int,
        min_interval: float,
        command: str = "/port watch",
        games: Callable[[str], Service | None] | None = None,
        check_target: CheckTarget | None = None,
    ) -> None:
        self.repository = repository
        # Judges a host name as a probe would (resolve, then the policy on every address), sending it nothing.
        # Without one, address literals are judged here and names when they are first checked.
        self.check_target = check_target
        self.games = games  # the knowledge base's reading of a game's name (Portbot.service_named)
        self.command = command  # how the platform spells the command, for "remove one with …"
        self.policy = policy
        self.quota = quota
        self.min_interval = min_interval

    async def add(self, request: WatchRequest) -> Added | Reply:
        """Store the watch, or say (privately) why not: a bad or refused host, too short an interval, the
        quota reached, or already watched."""
        try:
            new = self._validated(request)
            if self.check_target is not None:
                await self.check_target(new.host, (new.port,), new.game)
            # The first check waits a moment: the platform posts the watch's status message right after this
            # and stores its id, which the scheduler then edits (checked sooner, it would post a second one).
            watch = await self.repository.add(new, quota=self.quota, first_check_in=FIRST_CHECK_IN)
        except WatchQuotaReached:
            where = "workspace" if request.platform is Platform.SLACK else "server"
            message = (
                f"This {where} already has {self.quota} watches, the most it can have. "
                f"Remove one with `{self.command} remove` first."
            )
            return refusal(WatchQuotaReached(message), request.host)
        except PortbotError as err:
            return refusal(err, request.host)
        count = len(await self.repository.list(request.platform, request.scope_id))
        return Added(watch, added_reply(watch, count, self.quota))

    async def list(self, platform: Platform, scope_id: str) -> Reply:
        return list_reply(await self.repository.list(platform, scope_id), self.quota, self.command)

    async def remove(self, platform: Platform, scope_id: str, watch_id: int) -> Watch | Reply:
        """The removed watch, or a private reply saying there is no such watch here."""
        try:
            return await self.repository.remove(platform, scope_id, watch_id)
        except WatchNotFound:
            # The repository's sentence names the command line's spelling; say this platform's.
            missing = WatchNotFound(
                f"There is no watch #{watch_id} here. `{self.command} list` shows this {self._where(platform)}'s."
            )
            return refusal(missing, None)
        except WatchError as err:
            return refusal(err, None)

    @staticmethod
    def _where(platform: Platform) -> str:
        return "workspace" if platform is Platform.SLACK else "server"

    def _validated(self, request: WatchRequest) -> NewWatch:
        target = parse_target(request.host)  # InputError, in the probe's own words
        if target.address is not None:
            self.policy.check_address(target.address)  # RefusedTarget, in the probe's own words
        self.policy.check_ports((request.port,))
        every = self.min_interval if request.every is None else request.every
        if every < self.min_interval:
            raise IntervalTooShort(
                f"Checks can be at most one every {self.min_interval:g} seconds here: "
                f"give `every` of {self.min_interval:g} or more."
            )
        label = " ".join((request.label or "").split())[:LABEL_MAX] or None
        game = self._game(request.game) if request.game else None
        return NewWatch(
            platform=request.platform,
            scope_id=request.scope_id,
            created_by=request.user_id,
            host=target.host,
            port=request.port,
            protocol=request.protocol,
            every=every,
            label=label,
            game=game,
            channel_id=request.channel_id,
        )

    def _game(self, typed: str) -> str:
        """The knowledge entry's id for a game or app as typed; WatchError when none matches."""
        service = self.games(typed) if self.games is not None else None
        if service is None:
            raise UnknownGame(
                f"I don't know the game or app `{typed[:40]}`, so I can't ask it for players. "
                "Name one I know (minecraft, valheim, rust, …) or leave it out to check the port alone."
            )
        return service.id


def refusal(err: PortbotError, host: str | None) -> Reply:
    """A private reply for a watch that could not be added or removed, with the reason as the error gives it."""
    match err:
        case RefusedTarget():
            title = "I won't watch that address"
        case InputError():
            title = "I can't watch that"
        case ResolveError():
            title = "That name doesn't resolve"
        case _:
            title = "I can't do that"
    sensitive = tuple(s for s in (host, getattr(err, "address", None)) if s)
    return Reply(
        title=title,
        summary=err.message,
        fields=(Field("What to do", err.hint),) if err.hint else (),
        status=Status.ERROR,
        kind=ReplyKind.ERROR,
        private=True,
        sensitive=sensitive,
    )


def private_name(watch: Watch) -> str:
    """How a private reply names ``watch``: its label or game, else its host and port (the asker's own)."""
    return watch_name(watch) if watch.label or watch.game else f"{watch.host}:{watch.port}"


def public_choice(watch: Watch) -> str:
    """A watch as others may see it (an autocomplete list): number, name if it has one, masked target."""
    named = f"{watch_name(watch)} · " if watch.label or watch.game else ""
    return f"#{watch.id} {named}{where(watch)}"


def added_reply(watch: Watch, count: int, quota: int) -> Reply:
    return Reply(
        title=f"Watching {private_name(watch)} (#{watch.id})",
        summary=(
            f"`{watch.host}` port {watch.port}/{watch.protocol.upper()}, checked every {watch.every:g} seconds. "
            "A status message in this channel shows how it is doing (the address masked), and changes are "
            "announced there once two checks in a row agree."
        ),
        fields=(Field("Watches here", f"{count} of {quota}", inline=True),),
        status=Status.OK,
        kind=ReplyKind.HELP,
        private=True,
        sensitive=(watch.host,),
    )


def list_reply(found: list[Watch], quota: int, command: str = "/port watch") -> Reply:
    if not found:
        return Reply(
            title="Nothing is watched here",
            summary=f"Add a watch with `{command} add <host> <port>`; only admins can.",
            kind=ReplyKind.HELP,
            private=True,
        )
    lines = [
        f"**#{w.id}** {watch_name(w) + ': ' if w.label or w.game else ''}`{w.host}` port {w.port}/"
        f"{w.protocol.upper()}, every {w.every:g} s — {w.state.value if w.state else 'not checked yet'}"
        for w in found
    ]
    return Reply(
        title=f"Watches here ({len(found)} of {quota})",
        summary="\n".join(lines),
        fields=(Field("Remove one", f"`{command} remove <number>`"),),
        kind=ReplyKind.HELP,
        private=True,
        sensitive=tuple(w.host for w in found),
    )


def removed_reply(watch: Watch) -> Reply:
    return Reply(
        title=f"Stopped watching {private_name(watch)} (#{watch.id})",
        summary=f"`{watch.host}` port {watch.port}/{watch.protocol.upper()} is no longer checked.",
        kind=ReplyKind.HELP,
        private=True,
        sensitive=(watch.host,),
    )


def retired_reply(watch: Watch) -> Reply:
    """What the status message says once its watch is removed (public: masked)."""
    return Reply(
        title=f"{watch_name(watch)} is no longer watched",
        summary=f"{where(watch)} was removed from this channel's watches.",
        kind=ReplyKind.PROBE,
    )
