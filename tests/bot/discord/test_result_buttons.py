"""Result buttons and the right check, through discord.py's own dispatch against the fake Discord: the game's
protocols from "Check this port", "Check again", follow-up questions picked from the verdict, one log line per
interaction with no user text, and checks still answered when the bot shuts down."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.commands import Portbot
from bot.logs import JsonFormatter
from knowledge import KnowledgeBase
from probes.errors import RateLimited
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import FakeDiscord
from tests.bot.discord.test_interactions import NO_MENTIONS, click, embed_of

V4, V6 = "203.0.113.7", "2001:db8::7"


class VerdictBackend:
    """Finds every port in ``state`` at ``address``; can hold each probe until ``gate`` opens, and refuse
    with RateLimited after ``allowed`` probes, as the probe service's limits would."""

    def __init__(self, state: State = State.OPEN, address: str = V4) -> None:
        self.state = state
        self.address = address
        self.requests: list[tuple[ProbeRequest, Requester]] = []
        self.gate: asyncio.Event | None = None
        self.started = asyncio.Event()
        self.allowed: int | None = None

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        self.requests.append((request, requester))
        if self.allowed is not None and len(self.requests) > self.allowed:
            raise RateLimited("You've run a lot of checks in a short time.", retry_after=60, scope="user")
        self.started.set()
        if self.gate is not None:
            await self.gate.wait()
        protocol = "udp" if request.protocol == "udp" else "tcp"
        reason = "syn-ack" if self.state is State.OPEN else "timeout"
        results = tuple(PortResult(self.address, p, protocol, self.state, reason) for p in request.ports)
        return [ProbeReport(request.target, request.target, "Frankfurt", results)]


@pytest.fixture
def verdicts() -> VerdictBackend:
    return VerdictBackend()


@pytest.fixture
async def bot(
    fake_discord: FakeDiscord,
    knowledge_base: KnowledgeBase,
    verdicts: VerdictBackend,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> AsyncIterator[RunningBot]:
    portbot = Portbot(knowledge=knowledge_base, probes=verdicts)
    async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as running_bot:
        yield running_bot


async def portcheck(bot: RunningBot, host: str = "mc.example.com", port: int = 25565) -> dict[str, object]:
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host=host, port=port))
    return (await bot.fake.wait_followup(sent.token)).message or {}


# -- the right check ----------------------------------------------------------------------------------------


async def test_ark_check_button_checks_udp_and_the_query_port(
    bot: RunningBot, verdicts: VerdictBackend
) -> None:
    """`/port ark` → "Check this port" carries ARK's entry → the modal's check is UDP 7777 + 27015 with A2S."""
    answer = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="ark"))).id
    )
    assert "portbot:check:7777:udp:ark-survival-evolved" in payloads.custom_ids(answer.message or {})
    modal = await click(bot, answer.message or {}, "portbot:check:")
    assert modal.data["title"] == "Check port 7777/udp"
    sent = await bot.fake.push_interaction(payloads.modal_submit(modal.data, ["ark.example.net"]))
    followup = await bot.fake.wait_followup(sent.token)
    assert [r for r, _ in verdicts.requests] == [
        ProbeRequest("ark.example.net", (7777, 27015), "udp", "steam ark-survival-evolved")
    ]
    assert embed_of(followup.body)["description"] == "**7777/udp**: reachable\n**27015/udp**: reachable"


async def test_tcp_and_udp_game_button_checks_both(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """A TCP+UDP game's button says so, and its check runs over TCP and UDP."""
    answer = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="7 days to die"))).id
    )
    modal = await click(bot, answer.message or {}, "portbot:check:26900:both:7-days-to-die")
    assert modal.data["title"] == "Check port 26900/tcp+udp"
    sent = await bot.fake.push_interaction(payloads.modal_submit(modal.data, ["game.example.net"]))
    await bot.fake.wait_followup(sent.token)
    assert sorted(r.protocol for r, _ in verdicts.requests) == ["tcp", "udp"]


async def test_chat_takes_a_game_name_as_the_hint(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """`/port check host 2456 valheim` checks Valheim's UDP ports."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query="check vh.example.net 2456 valheim"))
    await bot.fake.wait_followup(sent.token)
    assert [r for r, _ in verdicts.requests] == [
        ProbeRequest("vh.example.net", (2456, 2457), "udp", "steam valheim")
    ]


# -- Check again ---------------------------------------------------------------------------------------------


async def test_check_again_repeats_the_check_privately(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """ "Check again" defers privately and runs the same check for the same person."""
    result = await portcheck(bot)
    again = await click(bot, result, "portbot:again:")
    assert (again.type, again.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(again.token)
    assert followup.body["flags"] & 64
    assert followup.body["allowed_mentions"] == NO_MENTIONS
    assert embed_of(followup.body)["title"] == "✅ Port check: mc.example.com"
    (first, asker), (second, clicker) = verdicts.requests
    assert first == second
    assert asker == clicker


async def test_check_again_goes_through_the_rate_limits(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """A "Check again" past the limit is refused like any check."""
    verdicts.allowed = 1
    result = await portcheck(bot)
    again = await click(bot, result, "portbot:again:")
    followup = await bot.fake.wait_followup(again.token)
    assert embed_of(followup.body)["title"] == "❗ Too many checks"
    assert len(verdicts.requests) == 2


async def test_check_again_by_someone_else_is_refused(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """The check names someone's host: only they can run it again."""
    result = await portcheck(bot)
    refused = await click(bot, result, "portbot:again:", user_id=payloads.OTHER_USER_ID)
    assert (refused.type, refused.ephemeral) == (4, True)
    assert embed_of(refused.data)["title"] == "❗ That check can't be run again from here"
    assert len(verdicts.requests) == 1


async def test_a_shared_result_has_no_check_again(bot: RunningBot) -> None:
    """The public, masked copy has neither Share nor Check again."""
    result = await portcheck(bot)
    shared = await click(bot, result, "portbot:share:")
    assert not [
        c for c in payloads.custom_ids(shared.data) if c.startswith(("portbot:again:", "portbot:share:"))
    ]


# -- follow-ups ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        (V4, ["portbot:ask:port forwarding", "portbot:ask:cgnat", "portbot:ask:firewall"]),
        (V6, ["portbot:ask:firewall"]),
    ],
)
async def test_filtered_result_offers_follow_ups(
    bot: RunningBot, verdicts: VerdictBackend, address: str, expected: list[str]
) -> None:
    """A filtered IPv4 port leads to forwarding, CGNAT and firewalls; an IPv6 one only to firewalls."""
    verdicts.state, verdicts.address = State.FILTERED, address
    result = await portcheck(bot)
    assert [c for c in payloads.custom_ids(result) if c.startswith("portbot:ask:")] == expected


async def test_follow_up_answers_only_the_clicker(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """The original was private, so is the follow-up: CGNAT explained to whoever clicked."""
    verdicts.state = State.FILTERED
    result = await portcheck(bot)
    answer = await click(bot, result, "portbot:ask:cgnat")
    assert (answer.type, answer.ephemeral) == (4, True)
    assert "CGNAT" in embed_of(answer.data)["title"]


# -- logs ----------------------------------------------------------------------------------------------------

MARKER = "zq-secret-marker-7"


async def test_one_log_line_per_interaction_without_user_text(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """Each interaction logs one INFO line with platform, command, outcome, duration and a hashed server;
    nothing the user typed appears in any INFO+ record."""
    caplog.set_level(logging.DEBUG)
    sent = await bot.fake.push_interaction(payloads.slash("port", query=f"what is {MARKER}"))
    await bot.fake.wait_callback(sent.id)
    result = await portcheck(bot, host=f"{MARKER}.example.com")
    sent = await bot.fake.push_interaction(
        payloads.slash("port", query=f"check {MARKER}.example.com 2456 {MARKER}")
    )
    await bot.fake.wait_followup(sent.token)
    again = await click(bot, result, "portbot:again:")
    await bot.fake.wait_followup(again.token)

    def lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "portbot.interaction"]

    await bot.fake.wait_for(lambda: len(lines()) >= 4)
    records = lines()
    assert [(r.platform, r.command) for r in records] == [  # type: ignore[attr-defined]
        ("discord", "port"),
        ("discord", "portcheck"),
        ("discord", "port"),
        ("discord", "button:again"),
    ]
    assert [r.outcome for r in records] == ["knowledge:info", "probe:ok", "error:error", "probe:ok"]  # type: ignore[attr-defined]
    assert all(r.levelno == logging.INFO for r in records)
    assert all(isinstance(r.duration_ms, float) for r in records)  # type: ignore[attr-defined]
    assert {r.place for r in records} == {records[0].place} and len(records[0].place) == 12  # type: ignore[attr-defined]
    assert str(payloads.GUILD_ID) not in records[0].place  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(records[1]))
    assert {k: line[k] for k in ("platform", "command", "outcome")} == {
        "platform": "discord",
        "command": "portcheck",
        "outcome": "probe:ok",
    }
    leaked = [r for r in caplog.records if r.levelno >= logging.INFO and MARKER in _text(r)]
    assert leaked == []


def _text(record: logging.LogRecord) -> str:
    return JsonFormatter().format(record)


# -- shutdown ------------------------------------------------------------------------------------------------


async def test_shutdown_waits_for_checks_in_flight(bot: RunningBot, verdicts: VerdictBackend) -> None:
    """A check still running when the bot is stopped gets its follow-up before the connection closes."""
    verdicts.gate = asyncio.Event()
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=25565))
    deferred = await bot.fake.wait_callback(sent.id)
    assert deferred.type == 5
    await verdicts.started.wait()
    bot.task.cancel()  # what SIGTERM and Ctrl-C do to `portbot discord`
    done, _ = await asyncio.wait({bot.task}, timeout=0.3)
    assert not done  # still waiting for the check
    verdicts.gate.set()
    with contextlib.suppress(asyncio.CancelledError):
        await bot.task
    followup = await bot.fake.wait_followup(sent.token, timeout=1.0)
    assert embed_of(followup.body)["title"] == "✅ Port check: mc.example.com"
