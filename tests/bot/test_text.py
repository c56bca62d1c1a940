"""Reply text safety shared by every renderer: one set of characters that never leave Portbot, one markup."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest

from bot.core.reply import Field, Reply
from bot.core.text import drop_unsafe, unmarked
from bot.slack.render import render as slack_render
from bot.terminal_render import render_text
from tests.bot import discord as _quiet_discord  # noqa: F401  (imports discord.py without its audioop warning)

from bot.discord.render import render_embed  # isort: skip

UNSAFE = {
    "nul": "\x00",
    "bell": "\x07",
    "escape": "\x1b",  # starts terminal control sequences
    "delete": "\x7f",
    "next-line (C1)": "\x85",
    "CSI (C1)": "\x9b",
    "right-to-left override": "\u202e",
    "left-to-right isolate": "\u2066",
    "pop directional isolate": "\u2069",
}

RENDERERS: dict[str, Callable[[Reply], str]] = {
    "terminal": render_text,
    "discord": lambda reply: json.dumps(render_embed(reply).to_dict(), ensure_ascii=False),
    "slack": lambda reply: json.dumps(slack_render(reply), ensure_ascii=False),
}


@pytest.mark.parametrize("renderer", RENDERERS)
@pytest.mark.parametrize("char", UNSAFE.values(), ids=UNSAFE.keys())
def test_no_renderer_lets_an_unsafe_character_through(renderer: str, char: str) -> None:
    """A control or bidi character in any part of a reply (a MOTD, a host name) reaches no platform."""
    text = f"evil{char}motd"
    reply = Reply(title=text, summary=text, fields=(Field(text, text),), footer=text)
    out = RENDERERS[renderer](reply)
    assert char not in out
    assert "motd" in out


def test_tabs_and_newlines_stay() -> None:
    """Only the unsafe characters go: tabs and newlines are layout, kept for each platform to handle."""
    assert drop_unsafe("a\tb\nc\x1b[31m") == "a\tb\nc[31m"


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("**Minecraft** on `25565`", "Minecraft on 25565"),
        ("**two\nlines**", "two\nlines"),
        ("a lone ** and a lone `", "a lone ** and a lone `"),
        ("``", "``"),
    ],
)
def test_unmarked_takes_the_markup_off(text: str, words: str) -> None:
    """Bold and code markers come off where a platform shows plain text; unpaired markers stay as typed."""
    assert unmarked(text) == words
