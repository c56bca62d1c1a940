"""Anything unexpected becomes one friendly, private message: never a traceback, never silence."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.commands import Portbot
from bot.core.reply import Reply
from knowledge import KnowledgeBase
from probes.models import Requester
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.doubles import RecordingBackend
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.test_interactions import click, embed_of

SORRY_TITLE = "❗ Something went wrong on my side"
SORRY_TEXT = "Sorry, I hit an unexpected problem answering that. It has been logged; please try again."


class BrokenPortbot(Portbot):
    """Knowledge works; everything else blows up, as a bug in the core would."""

    async def handle(self, text: str, requester: Requester) -> Reply:
        if text == "25565":
            return self.lookup(text)
        raise RuntimeError("boom")

    async def check(self, *args: object, **kwargs: object) -> Reply:
        raise RuntimeError("boom")

    def suggest(self, prefix: str, limit: int = 25) -> list[object]:  # type: ignore[override]
        raise RuntimeError("boom")


@pytest.fixture
async def broken(
    fake_discord: FakeDiscord,
    knowledge_base: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[RunningBot]:
    portbot = BrokenPortbot(knowledge=knowledge_base, probes=RecordingBackend())
    async with running(fake_discord, portbot, monkeypatch, tmp_path) as bot:
        yield bot


async def test_a_failing_command_answers_with_a_private_apology(
    broken: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception in /port reaches tree.on_error: a private apology, the traceback only in the log."""
    sent = await broken.fake.push_interaction(payloads.slash("port", query="what is cgnat"))
    callback = await broken.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)
    embed = embed_of(callback.data)
    assert (embed["title"], embed["description"]) == (SORRY_TITLE, SORRY_TEXT)
    assert "Traceback" not in str(callback.data) and "boom" not in str(callback.data)
    assert any(record.exc_info for record in caplog.records if "unexpected error" in record.message)


async def test_a_probe_failing_after_the_defer_follows_up_with_the_apology(broken: RunningBot) -> None:
    """When the defer has been sent, the apology arrives as the follow-up."""
    sent = await broken.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=1))
    followup = await broken.fake.wait_followup(sent.token)
    assert followup.body["flags"] & 64
    assert embed_of(followup.body)["title"] == SORRY_TITLE


async def test_a_failing_button_answers_with_the_apology(broken: RunningBot) -> None:
    """Errors in button callbacks (which discord.py would only log) get the same private apology."""
    answer = await broken.fake.wait_callback(
        (await broken.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    reply = await click(broken, answer.message or {}, "portbot:ask:")
    assert (reply.type, reply.ephemeral) == (4, True)
    assert embed_of(reply.data)["title"] == SORRY_TITLE


async def test_failing_autocomplete_offers_nothing_rather_than_failing(broken: RunningBot) -> None:
    """An autocomplete error still answers, with no choices."""
    sent = await broken.fake.push_interaction(payloads.autocomplete("port", "query", "mine"))
    callback = await broken.fake.wait_callback(sent.id)
    assert (callback.type, callback.data["choices"]) == (8, [])


async def test_an_unknown_command_explains_that_it_is_outdated(bot: RunningBot) -> None:
    """A command Discord still shows but we no longer have gets a clear, private explanation."""
    sent = await bot.fake.push_interaction(payloads.slash("oldport", query="25565"))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.ephemeral
    assert embed_of(callback.data)["title"] == "❗ That command has changed"
