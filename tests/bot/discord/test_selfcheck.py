"""Check my own server on Discord, through discord.py's own dispatch against the fake Discord: the button or
``/port check`` → a private one-time link → a real visit on loopback → the same private message edited with
the verdict, the address masked, and neither the link nor the address ever in a public message."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import build_probe_backend
from bot.core.commands import Portbot
from bot.settings import Settings
from knowledge import KnowledgeBase
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.test_interactions import NO_MENTIONS, embed_of
from tests.bot.selfcheck_worker import game_server, visit, worker_backend

LOOPBACK = "127.0.0.1"


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord,
    knowledge_base: KnowledgeBase,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[RunningBot]:
    async with worker_backend(monkeypatch, tmp_path / "data") as (_, backend):
        portbot = Portbot(knowledge=knowledge_base, probes=backend)
        async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as running_bot:
            yield running_bot


async def edits(fake: FakeDiscord, token: str, count: int) -> list[dict[str, Any]]:
    """The first ``count`` edits of the original response of the interaction with ``token``."""

    def found() -> list[dict[str, Any]] | None:
        mine = [e.body for e in fake.edits if f"/{token}/" in e.path]
        return mine if len(mine) >= count else None

    result: list[dict[str, Any]] = await fake.wait_for(found)
    return result


def link_in(message: dict[str, Any]) -> str:
    """The one-time link in a message (the worker's URL, token as URL-safe base64 and dots)."""
    found = re.search(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_.-]+", json.dumps(message))
    assert found is not None, "no link in the message"
    return found.group()


def public_bodies(fake: FakeDiscord) -> list[Any]:
    """Every message body anyone but the asker could read."""
    public = [c.data for c in fake.callbacks if c.type in (4, 7) and not c.ephemeral]
    public += [f.body for f in fake.followups if not int((f.body or {}).get("flags") or 0) & 64]
    return public


async def test_a_game_answer_offers_check_my_own_server(bot: RunningBot) -> None:
    """/port valheim answers with "Check my own server" next to "Check this port"."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query="valheim"))
    callback = await bot.fake.wait_callback(sent.id)
    ids = payloads.custom_ids(callback.data)
    check = next(i for i in ids if i.startswith("portbot:check:"))
    mine = next(i for i in ids if i.startswith("portbot:self:"))
    assert ids.index(mine) == ids.index(check) + 1
    assert mine == "portbot:self:2456:udp:valheim"


async def test_button_sends_a_private_link_then_edits_it_with_the_masked_verdict(bot: RunningBot) -> None:
    """Button → ephemeral link with the ports and expiry → real visit → the same message shows the verdict."""
    async with game_server() as port:
        answer = await bot.fake.push_interaction(payloads.slash("port", query="valheim"))
        message = (await bot.fake.wait_callback(answer.id)).message or {}
        # The game's button, aimed at the port this test's "game server" listens on (discord.py dispatches a
        # click only for a button the message carries).
        custom_id = f"portbot:self:{port}:tcp"
        button = {"type": 2, "style": 2, "label": "Check my own server", "custom_id": custom_id}
        message = {**message, "components": [{"type": 1, "components": [button]}]}
        sent = await bot.fake.push_interaction(payloads.button_click(message, custom_id))
        callback = await bot.fake.wait_callback(sent.id)
        assert (callback.type, callback.ephemeral) == (5, True)
        first = (await edits(bot.fake, sent.token, 1))[0]
        embed = embed_of(first)
        assert first["allowed_mentions"] == NO_MENTIONS
        assert "Valid for 10 minutes, once." in embed["description"]
        text = json.dumps(embed)
        assert f"{port} (TCP)" in text
        assert "same network as your server" in text and "not on mobile data" in text
        assert (await visit(link_in(first))).status_code == 200
        verdict = (await edits(bot.fake, sent.token, 2))[1]
    shown = json.dumps(verdict)
    assert embed_of(verdict)["title"].endswith("Your server, checked from the internet")
    assert "reachable" in embed_of(verdict)["description"]
    assert "127.0.x.x" in shown and LOOPBACK not in shown
    for body in public_bodies(bot.fake):
        assert "/l/" not in json.dumps(body) and LOOPBACK not in json.dumps(body)


async def test_port_check_with_no_host_sends_a_link(bot: RunningBot) -> None:
    """/port check my server <port> defers privately and sends the link, not a probe of any host."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query="check my server 25565"))
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (5, True)
    first = (await edits(bot.fake, sent.token, 1))[0]
    assert embed_of(first)["title"] == "Check your own server"
    assert "25565" in json.dumps(embed_of(first))
    # Visited, so the bot's wait ends here rather than holding the teardown for the link's expiry.
    assert (await visit(link_in(first))).status_code == 200
    await edits(bot.fake, sent.token, 2)


async def test_second_visit_is_refused_and_the_verdict_still_arrives(bot: RunningBot) -> None:
    """The link works once: a second visit is refused (4xx), and the first visit's verdict is what shows."""
    async with game_server() as port:
        sent = await bot.fake.push_interaction(payloads.slash("port", query=f"check {port} tcp"))
        first = (await edits(bot.fake, sent.token, 1))[0]
        url = link_in(first)
        assert (await visit(url)).status_code == 200
        assert 400 <= (await visit(url)).status_code < 500
        verdict = (await edits(bot.fake, sent.token, 2))[1]
    assert "reachable" in embed_of(verdict)["description"]


async def test_an_unused_link_says_it_expired(
    fake_discord: FakeDiscord, knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """Nobody opens the link before it expires: the message says so instead of waiting forever."""
    async with worker_backend(monkeypatch, tmp_path / "data", link_ttl=1.0) as (_, backend):
        portbot = Portbot(knowledge=knowledge_base, probes=backend)
        async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as bot:
            sent = await bot.fake.push_interaction(payloads.slash("port", query="check my server 2456"))
            last = (await edits(bot.fake, sent.token, 2))[1]
    assert embed_of(last)["title"].endswith("That link wasn't used")


async def test_without_workers_the_member_hears_it_plainly(
    fake_discord: FakeDiscord, knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A backend with no workers (in-process probing) answers in plain words, privately."""
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "data"))
    backend = build_probe_backend(Settings.load(env_file=None))  # no PORTBOT_WORKERS: in-process
    portbot = Portbot(knowledge=knowledge_base, probes=backend)
    async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as bot:
        sent = await bot.fake.push_interaction(payloads.slash("port", query="check my own server 25565"))
        callback = await bot.fake.wait_callback(sent.id)
        first = (await edits(bot.fake, sent.token, 1))[0]
    await backend.aclose()
    assert callback.ephemeral
    assert "this bot isn't set up for self-checks yet" in embed_of(first)["description"].lower()
    assert "PORTBOT_" not in json.dumps(first) and "worker" not in json.dumps(first).lower()


@pytest.mark.parametrize("query", ["22", "7777", "kerberos", "why can't my friends join my valheim server"])
async def test_every_message_with_check_this_port_also_offers_check_my_own_server(
    bot: RunningBot, query: str
) -> None:
    """Discord's modal can't hold a button, so the message whose "Check this port" opens it carries "Check my
    own server" too; clicking that very button sends the private link for the same port, then the verdict."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query=query))
    message = (await bot.fake.wait_callback(sent.id)).message or {}
    ids = payloads.custom_ids(message)
    check = next(i for i in ids if i.startswith("portbot:check:"))
    mine = next(i for i in ids if i.startswith("portbot:self:"))
    port = check.split(":")[2]
    assert mine.split(":")[2] == port
    click = await bot.fake.push_interaction(payloads.button_click(message, mine))
    callback = await bot.fake.wait_callback(click.id)
    assert (callback.type, callback.ephemeral) == (5, True)
    first = (await edits(bot.fake, click.token, 1))[0]
    assert embed_of(first)["title"] == "Check your own server"
    assert port in json.dumps(embed_of(first))
    # The visit ends the bot's wait for it (a test that left it waiting would hold its teardown ~25 s).
    url = link_in(first)
    assert (await visit(url)).status_code == 200
    verdict = (await edits(bot.fake, click.token, 2))[1]
    assert embed_of(verdict)["title"].endswith("Your server, checked from the internet")
    # The public answer is a guide that may itself say "127.0.0.1": what must never be public is this link.
    assert all(url not in json.dumps(body) for body in public_bodies(bot.fake))
