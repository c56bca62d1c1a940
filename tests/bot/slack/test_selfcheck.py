"""Check my own server on Slack, through Bolt's own request handling against the fake Slack: the button or
``/port check`` → a private one-time link → a real visit on loopback → the verdict, privately, the address
masked, and neither the link nor the address ever in a public message."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.slack.app import MAKING_LINK
from bot.slack.modals import SELF_CHECK_ACTION, CheckContext, link_sent_modal
from bot.slack.render import ACTION_CHECK, ACTION_SELF_CHECK
from tests.bot.selfcheck_worker import game_server, visit, worker_backend
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.slack.portbots import knowledge
from tests.bot.slack.test_app import buttons, header

LOOPBACK = "127.0.0.1"


@pytest.fixture
async def portbot(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> AsyncIterator[Portbot]:
    # One minute, not ten: should a test fail before its visit, Bolt's drain waits for the link to expire.
    async with worker_backend(monkeypatch, tmp_path / "worker-data", link_ttl=60.0) as (_, backend):
        yield Portbot(knowledge=knowledge(), probes=backend)


def link_in(message: dict[str, Any]) -> str:
    """The one-time link in a message (the worker's URL, token as URL-safe base64 and dots)."""
    found = re.search(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_.-]+", json.dumps(message))
    assert found is not None, "no link in the message"
    return found.group()


def everything_public(fake: FakeSlack) -> list[Any]:
    """Every message body anyone but the asker could read (a DM is the asker's own)."""
    public: list[Any] = [p.body for p in fake.posted if p.body.get("response_type") == "in_channel"]
    public += [
        c.args
        for c in fake.calls
        if c.method in ("chat.postMessage", "chat.update") and c.args.get("channel") != payloads.DM
    ]
    return public


async def test_a_game_answer_offers_check_my_own_server(slack: Slack, fake_slack: FakeSlack) -> None:
    """/port valheim answers with "Check my own server" next to "Check this port"."""
    await slack.command("valheim")
    found = buttons(fake_slack.posted_to("cmd")[0].body)
    ids = [b["action_id"] for b in found]
    assert ids.index(ACTION_SELF_CHECK) == ids.index(ACTION_CHECK) + 1
    assert found[ids.index(ACTION_SELF_CHECK)]["value"] == "2456/udp/valheim"


async def test_button_sends_a_private_link_then_the_masked_verdict(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Button → ephemeral link (ports, expiry, where to open it) → real visit → an ephemeral verdict, masked;
    a public answer's button never replaces the public message."""
    async with game_server() as port:
        pressing = asyncio.create_task(slack.press(ACTION_SELF_CHECK, f"{port}/tcp"))
        first = (await fake_slack.wait_for_post("press")).body
        assert (first["response_type"], first["replace_original"]) == ("ephemeral", False)
        text = json.dumps(first)
        assert "Valid for 1 minute, once." in text and f"{port} (TCP)" in text
        assert "same network as your server" in text and "not on mobile data" in text
        assert (await visit(link_in(first))).status_code == 200
        await asyncio.wait_for(pressing, 10)
    verdict = fake_slack.posted_to("press")[1].body
    assert (verdict["response_type"], verdict["replace_original"]) == ("ephemeral", False)
    assert header(verdict).endswith("Your server, checked from the internet")
    shown = json.dumps(verdict)
    assert "127.0.x.x" in shown and LOOPBACK not in shown
    for body in everything_public(fake_slack):
        assert "/l/" not in json.dumps(body) and LOOPBACK not in json.dumps(body)


async def test_port_check_replaces_its_ack_with_the_link_then_the_verdict(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """/port check <port>: the ephemeral ack says a link is coming; the link and then the verdict replace it."""
    async with game_server() as port:
        commanding = asyncio.create_task(slack.command(f"check my server {port} tcp"))
        first = (await fake_slack.wait_for_post("cmd")).body
        assert (first["response_type"], first["replace_original"]) == ("ephemeral", True)
        assert (await visit(link_in(first))).status_code == 200
        response = await asyncio.wait_for(commanding, 10)
    ack = json.loads(response.body)
    assert (ack["response_type"], ack["text"]) == ("ephemeral", MAKING_LINK)
    verdict = fake_slack.posted_to("cmd")[1].body
    assert verdict["replace_original"] is True
    assert "reachable" in json.dumps(verdict) and LOOPBACK not in json.dumps(verdict)


async def test_response_url_gone_falls_back_to_post_ephemeral(slack: Slack, fake_slack: FakeSlack) -> None:
    """When the response_url refuses, the link still reaches the asker only, through chat.postEphemeral."""
    fake_slack.response_url_status = 404
    pressing = asyncio.create_task(slack.press(ACTION_SELF_CHECK, "25565/tcp"))
    call = await fake_slack.wait_for_call("chat.postEphemeral")
    assert "Valid for 1 minute, once." in json.dumps(call.args)
    assert (await visit(link_in(call.args))).status_code == 200
    await asyncio.wait_for(pressing, 10)
    verdict = (await fake_slack.wait_for_call("chat.postEphemeral", count=2)).args
    assert "Your server, checked from the internet" in json.dumps(verdict)
    assert LOOPBACK not in json.dumps(verdict)


async def call_holding(fake: FakeSlack, method: str, text: str) -> dict[str, Any]:
    """The first ``method`` call whose arguments hold ``text``, waiting for it."""
    count = 1
    while True:
        call = await fake.wait_for_call(method, count)
        if text in json.dumps(call.args):
            return call.args
        count += 1


async def test_mention_sends_the_link_and_the_verdict_to_the_asker_only(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """@Portbot check my server <port>: two ephemeral messages, the link and then the masked verdict."""
    async with game_server() as port:
        mentioned = asyncio.create_task(
            slack.event(payloads.mention(f"<@{BOT_USER_ID}> check my server {port} tcp"))
        )
        first = await call_holding(fake_slack, "chat.postEphemeral", "Your one-time link")
        assert first["user"] == payloads.USER
        assert (await visit(link_in(first))).status_code == 200
        await asyncio.wait_for(mentioned, 10)
    verdict = await call_holding(fake_slack, "chat.postEphemeral", "checked from the internet")
    assert verdict["user"] == payloads.USER and LOOPBACK not in json.dumps(verdict)
    for body in everything_public(fake_slack):
        assert "/l/" not in json.dumps(body) and LOOPBACK not in json.dumps(body)


async def test_dm_link_message_is_updated_with_the_verdict(slack: Slack, fake_slack: FakeSlack) -> None:
    """In a DM the link message itself becomes the verdict (chat.update), address masked."""
    async with game_server() as port:
        sent = asyncio.create_task(slack.event(payloads.direct_message(f"check my server {port} tcp")))
        first = await call_holding(fake_slack, "chat.postMessage", "Your one-time link")
        assert first["channel"] == payloads.DM
        assert (await visit(link_in(first))).status_code == 200
        await asyncio.wait_for(sent, 10)
    (update,) = fake_slack.calls_to("chat.update")
    assert update.args["channel"] == payloads.DM
    shown = json.dumps(update.args)
    assert "checked from the internet" in shown and "127.0.x.x" in shown and LOOPBACK not in shown


# -- inside the Check modal ------------------------------------------------------------------------------------


async def test_the_check_modal_offers_check_my_own_server(slack: Slack, fake_slack: FakeSlack) -> None:
    """The modal a "Check this port" press opens holds a "Check my own server" button beside the address box."""
    await slack.press(ACTION_CHECK, "2456/udp/valheim")
    (call,) = fake_slack.calls_to("views.open")
    found = [b["accessory"] for b in call.args["view"]["blocks"] if "accessory" in b]
    assert [(b["type"], b["action_id"], b["text"]["text"]) for b in found] == [
        ("button", SELF_CHECK_ACTION, "Check my own server")
    ]


async def test_modal_button_sends_a_private_link_then_the_masked_verdict(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """The modal's button: the link to the presser only, in the Check button's channel and thread; the modal
    says a link was sent; after a real visit the masked verdict follows, to the presser only."""
    async with game_server() as port:
        check = CheckContext(port, "tcp", channel_id=payloads.CHANNEL, thread_ts="1700000000.000001")
        body = payloads.modal_action(SELF_CHECK_ACTION, str(port), check.to_metadata())
        pressing = asyncio.create_task(slack.send(body))
        first = (await fake_slack.wait_for_call("chat.postEphemeral")).args
        where = (first["channel"], first["user"], first["thread_ts"])
        assert where == (payloads.CHANNEL, payloads.USER, "1700000000.000001")
        assert "Valid for 1 minute, once." in json.dumps(first) and f"{port} (TCP)" in json.dumps(first)
        update = await fake_slack.wait_for_call("views.update")
        assert (update.args["view_id"], update.args["view"]) == ("V0PORTBOT", link_sent_modal(check))
        assert (await visit(link_in(first))).status_code == 200
        response = await asyncio.wait_for(pressing, 10)
    assert (response.status, response.body) == (200, "")
    verdict = (await fake_slack.wait_for_call("chat.postEphemeral", count=2)).args
    assert (verdict["channel"], verdict["user"]) == (payloads.CHANNEL, payloads.USER)
    shown = json.dumps(verdict)
    assert "Your server, checked from the internet" in shown and "reachable" in shown
    assert "127.0.x.x" in shown and LOOPBACK not in shown
    for public in everything_public(fake_slack):
        assert "/l/" not in json.dumps(public) and LOOPBACK not in json.dumps(public)


async def test_modal_button_outside_portbots_channels_answers_through_the_response_url(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Where Portbot is no member, the link and the verdict travel, ephemeral, through the Check button's
    response_url, never replacing the (maybe public) answer it sat on."""
    fake_slack.failures["chat.postEphemeral"] = "channel_not_found"
    async with game_server() as port:
        check = CheckContext(
            port, "tcp", channel_id=payloads.CHANNEL, response_url=fake_slack.response_url("button")
        )
        sending = asyncio.create_task(
            slack.send(payloads.modal_action(SELF_CHECK_ACTION, str(port), check.to_metadata()))
        )
        first = (await fake_slack.wait_for_post("button")).body
        assert (first["response_type"], first["replace_original"]) == ("ephemeral", False)
        assert (await visit(link_in(first))).status_code == 200
        await asyncio.wait_for(sending, 10)
    verdict = fake_slack.posted_to("button")[1].body
    assert (verdict["response_type"], verdict["replace_original"]) == ("ephemeral", False)
    assert "checked from the internet" in json.dumps(verdict) and LOOPBACK not in json.dumps(verdict)
