"""Checking a member's own server with a one-time link: the request, the link reply, the verdict reply.

The member never types their address. Portbot asks a worker for a one-time link (``create_link``), sends it
privately, and waits for the visit (``wait_link``): the worker probes the address the visit came from. The
verdict then replaces the link, with the address masked even there (the member may screenshot it).
Pure reply-building and a backend protocol: no chat library, no I/O of its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status

if TYPE_CHECKING:
    from probes.models import ProbeReport, Requester

LinkProtocol = Literal["auto", "tcp", "udp"]

#: Used when a link does not say when it expires (the workers' default, PORTBOT_LINK_TTL).
DEFAULT_TTL = 600.0
#: How long past a link's expiry the bot still waits for its result: a visit in the last second still has
#: its probe to run (a few seconds; the engine's deadline is well under this).
GRACE = 30.0

LABEL = "Check my own server"

OPEN_IT = (
    "Open this link on a device on the **same network as your server**: the PC running it, or a phone on "
    "the same Wi-Fi (not on mobile data). I'll check your server from the internet the moment the page opens, "
    "and this message will show the result."
)
WHY = (
    "Your friends reach your server through your home's public address. Opening the link from home lets me "
    "see that address without you having to find it or paste it in chat, and nobody else sees it."
)
NOT_SET_UP = Reply(
    title="Self-checks aren't available here",
    summary=(
        "This bot isn't set up for self-checks yet, so I can't send you a link to check your own server. "
        "You can still check it by name or address: `check yourserver.example.com 25565`."
    ),
    status=Status.ERROR,
    kind=ReplyKind.ERROR,
    private=True,
)
NO_PORT = Reply(
    title="Which port does your server use?",
    summary="Tell me the port, or the game, and I'll send you a link to check your own server.",
    fields=(Field("Try", "`check my server 25565`  ·  `check my valheim server`"),),
    status=Status.ERROR,
    kind=ReplyKind.ERROR,
    private=True,
)
EXPIRED = Reply(
    title="That link wasn't used",
    summary=(
        "The link expired before anyone opened it, so nothing was checked. Ask for a new one whenever you're "
        "ready: `/port check`."
    ),
    status=Status.WARN,
    kind=ReplyKind.ERROR,
    private=True,
)


class SelfChecksUnavailable(Exception):
    """The backend has no worker that can serve one-time links."""


class SelfCheckLink(Protocol):
    """What the core reads of a worker's link (``probes.links.Link``)."""

    @property
    def id(self) -> str: ...
    @property
    def url(self) -> str: ...
    @property
    def expires_at(self) -> Any: ...  # epoch seconds or a datetime, whichever the worker's client gives


class SelfCheckResult(Protocol):
    """What the core reads of a visit's outcome (``probes.links.LinkResult``)."""

    @property
    def address_kind(self) -> str: ...  # "v4" | "v6": the family of the visitor's address
    @property
    def report(self) -> ProbeReport | None: ...  # None when the address could not be checked at all
    @property
    def error(self) -> str | None: ...  # then, a sentence saying why
    @property
    def diagnosis(self) -> Mapping[str, Any] | None: ...
    @property
    def reached_listener(self) -> Mapping[int, bool] | None: ...


@runtime_checkable
class SelfCheckBackend(Protocol):
    """A probe backend that can also hand out one-time links (mirrors ``WorkerClient.create_link/wait_link``).

    A separate protocol, so a backend without links still counts as a plain ProbeBackend."""

    async def create_link(
        self,
        ports: Sequence[int],
        protocol: LinkProtocol,
        requester: Requester,
        hint: str | None = None,
    ) -> SelfCheckLink: ...

    # ``timeout`` travels to the worker as its long-poll's ``?wait=`` (WorkerClient.wait_link), not a local
    # deadline the caller could wrap in asyncio.timeout.
    async def wait_link(self, link_id: str, timeout: float) -> SelfCheckResult | None: ...  # noqa: ASYNC109


@dataclass(frozen=True, slots=True)
class Started:
    """A self-check in progress: the private reply to send now, and the link to wait on (None: nothing to
    wait for, ``reply`` says why)."""

    reply: Reply
    link: SelfCheckLink | None = None
    ports: tuple[int, ...] = ()
    protocol: LinkProtocol = "auto"

    def seconds_left(self, now: float | None = None) -> float:
        """How long the link stays usable (0 once it expired)."""
        if self.link is None:
            return 0.0
        return max(0.0, _expires(self.link.expires_at) - (time.time() if now is None else now))


def self_check_action(
    port: int | None = None, protocol: str | None = None, hint: str | None = None
) -> Action:
    """The "Check my own server" button for a game's port."""
    return Action(ActionKind.SELF_CHECK, LABEL, port=port, protocol=protocol, hint=hint)


def link_reply(
    link: SelfCheckLink, ports: Sequence[int], protocol: str, *, now: float | None = None
) -> Reply:
    """The private message with the one-time link and plain instructions."""
    minutes = max(1, round((_expires(link.expires_at) - (time.time() if now is None else now)) / 60))
    shown = ", ".join(str(p) for p in ports)
    over = "" if protocol == "auto" else f" ({protocol.upper()})"
    return Reply(
        title="Check your own server",
        summary=f"Your one-time link:\n{link.url}\nValid for {minutes} minute{'s' * (minutes != 1)}, once.",
        fields=(
            Field("Port" + ("s" if len(ports) > 1 else ""), shown + over),
            Field("How", OPEN_IT),
            Field("Why a link?", WHY),
        ),
        status=Status.INFO,
        kind=ReplyKind.SELFCHECK,
        private=True,
        sensitive=(link.url,),
    )


def verdict_reply(result: SelfCheckResult, ports: Sequence[int], protocol: LinkProtocol) -> Reply:
    """The link's result: the same explanation as a check, address masked, plus the diagnosis when the
    member told the page their router's WAN address."""
    from bot.core.probe_replies import FIREWALL, probe_reply
    from probes.models import ProbeRequest

    report = result.report
    if report is None:
        return not_checked_reply(result.error)
    checked = probe_reply([report], ProbeRequest(target=report.target, ports=tuple(ports), protocol=protocol))
    # Masked even in the member's own message: it is the one place the address could otherwise show. What
    # is added after masking is Portbot's own text (a CGNAT range is not anyone's address).
    masked = checked.masked()
    fields = list(masked.fields)
    listener = _listener_lines(result.reached_listener)
    if listener:
        fields.insert(0, Field("Did it reach your PC?", listener))
    v6 = result.address_kind == "v6" or any(r.family == 6 for r in report.results)
    diagnosed = diagnosis_text(result.diagnosis, v6=v6)
    actions = [a for a in checked.actions if a.kind is ActionKind.ASK]
    if diagnosed is not None:
        title, text, action = diagnosed
        fields.insert(0, Field(title, text))
        if action is not None:
            actions.insert(0, action)
    if v6:  # IPv6 has nothing to forward: only the firewall question applies
        actions = [a for a in actions if a.query not in ("port forwarding", "cgnat")] or [FIREWALL]
    return replace(
        masked,
        title="Your server, checked from the internet",
        fields=tuple(fields),
        actions=tuple(dict.fromkeys(actions))[:3],
        kind=ReplyKind.PROBE,
        private=True,
    )


DOUBLE_NAT = Action(ActionKind.ASK, "Double NAT", query="double nat")
_CGNAT = (
    "Your router's internet address is a shared one from your provider (CGNAT, 100.64.0.0/10), so port "
    "forwarding on your router can't work: connections from the internet never reach it. Ask your provider "
    "for a public IPv4 address (sometimes called a static or dedicated IP), use IPv6 if your friends have it, "
    "or use a tunnel or VPN service made for game servers."
)
_DOUBLE_NAT = (
    "Your router sits behind another router (double NAT): its internet address is a private one. Forward the "
    "port on the first router too (the provider's box), or put that box in bridge/modem mode, or put your "
    "router in its DMZ."
)
_FORWARD = (
    "Your router has the public address the internet sees, so nothing in between blocks you: the port forward "
    "or a firewall is the problem. Check the forward points at your server's LAN address and port, and that "
    "the server's firewall (e.g. Windows Defender Firewall) allows the game."
)
_V6 = (
    "Over IPv6 every device has its own public address, so there is nothing to forward: allow the port in the "
    "firewall instead (your router's IPv6 firewall and your server's own)."
)


def not_checked_reply(error: str | None) -> Reply:
    """The link was opened but the worker could not check the address (its reason, if users can read it)."""
    from bot.core.probe_replies import NOT_CHECKED, _for_users

    reason = _for_users(error) if error else NOT_CHECKED
    reply = Reply(
        title="I couldn't check your server",
        summary=f"{reason} Ask for a new link and try again in a minute: `/port check`.",
        status=Status.ERROR,
        kind=ReplyKind.ERROR,
    )
    return replace(reply.masked(), private=True)  # the worker's sentence may name the address


def diagnosis_text(
    diagnosis: Mapping[str, Any] | None, *, v6: bool = False
) -> tuple[str, str, Action | None] | None:
    """(field title, plain explanation, follow-up) for a diagnosis from the page's router comparison."""
    from bot.core.probe_replies import CGNAT, FIREWALL, FORWARDING

    if not diagnosis:
        return None
    verdict = str(diagnosis.get("verdict") or "").lower().replace("-", "_").replace(" ", "_")
    found: tuple[str, str, Action | None] | None = None
    if v6 or "v6" in verdict:
        found = ("IPv6: allow it in the firewall", _V6, FIREWALL)
    elif "cgnat" in verdict:
        found = ("Diagnosis: CGNAT", _CGNAT, CGNAT)
    elif "double" in verdict:
        found = ("Diagnosis: double NAT", _DOUBLE_NAT, DOUBLE_NAT)
    elif "forward" in verdict:
        found = ("Diagnosis: the forward or the firewall", _FORWARD, FORWARDING)
    own = _own_words(diagnosis)
    if own is not None:
        # The page showed the diagnosis's own title, summary and steps: chat says the same (masked: the
        # summary may quote the router's WAN address).
        title, text = own
        if found is not None and v6 and "v6" not in verdict:
            return found  # an IPv4 comparison says "forward"; over IPv6 there is nothing to forward
        return title, text, found[2] if found is not None else None
    return found


def _own_words(diagnosis: Mapping[str, Any]) -> tuple[str, str] | None:
    from bot.core.reply import _mask_literals

    summary = str(diagnosis.get("summary") or diagnosis.get("explanation") or "").strip()
    if not summary:
        return None
    title = str(diagnosis.get("title") or "Diagnosis").strip()
    steps = diagnosis.get("steps") or diagnosis.get("next_steps") or []
    lines = [summary]
    if isinstance(steps, list | tuple):
        lines += [f"{n}. {step}" for n, step in enumerate(steps, 1)]
    return _mask_literals(title), _mask_literals("\n".join(lines))


def _listener_lines(reached: Mapping[int, bool] | None) -> str | None:
    if not reached:
        return None
    lines = []
    for port, yes in sorted(reached.items()):
        if yes:
            lines.append(f"Port {port}: yes, the connection reached the PC running `portbot listen`.")
        else:
            lines.append(
                f"Port {port}: something else answered (the router's own page, or another device): check the "
                "forward points at the right PC."
            )
    return "\n".join(lines)


def _expires(value: Any) -> float:
    if isinstance(value, int | float):
        return float(value)
    timestamp = getattr(value, "timestamp", None)
    if callable(timestamp):
        return float(timestamp())
    return time.time() + DEFAULT_TTL
