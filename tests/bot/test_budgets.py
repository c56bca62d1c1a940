"""One set of size limits for every reply: the core writes to it, and the renderers show it uncut."""

from __future__ import annotations

from bot.core import budgets, knowledge_replies, probe_replies
from bot.core.reply import Field, Reply
from tests.bot import discord as _quiet_discord  # noqa: F401  (imports discord.py without its audioop warning)

from bot.discord import render as discord_render  # isort: skip
from bot.slack.render import render as slack_render
from tests.bot.slack.blockkit import assert_within_limits


def test_the_core_and_the_discord_renderer_share_one_set_of_limits() -> None:
    """Knowledge replies, probe replies and Discord embeds use the same numbers (the footer is 1024 everywhere)."""
    assert budgets.FOOTER_MAX == 1024
    for name in ("TITLE_MAX", "FIELD_NAME_MAX", "FIELD_VALUE_MAX", "FOOTER_MAX", "TOTAL_MAX", "FIELDS_MAX"):
        assert getattr(discord_render, name) == getattr(budgets, name), name
    assert discord_render.DESCRIPTION_MAX == budgets.SUMMARY_MAX
    for name in ("TITLE_MAX", "SUMMARY_MAX", "FIELD_NAME_MAX", "FIELD_VALUE_MAX", "FOOTER_MAX", "TOTAL_MAX"):
        assert getattr(knowledge_replies, name) == getattr(budgets, name), name
    assert (probe_replies.TITLE_MAX, probe_replies.FIELD_VALUE_MAX) == (
        budgets.TITLE_MAX,
        budgets.FIELD_VALUE_MAX,
    )


FULL = Reply(
    title="t" * budgets.TITLE_MAX,
    summary="s" * 800,
    fields=(
        Field("n" * 100, "v" * budgets.FIELD_VALUE_MAX),
        Field("m" * 100, "w" * budgets.FIELD_VALUE_MAX),
    ),
    footer="f" * budgets.FOOTER_MAX,
)


def test_a_reply_filled_to_its_budgets_reaches_discord_uncut() -> None:
    """A title, field values and footer at their limits (within the total) are shown whole in the embed."""
    assert (
        len(FULL.title)
        + len(FULL.summary)
        + len(FULL.footer or "")
        + sum(len(f.name) + len(f.value) for f in FULL.fields)
        <= budgets.TOTAL_MAX
    )
    embed = discord_render.render_embed(FULL).to_dict()
    assert embed["title"] == FULL.title
    assert embed["footer"]["text"] == FULL.footer
    assert [f["value"] for f in embed["fields"]] == [f.value for f in FULL.fields]


def test_the_same_reply_fits_slacks_blocks() -> None:
    """Slack's renderer fits a reply at the core's budgets into its own per-block limits."""
    assert_within_limits(dict(slack_render(FULL)))
