"""Answers still arrive when Slack pushes back: rate limits are waited out (slack-sdk's retry handler), and a
response_url that fails (expired: 404, unreachable, too slow) gives way to the Web API, privately."""

from __future__ import annotations

import socket
from typing import Any

import aiohttp
import pytest
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.core.commands import Portbot
from bot.settings import Settings
from bot.slack import build_app, lazy_runner
from bot.slack.app import FAILURE, web_client
from bot.slack.render import ACTION_ASK, encode_query, fallback_text
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.slack.test_app import header

MESSAGE_KEYS = ("text", "blocks")


def message(args: dict[str, Any]) -> dict[str, Any]:
    return {key: args[key] for key in MESSAGE_KEYS}


def closed_port_url() -> str:
    """A response_url on loopback where nothing listens (the port was just freed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/response/gone"


# -- rate limits ----------------------------------------------------------------------------------------------


async def test_the_apps_web_client_waits_out_rate_limits(settings: Settings) -> None:
    """The client Bolt copies into every request carries slack-sdk's rate-limit retry handler."""
    client = web_client(settings, http=True)
    assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in client.retry_handlers)


async def test_a_client_given_to_build_app_gets_the_handler_too(
    settings: Settings, portbot: Portbot, fake_slack: FakeSlack
) -> None:
    """A Web API client passed in (tests, embedding) is given the rate-limit handler once."""
    client = AsyncWebClient(token=payloads.BOT_TOKEN, base_url=fake_slack.api_url)
    build_app(settings, portbot, http=True, client=client)
    build_app(settings, portbot, http=True, client=client)
    handlers = [h for h in client.retry_handlers if isinstance(h, AsyncRateLimitErrorRetryHandler)]
    assert len(handlers) == 1


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("chat.postMessage", payloads.mention(f"<@{BOT_USER_ID}> 25565")),
        ("chat.postEphemeral", payloads.mention(f"<@{BOT_USER_ID}> check example.com 443")),
        ("views.publish", payloads.home_opened()),
        ("users.info", payloads.home_opened()),
    ],
)
async def test_a_rate_limited_call_is_retried_after_retry_after(
    slack: Slack, fake_slack: FakeSlack, method: str, body: str
) -> None:
    """Slack's 429 with Retry-After is waited out and the call made again; no apology, no lost answer."""
    fake_slack.rate_limited[method] = 1
    await slack.event(body)
    calls = fake_slack.calls_to(method)
    assert len(calls) >= 2 and calls[0].args == calls[1].args
    assert fake_slack.rate_limited[method] == 0
    assert all(c.args.get("text") != fallback_text(FAILURE) for c in fake_slack.messages)


async def test_the_retry_waits_as_long_as_slack_asks(slack: Slack, fake_slack: FakeSlack) -> None:
    """Retry-After: 1 means the second try comes at least a second after the first."""
    fake_slack.rate_limited["chat.postMessage"] = 1
    fake_slack.retry_after = 1
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565"))
    first, second = fake_slack.calls_to("chat.postMessage")
    assert second.at - first.at >= 1.0
    assert header(second.args) == ":information_source: Port 25565"


async def test_a_rate_limited_answer_through_the_shared_session_is_retried(
    settings: Settings, portbot: Portbot, fake_slack: FakeSlack
) -> None:
    """Listeners' clients moved onto the shared HTTP session keep the handler."""
    async with aiohttp.ClientSession() as session:
        app = build_app(settings, portbot, http=True, session=session)
        fake_slack.rate_limited["chat.postMessage"] = 1
        await Slack(app, fake_slack).event(payloads.mention(f"<@{BOT_USER_ID}> tcp vs udp"))
        await lazy_runner(app).drain()
    first, second = fake_slack.calls_to("chat.postMessage")
    assert header(second.args) == header(first.args) == ":information_source: TCP vs UDP"
    assert fake_slack.calls_to("chat.postEphemeral") == []


# -- a failing response_url -------------------------------------------------------------------------------------


async def test_an_expired_response_url_gives_way_to_post_ephemeral(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """A 404 from the response_url: the same private result goes to the asker with chat.postEphemeral."""
    fake_slack.response_url_status = 404
    await slack.command("check example.com 443")
    (tried,) = fake_slack.posted_to("cmd")
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == (payloads.CHANNEL, payloads.USER)
    assert message(call.args) == message(tried.body)
    assert header(call.args) == ":large_green_circle: Port check: example.com"
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_an_unreachable_response_url_gives_way_to_post_ephemeral(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """Nothing listening at the response_url: the answer still reaches the asker, privately."""
    await slack.send(payloads.command("check example.com 443", closed_port_url()))
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert header(call.args) == ":large_green_circle: Port check: example.com"


async def test_a_response_url_that_times_out_gives_way_to_post_ephemeral(
    slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A response_url slower than the timeout is given up on; the answer goes through the Web API."""
    monkeypatch.setattr("bot.slack._clients.RESPONSE_URL_TIMEOUT", 1)
    fake_slack.response_url_delay = 2.5
    await slack.command("check example.com 443")
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert header(call.args) == ":large_green_circle: Port check: example.com"


async def test_a_button_follow_up_falls_back_to_post_ephemeral(slack: Slack, fake_slack: FakeSlack) -> None:
    """An Ask button on a message older than 30 minutes is still answered, to the presser only."""
    fake_slack.response_url_status = 404
    await slack.press(ACTION_ASK + ":1", encode_query("tcp vs udp"))
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert call.args["user"] == payloads.USER
    assert header(call.args) == ":information_source: TCP vs UDP"


async def test_a_public_answer_falls_back_to_the_channel(slack: Slack, fake_slack: FakeSlack) -> None:
    """An address-free knowledge answer whose response_url failed is posted in the channel instead."""
    fake_slack.response_url_status = 404
    await slack.command("25565")
    (tried,) = fake_slack.posted_to("cmd")
    (call,) = fake_slack.calls_to("chat.postMessage")
    assert call.args["channel"] == payloads.CHANNEL
    assert message(call.args) == message(tried.body)


async def test_a_public_answer_outside_portbots_channels_goes_to_the_asker(
    slack: Slack, fake_slack: FakeSlack
) -> None:
    """No response_url and no posting in the channel (Portbot is not in it): the asker alone gets it."""
    fake_slack.response_url_status = 404
    fake_slack.failures["chat.postMessage"] = "not_in_channel"
    await slack.command("25565")
    (call,) = fake_slack.calls_to("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == (payloads.CHANNEL, payloads.USER)
    assert header(call.args) == ":information_source: Port 25565"


async def test_outside_portbots_channels_the_fallback_is_a_dm(slack: Slack, fake_slack: FakeSlack) -> None:
    """No response_url and no ephemeral (Portbot is not in the channel): the result arrives in the DM."""
    fake_slack.response_url_status = 404
    fake_slack.failures["chat.postEphemeral"] = "channel_not_found"
    await slack.command("check example.com 443")
    (dm,) = fake_slack.calls_to("chat.postMessage")
    assert dm.args["channel"] == payloads.USER
    assert header(dm.args) == ":large_green_circle: Port check: example.com"


async def test_an_apology_also_falls_back_to_post_ephemeral(
    slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When answering fails and the response_url is gone too, the apology goes through chat.postEphemeral."""

    async def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("Traceback: secret internals")

    monkeypatch.setattr(Portbot, "handle", broken)
    fake_slack.response_url_status = 404
    await slack.command("25565")
    (apology,) = fake_slack.calls_to("chat.postEphemeral")
    assert apology.args["text"] == fallback_text(FAILURE)
