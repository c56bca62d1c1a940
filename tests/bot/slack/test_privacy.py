"""A typed address never appears in a public Slack message: ``/port``, mentions, the Check modal, Ask and Share,
driven by signed requests through Bolt's own dispatch against the fake Slack."""

from __future__ import annotations

import json
from typing import Any

import pytest
from slack_bolt.response import BoltResponse

from bot.slack.render import ACTION_ASK, ACTION_CHECK, ACTION_SHARE, encode_query
from tests.bot.privacy_cases import CASES, PUBLIC_QUESTIONS, Case
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.slack.test_app import buttons


def ack_body(response: BoltResponse) -> dict[str, Any]:
    return json.loads(response.body) if response.body else {}


def public_messages(fake: FakeSlack) -> list[dict[str, Any]]:
    """What the channel sees: in_channel response_url posts and chat.postMessage outside DMs."""
    posted = [p.body for p in fake.posted if p.body.get("response_type") == "in_channel"]
    return posted + [
        c.args for c in fake.calls_to("chat.postMessage") if not str(c.args.get("channel")).startswith("D")
    ]


def private_messages(fake: FakeSlack) -> list[dict[str, Any]]:
    posted = [p.body for p in fake.posted if p.body.get("response_type") == "ephemeral"]
    return posted + [c.args for c in fake.calls_to("chat.postEphemeral")]


def share_tokens(message: dict[str, Any]) -> list[str]:
    return (
        [b["value"] for b in buttons(message) if b["action_id"] == ACTION_SHARE]
        if "blocks" in message
        else []
    )


@pytest.mark.parametrize("case", CASES, ids=[c.text for c in CASES])
async def test_a_typed_address_never_reaches_a_public_message(
    slack: Slack, fake_slack: FakeSlack, case: Case
) -> None:
    """The ack is not in_channel (Slack would echo the text), every answer is ephemeral, shares are masked."""
    # /port <text>: Slack echoes the command to the channel only with an in_channel ack.
    response = await slack.command(case.text)
    assert ack_body(response).get("response_type") != "in_channel", (
        f"/port {case.text!r} echoed to the channel"
    )
    # @Portbot <text> in a channel.
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> {case.text}"))
    # An Ask button carrying the text.
    await slack.press(ACTION_ASK + ":1", encode_query(case.text[:90]), hook="ask")
    # The Check button's modal, with the host typed into it.
    await slack.press(ACTION_CHECK, "25565/tcp", hook="check")
    (opened,) = fake_slack.calls_to("views.open")
    submitted = await slack.send(payloads.view_submission(opened.args["view"]["private_metadata"], case.host))
    assert "in_channel" not in submitted.body

    privately = private_messages(fake_slack)
    assert len(privately) >= 3 or ack_body(submitted).get("response_action") == "errors"
    # Share every private result that offers it: only a masked copy may go public.
    tokens = [t for message in privately for t in share_tokens(message)]
    for number, token in enumerate(tokens):
        await slack.press(ACTION_SHARE, token, hook=f"share{number}", ephemeral=True)

    public = public_messages(fake_slack)
    assert len(public) == len(tokens)  # nothing but the shares went public
    for message in public:
        assert case.leaks(message) == [], f"public message shows {case.leaks(message)}"


@pytest.mark.parametrize("text", PUBLIC_QUESTIONS)
async def test_plain_questions_are_still_answered_in_public(
    slack: Slack, fake_slack: FakeSlack, text: str
) -> None:
    """A knowledge question without an address is acked in_channel and answered for everyone."""
    response = await slack.command(text)
    assert ack_body(response) == {"text": "", "response_type": "in_channel"}
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "in_channel"
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> {text}"))
    assert [c.method for c in fake_slack.messages] == ["chat.postMessage"]


async def test_someone_else_cannot_share_a_result(slack: Slack, fake_slack: FakeSlack) -> None:
    """A share token pressed by another user posts nothing; its owner can still share it."""
    await slack.command("check mc.example.com 25565")
    (token,) = share_tokens(fake_slack.posted_to("cmd")[0].body)
    await slack.press(ACTION_SHARE, token, hook="other", user="U0MALLORY", ephemeral=True)
    await slack.press(ACTION_SHARE, token, hook="owner", ephemeral=True)
    assert fake_slack.posted_to("other")[0].body["response_type"] == "ephemeral"
    assert fake_slack.posted_to("owner")[0].body["response_type"] == "in_channel"


@pytest.mark.parametrize("text", PUBLIC_QUESTIONS)
async def test_a_private_workspace_answers_plain_questions_privately(
    slack: Slack, fake_slack: FakeSlack, text: str
) -> None:
    """Once an admin made knowledge private, nothing goes public: no in_channel ack, no channel post."""
    fake_slack.admins.add(payloads.USER)
    await slack.send(payloads.home_action("portbot_home_knowledge", "private"))
    response = await slack.command(text)
    assert ack_body(response).get("response_type") != "in_channel"
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> {text}"))
    await slack.press(ACTION_ASK + ":1", encode_query(text), hook="ask")
    assert public_messages(fake_slack) == []
    assert len(private_messages(fake_slack)) == 3


@pytest.mark.parametrize("case", CASES, ids=[c.text for c in CASES])
async def test_a_failed_response_url_never_makes_an_answer_public(
    slack: Slack, fake_slack: FakeSlack, case: Case
) -> None:
    """An expired response_url's fallback keeps a private answer private (chat.postEphemeral, not the channel)."""
    fake_slack.response_url_status = 404
    await slack.command(case.text)
    await slack.press(ACTION_ASK + ":1", encode_query(case.text[:90]), hook="ask")
    assert [c.method for c in fake_slack.messages] == ["chat.postEphemeral", "chat.postEphemeral"]
    assert public_messages(fake_slack) == []


async def test_checking_messages_are_private_everywhere(slack: Slack, fake_slack: FakeSlack) -> None:
    """ "Checking…" for a probe is ephemeral in a channel, whatever the workspace chose."""
    response = await slack.command("check mc.example.com 25565")
    assert ack_body(response)["response_type"] == "ephemeral"
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> check mc.example.com 25565"))
    assert public_messages(fake_slack) == []
    assert [c.method for c in fake_slack.messages] == ["chat.postEphemeral", "chat.postEphemeral"]
