"""The core of "Check my own server": the intent, the link request from a port or a game, the private link
reply, and the verdict reply (masked, with the diagnosis in plain words)."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import pytest

from bot.core import intents
from bot.core.commands import Portbot
from bot.core.intents import Check, Invalid, Lookup, SelfCheck
from bot.core.reply import ActionKind
from bot.core.selfcheck import (
    EXPIRED,
    NO_PORT,
    NOT_SET_UP,
    SelfCheckBackend,
    Started,
    link_reply,
    verdict_reply,
)
from knowledge import KnowledgeBase
from probes.links import LinkResult
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State

ASKER = Requester(platform="discord", user_id="1", guild_id="2", channel_id="3")
V4 = "198.51.100.23"


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("check", SelfCheck()),
        ("/port check", SelfCheck()),
        ("check 25565", SelfCheck((25565,))),
        ("check 2456 udp", SelfCheck((2456,), "udp")),
        ("check my server 25565", SelfCheck((25565,))),
        ("check my own server", SelfCheck()),
        ("test my own server 25565/tcp", SelfCheck((25565,), "tcp")),
        ("check my valheim server", SelfCheck(game="valheim")),
        ("can my friends reach my server on 2456", SelfCheck((2456,))),
        ("can people join my minecraft server?", SelfCheck(game="minecraft")),
    ],
)
def test_checks_with_no_host_are_self_checks(text: str, intent: SelfCheck) -> None:
    """A check that names no host asks about the asker's own server."""
    assert intents.parse(text) == intent


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("check open ports on my computer", Lookup("check open ports on my computer")),
        ("check example.com 25565", Check("example.com", (25565,))),
        ("check 2130706433 80", Check("2130706433", (80,))),
        ("my friends can't join my valheim server", Lookup("my friends can't join my valheim server")),
        ("can my friends reach port 25565 on mc.example.com", Check("mc.example.com", (25565,))),
    ],
)
def test_other_texts_keep_their_meaning(text: str, intent: object) -> None:
    """Questions and checks of a named host are not self-checks."""
    assert intents.parse(text) == intent


def test_a_bad_port_in_a_self_check_is_explained() -> None:
    """`check my server 70000` says what ports are, as any check does."""
    parsed = intents.parse("check my server 70000")
    assert isinstance(parsed, Invalid)
    assert parsed.message == "70000 is not a port I can check: ports go from 1 to 65535."


@dataclass(frozen=True)
class FakeLink:
    id: str
    url: str
    expires_at: float


def link_result(
    report: ProbeReport | None,
    diagnosis: dict[str, Any] | None = None,
    reached_listener: dict[int, bool] | None = None,
    error: str | None = None,
) -> LinkResult:
    """The worker's own LinkResult, as wait_link returns it."""
    kind: Literal["v4", "v6"] = "v6" if report is not None and ":" in report.host else "v4"
    return LinkResult(
        "abc", kind, report, diagnosis=diagnosis, reached_listener=reached_listener, error=error
    )


class RecordedLinks:
    """Records create_link calls; the visit finds every port filtered at ``V4`` (a pure in-memory double)."""

    def __init__(self, result: LinkResult | None = None) -> None:
        self.created: list[tuple[tuple[int, ...], str, Requester, str | None]] = []
        self.result = result
        self.pending = False  # wait_link raises TimeoutError, as WorkerClient does for a link still unused

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        raise AssertionError("a self-check never probes a named host")

    async def create_link(
        self, ports: Sequence[int], protocol: str, requester: Requester, hint: str | None = None
    ) -> FakeLink:
        self.created.append((tuple(ports), protocol, requester, hint))
        return FakeLink("abc", "https://worker.example.net/l/tok", time.time() + 600)

    async def wait_link(self, link_id: str, timeout: float) -> LinkResult | None:
        if self.pending:
            raise TimeoutError(f"the link was not used within {timeout:g} s")
        return self.result


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


def report(state: State = State.FILTERED, address: str = V4, port: int = 2456) -> ProbeReport:
    protocol = "udp" if state is State.OPEN_FILTERED else "tcp"
    result = PortResult(address, port, protocol, state, "timeout" if state is State.FILTERED else "syn-ack")
    return ProbeReport(address, address, "Frankfurt", (result,))


def test_the_recording_double_is_a_self_check_backend() -> None:
    """The protocol the adapters rely on accepts a backend with create_link and wait_link."""
    assert isinstance(RecordedLinks(), SelfCheckBackend)


async def test_a_game_named_gives_its_ports_and_protocols(kb: KnowledgeBase) -> None:
    """`check my valheim server` asks for Valheim's game port and its Steam query port over UDP."""
    links = RecordedLinks()
    started = await Portbot(knowledge=kb, probes=links).start_self_check(SelfCheck(game="valheim"), ASKER)
    assert links.created == [((2456, 2457), "udp", ASKER, "steam valheim")]
    assert started.reply.kind == "selfcheck" and started.reply.private


async def test_a_steam_game_adds_its_query_port(kb: KnowledgeBase) -> None:
    """ARK's button covers its game port and its Steam query port, both UDP."""
    links = RecordedLinks()
    await Portbot(knowledge=kb, probes=links).start_self_check(
        SelfCheck((7777,), hint="ark-survival-evolved"), ASKER
    )
    assert links.created == [((7777, 27015), "udp", ASKER, "steam ark-survival-evolved")]


async def test_no_port_and_no_game_asks_which_port(kb: KnowledgeBase) -> None:
    """`/port check` alone asks for the port before making a link."""
    links = RecordedLinks()
    started = await Portbot(knowledge=kb, probes=links).start_self_check(SelfCheck(), ASKER)
    assert (started.reply, started.link, links.created) == (NO_PORT, None, [])


async def test_a_backend_without_links_says_so_plainly(kb: KnowledgeBase) -> None:
    """In-process probing has no link page: the member reads that this bot isn't set up for it."""

    class ProbesOnly:
        async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
            return []

    started = await Portbot(knowledge=kb, probes=ProbesOnly()).start_self_check(SelfCheck((25565,)), ASKER)
    assert started.reply == NOT_SET_UP
    assert NOT_SET_UP.summary.startswith(
        "This bot isn't set up for self-checks yet, so I can't send you a link"
    )


async def test_handle_answers_a_self_check_with_the_link(kb: KnowledgeBase) -> None:
    """The terminal and other text paths get the link reply from handle()."""
    reply = await Portbot(knowledge=kb, probes=RecordedLinks()).handle("check my server 25565", ASKER)
    assert "https://worker.example.net/l/tok" in reply.summary
    assert reply.private and reply.sensitive == ("https://worker.example.net/l/tok",)


def test_link_reply_tells_a_beginner_what_to_do() -> None:
    """The link, its ports, "valid for 10 minutes, once", and where to open it, in plain words."""
    now = 1_000_000.0
    reply = link_reply(FakeLink("i", "https://w.example.net/l/t", now + 600), (2456, 2457), "udp", now=now)
    assert reply.summary == "Your one-time link:\nhttps://w.example.net/l/t\nValid for 10 minutes, once."
    fields = {f.name: f.value for f in reply.fields}
    assert fields["Ports"] == "2456, 2457 (UDP)"
    assert "the PC running it, or a phone on the same Wi-Fi (not on mobile data)" in fields["How"]


async def test_an_unused_link_finishes_with_expired(kb: KnowledgeBase) -> None:
    """wait_link returning None (expired unused) becomes the "link wasn't used" reply."""
    portbot = Portbot(knowledge=kb, probes=RecordedLinks(None))
    started = await portbot.start_self_check(SelfCheck((25565,)), ASKER)
    assert await portbot.finish_self_check(started) == EXPIRED


async def test_a_link_still_unused_when_the_wait_ends_says_it_expired(kb: KnowledgeBase) -> None:
    """WorkerClient.wait_link's TimeoutError (still pending) ends like an expired link, not an apology."""
    links = RecordedLinks()
    links.pending = True
    portbot = Portbot(knowledge=kb, probes=links)
    started = await portbot.start_self_check(SelfCheck((25565,)), ASKER)
    assert await portbot.finish_self_check(started, wait=0.1) == EXPIRED


async def test_a_visit_the_worker_could_not_check_says_so_masked(kb: KnowledgeBase) -> None:
    """A result with no report (the worker couldn't probe the visitor) is explained, address masked."""
    result = link_result(None, error=f"{V4} could not be checked: the probe timed out.")
    portbot = Portbot(knowledge=kb, probes=RecordedLinks(result))
    reply = await portbot.finish_self_check(await portbot.start_self_check(SelfCheck((25565,)), ASKER))
    assert reply is not None and reply.private
    assert reply.title == "I couldn't check your server"
    assert V4 not in reply.summary and "198.51.x.x could not be checked" in reply.summary


async def test_no_link_means_nothing_to_wait_for(kb: KnowledgeBase) -> None:
    """A start that made no link finishes with None (the adapter leaves its message as it is)."""
    assert await Portbot(knowledge=kb, probes=RecordedLinks()).finish_self_check(Started(NO_PORT)) is None


def test_verdict_masks_the_address_and_offers_follow_ups() -> None:
    """A filtered port: explained as any check, the visitor's address masked, forwarding/CGNAT/firewall offered."""
    reply = verdict_reply(link_result(report()), (2456,), "tcp")
    text = json.dumps([reply.title, reply.summary, [(f.name, f.value) for f in reply.fields]])
    assert V4 not in text and "198.51.x.x" in text
    assert reply.private and reply.kind == "probe"
    assert [a.query for a in reply.actions] == ["port forwarding", "cgnat", "firewall"]
    assert all(a.kind is ActionKind.ASK for a in reply.actions)


@pytest.mark.parametrize(
    ("verdict", "title", "words", "first_follow_up"),
    [
        ("cgnat", "Diagnosis: CGNAT", "100.64.0.0/10", "cgnat"),
        ("double_nat", "Diagnosis: double NAT", "bridge/modem mode", "double nat"),
        ("forward_or_firewall", "Diagnosis: the forward or the firewall", "LAN address", "port forwarding"),
    ],
)
def test_diagnosis_is_shown_first_in_plain_words(
    verdict: str, title: str, words: str, first_follow_up: str
) -> None:
    """The page's router comparison becomes the reply's first field, with its next step first."""
    reply = verdict_reply(link_result(report(), {"verdict": verdict}), (2456,), "tcp")
    assert reply.fields[0].name == title
    assert words in reply.fields[0].value
    assert reply.actions[0].query == first_follow_up


def test_the_diagnosis_own_words_are_used_with_addresses_masked() -> None:
    """The listen lane's title, summary and steps (what the page shows) reach chat, every address masked."""
    diagnosis = {
        "verdict": "cgnat",
        "title": "CGNAT: your provider shares one address among many homes",
        "summary": f"The internet sees {V4}, but your router's WAN address is 100.64.3.4.",
        "steps": ["Ask your provider for a public IPv4 address.", "Or host over IPv6."],
        "topics": ["cgnat"],
        "public_address": V4,
        "wan_address": "100.64.3.4",
    }
    reply = verdict_reply(link_result(report(), diagnosis), (2456,), "tcp")
    assert reply.fields[0].name == "CGNAT: your provider shares one address among many homes"
    assert reply.fields[0].value == (
        "The internet sees 198.51.x.x, but your router's WAN address is 100.64.x.x.\n"
        "1. Ask your provider for a public IPv4 address.\n2. Or host over IPv6."
    )
    assert reply.actions[0].query == "cgnat"
    assert V4 not in json.dumps([(f.name, f.value) for f in reply.fields])


def test_ipv6_advice_is_the_firewall_never_forwarding() -> None:
    """Over IPv6 the verdict says "allow it in the firewall" and offers no forwarding or CGNAT follow-up."""
    reply = verdict_reply(link_result(report(address="2001:db8::7"), {"verdict": "forward"}), (2456,), "tcp")
    assert reply.fields[0].name == "IPv6: allow it in the firewall"
    assert "nothing to forward" in reply.fields[0].value
    assert [a.query for a in reply.actions] == ["firewall"]
    assert "2001:db8::7" not in json.dumps([f.value for f in reply.fields] + [reply.title, reply.summary])


def test_listener_results_say_whether_the_connection_reached_this_pc() -> None:
    """`portbot listen`'s per-port answer is spelled out: this PC, or something else."""
    reply = verdict_reply(link_result(report(State.OPEN), reached_listener={2456: False}), (2456,), "tcp")
    field = next(f for f in reply.fields if f.name == "Did it reach your PC?")
    assert field.value.startswith("Port 2456: something else answered")


def test_game_answers_carry_the_self_check_button(kb: KnowledgeBase) -> None:
    """A game's knowledge answer offers "Check my own server" right after "Check this port"."""
    reply = Portbot(knowledge=kb).lookup("valheim")
    kinds = [a.kind for a in reply.actions]
    assert kinds[:2] == [ActionKind.CHECK_PORT, ActionKind.SELF_CHECK]
    mine = reply.actions[1]
    assert (mine.label, mine.port, mine.protocol, mine.hint) == (
        "Check my own server",
        2456,
        "udp",
        "valheim",
    )


@pytest.mark.parametrize(
    "query", ["22", "7777", "ssh", "kerberos", "valheim", "why can't my friends join my valheim server"]
)
def test_every_answer_with_a_check_button_offers_check_my_own_server(kb: KnowledgeBase, query: str) -> None:
    """Wherever "Check this port" (and so its modal) is offered, "Check my own server" is too, for the first
    check's port and entry (Discord's modal can't hold the button itself)."""
    reply = Portbot(knowledge=kb).lookup(query)
    checks = [a for a in reply.actions if a.kind is ActionKind.CHECK_PORT]
    mine = [a for a in reply.actions if a.kind is ActionKind.SELF_CHECK]
    assert checks, f"{query!r} offers no check"
    assert [(a.label, a.port, a.hint) for a in mine] == [
        ("Check my own server", checks[0].port, checks[0].hint)
    ]


def test_an_answer_without_a_check_offers_no_self_check(kb: KnowledgeBase) -> None:
    """A concept answer has no port to check, so no "Check my own server" either."""
    reply = Portbot(knowledge=kb).lookup("what is cgnat")
    assert not [a for a in reply.actions if a.kind is ActionKind.SELF_CHECK]
