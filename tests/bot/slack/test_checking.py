"""A probe takes seconds: each surface shows "Checking…" first, and the result takes its place where Slack
allows (a slash command's response_url, a DM's chat.update, the modal's views.update)."""

from __future__ import annotations

import json

from bot.slack.app import CHECKING
from bot.slack.modals import CheckContext, checking_modal, done_modal
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.slack.test_app import header


async def test_a_slash_probe_is_acked_with_checking_then_replaced(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """/port check …: "Checking…" in the ack, then the result with replace_original."""
    response = await slack.command("check example.com 443")
    assert json.loads(response.body) == {"text": CHECKING, "response_type": "ephemeral"}
    (result,) = fake_slack.posted_to("cmd")
    assert result.body["replace_original"] is True
    assert header(result.body) == ":large_green_circle: Port check: example.com"


async def test_knowledge_gets_no_checking(slack: Slack, fake_slack: FakeSlack) -> None:
    """A knowledge answer is instant: no "Checking…", and it never replaces anything."""
    response = await slack.command("help")
    assert response.body == ""
    (posted,) = fake_slack.posted_to("cmd")
    assert "replace_original" not in posted.body
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565"))
    assert all(c.args.get("text") != CHECKING for c in fake_slack.messages)


async def test_a_dm_probe_updates_its_checking_message(slack: Slack, fake_slack: FakeSlack) -> None:
    """In a DM, "Checking…" is posted and then edited into the result (chat.update on its ts)."""
    await slack.event(payloads.direct_message("check example.com 443"))
    *_, checking = fake_slack.calls_to("chat.postMessage")
    assert checking.args["text"] == CHECKING
    (update,) = fake_slack.calls_to("chat.update")
    assert update.args["channel"] == payloads.DM
    assert header(update.args) == ":large_green_circle: Port check: example.com"


async def test_the_modal_shows_checking_then_done(slack: Slack, fake_slack: FakeSlack) -> None:
    """Submitting turns the modal into "Checking…"; after the result is sent, views.update says done."""
    check = CheckContext(port=25565, protocol="tcp", channel_id=payloads.CHANNEL)
    response = await slack.send(payloads.view_submission(check.to_metadata(), "mc.example.com"))
    assert json.loads(response.body) == {"response_action": "update", "view": checking_modal(check)}
    assert checking_modal(check)["blocks"][0]["text"]["text"] == (
        "Checking port *25565/tcp* on your server… this takes a few seconds."
    )
    (result,) = fake_slack.calls_to("chat.postEphemeral")
    (update,) = fake_slack.calls_to("views.update")
    assert fake_slack.calls.index(result) < fake_slack.calls.index(update)
    assert update.args["view_id"] == "V0PORTBOT"
    assert update.args["view"] == done_modal(check)


async def test_a_closed_modal_does_not_spoil_the_result(slack: Slack, fake_slack: FakeSlack) -> None:
    """If the member closed the modal, views.update fails quietly: the result stands, no apology."""
    fake_slack.failures["views.update"] = "not_found"
    check = CheckContext(port=443, protocol="auto", channel_id=payloads.CHANNEL)
    await slack.send(payloads.view_submission(check.to_metadata(), "example.com"))
    (result,) = fake_slack.calls_to("chat.postEphemeral")
    assert header(result.args) == ":large_green_circle: Port check: example.com"
