"""One structured log line per chat interaction, the same on every platform.

``portbot.interaction`` logs at INFO: platform, kind of command, outcome (the reply's kind and status, e.g.
``probe:bad``, or ``failed``), duration in ms and the server or workspace as a short hash. Never what the user
typed, nor anything a reply says about it (a title can name a host): the audit database keeps targets, logs
don't. The fields ride in ``extra=``, so ``PORTBOT_LOG_FORMAT=json`` gives them as JSON fields (bot/logs.py).
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field

from bot.core.reply import Reply

log = logging.getLogger("portbot.interaction")

FAILED = "failed"  # the handler raised: the user got the apology, the traceback went to the error log


def place_hash(platform: str, place_id: str | None) -> str | None:
    """A short, stable stand-in for a guild or workspace id: enough to tell servers apart in the logs and to
    group one server's lines, without writing the id itself."""
    if not place_id:
        return None
    return hashlib.sha256(f"{platform}:{place_id}".encode()).hexdigest()[:12]


def outcome(reply: Reply) -> str:
    """The category of a reply: its kind and status, never its text."""
    return f"{reply.kind}:{reply.status.value}"


@dataclass(slots=True)
class Interaction:
    """One interaction being handled; :meth:`done` writes its line."""

    platform: str
    command: str
    place: str | None = None
    started: float = field(default_factory=time.monotonic)
    reply: Reply | None = None

    def answered(self, reply: Reply) -> None:
        """Note the reply sent (the last one counts: a probe's follow-up, not the "thinking" defer)."""
        self.reply = reply

    def done(self, *, failed: bool = False, level: int = logging.INFO) -> None:
        result = FAILED if failed else outcome(self.reply) if self.reply is not None else "none"
        duration_ms = round((time.monotonic() - self.started) * 1000, 1)
        fields = {
            "platform": self.platform,
            "command": self.command,
            "outcome": result,
            "duration_ms": duration_ms,
            "place": place_hash(self.platform, self.place),
        }
        log.log(
            level,
            "%s %s -> %s in %.0f ms",
            self.platform,
            self.command,
            result,
            duration_ms,
            extra=fields,
        )
