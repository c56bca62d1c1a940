"""Alerts of ``portbot watch add --notify URL`` watches, POSTed to that URL.

=================================================  ========================================================
URL                                                body
=================================================  ========================================================
``https://discord.com/api/webhooks/…``             a Discord webhook message: the alert as an embed (the
                                                   Discord renderer's), ``allowed_mentions`` parsing none
``https://hooks.slack.com/…``                      a Slack incoming-webhook message: Block Kit blocks and
                                                   a ``text`` fallback (the Slack renderer's)
anything else                                      plain JSON, ``portbot.watch.alert`` (:func:`generic_body`)
=================================================  ========================================================

A webhook can only post, not edit, so command-line watches get alerts only, no status message. A failed POST
(a timeout, a 5xx, a 429) raises :class:`DeliveryFailed`; the scheduler leaves the alert in the outbox and
tries again later, so a receiver that was down still gets it, once.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

import httpx

from bot.core.reply import Reply
from bot.core.watch_replies import alert_reply, watch_name, where
from bot.watch.models import Watch
from bot.watch.notify import Change, CheckSummary

log = logging.getLogger("portbot.watch")

TIMEOUT = httpx.Timeout(10.0, connect=5.0)
_DISCORD_HOSTS = frozenset({"discord.com", "discordapp.com", "canary.discord.com", "ptb.discord.com"})


class DeliveryFailed(Exception):
    """The webhook did not take the alert; it stays in the outbox for another try."""


def kind_of(url: str) -> str:
    """``discord``, ``slack`` or ``json``: which body ``url`` gets."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if host in _DISCORD_HOSTS and parts.path.startswith("/api/webhooks/"):
        return "discord"
    if host == "hooks.slack.com":
        return "slack"
    return "json"


def body_for(kind: str, change: Change) -> dict[str, Any]:
    """The JSON body for one alert in the ``kind`` a URL takes."""
    reply = alert_reply(change)
    if kind == "discord":
        return discord_body(reply)
    if kind == "slack":
        from bot.slack.render import render

        message = render(reply)
        return {"text": message["text"], "blocks": message["blocks"]}
    return generic_body(change, reply)


def discord_body(reply: Reply) -> dict[str, Any]:
    from bot.discord.render import render_embed

    return {
        "username": "Portbot",
        "embeds": [render_embed(reply).to_dict()],
        # The renderer escapes mentions already; this makes Discord parse none of them, whatever the text.
        "allowed_mentions": {"parse": []},
    }


def generic_body(change: Change, reply: Reply) -> dict[str, Any]:
    """``{"type": "portbot.watch.alert", …}``: documented in the README (Watch → webhooks)."""
    watch, summary = change.watch, change.summary
    return {
        "type": "portbot.watch.alert",
        "watch": {
            "id": watch.id,
            "name": watch_name(watch),
            "target": where(watch),  # masked, as in chat: a webhook often posts somewhere public
            "port": watch.port,
            "protocol": watch.protocol,
            "game": watch.game,
            "label": watch.label,
        },
        "seq": change.seq,
        "before": str(change.before),
        "after": str(change.after),
        "at": change.at,
        # The cause as the reply tells it: masked like the rest.
        "reason": next((f.value for f in reply.fields if f.name == "Cause"), None),
        "players": list(summary.players) if summary.players else None,
        "earlier": [
            {"seq": c.seq, "before": str(c.before), "after": str(c.after), "at": c.at} for c in change.earlier
        ],
        "title": reply.title,
        "text": reply.summary,
        "fields": [{"name": f.name, "value": f.value} for f in reply.fields],
    }


class WebhookNotifier:
    """Posts alerts to each watch's ``notify_url``; a watch without one has its alerts logged only."""

    def __init__(self, client: httpx.AsyncClient | None = None) -> None:
        self._client = client or httpx.AsyncClient(timeout=TIMEOUT, follow_redirects=False)

    async def show_status(self, watch: Watch, summary: CheckSummary) -> str | None:
        """Webhooks cannot edit a message: command-line watches get alerts, no status message."""
        return None

    async def alert(self, change: Change) -> None:
        url = change.watch.notify_url
        reply = alert_reply(change)
        if not url:
            log.info("watch %s: %s: %s", change.watch.id, reply.title, " ".join(reply.summary.split()))
            return
        try:
            response = await self._client.post(url, json=body_for(kind_of(url), change), timeout=TIMEOUT)
        except httpx.HTTPError as err:
            raise DeliveryFailed(f"the webhook didn't answer ({type(err).__name__})") from None
        if response.status_code >= 300:
            raise DeliveryFailed(f"the webhook answered HTTP {response.status_code}")
        log.info("watch %s: alert %s delivered", change.watch.id, change.seq)

    async def aclose(self) -> None:
        await self._client.aclose()
