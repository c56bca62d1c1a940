"""A watch's status message and its alerts, as the one Reply model every platform renders.

Status messages and alerts are posted in a channel for everyone, so the host never appears in them: a watch is
named by its label, else its game, else its masked address (``mc….com:25565``).

NOTE (watch-chat lane): a minimal version, written so the Discord and Slack notifiers have something to render
until the watch-engine lane's fuller one lands on main; at merge, theirs wins where the two differ.
"""

from __future__ import annotations

import time

from bot.core.reply import Field, Reply, ReplyKind, Status, mask
from bot.watch.models import Health, Watch
from bot.watch.notify import Change, CheckSummary

_STATUS: dict[Health, Status] = {Health.UP: Status.OK, Health.DOWN: Status.BAD, Health.UNKNOWN: Status.WARN}
_WORD: dict[Health, str] = {Health.UP: "up", Health.DOWN: "down", Health.UNKNOWN: "not checked"}


def watch_name(watch: Watch) -> str:
    """How a public message names ``watch``: its label, its game, or its masked address with the port."""
    if watch.label:
        return watch.label
    if watch.game:
        return watch.game.replace("-", " ").title()  # the knowledge entry's id: minecraft-java
    return f"{mask(watch.host)}:{watch.port}"


def target_line(watch: Watch) -> str:
    """``Port 25565/TCP on mc….com``: what is watched, masked."""
    return f"Port {watch.port}/{watch.protocol.upper()} on {mask(watch.host)}"


def pending_reply(watch: Watch) -> Reply:
    """The status message as first posted, before any check ran."""
    return Reply(
        title=f"Watching {watch_name(watch)} — first check pending",
        summary=f"{target_line(watch)}, checked every {_interval(watch.every)}. This message shows its status.",
        status=Status.INFO,
        kind=ReplyKind.PROBE,
    )


def status_reply(watch: Watch, summary: CheckSummary, *, now: float | None = None) -> Reply:
    """The status message after a check: up or down, players for games, the last change, and the cause."""
    now = time.time() if now is None else now
    health = watch.state or summary.health
    fields = [Field("Now", _now_line(summary), inline=True)]
    if summary.players is not None:
        online, most = summary.players
        fields.append(Field("Players", f"{online}/{most}", inline=True))
    if watch.state is not None and watch.state_since is not None:
        fields.append(
            Field(
                "Last change",
                f"{_WORD[watch.state]} since {_clock(watch.state_since)} ({_ago(now - watch.state_since)})",
                inline=True,
            )
        )
    if summary.health is not Health.UP and summary.reason:
        fields.append(Field("Cause", summary.reason))
    return Reply(
        title=f"{watch_name(watch)} is {_WORD[health]}",
        summary=f"{target_line(watch)}, checked every {_interval(watch.every)}.",
        fields=tuple(fields),
        status=_STATUS[health],
        footer=f"Last checked {_clock(summary.checked_at)}",
        kind=ReplyKind.PROBE,
    )


def alert_reply(change: Change) -> Reply:
    """The alert posted when a change is confirmed (two checks in a row agree)."""
    watch, after = change.watch, change.after
    fields = []
    if after is not Health.UP and change.summary.reason:
        fields.append(Field("Cause", change.summary.reason))
    if change.summary.players is not None:
        online, most = change.summary.players
        fields.append(Field("Players", f"{online}/{most}", inline=True))
    return Reply(
        title=f"{watch_name(watch)} is {_WORD[after]}",
        summary=f"{target_line(watch)} went from {_WORD[change.before]} to {_WORD[after]} at {_clock(change.at)}.",
        fields=tuple(fields),
        status=_STATUS[after],
        kind=ReplyKind.PROBE,
    )


def _now_line(summary: CheckSummary) -> str:
    if summary.latency_ms is not None and summary.health is Health.UP:
        return f"{summary.state} ({summary.latency_ms:.0f} ms)"
    return summary.state


def _clock(at: float) -> str:
    return time.strftime("%H:%M UTC", time.gmtime(at))


def _ago(seconds: float) -> str:
    minutes = max(0, int(seconds // 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours < 48 else f"{hours // 24} days"


def _interval(seconds: float) -> str:
    if seconds >= 3600 and seconds % 3600 == 0:
        return f"{seconds / 3600:g} h"
    if seconds >= 60 and seconds % 60 == 0:
        return f"{seconds / 60:g} min"
    return f"{seconds:g} s"
