"""Reply → embed and buttons: status colours, text that cannot ping or mislead, and Discord's limits."""

from __future__ import annotations

import re
from typing import Any

import discord
import pytest

from bot.core.reply import Action, ActionKind, Field, Reply, Status
from bot.discord import render
from bot.discord.render import clip, escape, render_embed
from bot.discord.responder import _shared_embed
from bot.discord.views import build_view

HOSTILE = {
    "everyone": "@everyone come look",
    "here": "@here",
    "everyone-caps": "@EVERYONE",
    "user mention": "<@123456789012345678>",
    "nick mention": "<@!123456789012345678>",
    "role mention": "<@&1>",
    "long role mention": "<@&123456789012345678>",
    "channel mention": "<#123456789012345678>",
    "slack broadcast": "<!channel> <!here>",
    "slash command mention": "</port:123456789012345678>",
    "timestamp": "<t:0:R>",
    "masked link": "[free nitro](http://203.0.113.9/steal)",
    "masked link with brackets": "[x](<http://203.0.113.9>)",
    "heading": "# HUGE\n## also huge\n-# tiny",
    "quote": "> quoted\n>>> all quoted",
    "markdown": "**bold** __under__ ~~strike~~ ||spoiler|| *it*",
    "backticks": "`code` ``` fence ``` `",
    "escape trick": "host\\",
    "code break": "a` @everyone `b",
    "long": "x" * 10_000,
    "long words": "word " * 3_000,
    "control chars": "a\x00b\x07c\x1bd\x7fe\r\nf\tg",
    "bidi override": "\u202egnp.exe\u202c and \u2066isolated\u2069",
    "rtl script": "مرحبا بالعالم שלום עולם",
    "other scripts": "你好世界 こんにちは Привет नमस्ते",
    "emoji": "🎮🔥👨‍👩‍👧‍👦🏳️‍🌈" * 50,
    "zero width": "@\u200beveryone e\u200bveryone \u200d\u200c\ufeff",
    "empty": "",
    "whitespace": "   \n\n  ",
}

SLOTS = ("title", "summary", "field name", "field value", "footer", "action label", "ask query")

MENTION_PATTERNS = [
    re.compile(r"@(everyone|here)", re.IGNORECASE),
    re.compile(r"<[@#]!?&?\d"),
    re.compile(r"</\w"),
    re.compile(r"\]\("),
]


def reply_with(text: str, slot: str) -> Reply:
    """A realistic reply with ``text`` placed in one slot, as a user's input or a server's MOTD would be."""
    inner = f"Checked `{text}` on **25565**: {text}"
    return Reply(
        title=inner if slot == "title" else "Port 25565",
        summary=inner if slot == "summary" else "Minecraft servers use **25565/tcp**.",
        fields=(
            Field(
                inner if slot == "field name" else "Next steps",
                inner if slot == "field value" else "Forward `25565/tcp` on your router.",
            ),
        ),
        status=Status.WARN,
        actions=(
            Action(ActionKind.CHECK_PORT, "Check this port", port=25565, protocol="tcp"),
            Action(
                ActionKind.ASK,
                text if slot == "action label" else "Ask",
                query=text if slot == "ask query" else "x",
            ),
        ),
        footer=inner if slot == "footer" else "IANA registry",
        kind="probe",
    )


def as_dict(embed: discord.Embed) -> dict[str, Any]:
    return dict(embed.to_dict())


def message_strings(embed: dict[str, Any]) -> list[str]:
    strings = [embed.get("title", ""), embed.get("description", ""), embed.get("footer", {}).get("text", "")]
    for field in embed.get("fields", []):
        strings += [field["name"], field["value"]]
    return [s for s in strings if s]


def total(embed: dict[str, Any]) -> int:
    return sum(len(s) for s in message_strings(embed))


def assert_within_limits(embed: dict[str, Any]) -> None:
    assert 0 < len(embed["title"]) <= render.TITLE_MAX
    assert len(embed.get("description") or "") <= render.DESCRIPTION_MAX
    assert len(embed.get("fields", [])) <= render.FIELDS_MAX
    for field in embed.get("fields", []):
        assert 0 < len(field["name"]) <= render.FIELD_NAME_MAX and field["name"].strip()
        assert 0 < len(field["value"]) <= render.FIELD_VALUE_MAX and field["value"].strip()
    assert len(embed.get("footer", {}).get("text", "")) <= render.FOOTER_MAX
    assert total(embed) <= render.TOTAL_MAX


@pytest.mark.parametrize("slot", SLOTS)
@pytest.mark.parametrize("text", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_text_renders_safely_within_limits(text: str, slot: str) -> None:
    """Whatever the text and wherever it lands: no mention or masked link survives, every limit holds."""
    embed = as_dict(render_embed(reply_with(text, slot)))
    assert_within_limits(embed)
    for string in message_strings(embed):
        for pattern in MENTION_PATTERNS:
            assert not pattern.search(string), (pattern.pattern, string[:200])
        assert not any(ch in string for ch in "\x00\x07\x1b\x7f\u202e\u2066")
    view = build_view(reply_with(text, slot).actions)
    assert view is not None
    for component in (c for row in view.to_components() for c in row["components"]):
        assert len(component["custom_id"]) <= 100
        assert 0 < len(component["label"]) <= 80


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("**25565** is `minecraft`", "**25565** is `minecraft`"),
        ("@everyone", "@\u200beveryone"),
        ("<@&1>", "<\u200b@&1>"),
        ("[x](http://a)", "[x]\u200b(http://a)"),
        ("# big", "\\# big"),
        ("a\\", "a\\\\"),
        ("lone ` tick", "lone \\` tick"),
        ("``", ""),
        ("`<@1>`", "`<\u200b@1>`"),
        ("a\x00b\u202ec", "abc"),
    ],
)
def test_escape_keeps_our_formatting_and_defuses_theirs(text: str, expected: str) -> None:
    """Bold and code spans survive; mentions, links, headings and escapes are defused."""
    assert escape(text) == expected


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 10, "short"),
        ("abcdefghij", 5, "abcd…"),
        ("see `abcdefgh`", 10, "see `abc`…"),
        ("end \\\\x", 6, "end…"),
    ],
)
def test_clip_cuts_with_an_ellipsis_and_closes_code_spans(text: str, limit: int, expected: str) -> None:
    """Cut text ends in "…", never in an open code span or a dangling escape."""
    assert clip(text, limit) == expected
    assert len(clip(text, limit)) <= limit


@pytest.mark.parametrize(
    ("status", "colour"),
    [
        (Status.INFO, 0x5865F2),
        (Status.OK, 0x57F287),
        (Status.WARN, 0xFEE75C),
        (Status.BAD, 0xED4245),
        (Status.ERROR, 0xE67E22),
    ],
)
def test_status_sets_the_colour(status: Status, colour: int) -> None:
    """Each status has its own colour."""
    assert render_embed(Reply("t", "s", status=status)).colour == discord.Colour(colour)


def test_many_fields_are_capped_with_a_note() -> None:
    """More than 25 fields: 24 shown and one saying how many more there were."""
    reply = Reply("t", "s", fields=tuple(Field(f"n{i}", f"v{i}") for i in range(40)))
    embed = as_dict(render_embed(reply))
    assert len(embed["fields"]) == 25
    assert embed["fields"][-1] == {"name": "More", "value": "16 more not shown.", "inline": False}


def test_oversized_everything_fits_the_total_budget() -> None:
    """Maximal title, description, footer and 25 full fields still total ≤ 6000."""
    big = "y" * 5000
    reply = Reply(big, big, fields=tuple(Field(big, big) for _ in range(30)), footer=big)
    embed = as_dict(render_embed(reply))
    assert_within_limits(embed)
    assert embed["fields"][-1]["name"] == "More"


def test_buttons_are_capped_at_five_rows_of_five() -> None:
    """30 actions become at most 25 buttons in at most 5 rows."""
    actions = tuple(Action(ActionKind.ASK, f"Question {i}", query=f"q{i}") for i in range(30))
    view = build_view(actions)
    assert view is not None
    rows = view.to_components()
    assert len(rows) <= 5 and all(len(row["components"]) <= 5 for row in rows)
    assert sum(len(row["components"]) for row in rows) == 25


def test_an_ask_query_too_long_for_a_custom_id_is_left_out() -> None:
    """A query that cannot fit in 100 characters of custom_id gets no button rather than a cut question."""
    view = build_view((Action(ActionKind.ASK, "Long", query="q" * 120),))
    assert view is None


def test_share_needs_a_key_and_check_needs_a_port() -> None:
    """A Share action without a stored result, or a check without a port, shows no button."""
    view = build_view((Action(ActionKind.SHARE, "Share"), Action(ActionKind.CHECK_PORT, "Check", port=None)))
    assert view is None


def test_knowledge_embeds_are_built_once_per_reply() -> None:
    """The same knowledge Reply is sent with one shared embed, identical to a freshly rendered one."""
    reply = Reply(title="Port 25565", summary="Commonly used by **Minecraft**.", fields=(Field("a", "b"),))
    assert _shared_embed(reply) is _shared_embed(reply)
    assert _shared_embed(reply).to_dict() == render_embed(reply).to_dict()
