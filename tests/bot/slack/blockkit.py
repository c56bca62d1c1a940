"""Checks for Slack payloads shared by the renderer and end-to-end tests: nothing can ping, nothing breaks a
Block Kit limit. And the table of hostile things a user can type."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from bot.slack.render import units

HOSTILE = [
    pytest.param("<!channel> look at this", id="channel"),
    pytest.param("<!everyone>", id="everyone"),
    pytest.param("<!here|here>", id="here"),
    pytest.param("hey <@U0123ABC> and <@W0123ABC|bob>", id="user"),
    pytest.param("see <#C0123ABC|general>", id="channel-link"),
    pytest.param("<!subteam^S0123ABC|@admins>", id="subteam"),
    pytest.param("<http://evil.example|https://slack.com/login>", id="disguised-link"),
    pytest.param("<mailto:x@example.com|mail>", id="mailto"),
    pytest.param("<!date^1392734382^{date}|x>", id="date"),
    pytest.param("&lt;!channel&gt; &amp; &#60;!here&#62;", id="entities"),
    pytest.param("&<>&<>" * 10, id="entity-soup"),
    pytest.param("*bold* _it_ ~strike~ `code` ```block``` > quote **x**", id="markdown"),
    pytest.param("@here @channel @everyone #general", id="bare-mentions"),
    pytest.param("x" * 10_000, id="10k"),
    pytest.param("<" * 10_000, id="10k-lt"),
    pytest.param("😀" * 5_000, id="astral"),
    pytest.param("a\x00b\x07c\x1b[31mred\x7f\x85\x9fd\r\ne", id="controls"),
    pytest.param("abc\u202edcba\u2066x\u2069", id="bidi"),
    pytest.param("z\u200bero\u200c\u200dwidth\ufeff", id="zero-width"),
    pytest.param("порт 25565 · ポート · منفذ · पोर्ट · 端口", id="scripts"),
    pytest.param("\ud800 lone surrogate \udfff", id="surrogates"),
    pytest.param("", id="empty"),
    pytest.param("   \n\t  ", id="blank"),
]

# Control characters (tab and newline aside) and bidi overrides: nothing a user typed may smuggle them in.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def texts(message: Any) -> list[dict[str, Any]]:
    """Every text object in a payload."""
    found: list[dict[str, Any]] = []
    if isinstance(message, dict):
        if message.get("type") in ("plain_text", "mrkdwn"):
            found.append(message)
        for value in message.values():
            found.extend(texts(value))
    elif isinstance(message, list):
        for item in message:
            found.extend(texts(item))
    return found


def assert_within_limits(message: dict[str, Any]) -> None:
    blocks = message["blocks"]
    assert 1 <= len(blocks) <= 50
    assert 1 <= units(message["text"]) <= 3000
    for block in blocks:
        if block["type"] == "header":
            assert units(block["text"]["text"]) <= 150
        if block["type"] == "section":
            if "text" in block:
                assert units(block["text"]["text"]) <= 3000
            assert len(block.get("fields", [])) <= 10
            assert all(units(f["text"]) <= 2000 for f in block.get("fields", []))
        if block["type"] == "actions":
            assert 1 <= len(block["elements"]) <= 25
            for button in block["elements"]:
                assert units(button["text"]["text"]) <= 75
                assert len(button["action_id"]) <= 255
                assert 1 <= len(button["value"]) <= 2000
            ids = [b["action_id"] for b in block["elements"]]
            assert len(ids) == len(set(ids))
    for text in texts(message):
        assert text["text"].strip(), "Slack rejects empty text objects"
        if text["type"] == "mrkdwn":
            assert text["verbatim"] is True


def assert_cannot_ping(message: dict[str, Any]) -> None:
    """Every ``<`` in a payload could start a mention or a link, so there is none at all; nor any control
    character, and the whole payload encodes (no lone surrogates)."""
    payload = json.dumps(message, ensure_ascii=False)
    payload.encode("utf-8")
    assert "<" not in payload
    assert ">" not in payload
    for text in [message["text"], *(t["text"] for t in texts(message))]:
        assert not _CONTROL.search(text), repr(text)
