"""`--notify URL`: a Discord or Slack webhook gets its platform's message, anything else plain JSON; all
POSTed for real to a local receiver."""

from __future__ import annotations

import httpx
import pytest

from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import Change, CheckSummary
from bot.watch.webhook import DeliveryFailed, WebhookNotifier, kind_of
from tests.bot import discord as _quiet_discord  # noqa: F401  (imports discord.py without its audioop warning)
from tests.watch.conftest import Receiver

T0 = 1_800_000_000.0


class ToReceiver(httpx.AsyncBaseTransport):
    """Sends every request to the local receiver instead, keeping its path (discord.com never sees a test)."""

    def __init__(self, receiver: Receiver) -> None:
        self._port = httpx.URL(receiver.url).port
        self._inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        request.url = request.url.copy_with(scheme="http", host="127.0.0.1", port=self._port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _change(url: str, label: str | None = "@everyone Survival") -> Change:
    watch = Watch(
        id=7, platform=Platform.CLI, scope_id="cli", created_by="t", host="mc.example.net", port=25565,
        protocol="tcp", every=60.0, game=None, label=label, channel_id=None, notify_url=url,
        status_message_id=None, created_at=T0, next_due=T0, state=Health.UP, state_since=T0, candidate=None,
        candidate_count=0, last_checked=T0, last_result=None,
    )  # fmt: skip
    summary = CheckSummary(
        Health.DOWN, "closed", "Closed: 203.0.113.5:25565 refused the connection.", T0 + 60
    )
    return Change(watch, 1, Health.UP, Health.DOWN, summary, T0 + 60)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://discord.com/api/webhooks/1/abc", "discord"),
        ("https://discordapp.com/api/webhooks/1/abc", "discord"),
        ("https://discord.com/channels/1/2", "json"),
        ("https://hooks.slack.com/services/T1/B1/x", "slack"),
        ("https://example.net/hook", "json"),
        ("https://discord.com.example.net/api/webhooks/1/abc", "json"),
    ],
)
def test_kind_of_url(url: str, kind: str) -> None:
    """Only Discord's and Slack's own webhook hosts get their formats."""
    assert kind_of(url) == kind


async def _post(receiver: Receiver, url: str) -> dict[str, object]:
    notifier = WebhookNotifier(httpx.AsyncClient(transport=ToReceiver(receiver)))
    try:
        await notifier.alert(_change(url))
    finally:
        await notifier.aclose()
    [body] = receiver.bodies
    return body


async def test_discord_webhook_gets_an_embed_that_mentions_nobody(receiver: Receiver) -> None:
    """A Discord webhook gets the Discord renderer's embed, with mentions neither parsed nor spelled."""
    body = await _post(receiver, "https://discord.com/api/webhooks/1/abc")
    assert receiver.paths == ["/api/webhooks/1/abc"]
    assert body["allowed_mentions"] == {"parse": []}
    [embed] = body["embeds"]  # type: ignore[misc]
    assert embed["title"] == "🚫 @\u200beveryone Survival went down"
    assert "203.0.113.5" not in str(body) and "mc.example.net" not in str(body)


async def test_slack_webhook_gets_blocks(receiver: Receiver) -> None:
    """A Slack webhook gets Block Kit blocks and a text fallback."""
    body = await _post(receiver, "https://hooks.slack.com/services/T1/B1/x")
    blocks = body["blocks"]
    assert blocks[0]["type"] == "header"  # type: ignore[index]
    assert "Survival went down" in blocks[0]["text"]["text"]  # type: ignore[index]
    assert "Survival went down: mc….net:25565/TCP went down at" in str(body["text"])


async def test_other_urls_get_plain_json(receiver: Receiver) -> None:
    """Any other URL gets the documented JSON object."""
    body = await _post(receiver, "https://example.net/hooks/portbot")
    assert receiver.paths == ["/hooks/portbot"]
    assert {k: body[k] for k in ("type", "seq", "before", "after")} == {
        "type": "portbot.watch.alert", "seq": 1, "before": "up", "after": "down",
    }  # fmt: skip
    assert body["watch"] == {
        "id": 7, "name": "@everyone Survival", "target": "mc….net:25565/TCP", "port": 25565, "protocol": "tcp",
        "game": None, "label": "@everyone Survival",
    }  # fmt: skip
    assert body["reason"] == "Closed: 203.0.x.x:25565 refused the connection."


async def test_a_refusing_webhook_raises_for_a_retry(receiver: Receiver) -> None:
    """A 5xx or 429 is a failed delivery: the outbox keeps the alert."""
    receiver.statuses = [429]
    notifier = WebhookNotifier()
    try:
        with pytest.raises(DeliveryFailed, match=r"^the webhook answered HTTP 429$"):
            await notifier.alert(_change(receiver.url))
    finally:
        await notifier.aclose()
