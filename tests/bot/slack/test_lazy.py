"""Lazy listeners get their own request without Bolt's second, deep copy of it (CPU spent before each ack)."""

from __future__ import annotations

from typing import Any

import pytest
import slack_bolt.listener.asyncio_runner
import slack_bolt.util.utils

from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import FakeSlack


async def test_a_command_is_answered_without_deep_copying_its_request(
    slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/port 25565 is acked and answered by its lazy listener, and Bolt's deep copy of the request never runs."""
    copied: list[Any] = []

    def counting_copy(original: Any) -> Any:
        copied.append(original)
        return slack_bolt.util.utils.create_copy(original)

    monkeypatch.setattr(slack_bolt.listener.asyncio_runner, "create_copy", counting_copy)
    response = await slack.command("25565")
    assert response.status == 200
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["text"].startswith("Port 25565: ")
    assert copied == []
