"""The terminal renderer: plain text for pipes, rich for people, JSON for machines."""

from __future__ import annotations

import functools
import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import intents
from bot.core.commands import Portbot, help_reply
from bot.core.reply import Action, ActionKind, Field, Reply, Status
from bot.terminal import render_json, render_rich, render_text

REPLY = Reply(
    title="**25565** Minecraft",
    summary="Used by `Minecraft: Java Edition`.",
    fields=(Field("Ports", "25565/tcp — game"),),
    status=Status.INFO,
    actions=(
        Action(ActionKind.CHECK_PORT, "Check this port", port=25565, protocol="tcp"),
        Action(ActionKind.ASK, "Port forwarding", query="port forwarding"),
    ),
)


def test_plain_text_drops_markup_and_shows_follow_ups() -> None:
    """Bold and code marks disappear; follow-ups become commands one can type."""
    text = render_text(REPLY)
    assert text.startswith("ℹ 25565 Minecraft\nUsed by Minecraft: Java Edition.")
    assert "Ports:\n  25565/tcp — game" in text
    assert "→ Check this port: /port check <your public address> 25565 tcp" in text
    assert "→ Port forwarding: /port port forwarding" in text


def test_terminal_escape_sequences_from_remote_text_are_stripped() -> None:
    """A server MOTD or user text cannot move the cursor or recolour the terminal."""
    hostile = Reply(title="t\x1b[2J", summary="motd \x1b]0;pwned\x07 \u202eevil")
    text = render_text(hostile)
    assert "\x1b" not in text and "\x07" not in text and "\u202e" not in text
    out = io.StringIO()
    render_rich(hostile, out)
    assert "pwned" in out.getvalue() and "\x1b]0" not in out.getvalue()


def test_json_is_the_whole_reply() -> None:
    """--json prints every part of the reply as plain JSON."""
    data = json.loads(render_json(REPLY))
    assert data["title"] == "**25565** Minecraft"
    assert data["status"] == "info"
    assert data["actions"][0] == {
        "kind": "check_port",
        "label": "Check this port",
        "port": 25565,
        "protocol": "tcp",
        "query": None,
        "hint": None,
        "check": None,
    }


def test_rich_rendering_keeps_the_content() -> None:
    """The coloured panel shows title, summary and fields."""
    out = io.StringIO()
    render_rich(REPLY, out)
    shown = out.getvalue()
    for part in ("25565 Minecraft", "Minecraft: Java Edition", "Ports", "25565/tcp — game"):
        assert part in shown


@functools.cache
def _portbot() -> Portbot:
    """One knowledge base for all examples (loading it per example would dominate the test's time)."""
    return Portbot()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_text_answers_and_renders_without_raising(text: str) -> None:
    """No string makes parsing, lookup or terminal rendering raise, and every answer has a title."""
    portbot = _portbot()
    intent = intents.parse(text)
    reply = portbot.lookup(intent.query) if isinstance(intent, intents.Lookup) else help_reply()
    assert reply.title.strip()
    render_text(reply)
    render_json(reply)
    render_rich(reply, io.StringIO())


def test_terminal_check_suggestion_names_the_game() -> None:
    """A check button from a game's entry suggests the chat form with the game, which picks its protocols."""
    reply = Reply(
        title="ARK",
        summary="s",
        actions=(
            Action(
                ActionKind.CHECK_PORT,
                "Check this port",
                port=7777,
                protocol="udp",
                hint="ark-survival-evolved",
            ),
        ),
    )
    assert "→ Check this port: /port check <your public address> 7777 ark-survival-evolved" in render_text(
        reply
    )
