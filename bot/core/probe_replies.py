"""Probe results and probe errors as Replies: each verdict in plain words, with the likely cause and next step.

Replies about a probe are private by default (they show someone's address); ``sensitive`` lists the host as
given and every address so :meth:`Reply.masked` can hide them when the user shares the result.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.core.budgets import FIELD_VALUE_MAX, TITLE_MAX
from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status
from probes.errors import (
    InputError,
    OperatorError,
    PortbotError,
    RateLimited,
    RefusedTarget,
    ResolveError,
    WorkerError,
)

# The verdict sentences live in probes/ so the link page says the same; re-exported for their old callers.
from probes.explain import CLOSED_ADVICE as CLOSED_ADVICE
from probes.explain import FILTERED_CAUSE as FILTERED_CAUSE
from probes.explain import FILTERED_CAUSE_V6 as FILTERED_CAUSE_V6
from probes.explain import verdict_lines
from probes.merge import PortView, join_names, merge, reach_sentence
from probes.models import PortResult, ProbeReport, ProbeRequest, State
from probes.reasons import is_rejection

if TYPE_CHECKING:
    from bot.core.intents import Check

# Users read this: it says where the check ran, never how an operator would change that (that is in the
# README and `portbot doctor`).
LOCAL_CAVEAT = (
    "Checked from the bot's own network, not from the wider internet: people elsewhere may see a "
    "different result."
)
MIXED_ADVICE = (
    "When some places get through and others don't, look for a firewall or geo-blocking rule that treats them "
    "differently, or a connection that drops out."
)
SHARE = Action(ActionKind.SHARE, "Share in channel")


# What only the people who run the bot can act on (a setting's name, a shared secret, a worker's clock or
# HTTP status): the log gets it, users get NOT_CHECKED / WORKERS_DOWN.
_OPERATOR_DETAIL = re.compile(
    r"PORTBOT_|\bNTP\b|signature|secret|clock|\bHTTP \d{3}\b|worker URL|configur", re.IGNORECASE
)
NOT_CHECKED = "That place couldn't run the check this time."
WORKERS_DOWN = "I couldn't reach the places I check from, so the check didn't run."

# Follow-up questions offered under a result, picked from its verdicts; each is a knowledge topic, answered
# only to whoever clicks.
FORWARDING = Action(ActionKind.ASK, "Port forwarding", query="port forwarding")
CGNAT = Action(ActionKind.ASK, "CGNAT", query="cgnat")
FIREWALL = Action(ActionKind.ASK, "Firewalls", query="firewall")
LISTENING = Action(ActionKind.ASK, "Is it listening?", query="what is listening on a port")

_BAD_STATES = frozenset({State.FILTERED, State.UNREACHABLE})

# One short phrase per verdict for the summary line.
_SHORT = {
    State.OPEN: "reachable",
    State.CLOSED: "closed: nothing is listening",
    State.FILTERED: "no answer (filtered)",
    State.UNREACHABLE: "host unreachable",
    State.OPEN_FILTERED: "no reply over UDP: open or filtered, can't tell",
}


def probe_reply(
    reports: Sequence[ProbeReport], request: ProbeRequest, *, again: Check | None = None
) -> Reply:
    """Explain what every vantage point found for ``request``; ``again`` is the check "Check again" repeats."""
    answered = [r for r in reports if r.error is None]
    failed = [r for r in reports if r.error is not None]
    views = merge(answered)
    local = bool(answered) and all(r.local for r in answered)
    host = answered[0].host if answered else request.target
    multi = len({r.vantage for r in answered}) > 1

    fields = [Field(_view_name(v), _clip(_explain(v, local=local, multi=multi))) for v in views]
    fields += [Field(f"Not checked from {r.vantage}", _clip(_for_users(r.error or ""))) for r in failed]
    srv = next((r.srv_target for r in answered if r.srv_target), None)
    if srv:
        fields.insert(
            0,
            Field(
                "Minecraft SRV record", f"{host} points Minecraft players to {srv}, so that's what I checked."
            ),
        )
    others = _addresses_left_alone(answered)
    if others:
        fields.insert(1 if srv else 0, Field("Addresses checked", others))  # after the SRV record it is about
    if local:
        fields.append(Field("Where this was checked from", LOCAL_CAVEAT))

    if views:
        summary = "\n".join(_summary_line(v, multi=multi) for v in views)
    else:
        summary = f"I couldn't check {request.target}: no vantage point could run the probe."
    return Reply(
        title=_clip(f"Port check: {host}", TITLE_MAX),
        summary=summary,
        fields=tuple(fields),
        status=_status(views),
        actions=_actions(views, again),
        kind=ReplyKind.PROBE,
        private=True,
        sensitive=_sensitive(request, reports),
    )


def follow_ups(views: Sequence[PortView]) -> tuple[Action, ...]:
    """The next questions worth asking after these verdicts: forwarding, CGNAT, firewalls."""
    picked: list[Action] = []
    for view in views:
        for _, result in view.seen:
            picked += _follow_ups(result)
    return tuple(dict.fromkeys(picked))[:3]


def _follow_ups(result: PortResult) -> list[Action]:
    v6 = result.family == 6
    match result.state:
        case State.FILTERED if is_rejection(result.reason, result.protocol):
            return [FIREWALL]
        case State.FILTERED | State.OPEN_FILTERED:
            return [FIREWALL] if v6 else [FORWARDING, CGNAT, FIREWALL]
        case State.CLOSED:
            return [LISTENING] if v6 else [LISTENING, FORWARDING]
        case State.UNREACHABLE:
            return [FIREWALL] if v6 else [CGNAT]
    return []


def _actions(views: Sequence[PortView], again: Check | None) -> tuple[Action, ...]:
    recheck = (Action(ActionKind.RECHECK, "Check again", check=again),) if again is not None else ()
    return (*recheck, SHARE, *follow_ups(views))


def error_reply(err: PortbotError) -> Reply:
    """A probe that could not run: what happened and, when we know, what to do."""
    fields = (Field("What to do", err.hint),) if err.hint else ()
    sensitive: tuple[str, ...] = ()
    if isinstance(err, RefusedTarget) and err.address:
        sensitive = (err.address,)
    summary = err.message
    if isinstance(err, OperatorError):  # its detail is for the people running the bot
        summary = _for_users(summary, WORKERS_DOWN if isinstance(err, WorkerError) else None)
    return Reply(
        title=_error_title(err),
        summary=summary,
        fields=fields,
        status=Status.ERROR,
        kind=ReplyKind.ERROR,
        private=True,
        sensitive=sensitive,
    )


def _for_users(text: str, instead: str | None = None) -> str:
    """``text`` if a user can read it; a sentence that points nowhere near a setting if it is for operators
    (who find the detail in the log)."""
    if not _OPERATOR_DETAIL.search(text):
        return text
    import logging  # here: `portbot probe` loads this module on every run, and logging costs ~10 ms

    logging.getLogger(__name__).warning("a check could not run: %s", text)
    return instead or NOT_CHECKED


def _error_title(err: PortbotError) -> str:
    match err:
        case RefusedTarget():
            return "I won't check that address"
        case RateLimited():
            return "Too many checks"
        case InputError():
            return "I can't check that"
        case ResolveError():
            return "That name doesn't resolve"
        case WorkerError():
            return "The probe workers didn't answer"
        case OperatorError():  # the check couldn't run: a socket, the time box, the rate-limit store
            return "The check couldn't run"
    return "Something went wrong"


def _addresses_left_alone(reports: Sequence[ProbeReport]) -> str | None:
    """ "mc.example.com has 6 addresses; I checked the first public IPv4 and IPv6 one." when a name had more
    addresses than were probed, else None."""
    for report in reports:
        probed = {r.address for r in report.results}
        if report.address_count <= len(probed) or not probed:
            continue
        name = report.srv_target.rsplit(":", 1)[0] if report.srv_target else report.host
        families = {r.family for r in report.results}
        which = {4: "IPv4", 6: "IPv6"}
        kinds = " and ".join(which[f] for f in sorted(families))
        return f"{name} has {report.address_count} addresses; I checked the first public {kinds} one."
    return None


# --- verdicts -----------------------------------------------------------------------------------------


def _where(address: str, port: int) -> str:
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def _view_name(view: PortView) -> str:
    return f"{_where(view.address, view.port)} ({view.protocol.upper()})"


def _summary_line(view: PortView, *, multi: bool) -> str:
    label = f"**{view.port}/{view.protocol}**"
    if ":" in view.address or multi:
        label += f" on {view.address}"
    if view.agreed is not None:
        text = _SHORT[view.agreed]
        if multi and view.agreed is State.OPEN:
            text = reach_sentence(view)
        return f"{label}: {text}"
    return f"{label}: {reach_sentence(view)}"


def _explain(view: PortView, *, local: bool, multi: bool) -> str:
    if view.agreed is not None:
        first = view.seen[0][1]
        lines = _verdict(first, local=local)
        if multi:
            lines.append(f"Checked from {join_names(view.vantages)}.")
        rtt = _rtts(view)
        if rtt:
            lines.append(rtt)
        return "\n".join(lines)
    sentence = reach_sentence(view)
    lines = [sentence[0].upper() + sentence[1:] + "."]
    shown: set[State] = set()
    for _, result in view.seen:
        if result.state in shown:
            continue
        shown.add(result.state)
        where = join_names([v for v, r in view.seen if r.state is result.state])
        lines.append(f"From {where}: " + " ".join(_verdict(result, local=local)))
    if State.OPEN in shown:
        lines.append(MIXED_ADVICE)
    rtt = _rtts(view)
    if rtt:
        lines.append(rtt)
    return "\n".join(lines)


def _verdict(result: PortResult, *, local: bool) -> list[str]:
    """The plain-words verdict for one result (shared with the link page: probes/explain.py)."""
    return verdict_lines(result, local=local)


def _rtts(view: PortView) -> str:
    timed = [(v, r.rtt_ms) for v, r in view.seen if r.rtt_ms is not None]
    if not timed:
        return ""
    if len(timed) == 1 or len(view.seen) == 1:
        return f"Round trip: {_ms(timed[0][1])}"
    return "Round trip: " + ", ".join(f"{_ms(ms)} from {v}" for v, ms in timed)


def _ms(value: float | None) -> str:
    assert value is not None
    return f"{value:.1f} ms" if value < 10 else f"{value:.0f} ms"


def _status(views: Sequence[PortView]) -> Status:
    states = {state for v in views for state in v.states}
    if not states:
        return Status.ERROR
    if states == {State.OPEN}:
        return Status.OK
    if states <= _BAD_STATES:
        return Status.BAD
    return Status.WARN


def _sensitive(request: ProbeRequest, reports: Sequence[ProbeReport]) -> tuple[str, ...]:
    values = [request.target.strip(), *(r.host for r in reports)]
    values += [r.srv_target.rsplit(":", 1)[0] for r in reports if r.srv_target]
    values += [result.address for r in reports for result in r.results]
    return tuple(v for v in dict.fromkeys(values) if v)


def _clip(text: str, limit: int = FIELD_VALUE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
