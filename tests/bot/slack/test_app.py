"""The Slack app's flows, driven by signed Slack requests through Bolt's own dispatch against a fake Slack.

The command core and knowledge base are the real ones; only the probe backend answers from a script."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest
from sqlalchemy import text

from bot.core.commands import Portbot
from bot.core.reply import Reply
from bot.settings import Settings
from bot.slack import build_app
from bot.slack.app import CHECKING, FAILURE, SHARE_EXPIRED
from bot.slack.home import WELCOME
from bot.slack.modals import SELF_CHECK_ACTION, CheckContext, checking_modal, done_modal
from bot.slack.render import ACTION_ASK, ACTION_CHECK, ACTION_SHARE, encode_query, fallback_text
from bot.store import store_for
from probes.errors import PortbotError, RateLimited, RefusedTarget
from probes.models import ProbeRequest, Requester
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, TEAM_ID, FakeSlack
from tests.bot.slack.portbots import PUBLIC_ADDRESS, ScriptedBackend

ASKER = Requester(platform="slack", user_id=payloads.USER, guild_id=TEAM_ID, channel_id=payloads.CHANNEL)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message["blocks"] if b["type"] == "actions" for e in b["elements"]]


def header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def share_token(message: dict[str, Any]) -> str:
    (share,) = [b for b in buttons(message) if b["action_id"] == ACTION_SHARE]
    return str(share["value"])


# -- /port ---------------------------------------------------------------------------------------------------


async def test_knowledge_command_is_acked_in_channel_then_answered_publicly(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """/port 25565: an empty in_channel ack (Slack echoes the command), then the answer for everyone."""
    response = await slack.command("25565")
    assert response.status == 200
    assert json.loads(response.body) == {"text": "", "response_type": "in_channel"}
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "in_channel"
    assert header(posted.body) == ":information_source: Port 25565"
    assert posted.body["text"].startswith("Port 25565: ")


async def test_answers_reuse_one_connection(slack: Slack, fake_slack: FakeSlack) -> None:
    """Answers travel on the shared HTTP session, so the second one reuses the first one's connection."""
    await slack.command("25565", hook="one")
    await slack.command("tcp vs udp", hook="two")
    (first,), (second,) = fake_slack.posted_to("one"), fake_slack.posted_to("two")
    assert first.peer is not None and first.peer == second.peer


async def test_knowledge_answer_carries_a_check_button_for_its_port(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """The Check button names the port, the protocol and the entry it came from for the modal."""
    await slack.command("minecraft")
    check = [b for b in buttons(fake_slack.posted_to("cmd")[0].body) if b["action_id"] == ACTION_CHECK]
    assert check == [
        {
            "type": "button",
            "text": {"type": "plain_text", "text": "Check this port", "emoji": True},
            "action_id": ACTION_CHECK,
            "value": "25565/tcp/minecraft-java",
            "style": "primary",
        }
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("check example.com 443", ProbeRequest("example.com", (443,))),
        ("is 443 open on example.com", ProbeRequest("example.com", (443,))),
        ("check mc.example.com 25565 udp", ProbeRequest("mc.example.com", (25565,), "udp")),
    ],
)
async def test_probe_command_is_answered_only_to_the_asker(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend, text: str, expected: ProbeRequest
) -> None:
    """A reachability check is acked with a private "Checking…", whose place the result takes, for the asker
    only, with who asked passed on."""
    response = await slack.command(text)
    assert response.status == 200
    assert json.loads(response.body) == {"text": CHECKING, "response_type": "ephemeral"}
    assert backend.calls == [(expected, ASKER)]
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["replace_original"] is True
    assert header(posted.body) == f":large_green_circle: Port check: {expected.target}"


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("", ":information_source: Portbot: ports, explained and checked"),
        ("help", ":information_source: Portbot: ports, explained and checked"),
        ("scan example.com 1-1000", ":warning: I couldn't read that"),
        ("check example.com 70000", ":warning: I couldn't read that"),
    ],
)
async def test_help_and_bad_input_are_answered_privately(
    slack: Slack, fake_slack: FakeSlack, text: str, title: str
) -> None:
    """Help and input errors go to the asker only; nothing is echoed in the channel."""
    response = await slack.command(text)
    assert response.body == ""
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert header(posted.body) == title


@pytest.mark.parametrize(
    ("error", "title"),
    [
        (
            RefusedTarget("192.168.1.10 is a private address.", category="private", address="192.168.1.10"),
            ":warning: I won't check that address",
        ),
        (
            RateLimited("You have checked a lot just now.", retry_after=30, scope="user"),
            ":warning: Too many checks",
        ),
    ],
)
async def test_refusals_are_explained_privately_without_share(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend, error: PortbotError, title: str
) -> None:
    """A refused or rate-limited check is explained to the asker alone, with nothing to share."""
    backend.refuse = error
    await slack.command("check 192.168.1.10 25565")
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert header(posted.body) == title
    assert buttons(posted.body) == []


async def test_private_probe_result_offers_share_and_share_posts_it_masked(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Share re-posts the result in the channel with the host and address masked, and no Share button."""
    await slack.command("check home.example.com 25565")
    private = fake_slack.posted_to("cmd")[0].body
    assert PUBLIC_ADDRESS in json.dumps(private)

    await slack.press(ACTION_SHARE, share_token(private), ephemeral=True)
    (shared,) = fake_slack.posted_to("press")
    text = json.dumps(shared.body, ensure_ascii=False)
    assert shared.body["response_type"] == "in_channel"
    assert shared.body["replace_original"] is False
    assert PUBLIC_ADDRESS not in text and "home.example.com" not in text
    assert header(shared.body) == ":large_green_circle: Port check: ho….com"
    assert "203.0.x.x" in text
    assert [b["action_id"] for b in buttons(shared.body)] == []


async def test_share_works_once(slack: Slack, fake_slack: FakeSlack) -> None:
    """A second press on the same Share button explains instead of posting twice."""
    await slack.command("check example.com 443")
    token = share_token(fake_slack.posted_to("cmd")[0].body)
    await slack.press(ACTION_SHARE, token, ephemeral=True)
    await slack.press(ACTION_SHARE, token, ephemeral=True)
    first, second = fake_slack.posted_to("press")
    assert first.body["response_type"] == "in_channel"
    assert second.body["response_type"] == "ephemeral"
    assert second.body["text"] == fallback_text(SHARE_EXPIRED)


async def test_unknown_share_token_is_explained_privately(slack: Slack, fake_slack: FakeSlack) -> None:
    """After 30 minutes (or a second press) the user learns why nothing was shared."""
    await slack.press(ACTION_SHARE, "no-such-token", ephemeral=True)
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["text"] == (
        "That result can't be shared any more: I share a check's result once, for whoever ran it, "
        "within 30 minutes. Run the check again and share the new result."
    )


async def test_ask_button_answers_its_query_to_the_presser(slack: Slack, fake_slack: FakeSlack) -> None:
    """An ASK button is answered like /port <query>, privately, as a new message."""
    await slack.press(ACTION_ASK + ":1", encode_query("tcp-vs-udp"))
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["replace_original"] is False
    assert header(posted.body) == ":information_source: TCP vs UDP"


# -- the Check modal -----------------------------------------------------------------------------------------


async def test_check_button_opens_the_modal_with_port_and_place(slack: Slack, fake_slack: FakeSlack) -> None:
    """views.open gets the press's trigger_id and a modal remembering port, protocol and channel."""
    response = await slack.press(ACTION_CHECK, "25565/tcp", thread_ts="1700000000.000001")
    assert (response.status, response.body) == (200, "")
    (call,) = fake_slack.calls_to("views.open")
    assert call.args["trigger_id"] == "13345224609.738474920.8088930838d88f008e0"
    view = call.args["view"]
    assert view["callback_id"] == "portbot_check"
    assert view["title"]["text"] == "Check port 25565/tcp"
    assert CheckContext.from_metadata(view["private_metadata"]) == CheckContext(
        port=25565,
        protocol="tcp",
        channel_id=payloads.CHANNEL,
        thread_ts="1700000000.000001",
        response_url=fake_slack.response_url("press"),
    )
    assert call.token == payloads.BOT_TOKEN


async def test_modal_submission_probes_and_posts_ephemerally(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend
) -> None:
    """Submitting a host turns the modal into "Checking…", probes that port, and shows the result to the
    submitter only."""
    check = CheckContext(port=25565, protocol="tcp", channel_id=payloads.CHANNEL)
    response = await slack.send(payloads.view_submission(check.to_metadata(), "  mc.example.com "))
    assert response.status == 200
    assert json.loads(response.body) == {"response_action": "update", "view": checking_modal(check)}
    assert backend.calls == [(ProbeRequest("mc.example.com", (25565,), "tcp"), ASKER)]
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == (payloads.CHANNEL, payloads.USER)
    assert header(call.args) == ":large_green_circle: Port check: mc.example.com"
    assert share_token(call.args)


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        (None, "Type the address or name of your server."),
        ("   ", "Type the address or name of your server."),
        ("mc.example.com 25565", "Type just one address or name, without spaces."),
        ("<!channel>", "That doesn't look like a host name or address."),
    ],
)
async def test_modal_submission_with_a_bad_host_stays_open_with_the_problem(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend, host: str | None, problem: str
) -> None:
    """A bad host is answered in the modal itself, and nothing is probed."""
    metadata = CheckContext(port=443, protocol="auto", channel_id=payloads.CHANNEL).to_metadata()
    response = await slack.send(payloads.view_submission(metadata, host))
    assert json.loads(response.body) == {"response_action": "errors", "errors": {"host": problem}}
    assert backend.calls == []
    assert fake_slack.messages == []


async def test_modal_result_falls_back_to_the_response_url_outside_portbots_channels(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Where Portbot is no member, postEphemeral fails and the button's response_url carries the result."""
    fake_slack.failures["chat.postEphemeral"] = "channel_not_found"
    metadata = CheckContext(
        port=443, protocol="auto", channel_id=payloads.CHANNEL, response_url=fake_slack.response_url("button")
    ).to_metadata()
    await slack.send(payloads.view_submission(metadata, "example.com"))
    (posted,) = fake_slack.posted_to("button")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["replace_original"] is False
    assert header(posted.body) == ":large_green_circle: Port check: example.com"


async def test_modal_result_falls_back_to_a_dm_when_nothing_else_works(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """With no channel left to answer in, the result arrives in the user's DM with Portbot."""
    fake_slack.failures["chat.postEphemeral"] = "channel_not_found"
    fake_slack.response_url_status = 404
    metadata = CheckContext(
        port=443, protocol="auto", channel_id=payloads.CHANNEL, response_url=fake_slack.response_url("button")
    ).to_metadata()
    await slack.send(payloads.view_submission(metadata, "example.com"))
    (dm,) = fake_slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == payloads.USER
    assert header(dm.args) == ":large_green_circle: Port check: example.com"


async def test_modal_self_check_without_workers_says_so_privately(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend
) -> None:
    """The modal's "Check my own server" on a bot with no link workers: a plain private sentence, nothing
    probed, and the modal says done rather than "link sent"."""
    check = CheckContext(port=25565, protocol="tcp", channel_id=payloads.CHANNEL)
    await slack.send(payloads.modal_action(SELF_CHECK_ACTION, "25565", check.to_metadata()))
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert call.args["user"] == payloads.USER
    assert header(call.args) == ":warning: Self-checks aren't available here"
    assert backend.calls == []
    (update,) = fake_slack.calls_to("views.update")
    assert update.args["view"] == done_modal(check)


# -- mentions and DMs -------------------------------------------------------------------------------------------


async def test_mention_is_answered_in_a_thread(slack: Slack, fake_slack: FakeSlack) -> None:
    """@Portbot 25565: the mention is stripped and the answer goes in a thread under the question."""
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565", ts="1700000000.000777"))
    (call,) = fake_slack.messages
    assert call.method == "chat.postMessage"
    assert (call.args["channel"], call.args["thread_ts"]) == (payloads.CHANNEL, "1700000000.000777")
    assert call.args["parse"] == "none" and call.args["unfurl_links"] is False
    assert header(call.args) == ":information_source: Port 25565"


async def test_mention_inside_a_thread_answers_in_that_thread(slack: Slack, fake_slack: FakeSlack) -> None:
    """A mention in an existing thread gets its answer there, not in a new one."""
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565", thread_ts="1699999999.000001"))
    (call,) = fake_slack.messages
    assert call.args["thread_ts"] == "1699999999.000001"


async def test_mention_asking_for_a_probe_answers_only_the_asker(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend
) -> None:
    """A probe asked for in a channel comes back ephemeral, in the thread, after a private "Checking…", with a
    Share button."""
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> check example.com 443", ts="1700000000.000888"))
    assert [requester for _, requester in backend.calls] == [ASKER]
    checking, call = fake_slack.messages
    assert checking.method == call.method == "chat.postEphemeral"
    assert (checking.args["user"], checking.args["thread_ts"]) == (payloads.USER, "1700000000.000888")
    assert checking.args["text"] == CHECKING
    assert (call.args["user"], call.args["thread_ts"]) == (payloads.USER, "1700000000.000888")
    assert share_token(call.args)


async def test_direct_message_is_answered_in_the_dm(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend
) -> None:
    """A first DM gets the welcome, then "Checking…", which the result replaces; it needs no Share button,
    only Check again."""
    await slack.event(payloads.direct_message("check example.com 443"))
    welcome, checking = fake_slack.messages
    assert [welcome.args["channel"], checking.args["channel"]] == [payloads.DM, payloads.DM]
    assert welcome.args["text"] == fallback_text(WELCOME)
    assert checking.args["text"] == CHECKING
    (call,) = fake_slack.calls_to("chat.update")
    assert (call.args["channel"], call.args["ts"]) == (payloads.DM, "1700000000.000003")
    assert header(call.args) == ":large_green_circle: Port check: example.com"
    assert [b["action_id"] for b in buttons(call.args)] == ["portbot_check_again"]
    assert [requester for _, requester in backend.calls] == [
        Requester("slack", payloads.USER, TEAM_ID, payloads.DM)
    ]


async def test_a_redelivered_event_is_answered_once(slack: Slack, fake_slack: FakeSlack) -> None:
    """Slack retries an event whose ack was late; the retry (same event_id) gets no second answer."""
    body = payloads.mention(f"<@{BOT_USER_ID}> 25565")
    await slack.event(body)
    await slack.event(body)
    assert len(fake_slack.messages) == 1


async def test_a_redelivery_to_another_process_is_not_answered_again(
    slack: Slack, fake_slack: FakeSlack, settings: Settings, portbot: Portbot
) -> None:
    """Two processes on one database (PORTBOT_SLACK_PROCESSES, or two hosts): the retry of an event the first
    answered reaches the second, which stays quiet."""
    body = payloads.mention(f"<@{BOT_USER_ID}> 25565")
    await slack.event(body)
    database = store_for(settings)
    try:
        async with aiohttp.ClientSession() as session:
            other = Slack(
                build_app(settings, portbot, http=True, session=session, database=database), fake_slack
            )
            await other.event(body)
            await other.event(payloads.mention(f"<@{BOT_USER_ID}> 443"))  # a new event: answered
    finally:
        await database.close()
    assert len(fake_slack.messages) == 2


async def test_an_event_is_answered_when_its_delivery_cannot_be_recorded(
    slack: Slack, fake_slack: FakeSlack, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    """The store failing to record an event (here its table is gone) answers it anyway, once, and says why in
    the log: answering twice beats not answering."""
    async with store_for(settings).begin() as conn:
        await conn.execute(text("DROP TABLE slack_events"))
    body = payloads.mention(f"<@{BOT_USER_ID}> 25565")
    await slack.event(body)
    await slack.event(body)  # this process still remembers it
    assert len(fake_slack.messages) == 1
    assert any("could not record Slack event" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    "extra",
    [
        {"subtype": "message_changed"},
        {"subtype": "bot_message", "bot_id": "B0OTHER"},
        {"bot_id": "B0OTHER"},
        {"channel_type": "channel"},
    ],
)
async def test_other_message_events_are_ignored(
    slack: Slack, fake_slack: FakeSlack, backend: ScriptedBackend, extra: dict[str, str]
) -> None:
    """Edits, bots' messages and channel messages get no answer."""
    response = await slack.event(payloads.direct_message("check example.com 443", **extra))
    assert response.status == 200
    assert fake_slack.messages == []
    assert backend.calls == []


# -- errors -----------------------------------------------------------------------------------------------------


class BrokenPortbot(Portbot):
    """A core with a bug: handle() is documented never to raise, but the adapter must not rely on it."""

    async def handle(self, text: str, requester: Requester) -> Reply:
        raise RuntimeError("Traceback (most recent call last): secret internals")


@pytest.mark.parametrize("portbot", [BrokenPortbot()])
async def test_a_failure_in_a_lazy_listener_becomes_a_friendly_private_message(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Bolt only logs lazy-listener errors; the user still gets an apology, never the traceback."""
    await slack.command("25565")
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["text"] == fallback_text(FAILURE)
    assert "Traceback" not in json.dumps(posted.body)


async def test_a_failure_while_acking_is_answered_by_app_error(
    slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An unexpected error before the ack still gets Slack a 200 with an apology, not a 500."""

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("Traceback: secret internals")

    monkeypatch.setattr("bot.slack.app.visibility.decide", broken)
    response = await slack.command("25565")
    assert response.status == 200
    body = json.loads(response.body)
    assert body["response_type"] == "ephemeral"
    assert body["text"] == fallback_text(FAILURE)
    assert "Traceback" not in response.body


async def test_a_failing_check_button_apologises_through_the_response_url(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """A button whose value makes no sense (an old message, a tampered payload) gets an apology."""
    await slack.press(ACTION_CHECK, "not-a-port")
    assert fake_slack.calls_to("views.open") == []
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["text"] == fallback_text(FAILURE)
    assert posted.body["response_type"] == "ephemeral"


async def test_a_slack_api_failure_while_answering_a_mention_is_apologised_for(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """If posting the answer fails (say, the thread is gone), the asker still hears something, privately."""
    fake_slack.failures["chat.postMessage"] = "thread_not_found"
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565"))
    (apology,) = fake_slack.calls_to("chat.postEphemeral")
    assert (apology.args["channel"], apology.args["user"]) == (payloads.CHANNEL, payloads.USER)
    assert apology.args["text"] == fallback_text(FAILURE)
