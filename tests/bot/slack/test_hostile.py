"""Hostile text end to end: typed into /port, a mention or a DM, answered by the real core and knowledge base,
every message Portbot sends is still unable to ping anyone and within Block Kit's limits."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.slack import payloads
from tests.bot.slack.blockkit import HOSTILE, assert_cannot_ping, assert_within_limits
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack

# A form-encoded body is UTF-8, which cannot carry a lone surrogate; JSON events can (as \\ud800 escapes).
FORM_HOSTILE = [p for p in HOSTILE if p.id != "surrogates"]


def sent(fake: FakeSlack) -> list[dict[str, Any]]:
    """Every message Portbot put in front of someone, as text + blocks."""
    bodies = [p.body for p in fake.posted] + [c.args for c in fake.messages]
    return [{"text": b["text"], "blocks": b["blocks"]} for b in bodies]


@pytest.mark.parametrize("text", FORM_HOSTILE)
@pytest.mark.parametrize("shape", ["{}", "check {} 25565", "is 443 open on {}", "check example.com {}"])
async def test_hostile_slash_commands(slack: Slack, fake_slack: FakeSlack, shape: str, text: str) -> None:
    """/port with hostile text in every position is answered, safely."""
    response = await slack.command(shape.format(text))
    assert response.status == 200
    assert "<" not in response.body
    (message,) = sent(fake_slack)
    assert_cannot_ping(message)
    assert_within_limits(message)


@pytest.mark.parametrize("text", HOSTILE)
async def test_hostile_mentions_and_dms(slack: Slack, fake_slack: FakeSlack, text: str) -> None:
    """A mention and a DM with hostile text get safe answers."""
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> {text}"))
    await slack.event(payloads.direct_message(text))
    messages = sent(fake_slack)
    assert len(messages) == 3  # the two answers, and the welcome a first DM gets
    for message in messages:
        assert_cannot_ping(message)
        assert_within_limits(message)
