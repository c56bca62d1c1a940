"""Buttons and the host modal. Reply actions → buttons whose ``custom_id`` carries everything they need.

Every button is a :class:`discord.ui.DynamicItem`: its state lives in the ``custom_id`` (``portbot:check:25565:tcp``),
and the classes are registered once at start-up. So buttons keep working after a restart, and no per-message
view is kept in memory (views are stopped before sending, which tells discord.py not to track them).
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Awaitable
from typing import Any, Protocol, cast

import discord

from bot.core.reply import Action, ActionKind
from bot.discord.render import clip, plain

log = logging.getLogger(__name__)

CUSTOM_ID_MAX = 100
LABEL_MAX = 80
BUTTONS_PER_ROW = 5
ROWS_MAX = 5
HOST_MAX = 255  # a DNS name is at most 253 characters; room for a bracketed IPv6 address with a port

_PROTOCOLS = ("auto", "tcp", "udp", "both")
_HINT = r"[a-z0-9][a-z0-9-]{0,63}"  # a curated service id


class Handlers(Protocol):
    """What the buttons and the modal ask of bot.discord.responder.Responder (which checks that it fits). A
    Protocol, so that these views need not import the responder that builds them."""

    async def ask(self, interaction: discord.Interaction[Any], query: str) -> None: ...

    async def open_check_modal(
        self, interaction: discord.Interaction[Any], port: int, protocol: str, hint: str | None = None
    ) -> None: ...

    async def check_from_modal(
        self,
        interaction: discord.Interaction[Any],
        host: str,
        port: int,
        protocol: str,
        hint: str | None = None,
    ) -> None: ...

    async def self_check(
        self, interaction: discord.Interaction[Any], port: int, protocol: str, hint: str | None = None
    ) -> None: ...

    async def recheck(self, interaction: discord.Interaction[Any], key: str) -> None: ...

    async def share(self, interaction: discord.Interaction[Any], key: str) -> None: ...

    async def report_unexpected(
        self, interaction: discord.Interaction[Any], error: BaseException
    ) -> None: ...


def responder_of(interaction: discord.Interaction[Any]) -> Handlers:
    """The Responder the running PortbotClient carries."""
    return cast(Handlers, interaction.client.responder)


async def _safely(interaction: discord.Interaction[Any], call: Awaitable[None]) -> None:
    # discord.py only logs errors raised in item callbacks; the user would see "interaction failed".
    try:
        await call
    except Exception as error:
        await responder_of(interaction).report_unexpected(interaction, error)


class CheckPortButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=(
        r"portbot:check:(?P<port>[0-9]{1,5}):(?P<protocol>auto|tcp|udp|both)(?::(?P<hint>[a-z0-9][a-z0-9-]{0,63}))?"
    ),
):
    """ "Check this port": opens a modal asking which host to probe on this port. ``hint`` is the curated
    entry the button came from: the check covers its protocols and Steam query port."""

    def __init__(
        self, port: int, protocol: str, label: str = "Check this port", hint: str | None = None
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.hint = hint
        tail = f":{hint}" if hint else ""
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.primary,
                emoji="🔎",
                custom_id=f"portbot:check:{port}:{protocol}{tail}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> CheckPortButton:
        label = getattr(item, "label", None) or "Check this port"
        return cls(int(match["port"]), match["protocol"], label, match["hint"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _safely(
            interaction,
            responder_of(interaction).open_check_modal(interaction, self.port, self.protocol, self.hint),
        )


class AskButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"portbot:ask:(?P<query>.+)",
):
    """A follow-up question, answered only to whoever clicks it."""

    PREFIX = "portbot:ask:"

    def __init__(self, query: str, label: str) -> None:
        self.query = query
        super().__init__(
            discord.ui.Button(label=label, style=discord.ButtonStyle.secondary, custom_id=self.PREFIX + query)
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> AskButton:
        return cls(match["query"], getattr(item, "label", None) or match["query"][:LABEL_MAX])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _safely(interaction, responder_of(interaction).ask(interaction, self.query))


class ShareButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"portbot:share:(?P<key>[A-Za-z0-9_-]{1,64})",
):
    """Re-post a private probe result in the channel, with addresses masked."""

    def __init__(self, key: str, label: str = "Share in channel") -> None:
        self.key = key
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.success, emoji="📢", custom_id=f"portbot:share:{key}"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> ShareButton:
        return cls(match["key"], getattr(item, "label", None) or "Share in channel")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _safely(interaction, responder_of(interaction).share(interaction, self.key))


class RecheckButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"portbot:again:(?P<key>[A-Za-z0-9_-]{1,64})",
):
    """ "Check again": the same check, for the same person, as privately; the check itself stays server-side."""

    def __init__(self, key: str, label: str = "Check again") -> None:
        self.key = key
        super().__init__(
            discord.ui.Button(
                label=label, style=discord.ButtonStyle.primary, emoji="🔁", custom_id=f"portbot:again:{key}"
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> RecheckButton:
        return cls(match["key"], getattr(item, "label", None) or "Check again")

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _safely(interaction, responder_of(interaction).recheck(interaction, self.key))


class SelfCheckButton(
    discord.ui.DynamicItem[discord.ui.Button[Any]],
    template=r"portbot:self:(?P<port>[0-9]{1,5}):(?P<protocol>auto|tcp|udp|both)(?::(?P<hint>[a-z0-9][a-z0-9-]{0,63}))?",
):
    """ "Check my own server": a private one-time link that checks the clicker's own network, no address typed."""

    def __init__(
        self, port: int, protocol: str, label: str = "Check my own server", hint: str | None = None
    ) -> None:
        self.port = port
        self.protocol = protocol
        self.hint = hint
        tail = f":{hint}" if hint else ""
        super().__init__(
            discord.ui.Button(
                label=label,
                style=discord.ButtonStyle.secondary,
                emoji="🏠",
                custom_id=f"portbot:self:{port}:{protocol}{tail}",
            )
        )

    @classmethod
    async def from_custom_id(
        cls, interaction: discord.Interaction[Any], item: discord.ui.Item[Any], match: re.Match[str], /
    ) -> SelfCheckButton:
        label = getattr(item, "label", None) or "Check my own server"
        return cls(int(match["port"]), match["protocol"], label, match["hint"])

    async def callback(self, interaction: discord.Interaction[Any]) -> None:
        await _safely(
            interaction,
            responder_of(interaction).self_check(interaction, self.port, self.protocol, self.hint),
        )


DYNAMIC_ITEMS: tuple[type[discord.ui.DynamicItem[Any]], ...] = (
    CheckPortButton,
    SelfCheckButton,
    AskButton,
    ShareButton,
    RecheckButton,
)


class CheckModal(discord.ui.Modal):
    """Asks for the host to probe on a port the user picked from a knowledge answer."""

    def __init__(
        self, port: int, protocol: str, hint: str | None = None, *, default: str | None = None
    ) -> None:
        suffix = {"auto": "", "both": "/tcp+udp"}.get(protocol, f"/{protocol}")
        super().__init__(title=f"Check port {port}{suffix}", timeout=15 * 60)
        self.port = port
        self.protocol = protocol
        self.hint = hint
        self.host: discord.ui.TextInput[CheckModal] = discord.ui.TextInput(
            placeholder="mc.example.com or 203.0.113.7",
            min_length=1,
            max_length=HOST_MAX,
            default=default[:HOST_MAX] if default else None,
        )
        self.add_item(
            discord.ui.Label(
                text="Your server's public address",
                description="A host name or public IP. I keep it for you alone, to fill this in next time.",
                component=self.host,
            )
        )

    async def on_submit(self, interaction: discord.Interaction[Any], /) -> None:
        await responder_of(interaction).check_from_modal(
            interaction, self.host.value, self.port, self.protocol, self.hint
        )

    # discord.py's Modal narrows BaseView.on_error's signature the same way.
    async def on_error(self, interaction: discord.Interaction[Any], error: Exception, /) -> None:  # type: ignore[override]
        await responder_of(interaction).report_unexpected(interaction, error)


def _button_for(
    action: Action, share_key: str | None, recheck_key: str | None
) -> discord.ui.Item[Any] | None:
    label = clip(plain(action.label), LABEL_MAX) or "…"
    if action.kind is ActionKind.CHECK_PORT and action.port is not None and 1 <= action.port <= 65535:
        protocol = action.protocol if action.protocol in _PROTOCOLS else "auto"
        hint = action.hint if action.hint and re.fullmatch(_HINT, action.hint) else None
        return CheckPortButton(action.port, protocol, label, hint)
    if action.kind is ActionKind.SELF_CHECK and action.port is not None and 1 <= action.port <= 65535:
        protocol = action.protocol if action.protocol in _PROTOCOLS else "auto"
        hint = action.hint if action.hint and re.fullmatch(_HINT, action.hint) else None
        return SelfCheckButton(action.port, protocol, label, hint)
    if action.kind is ActionKind.RECHECK and recheck_key:
        return RecheckButton(recheck_key, label)
    if action.kind is ActionKind.ASK and action.query:
        query = plain(action.query)
        if query and len(AskButton.PREFIX + query) <= CUSTOM_ID_MAX:
            return AskButton(query, label)
        log.warning("ask button dropped: query too long for a custom_id (%d chars)", len(query))
        return None
    if action.kind is ActionKind.SHARE and share_key:
        return ShareButton(share_key, label)
    return None


def build_view(
    actions: tuple[Action, ...], share_key: str | None = None, recheck_key: str | None = None
) -> discord.ui.View | None:
    """Buttons for ``actions`` (at most 25: 5 rows of 5), or None when there is nothing to click."""
    if share_key is None and recheck_key is None:
        return _shared_view(actions)
    return _new_view(actions, share_key, recheck_key)


@functools.lru_cache(maxsize=512)
def _shared_view(actions: tuple[Action, ...]) -> discord.ui.View | None:
    # Popular answers repeat: a stopped view is only ever read when sent, so one instance serves them all.
    return _new_view(actions, None, None)


def _new_view(
    actions: tuple[Action, ...], share_key: str | None, recheck_key: str | None
) -> discord.ui.View | None:
    view = discord.ui.View(timeout=None)
    seen: set[str] = set()
    for action in actions:
        item = _button_for(action, share_key, recheck_key)
        if item is None:
            continue
        custom_id = cast("discord.ui.DynamicItem[Any]", item).custom_id
        if custom_id in seen:  # Discord rejects duplicate custom_ids in one message
            continue
        if len(view.children) >= BUTTONS_PER_ROW * ROWS_MAX:
            break
        seen.add(custom_id)
        view.add_item(item)
    if not view.children:
        return None
    # Our buttons are dispatched by their registered DynamicItem classes; a stopped view is not tracked.
    view.stop()
    return view
