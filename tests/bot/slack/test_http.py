"""HTTP mode for real: Bolt served by aiohttp on loopback, Slack's signed requests posted to it with httpx."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable

import httpx
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from bot.slack import EVENTS_PATH, HEALTH_PATH, lazy_runner, start_http
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import FakeSlack


@pytest.fixture
async def served(app: AsyncApp) -> AsyncIterator[httpx.AsyncClient]:
    runner = await start_http(app, port=0, host="127.0.0.1")
    port = runner.addresses[0][1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            yield client
    finally:
        await runner.cleanup()


async def test_signed_slash_command_over_http_is_answered_at_the_response_url(
    served: httpx.AsyncClient, app: AsyncApp, fake_slack: FakeSlack
) -> None:
    """POST /slack/events with a valid signature: 200 at once, then the answer at the response_url."""
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await served.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
    assert response.status_code == 200
    assert response.json() == {"text": "", "response_type": "in_channel"}
    posted = await fake_slack.wait_for_post("cmd")
    assert posted.body["response_type"] == "in_channel"
    assert posted.body["blocks"][0]["text"]["text"] == ":information_source: Port 25565"
    await lazy_runner(app).drain()


async def test_event_subscription_url_is_verified(served: httpx.AsyncClient) -> None:
    """Slack's url_verification challenge is echoed back, so the Request URL can be saved."""
    body = json.dumps(
        {
            "token": "x",
            "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
            "type": "url_verification",
        }
    )
    response = await served.post(
        EVENTS_PATH, content=body, headers=payloads.signature_headers(body, content_type=payloads.JSON)
    )
    assert response.status_code == 200
    assert response.json() == {"challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P"}


async def test_health_endpoint(served: httpx.AsyncClient) -> None:
    """Load balancers and the process test can ask whether the app is up."""
    response = await served.get(HEALTH_PATH)
    assert (response.status_code, response.text) == (200, "ok\n")


async def test_unsigned_request_over_http_is_refused(
    served: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    """No signature headers at all: 401, and Slack is never called."""
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await served.post(EVENTS_PATH, content=body, headers={"content-type": payloads.FORM})
    assert response.status_code == 401
    assert fake_slack.calls == [] and fake_slack.posted == []


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param(lambda body: payloads.signature_headers(body, "not-the-secret"), id="wrong-secret"),
        pytest.param(
            lambda body: payloads.signature_headers(body, timestamp=int(time.time()) - 6 * 60),
            id="stale-timestamp",
        ),
        pytest.param(
            lambda body: payloads.signature_headers(body, timestamp=int(time.time()) + 6 * 60),
            id="future-timestamp",
        ),
        pytest.param(lambda body: payloads.signature_headers(body + "&text=check"), id="tampered-body"),
    ],
)
async def test_bad_signatures_get_401(
    slack: Slack, fake_slack: FakeSlack, headers: Callable[[str], dict[str, str]]
) -> None:
    """A wrong secret, a replayed (stale) or future timestamp, or a changed body: 401, nothing answered."""
    body = payloads.command("check example.com 443", fake_slack.response_url("cmd"))
    made = headers(body)
    response = await slack.app.async_dispatch(
        AsyncBoltRequest(body=body, headers={k: [v] for k, v in made.items()})
    )
    await lazy_runner(slack.app).drain()
    assert response.status == 401
    assert fake_slack.calls == [] and fake_slack.posted == []


async def test_good_signature_through_dispatch_is_accepted(slack: Slack, fake_slack: FakeSlack) -> None:
    """The same request signed correctly is answered (the control for the 401 table)."""
    response = await slack.command("check example.com 443")
    assert response.status == 200
    assert len(fake_slack.posted_to("cmd")) == 1
