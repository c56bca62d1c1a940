"""Reachability checks from Discord with everything real: the app's probe wiring
(``bot.app.build_probe_backend``), the probe service (policy, rate limits, audit) and engine, probing TCP servers this test runs on loopback. Loopback is
allow-listed with PORTBOT_ALLOW_NETWORKS, as an operator would for a lab."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from bot.app import ServiceBackend, build_probe_backend
from bot.core.commands import Portbot
from bot.settings import Settings
from knowledge import KnowledgeBase
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import FakeDiscord, Recorded
from tests.bot.discord.test_interactions import click, embed_of

GREEN, YELLOW, ORANGE = 0x57F287, 0xFEE75C, 0xE67E22


@pytest.fixture
def audit_db(tmp_path: Path) -> Path:
    return tmp_path / "data" / "audit.sqlite3"


@pytest.fixture
async def live_portbot(
    knowledge_base: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Portbot]:
    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("PORTBOT_LIMIT_USER", "3/minute")
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "data"))
    backend = build_probe_backend(Settings.load(env_file=None))
    yield Portbot(knowledge=knowledge_base, probes=backend)
    await backend.aclose()  # flushes the audit log


@pytest.fixture
async def live(
    fake_discord: FakeDiscord, live_portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    async with running(fake_discord, live_portbot, monkeypatch, tmp_path / "data") as bot:
        yield bot


async def check(bot: RunningBot, host: str, port: int) -> Recorded:
    """/portcheck; returns the follow-up (after checking that the defer was private)."""
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host=host, port=port, protocol="tcp"))
    deferred = await bot.fake.wait_callback(sent.id)
    assert (deferred.type, deferred.ephemeral) == (5, True)
    return await bot.fake.wait_followup(sent.token)


def verdict(followup: Recorded) -> dict[str, Any]:
    return embed_of(followup.body)


async def test_an_open_port_is_reported_reachable_to_the_asker(live: RunningBot, listening: int) -> None:
    """/portcheck 127.0.0.1 <port> with a server listening: a green, private verdict."""
    embed = verdict(await check(live, "127.0.0.1", listening))
    assert embed["title"] == "✅ Port check: 127.0.0.1"
    assert embed["color"] == GREEN
    assert f"**{listening}/tcp**: reachable" in embed["description"]


async def test_a_closed_port_is_reported_closed(live: RunningBot, closed_port: int) -> None:
    """Nothing listening: the verdict says so, in yellow."""
    embed = verdict(await check(live, "127.0.0.1", closed_port))
    assert embed["color"] == YELLOW
    assert f"**{closed_port}/tcp**: closed" in embed["description"]


async def test_a_shared_live_result_masks_the_address(live: RunningBot, listening: int) -> None:
    """Share posts the real verdict in the channel with 127.0.0.1 masked."""
    followup = await check(live, "127.0.0.1", listening)
    shared = await click(live, followup.message or {}, "portbot:share:")
    assert (shared.type, shared.ephemeral) == (4, False)
    text = json.dumps(shared.data, ensure_ascii=False)
    assert "127.0.0.1" not in text and "127.0.x.x" in text


async def test_a_private_address_is_refused_without_probing(live: RunningBot) -> None:
    """The safety policy refuses a LAN address with an explanation."""
    embed = verdict(await check(live, "10.0.0.7", 25565))
    assert embed["color"] == ORANGE
    assert "LAN (private) address" in json.dumps(embed)


async def test_the_fourth_check_in_a_minute_is_rate_limited(live: RunningBot, listening: int) -> None:
    """PORTBOT_LIMIT_USER=3/minute: the fourth check from one member is refused politely."""
    for _ in range(3):
        assert verdict(await check(live, "127.0.0.1", listening))["color"] == GREEN
    embed = verdict(await check(live, "127.0.0.1", listening))
    assert embed["color"] == ORANGE
    assert "You've run a lot of checks in a minute" in json.dumps(embed, ensure_ascii=False)


async def test_checks_are_audited_with_the_discord_requester(
    live: RunningBot, live_portbot: Portbot, listening: int, audit_db: Path
) -> None:
    """The audit log records who asked, from which server and channel, and what was found."""
    await check(live, "127.0.0.1", listening)
    assert isinstance(live_portbot.probes, ServiceBackend)
    await live_portbot.probes.aclose()
    with sqlite3.connect(audit_db) as db:
        rows = db.execute(
            "SELECT platform, user_id, guild_id, channel_id, target, outcome FROM probes"
        ).fetchall()
    assert rows == [
        (
            "discord",
            str(payloads.USER_ID),
            str(payloads.GUILD_ID),
            str(payloads.CHANNEL_ID),
            "127.0.0.1",
            "probed",
        )
    ]


async def test_check_this_port_button_probes_the_host_from_the_modal(
    live: RunningBot, listening: int
) -> None:
    """/port <port> → "Check this port" → modal with 127.0.0.1 → a live, private, green verdict."""
    sent = await live.fake.push_interaction(payloads.slash("port", query=str(listening)))
    answer = await live.fake.wait_callback(sent.id)
    assert f"portbot:check:{listening}:auto" in payloads.custom_ids(answer.data)
    modal = await click(live, answer.message or {}, "portbot:check:")
    submitted = await live.fake.push_interaction(payloads.modal_submit(modal.data, ["127.0.0.1"]))
    assert (await live.fake.wait_callback(submitted.id)).ephemeral
    embed = embed_of((await live.fake.wait_followup(submitted.token)).body)
    assert embed["title"] == "✅ Port check: 127.0.0.1"
    assert f"**{listening}/tcp**: reachable" in embed["description"]
