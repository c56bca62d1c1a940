"""Log lines: text by default, or one JSON object per line with PORTBOT_LOG_FORMAT=json."""

from __future__ import annotations

import json
import logging
import sys

from bot.logs import JsonFormatter


def record(message: str, *args: object, **extra: object) -> logging.LogRecord:
    return logging.getLogger("portbot.test").makeRecord(
        "portbot.test", logging.INFO, __file__, 1, message, args, None, extra=extra
    )


def test_a_record_is_one_json_object_on_one_line() -> None:
    """time, level, logger and the formatted message, on a single line even when the message has newlines."""
    line = JsonFormatter().format(record("checked %s\nagain", "a port"))
    assert "\n" not in line
    data = json.loads(line)
    assert (data["level"], data["logger"], data["message"]) == (
        "INFO",
        "portbot.test",
        "checked a port\nagain",
    )
    assert data["time"].endswith("+00:00")


def test_extra_fields_stay_fields() -> None:
    """Fields passed with extra= come out as JSON fields, so a log collector can filter on them."""
    data = json.loads(JsonFormatter().format(record("interaction", platform="discord", latency_ms=2.5)))
    assert (data["platform"], data["latency_ms"]) == ("discord", 2.5)


def test_an_exception_is_kept_inside_the_line() -> None:
    """A traceback becomes the "exception" field rather than extra lines."""
    try:
        raise ValueError("boom")
    except ValueError:
        made = logging.getLogger("portbot.test").makeRecord(
            "portbot.test", logging.ERROR, __file__, 1, "failed", (), sys.exc_info()
        )
    line = JsonFormatter().format(made)
    assert "\n" not in line
    assert json.loads(line)["exception"].endswith("ValueError: boom")
