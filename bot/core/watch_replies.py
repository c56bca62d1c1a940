"""A watch's status message and its alerts, as the one Reply model.

Both are posted in a channel where everyone reads them, so the host is masked (``mc….net``), as in a shared
probe result: the watch is named by its label or its game, and by its masked host and port. The cause of a
"down" is the probe's own sentence (probes/explain.py), masked the same way.
"""

from __future__ import annotations

import time

from bot.core.budgets import FIELD_VALUE_MAX, TITLE_MAX
from bot.core.reply import Field, Reply, ReplyKind, Status, mask
from bot.watch.models import Health, Watch
from bot.watch.notify import Change, CheckSummary

_STATUS = {Health.UP: Status.OK, Health.DOWN: Status.BAD, Health.UNKNOWN: Status.WARN}
_WORD = {Health.UP: "up", Health.DOWN: "down", Health.UNKNOWN: "not checked yet"}
FOOTER = "Watched by Portbot · host hidden because this channel is public"
NEXT_STEP_DOWN = (
    "Check that the server is running, then that its port is forwarded (or open in its firewall)."
)


def watch_name(watch: Watch) -> str:
    """``Survival (Minecraft)`` / ``Valheim`` / ``Watch #3``: what the watch is called, without its host."""
    game = watch.game.replace("-", " ").title() if watch.game else None
    if watch.label and game:
        return f"{watch.label} ({game})"
    return watch.label or game or f"Watch #{watch.id}"


def where(watch: Watch) -> str:
    """The masked host with the port and protocol: ``mc….net:25565/TCP``."""
    return f"{mask(watch.host)}:{watch.port}/{watch.protocol.upper()}"


def status_reply(watch: Watch, summary: CheckSummary | None, *, now: float | None = None) -> Reply:
    """The status message of ``watch``: up or down since when, players, the cause when down, the last check."""
    now = time.time() if now is None else now
    state = watch.state
    name = watch_name(watch)
    if state is None or summary is None:
        return _masked(
            watch,
            Reply(
                title=_clip(f"{name}: checking…", TITLE_MAX),
                summary=f"{where(watch)}: the first check hasn't finished yet.",
                status=Status.INFO,
                kind=ReplyKind.PROBE,
                footer=FOOTER,
            ),
        )
    lines = [f"**{_WORD[state].capitalize()}**{_since(watch.state_since, now)}"]
    if summary.players is not None and state is Health.UP:
        lines.append(f"Players: {summary.players[0]}/{summary.players[1]}")
    if watch.candidate is not None and watch.candidate is not state:
        lines.append(f"The last check saw it {_WORD[watch.candidate]}; one more will confirm.")
    lines.append(f"Last checked {clock(summary.checked_at)}, every {duration(watch.every)}.")
    fields: list[Field] = []
    if state is Health.DOWN and summary.reason:
        fields.append(Field("Cause", _clip(summary.reason)))
        fields.append(Field("What to do", NEXT_STEP_DOWN))
    elif summary.health is Health.UNKNOWN and summary.reason:
        fields.append(Field("Last check", _clip(summary.reason)))
    return _masked(
        watch,
        Reply(
            title=_clip(f"{name} is {_WORD[state]}", TITLE_MAX),
            summary="\n".join([where(watch), *lines]),
            fields=tuple(fields),
            status=_STATUS[state],
            kind=ReplyKind.PROBE,
            footer=FOOTER,
        ),
    )


def alert_reply(change: Change) -> Reply:
    """The alert for ``change`` (and the changes coalesced into it by the rate limit): what happened, when,
    after how long, and when it went down, why and what to do."""
    watch, after = change.watch, change.after
    name = watch_name(watch)
    first_at = change.earlier[0].at if change.earlier else change.at
    went = "went down" if after is Health.DOWN else "is back up"
    if change.earlier:
        title = f"{name} {went}"
        history = "; ".join(
            f"{'down' if c.after is Health.DOWN else 'up'} at {clock(c.at)}"
            for c in (*change.earlier, change)
        )
        lines = [f"{where(watch)} changed {len(change.earlier) + 1} times: {history}."]
    else:
        title = f"{name} {went}"
        lines = [f"{where(watch)} {went} at {clock(change.at)}{_after(change, first_at)}."]
    if after is Health.UP and change.summary.players is not None:
        online, most = change.summary.players
        lines.append(f"Players: {online}/{most}")
    fields: list[Field] = []
    if after is Health.DOWN:
        if change.summary.reason:
            fields.append(Field("Cause", _clip(change.summary.reason)))
        fields.append(Field("What to do", NEXT_STEP_DOWN))
    return _masked(
        watch,
        Reply(
            title=_clip(title, TITLE_MAX),
            summary="\n".join(lines),
            fields=tuple(fields),
            status=_STATUS[after],
            kind=ReplyKind.PROBE,
            footer=FOOTER,
        ),
    )


def _after(change: Change, first_at: float) -> str:
    # "after 3 h up": how long the previous state lasted, when we know when it began.
    since = change.watch.state_since
    if since is None or since > first_at:
        return ""
    return f", after {duration(first_at - since)} {_WORD[change.before]}"


def _since(since: float | None, now: float) -> str:
    if since is None:
        return ""
    return f" since {clock(since)} ({duration(now - since)})"


def clock(at: float) -> str:
    """``14:02 UTC``: the hour a change happened (UTC: a channel's members live in many time zones)."""
    return time.strftime("%H:%M UTC", time.gmtime(at))


def duration(seconds: float) -> str:
    """``40 s``, ``12 min``, ``3 h 5 min``, ``2 days``."""
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} days"


def _masked(watch: Watch, reply: Reply) -> Reply:
    # masked() hides the host wherever it appears, and any address literal (the probe's cause names the
    # address it reached: "203.0.113.5:25565 refused the connection").
    return Reply(
        title=reply.title,
        summary=reply.summary,
        fields=reply.fields,
        status=reply.status,
        kind=reply.kind,
        footer=reply.footer,
        sensitive=(watch.host,),
    ).masked()


def _clip(text: str, limit: int = FIELD_VALUE_MAX) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
