"""The one reply model every renderer (terminal, Discord, Slack) consumes. Plain data: no chat library here.

Text in a Reply is plain text with light markdown (``**bold**``, ``` `code` ```) written by Portbot itself.
Anything that came from a user (their query, a host name, a server MOTD) is kept as-is here; each renderer
escapes it for its own platform, so nothing a user types can ever mention anyone or inject markup.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum


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


@dataclass(frozen=True, slots=True)
class Field:
    """A titled block of a reply (an embed field on Discord, a section on Slack and in the terminal)."""

    name: str
    value: str
    inline: bool = False


@dataclass(frozen=True, slots=True)
class Action:
    """Something to do next, shown as a button; which of ``port``, ``protocol``, ``query`` apply follows ``kind``."""

    kind: ActionKind
    label: str
    port: int | None = None
    protocol: str | None = None
    query: str | None = None


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
    kind: str = "knowledge"  # knowledge | probe | help | error
    private: bool = False
    sensitive: tuple[str, ...] = field(default=())

    def masked(self) -> Reply:
        """The same reply with every sensitive string replaced by a masked form, safe to post publicly."""
        if not self.sensitive:
            return replace(self, private=False, actions=_without_share(self.actions))

        def hide(text: str) -> str:
            for secret in sorted(self.sensitive, key=len, reverse=True):
                if secret:
                    text = text.replace(secret, mask(secret))
            return text

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


def _without_share(actions: tuple[Action, ...]) -> tuple[Action, ...]:
    return tuple(a for a in actions if a.kind is not ActionKind.SHARE)


def mask(secret: str) -> str:
    """Mask an address or host name, keeping just enough to recognise it: ``203.0.x.x``, ``ex…le.com``."""
    if secret.count(".") == 3 and all(p.isdigit() for p in secret.split(".")):
        a, b, _, _ = secret.split(".")
        return f"{a}.{b}.x.x"
    if ":" in secret:  # IPv6: keep the first two groups
        groups = [g for g in secret.split(":") if g]
        return ":".join(groups[:2]) + ":…"
    labels = secret.split(".")
    if len(labels) >= 2:
        first = labels[0]
        shown = first[:2] + "…"
        return ".".join([shown, *labels[-1:]])
    return secret[:2] + "…"
