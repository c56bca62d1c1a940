"""The Block Kit renderer: safe with anything a user can type, always within Slack's limits."""

from __future__ import annotations

import html

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.reply import Action, ActionKind, Field, Reply, Status
from bot.slack.render import (
    ACTION_ASK,
    ACTION_CHECK,
    ACTION_SHARE,
    decode_query,
    encode_query,
    fit,
    mrkdwn,
    render,
    units,
)
from tests.bot.slack.blockkit import HOSTILE, assert_cannot_ping, assert_within_limits


def hostile_reply(text: str) -> Reply:
    return Reply(
        title=text,
        summary=text,
        fields=(
            Field(text, text, inline=True),
            Field("Host", text, inline=True),
            Field(text, text),
        ),
        status=Status.WARN,
        actions=(
            Action(ActionKind.CHECK_PORT, text, port=25565, protocol="udp"),
            Action(ActionKind.ASK, text, query=text),
            Action(ActionKind.SHARE, text),
        ),
        footer=text,
        kind="probe",
        private=True,
        sensitive=(text,),
    )


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_cannot_ping_or_break_limits(text: str) -> None:
    """Whatever a user types, the payload has no raw < or >, no control characters, and fits Slack."""
    message = render(hostile_reply(text), share_token="tok")
    assert_cannot_ping(message)
    assert_within_limits(message)


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_text_survives_masking_too(text: str) -> None:
    """The masked copy posted by Share is just as safe."""
    message = render(hostile_reply(text).masked())
    assert_cannot_ping(message)
    assert_within_limits(message)


@given(st.text(max_size=4000), st.text(max_size=300), st.lists(st.text(max_size=2500), max_size=70))
def test_any_text_renders_safely(title: str, summary: str, values: list[str]) -> None:
    """Property: arbitrary Unicode anywhere in a reply still renders within limits and without pings."""
    reply = Reply(
        title=title,
        summary=summary,
        fields=tuple(Field(v[:80], v, inline=i % 3 != 0) for i, v in enumerate(values)),
        actions=tuple(Action(ActionKind.ASK, v, query=v) for v in values[:8]),
        footer=summary,
    )
    message = render(reply)
    assert_cannot_ping(message)
    assert_within_limits(message)


@pytest.mark.parametrize(
    ("typed", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<@U0123ABC>", "&lt;@U0123ABC&gt;"),
        ("a & b", "a &amp; b"),
        ("&amp;", "&amp;amp;"),
        ("&lt;", "&amp;lt;"),
    ],
)
def test_user_text_is_escaped_so_slack_shows_it_literally(typed: str, shown: str) -> None:
    """Escaping round-trips: what Slack decodes is exactly what the user typed."""
    rendered = mrkdwn(typed)
    assert rendered == shown
    assert html.unescape(rendered) == typed


def test_portbot_markdown_becomes_slack_mrkdwn() -> None:
    """**bold** becomes *bold*; `code` stays code."""
    assert mrkdwn("Port **25565** is `open`") == "Port *25565* is `open`"


def test_cutting_never_splits_an_entity() -> None:
    """A cut lands before a whole entity, and ends with an ellipsis."""
    cut = fit(mrkdwn("<" * 2000, limit=10_000), 3000)
    assert units(cut) <= 3000
    assert cut.endswith("&lt;…")


def test_limits_count_utf16_units_like_slack() -> None:
    """An emoji is two units, so 2000 of them do not fit in 3000."""
    cut = fit("😀" * 2000, 3000)
    assert units(cut) <= 3000
    assert len(cut) == 1500


@pytest.mark.parametrize(
    ("status", "emoji"),
    [
        (Status.INFO, ":information_source:"),
        (Status.OK, ":large_green_circle:"),
        (Status.WARN, ":large_yellow_circle:"),
        (Status.BAD, ":red_circle:"),
        (Status.ERROR, ":warning:"),
    ],
)
def test_header_shows_the_status(status: Status, emoji: str) -> None:
    """The verdict's colour is the header's first emoji."""
    message = render(Reply(title="Port 443", summary="x", status=status))
    assert message["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": f"{emoji} Port 443", "emoji": True},
    }


def test_reply_layout() -> None:
    """Header, summary, inline fields side by side, a block field, footer as context, then buttons."""
    reply = Reply(
        title="Port 25565",
        summary="Minecraft: **Java Edition**.",
        fields=(
            Field("Protocol", "TCP", inline=True),
            Field("Used by", "Minecraft", inline=True),
            Field("Tip", "x"),
        ),
        actions=(Action(ActionKind.CHECK_PORT, "Check this port", port=25565),),
        footer="Source: IANA",
    )
    assert [b["type"] for b in render(reply)["blocks"]] == [
        "header",
        "section",
        "section",
        "section",
        "context",
        "actions",
    ]
    blocks = render(reply)["blocks"]
    assert blocks[1]["text"] == {"type": "mrkdwn", "text": "Minecraft: *Java Edition*.", "verbatim": True}
    assert [f["text"] for f in blocks[2]["fields"]] == ["*Protocol*\nTCP", "*Used by*\nMinecraft"]
    assert blocks[3]["text"]["text"] == "*Tip*\nx"
    assert blocks[5]["elements"][0]["value"] == "25565/auto"


def test_too_many_fields_are_summarised_within_fifty_blocks() -> None:
    """A huge reply keeps its header and buttons and says how much was left out."""
    fields = tuple(Field(f"F{i}", "v") for i in range(120))
    reply = Reply(
        title="t", summary="s", fields=fields, actions=(Action(ActionKind.ASK, "a", query="q"),), footer="f"
    )
    blocks = render(reply)["blocks"]
    assert len(blocks) == 50
    assert blocks[-1]["type"] == "actions" and blocks[-2]["type"] == "context"
    assert blocks[-3]["text"]["text"] == "…and 75 more details I can't fit in one Slack message."


def test_inline_fields_are_split_ten_to_a_section() -> None:
    """Slack takes at most ten fields a section."""
    fields = tuple(Field(f"F{i}", "v", inline=True) for i in range(23))
    blocks = render(Reply(title="t", summary="s", fields=fields))["blocks"]
    assert [len(b["fields"]) for b in blocks[2:]] == [10, 10, 3]


def test_share_button_needs_a_token() -> None:
    """Without a stored masked copy there is nothing a Share button could post."""
    reply = Reply(
        title="t", summary="s", actions=(Action(ActionKind.SHARE, "Share in channel"),), private=True
    )
    assert [b["type"] for b in render(reply)["blocks"]] == ["header", "section"]
    (button,) = render(reply, share_token="abc")["blocks"][-1]["elements"]
    assert (button["action_id"], button["value"]) == (ACTION_SHARE, "abc")


def test_repeated_buttons_get_distinct_action_ids() -> None:
    """Slack wants action_ids unique within a block."""
    actions = (
        Action(ActionKind.ASK, "One", query="one"),
        Action(ActionKind.ASK, "Two", query="two"),
        Action(ActionKind.CHECK_PORT, "Check", port=1),
        Action(ActionKind.CHECK_PORT, "Check", port=2, protocol="tcp"),
    )
    (block,) = [
        b for b in render(Reply(title="t", summary="s", actions=actions))["blocks"] if b["type"] == "actions"
    ]
    assert [(e["action_id"], e["value"]) for e in block["elements"]] == [
        (ACTION_ASK, "one"),
        (ACTION_ASK + ":1", "two"),
        (ACTION_CHECK, "1/auto"),
        (ACTION_CHECK + ":1", "2/tcp"),
    ]


@pytest.mark.parametrize(
    "action",
    [
        Action(ActionKind.CHECK_PORT, "Check"),
        Action(ActionKind.CHECK_PORT, "Check", port=0),
        Action(ActionKind.CHECK_PORT, "Check", port=70000),
        Action(ActionKind.ASK, "Ask"),
        Action(ActionKind.ASK, "Ask", query="  "),
    ],
)
def test_buttons_that_could_not_work_are_left_out(action: Action) -> None:
    """A Check without a valid port or an Ask without a query is no button at all."""
    assert [b["type"] for b in render(Reply(title="t", summary="s", actions=(action,)))["blocks"]] == [
        "header",
        "section",
    ]


@pytest.mark.parametrize(
    "query", ["what is a port", "tcp vs udp", "<!channel> & friends", "端口 " * 500, "x" * 3000, "a/b?c:d%20"]
)
def test_ask_values_round_trip_and_fit(query: str) -> None:
    """A query survives the trip through a button value (cut if huge) with no raw < in it."""
    value = encode_query(query)
    assert len(value) <= 2000 and "<" not in value
    assert query.startswith(decode_query(value))
    if len(query) < 500:
        assert decode_query(value) == query
