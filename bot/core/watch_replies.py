"""A watch's status message and its alerts, as the one Reply model every platform renders.

Status messages and alerts are posted in a channel for everyone, so the host never appears in them: a watch is
named by its label or its game, and by its masked host and port (``mc….com:25565/TCP``).

NOTE (watch-chat lane): a minimal stand-in with the same functions and signatures as the watch-engine lane's
fuller module (``watch_name``, ``where``, ``status_reply(watch, summary | None)``, ``alert_reply``), so the
Discord and Slack notifiers have something to render until that lands on main; at merge, theirs replaces this.
"""

from __future__ import annotations

import time

from bot.core.reply import Field, Reply, ReplyKind, Status, mask
from bot.watch.models import Health, Watch
from bot.watch.notify import Change, CheckSummary

_STATUS = {Health.UP: Status.OK, Health.DOWN: Status.BAD, Health.UNKNOWN: Status.WARN}
_WORD = {Health.UP: "up", Health.DOWN: "down", Health.UNKNOWN: "not checked yet"}


def watch_name(watch: Watch) -> str:
    """``Survival (Minecraft Java)`` / ``Valheim`` / ``Watch #3``: what the watch is called, without its host."""
    game = watch.game.replace("-", " ").title() if watch.game else None
    if watch.label and game:
        return f"{watch.label} ({game})"
    return watch.label or game or f"Watch #{watch.id}"


def where(watch: Watch) -> str:
    """The masked host with the port and protocol: ``mc….com:25565/TCP``."""
    return f"{mask(watch.host)}:{watch.port}/{watch.protocol.upper()}"


def status_reply(watch: Watch, summary: CheckSummary | None, *, now: float | None = None) -> Reply:
    """The status message: "first check pending" before any result, then up or down since when, players for
    games, the cause when down, and when it was last checked."""
    now = time.time() if now is None else now
    name = watch_name(watch)
    state = watch.state
    if state is None or summary is None:
        return _masked(
            watch,
            Reply(
                title=f"Watching {name} — first check pending",
                summary=f"{where(watch)}, checked every {_duration(watch.every)}. This message shows its status.",
                status=Status.INFO,
                kind=ReplyKind.PROBE,
            ),
        )
    lines = [where(watch), f"**{_WORD[state].capitalize()}**{_since(watch.state_since, now)}"]
    if summary.players is not None and state is Health.UP:
        lines.append(f"Players: {summary.players[0]}/{summary.players[1]}")
    lines.append(f"Last checked {_clock(summary.checked_at)}, every {_duration(watch.every)}.")
    fields = (Field("Cause", summary.reason),) if state is Health.DOWN and summary.reason else ()
    return _masked(
        watch,
        Reply(
            title=f"{name} is {_WORD[state]}",
            summary="\n".join(lines),
            fields=fields,
            status=_STATUS[state],
            kind=ReplyKind.PROBE,
        ),
    )


def alert_reply(change: Change) -> Reply:
    """The alert posted when a change is confirmed (two checks in a row agree)."""
    watch, after = change.watch, change.after
    went = "went down" if after is Health.DOWN else "is back up"
    lines = [f"{where(watch)} {went} at {_clock(change.at)}."]
    if after is Health.UP and change.summary.players is not None:
        lines.append(f"Players: {change.summary.players[0]}/{change.summary.players[1]}")
    fields = (
        (Field("Cause", change.summary.reason),) if after is Health.DOWN and change.summary.reason else ()
    )
    return _masked(
        watch,
        Reply(
            title=f"{watch_name(watch)} {went}",
            summary="\n".join(lines),
            fields=fields,
            status=_STATUS[after],
            kind=ReplyKind.PROBE,
        ),
    )


def _masked(watch: Watch, reply: Reply) -> Reply:
    # The host wherever it appears, and any address literal (a probe's cause names the address it reached).
    return Reply(
        title=reply.title,
        summary=reply.summary,
        fields=reply.fields,
        status=reply.status,
        kind=reply.kind,
        sensitive=(watch.host,),
    ).masked()


def _since(since: float | None, now: float) -> str:
    return "" if since is None else f" since {_clock(since)} ({_duration(now - since)})"


def _clock(at: float) -> str:
    return time.strftime("%H:%M UTC", time.gmtime(at))


def _duration(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes = int(seconds // 60)
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"
