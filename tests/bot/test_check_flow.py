"""Checks through the command core: a game named in chat or carried by a button picks the protocols, the
query port and the engine's hint; "Check again" and the follow-up questions ride on the result."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.app import build_probe_backend
from bot.core.commands import Portbot
from bot.core.intents import Check
from bot.core.reply import Action, ActionKind, Status
from bot.settings import Settings
from knowledge import KnowledgeBase
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State
from tests.probes.servers import serve

ASKER = Requester(platform="test", user_id="u1")


class Recorder:
    """A probe backend that records each request and finds every port open over the asked protocol."""

    def __init__(self) -> None:
        self.requests: list[ProbeRequest] = []

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        self.requests.append(request)
        protocol = "udp" if request.protocol == "udp" else "tcp"
        results = tuple(PortResult("203.0.113.7", p, protocol, State.OPEN, "test") for p in request.ports)
        return [ProbeReport(request.target, request.target, "Frankfurt", results)]


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def portbot(kb: KnowledgeBase, recorder: Recorder) -> Portbot:
    return Portbot(knowledge=kb, probes=recorder)


async def test_a_game_named_in_chat_picks_udp_and_the_query_port(
    portbot: Portbot, recorder: Recorder
) -> None:
    """`check host 2456 valheim` checks UDP 2456 and Valheim's Steam query port 2457, with the A2S hint."""
    reply = await portbot.handle("check mc.example.com 2456 valheim", ASKER)
    assert recorder.requests == [ProbeRequest("mc.example.com", (2456, 2457), "udp", "steam valheim")]
    assert reply.summary == "**2456/udp**: reachable\n**2457/udp**: reachable"


async def test_a_tcp_and_udp_game_is_checked_over_both(portbot: Portbot, recorder: Recorder) -> None:
    """7 Days to Die's 26900 is TCP+UDP: one request per protocol, one result line each."""
    reply = await portbot.handle("check mc.example.com 26900 7daystodie", ASKER)
    assert recorder.requests == [
        ProbeRequest("mc.example.com", (26900,), "tcp", "7-days-to-die"),
        ProbeRequest("mc.example.com", (26900,), "udp", "7-days-to-die"),
    ]
    assert reply.summary == "**26900/tcp**: reachable\n**26900/udp**: reachable"


async def test_the_ark_button_checks_udp_and_the_steam_query_port(
    portbot: Portbot, recorder: Recorder
) -> None:
    """The check behind `/port ark`'s button: UDP 7777 and 27015, never TCP 7777."""
    [button] = [a for a in portbot.lookup("ark").actions if a.kind is ActionKind.CHECK_PORT]
    assert (button.port, button.protocol, button.hint) == (7777, "udp", "ark-survival-evolved")
    await portbot.check("ark.example.com", (7777,), "udp", ASKER, button.hint)
    assert recorder.requests == [
        ProbeRequest("ark.example.com", (7777, 27015), "udp", "steam ark-survival-evolved")
    ]


async def test_port_7777_offers_a_check_for_ark(portbot: Portbot) -> None:
    """`/port 7777` is shared by games on TCP and UDP: a button per game, ARK's carrying its entry."""
    checks = [a for a in portbot.lookup("7777").actions if a.kind is ActionKind.CHECK_PORT]
    assert checks[0] == Action(ActionKind.CHECK_PORT, "Check this port", port=7777, protocol="both")
    assert (
        Action(
            ActionKind.CHECK_PORT,
            "Check for ARK: Survival Evolved",
            port=7777,
            protocol="udp",
            hint="ark-survival-evolved",
        )
        in checks
    )


async def test_an_unknown_game_is_explained_not_guessed(portbot: Portbot, recorder: Recorder) -> None:
    """An unknown word after the port gets a friendly sentence and nothing is probed."""
    reply = await portbot.handle("check mc.example.com 2456 frobnicator", ASKER)
    assert recorder.requests == []
    assert (reply.title, reply.status, reply.private) == ("I don't know that game or app", Status.ERROR, True)
    assert reply.summary == (
        "I don't know `frobnicator`, so I can't tell which protocol its port needs. "
        "Name a game or app I know, or say `tcp` or `udp` yourself."
    )
    assert reply.fields[0].value == "`check mc.example.com 2456 udp`  ·  `check mc.example.com 2456 valheim`"


async def test_result_offers_check_again_with_the_same_check(portbot: Portbot) -> None:
    """A result's first button repeats the check as asked, game and all."""
    reply = await portbot.handle("check mc.example.com 2456 valheim", ASKER)
    assert reply.actions[0] == Action(
        ActionKind.RECHECK,
        "Check again",
        check=Check("mc.example.com", (2456,), "auto", hint="valheim"),
    )
    assert ActionKind.RECHECK not in {a.kind for a in reply.masked().actions}


@pytest.fixture
async def live_portbot(
    kb: KnowledgeBase, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[Portbot]:
    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "data"))
    backend = build_probe_backend(Settings.load(env_file=None))
    yield Portbot(knowledge=kb, probes=backend)
    await backend.aclose()


async def test_a_game_hint_makes_the_real_engine_find_an_a2s_server(live_portbot: Portbot) -> None:
    """`check 127.0.0.1 <port> ark` with a real A2S server on loopback: checked over UDP, found open.
    Without the hint, "auto" checks this unknown port over TCP and finds it closed."""
    async with serve("a2s", "127.0.0.1") as server:
        hinted = await live_portbot.handle(f"check 127.0.0.1 {server.port} ark", ASKER)
        plain = await live_portbot.handle(f"check 127.0.0.1 {server.port}", ASKER)
    assert hinted.summary == f"**{server.port}/udp**: reachable"
    assert hinted.status is Status.OK
    assert plain.summary == f"**{server.port}/tcp**: closed: nothing is listening"
