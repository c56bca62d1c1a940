"""The one reply model every renderer (terminal, Discord, Slack) consumes. Plain data: no chat library here.

Text in a Reply is plain text with light markdown (``**bold**``, ``` `code` ```) written by Portbot itself.
Anything that came from a user (their query, a host name, a server MOTD) is kept as-is here; each renderer
escapes it for its own platform, so nothing a user types can ever mention anyone or inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.intents import Check


class Status(StrEnum):
    """Drives the colour / icon of a reply."""

    INFO = "info"  # knowledge answers, help
    OK = "ok"  # reachable
    WARN = "warn"  # reachable but something is off; closed; open|filtered
    BAD = "bad"  # filtered / unreachable
    ERROR = "error"  # we could not answer: bad input, refused target, rate limited


class ActionKind(StrEnum):
    CHECK_PORT = "check_port"  # "Check this port": asks for a host, then probes ``port``/``protocol``
    ASK = "ask"  # a follow-up question, answered like ``/port <query>``
    SHARE = "share"  # re-post a private probe result publicly with addresses masked
    RECHECK = "recheck"  # run the same check again, for the same person, as privately
    SELF_CHECK = "self_check"  # "Check my own server": a private one-time link for ``port``/``protocol``


class ReplyKind(StrEnum):
    """What a reply answers; a StrEnum, so ``reply.kind == "probe"`` holds and JSON shows the plain word."""

    KNOWLEDGE = "knowledge"  # a port, a service, a topic
    PROBE = "probe"  # a reachability check's verdict
    HELP = "help"
    SELFCHECK = "selfcheck"  # a one-time link that checks the asker's own server
    ERROR = "error"  # we could not answer: bad input, refused target, rate limited, a failure


@dataclass(frozen=True, slots=True)
class Field:
    """A titled block of a reply (an embed field on Discord, a section on Slack and in the terminal)."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    """Something to do next, shown as a button; which of ``port``, ``protocol``, ``query``, ``hint`` apply
    follows ``kind``. ``hint`` is a curated service id: the check then covers what that entry lists (both
    protocols, a Steam query port) and tells the engine what to say to the port. ``check`` is the check a
    RECHECK repeats; it names the host, so adapters keep it server-side and only a key rides in the button."""

    kind: ActionKind
    label: str
    port: int | None = None
    protocol: str | None = None
    query: str | None = None
    hint: str | None = None
    check: Check | None = None


@dataclass(frozen=True, slots=True)
class Reply:
    """A platform-neutral answer.

    ``private`` replies reveal something about a person (a home IP address, a host name): chat adapters show
    them only to the asker unless a server admin changed that default. ``sensitive`` lists the exact strings
    that :meth:`masked` hides when a private reply is shared.
    """

    title: str
    summary: str
    fields: tuple[Field, ...] = ()
    status: Status = Status.INFO
    actions: tuple[Action, ...] = ()
    footer: str | None = None
    kind: ReplyKind = ReplyKind.KNOWLEDGE
    private: bool = False
    sensitive: tuple[str, ...] = field(default=())

    def masked(self) -> Reply:
        """The same reply with every sensitive string, and any other IP address in it, replaced by a masked
        form, safe to post publicly."""
        import re  # sharing is rare: `portbot ask` should not pay for it

        # Longest first, so "http://u1@mc.example.com" goes whole before "mc.example.com" is looked for; any
        # case, since names are case-insensitive and a reply may spell one differently from the user.
        secrets = sorted({s for s in self.sensitive if s}, key=len, reverse=True)
        masks = {secret.lower(): mask(secret) for secret in secrets}
        pattern = re.compile("|".join(re.escape(s) for s in secrets), re.IGNORECASE) if secrets else None

        def hide(text: str) -> str:
            if pattern is not None:
                text = pattern.sub(lambda m: masks[m.group().lower()], text)
            # Text Portbot did not write itself (a worker's error, a server's banner) can name an address that
            # is on no list: mask every address literal too.
            return _mask_literals(text)

        return Reply(
            title=hide(self.title),
            summary=hide(self.summary),
            fields=tuple(Field(hide(f.name), hide(f.value), f.inline) for f in self.fields),
            status=self.status,
            actions=_without_share(self.actions),
            footer=hide(self.footer) if self.footer else None,
            kind=self.kind,
            private=False,
            sensitive=(),
        )


# Dotted IPv4, and runs of hex groups and colons that may be IPv6; each is masked only if it parses.
_IPV4_LITERAL = r"(?<![\w.])\d{1,3}(?:\.\d{1,3}){3}(?![\w]|\.\d)"
_IPV6_LITERAL = (
    r"(?<![\w:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?(?![\w:]|\.\d)"
)


def _mask_literals(text: str) -> str:
    import re

    from probes.policy import parse_ip_literal

    def one(match: re.Match[str]) -> str:
        return mask(match.group()) if parse_ip_literal(match.group()) is not None else match.group()

    return re.sub(_IPV4_LITERAL, one, re.sub(_IPV6_LITERAL, one, text))


_OWNER_ONLY = frozenset({ActionKind.SHARE, ActionKind.RECHECK})


def _without_share(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    # A shared copy is public: sharing and checking again belong to whoever ran the check (and a re-check
    # carries the host).
    return tuple(a for a in actions if a.kind not in _OWNER_ONLY)


def mask(secret: str) -> str:
    """Mask an address or host name, keeping just enough to recognise it: ``203.0.x.x``, ``2001:db8:…``,
    ``mc….com``. A URL, ``user@host``, ``host:port`` or ``[v6]:port`` is reduced to its host first, so no
    user name, path or other spelling of the address survives; any IPv4 spelling masks as its dotted form."""
    import re

    from probes.policy import parse_ip_literal  # only when sharing: keeps `portbot ask` light

    host = secret.strip()
    if "://" in host:
        host = re.split(r"[/?#]", host.split("://", 1)[1], maxsplit=1)[0]
    host = host.rsplit("@", 1)[-1]
    if host.startswith("[") and "]" in host:
        host = host[1 : host.index("]")]
    elif host.count(":") == 1:
        host = host.split(":", 1)[0]
    try:
        address = parse_ip_literal(host)
    except ValueError:  # a number too long to be an address
        address = None
    if address is not None and address.version == 4:
        a, b, _, _ = str(address).split(".")
        return f"{a}.{b}.x.x"
    if address is not None:  # IPv6 (mapped and other IPv4-carrying forms too): the first two groups only
        first, second = (group.lstrip("0") or "0" for group in address.exploded.split(":")[:2])
        return f"{first}:{second}:…"
    labels = [label for label in host.split(".") if label]
    if len(labels) >= 2:
        return f"{labels[0][:2]}….{labels[-1]}"
    return host[:2] + "…"
