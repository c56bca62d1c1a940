"""Logging for the long-running commands: plain text lines, or one JSON object per line for log collectors.

``PORTBOT_LOG_FORMAT=json`` gives each record as ``{"time", "level", "logger", "message"}``, plus any fields
passed with ``extra={...}`` (so a structured line per interaction keeps its fields as fields) and ``exception``
with the traceback when there is one. Stdlib only, so a collector needs no Portbot-specific parser.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"

# Every attribute a bare LogRecord has; anything else on a record came in through ``extra=``.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line (newlines in messages and tracebacks are escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in line:
                line[key] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def configure(level: str, fmt: str) -> None:
    """Log to stderr at ``level`` (DEBUG, INFO, WARNING, ERROR) as ``fmt`` (text or json); both come from
    the settings, already checked."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    logging.basicConfig(level=level, handlers=[handler])
    # Portbot never joins voice channels; discord.py's start-up notes about voice libraries are noise.
    logging.getLogger("discord.client").addFilter(lambda record: "voice will NOT" not in record.getMessage())
    # httpx logs every request at INFO: one line per probe sent to a worker and per webhook, which would bury
    # Portbot's own lines (a watch deployment sends thousands an hour). Its warnings still show.
    if logging.getLevelName(level) > logging.DEBUG:
        logging.getLogger("httpx").setLevel(logging.WARNING)
