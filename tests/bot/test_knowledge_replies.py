"""knowledge_reply: every knowledge answer as a Reply with the facts in the right place, within embed limits."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.knowledge_replies import knowledge_reply
from bot.core.reply import Action, ActionKind, Reply, Status
from knowledge import (
    GuideAnswer,
    HelpAnswer,
    IanaServiceAnswer,
    InvalidQuery,
    KnowledgeBase,
    NotFound,
    PortAnswer,
    RangeAnswer,
    Service,
    ServiceAnswer,
    ServicePort,
    ServiceUse,
    Suggestion,
    TopicAnswer,
)
from knowledge._ranges import RANGES
from knowledge._topics import Topic
from tests.knowledge.sources import make_sources


@pytest.fixture(scope="module")
def kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    root = tmp_path_factory.mktemp("reply-kb")
    return KnowledgeBase.load(root / "data", source_dir=make_sources(root / "sources"))


def reply_for(kb: KnowledgeBase, query: str) -> Reply:
    return knowledge_reply(kb.lookup(query))


def fields(reply: Reply) -> dict[str, str]:
    return {f.name: f.value for f in reply.fields}


def assert_within_limits(reply: Reply) -> None:
    """Discord's embed limits, the strictest of our renderers."""
    assert 1 <= len(reply.title) <= 256
    assert len(reply.summary) <= 4096
    assert len(reply.fields) <= 25
    for field in reply.fields:
        assert 1 <= len(field.name) <= 256
        assert 1 <= len(field.value) <= 1024
    total = len(reply.title) + len(reply.summary) + len(reply.footer or "")
    assert total + sum(len(f.name) + len(f.value) for f in reply.fields) <= 6000
    assert len([a for a in reply.actions if a.kind is ActionKind.ASK]) <= 3
    assert all(a.label and len(a.label) <= 80 for a in reply.actions)


@pytest.mark.parametrize(
    ("query", "answer_type"),
    [
        ("22", PortAnswer),
        ("valheim", ServiceAnswer),
        ("kerberos", IanaServiceAnswer),
        ("what is cgnat", TopicAnswer),
        ("why can't my friends join my valheim server", GuideAnswer),
        ("ephemeral", RangeAnswer),
        ("qqqzzz", NotFound),
        ("65536", InvalidQuery),
        ("", HelpAnswer),
    ],
)
def test_every_answer_type_becomes_a_reply(kb: KnowledgeBase, query: str, answer_type: type) -> None:
    """Each kind of answer has a reply, within limits."""
    answer = kb.lookup(query)
    assert isinstance(answer, answer_type)
    assert_within_limits(knowledge_reply(answer))


def test_ssh_port(kb: KnowledgeBase) -> None:
    """Port 22 names SSH, with IANA's ssh registration merged across protocols."""
    reply = reply_for(kb, "22")
    assert (reply.title, reply.status, reply.kind) == ("Port 22", Status.INFO, "knowledge")
    assert reply.summary == "Commonly used by **SSH**. IANA's registration is `ssh`; see below."
    assert fields(reply)["Commonly used by"] == "**SSH**: 22/tcp — control (forward only if you use it)"
    assert fields(reply)["IANA registration"] == (
        "`ssh` 22 (tcp, udp) — The Secure Shell (SSH) Protocol\n`ssh` 22 (sctp)"
    )
    assert fields(reply)["Port range"] == "Well-known ports: 0–1023."
    assert reply.actions[0] == Action(
        ActionKind.CHECK_PORT, "Check this port", port=22, protocol="tcp", hint="ssh"
    )


def test_rdp_port_warns_never_to_expose_it(kb: KnowledgeBase) -> None:
    """3389 carries RDP's security line because its port is marked do-not-forward."""
    reply = reply_for(kb, "3389")
    assert fields(reply)["Security"] == (
        "**Remote Desktop (RDP)**: Never expose RDP to the internet: reach it through a VPN or an SSH tunnel instead."
    )
    assert "do not forward" in fields(reply)["Commonly used by"]


def test_game_port_security_note_is_left_out_when_it_concerns_another_port(kb: KnowledgeBase) -> None:
    """25565 does not repeat Minecraft's RCON warning; 25575 does."""
    assert "Security" not in fields(reply_for(kb, "25565"))
    assert "RCON" in fields(reply_for(kb, "25575"))["Security"]


def test_misleading_iana_name_is_shown_apart_from_common_use(kb: KnowledgeBase) -> None:
    """7777: Terraria and ARK under "Commonly used by", IANA's cbt in its own field."""
    reply = reply_for(kb, "7777")
    assert reply.summary == (
        "Commonly used by **Terraria** and **ARK: Survival Evolved**. IANA's registration is `cbt`; see below."
    )
    assert fields(reply)["Commonly used by"] == (
        "**Terraria**: 7777/tcp — game (forward this)\n**ARK: Survival Evolved**: 7777/udp — game (forward this)"
    )
    assert (
        fields(reply)["IANA registration"]
        == "`cbt` 7777 (tcp, udp)\nIANA note: Known Unauthorized Use on port 7777"
    )
    assert [a.query for a in reply.actions if a.kind is ActionKind.ASK] == [
        "terraria",
        "ark-survival-evolved",
    ]


def test_unassigned_port(kb: KnowledgeBase) -> None:
    """25565's IANA field says the number is unassigned, naming IANA's range."""
    assert fields(reply_for(kb, "25565"))["IANA registration"] == "25472-25575: unassigned by IANA"


def test_port_zero_is_explained_and_not_checkable(kb: KnowledgeBase) -> None:
    """Port 0 says it is reserved, and offers no port check."""
    reply = reply_for(kb, "0")
    assert reply.summary.startswith("Port 0 is reserved")
    assert fields(reply)["IANA registration"] == "0 (tcp, udp): reserved by IANA"
    assert not [a for a in reply.actions if a.kind is ActionKind.CHECK_PORT]


def test_registered_port_without_curated_entry(kb: KnowledgeBase) -> None:
    """443/tcp is IANA's https only."""
    reply = reply_for(kb, "443/tcp")
    assert (reply.title, reply.summary) == ("Port 443/tcp", "Registered with IANA as `https`.")
    assert reply.actions[0].protocol == "tcp"


def test_service_reply(kb: KnowledgeBase) -> None:
    """Valheim: ports with roles and forward advice, troubles, IANA's unrelated names, sources, actions."""
    reply = reply_for(kb, "valheim")
    assert (reply.title, reply.summary) == ("Valheim", "A Viking survival game with a dedicated server.")
    got = fields(reply)
    assert got["Ports"] == "2456/udp — game (forward this)\n2457/udp — query (forward this)"
    assert got["Common troubles"] == "• Both UDP ports must be forwarded, not only the first."
    assert got["IANA registration"] == (
        "IANA lists 2456 as altav-remmgt and 2457 as rapido-ip; neither has anything to do with Valheim.\n"
        "`altav-remmgt` 2456 (udp)\n`rapido-ip` 2457 (udp) — Rapido_IP"
    )
    assert reply.footer == "Sources: LGSM vh, PEL-S valheim"
    assert reply.actions[0] == Action(
        ActionKind.CHECK_PORT, "Check this port", port=2456, protocol="udp", hint="valheim"
    )
    assert reply.actions[1] == Action(
        ActionKind.SELF_CHECK, "Check my own server", port=2456, protocol="udp", hint="valheim"
    )
    assert reply.actions[2] == Action(
        ActionKind.ASK, "Friends can't join Valheim", query="friends cant join valheim"
    )


def test_service_follow_up_question_brings_back_the_specialised_guide(kb: KnowledgeBase) -> None:
    """The "Friends can't join Valheim" button's query is answered with the Valheim guide."""
    ask = reply_for(kb, "valheim").actions[2]
    assert ask.query is not None
    answer = kb.lookup(ask.query)
    assert isinstance(answer, GuideAnswer) and answer.service is not None and answer.service.id == "valheim"


def test_forward_no_and_notes_are_shown(kb: KnowledgeBase) -> None:
    """Minecraft's RCON port says do not forward; the game port carries its note."""
    assert fields(reply_for(kb, "minecraft"))["Ports"] == (
        "25565/tcp — game (forward this). server-port in server.properties\n"
        "25575/tcp — remote console (RCON) (do not forward)"
    )


def test_iana_only_service(kb: KnowledgeBase) -> None:
    """kerberos is described from the registry, with its reference and a check on port 88."""
    reply = reply_for(kb, "kerberos")
    assert reply.title == "kerberos (IANA)"
    assert reply.summary == "`kerberos` is registered with IANA for Kerberos on port 88."
    assert fields(reply)["Reference"] == "[RFC4120]"
    assert reply.actions[0] == Action(ActionKind.CHECK_PORT, "Check this port", port=88, protocol="tcp")


def test_name_only_iana_service(kb: KnowledgeBase) -> None:
    """A registered name without a port says how such names are used, and offers no check."""
    reply = reply_for(kb, "bootp")
    assert "without a port number" in reply.summary
    assert reply.actions == ()


def test_topic_reply(kb: KnowledgeBase) -> None:
    """A concept: title, summary, body in Details, related topics as follow-up questions."""
    reply = reply_for(kb, "what is cgnat")
    assert (reply.title, reply.summary) == (
        "CGNAT (carrier-grade NAT)",
        "Your provider shares one public address among many customers.",
    )
    assert fields(reply)["Details"] == "Port forwarding on your own router cannot help behind CGNAT."
    assert reply.actions == (
        Action(ActionKind.ASK, "NAT", query="nat"),
        Action(ActionKind.ASK, "Port forwarding", query="port-forwarding"),
    )


def test_commands_are_shown_as_code(kb: KnowledgeBase) -> None:
    """A topic's commands are listed in backticks."""
    assert fields(reply_for(kb, "address already in use"))["Commands"] == "`ss -ltnup`"


def test_guide_reply_is_specialised(kb: KnowledgeBase) -> None:
    """The Valheim guide numbers its filled-in steps, lists Valheim's ports and offers a check on 2456/udp."""
    reply = reply_for(kb, "why can't my friends join my valheim server")
    assert reply.title == "Friends can't join Valheim"
    assert fields(reply)["Steps"] == (
        "1. Check that Valheim runs and listens on 2456/udp, 2457/udp.\n"
        "2. Forward 2456/udp, 2457/udp on your router to the machine running it.\n"
        "3. Give friends your public address and port 2456."
    )
    assert fields(reply)["Valheim ports"] == "2456/udp — game (forward this)\n2457/udp — query (forward this)"
    assert reply.actions[0] == Action(
        ActionKind.CHECK_PORT, "Check this port", port=2456, protocol="udp", hint="valheim"
    )


def test_range_reply(kb: KnowledgeBase) -> None:
    """ephemeral gives the dynamic block with its size and our topic."""
    reply = reply_for(kb, "ephemeral")
    assert reply.title == "Dynamic (ephemeral) ports: 49152–65535"
    assert fields(reply)["Range"] == "49152–65535 (16,384 ports)"
    assert "Ephemeral ports" in fields(reply)


def test_not_found_reply_echoes_the_query_and_suggests(kb: KnowledgeBase) -> None:
    """Unknown input is echoed once, with suggestions as buttons and a how-to-ask line."""
    reply = reply_for(kb, "plexiglass")
    assert (reply.title, reply.summary) == ("No match", "I don't know “plexiglass”.")
    assert fields(reply)["Did you mean"].startswith("• Plex Media Server — 32400/tcp")
    assert fields(reply)["How to ask"].startswith("Ask about a port")
    assert reply.actions[0] == Action(ActionKind.ASK, "Plex Media Server — 32400/tcp", query="plex")


def test_invalid_query_reply_is_an_error_with_the_valid_range(kb: KnowledgeBase) -> None:
    """65536 is refused with the valid range, as an error reply."""
    reply = reply_for(kb, "65536")
    assert (reply.status, reply.kind) == (Status.ERROR, "error")
    assert reply.summary == "There is no port 65536. Port numbers run 1–65535 (0 is reserved)."


def test_help_reply(kb: KnowledgeBase) -> None:
    """Empty input shows examples, each also a button."""
    reply = reply_for(kb, "  ")
    assert reply.kind == "help"
    assert (
        fields(reply)["Examples"].splitlines()[0]
        == "`25565` — who uses a port, and what IANA registered it for"
    )
    assert reply.actions[0] == Action(ActionKind.ASK, "25565", query="25565")


def _huge_service() -> Service:
    long = "word " * 400
    return Service(
        id="huge",
        name="H" * 300,
        aliases=("huge",),
        category="game",
        summary=long * 20,
        security=long,
        troubles=tuple(long for _ in range(30)),
        sources=tuple("source" for _ in range(500)),
        disagreement=long,
        iana_note=long,
        ports=tuple(ServicePort(p, p, "tcp", "game", "yes", long) for p in range(1000, 1200)),
    )


def test_oversized_answers_are_cut_to_the_limits() -> None:
    """Even absurd data stays within every limit: fields cut with an ellipsis or a "…and N more" line."""
    service = _huge_service()
    topic = Topic(
        "big", "guide", "T" * 400, ("big",), "S" * 5000, ("p" * 900,) * 30, ("s" * 300,) * 40, ("c",) * 50, ()
    )
    concept = Topic(
        "tcp-vs-udp", "concept", "C" * 400, ("c",), "S" * 5000, ("p" * 900,) * 5, (), ("c",) * 50, ()
    )
    answers = [
        ServiceAnswer("huge", service, iana=(), alternatives=(service,) * 10),
        ServiceAnswer("huge", service, iana=(), facet=concept),
        PortAnswer("q", 1000, None, (ServiceUse(service, service.ports),) * 5, (), RANGES[1], facet=concept),
        GuideAnswer("q", topic, topic.title, topic.summary, topic.body, topic.steps, service, 1000, "tcp"),
        TopicAnswer("q", topic),
        RangeAnswer("q", RANGES[0], topic, (topic,) * 10),
        NotFound("q" * 300, tuple(Suggestion("x" * 100, str(i)) for i in range(50))),
    ]
    for answer in answers:
        reply = knowledge_reply(answer)
        assert_within_limits(reply)
    ports = fields(knowledge_reply(answers[0]))["Ports"]
    assert ports.splitlines()[-1].startswith("…and ") and ports.endswith(" more")


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(
        st.text(),
        st.text(min_size=300, max_size=3_000),
        st.from_regex(r"(port |udp )?[0-9]{1,6}(/tcp)?", fullmatch=True),
        st.sampled_from(["7777", "valhiem", "is 2456 open", "friends cant join my mc server", "x11", "arp"]),
    )
)
def test_any_input_gives_a_reply_within_limits(kb: KnowledgeBase, text: str) -> None:
    """No string makes lookup + knowledge_reply fail or overflow a limit."""
    assert_within_limits(knowledge_reply(kb.lookup(text)))


def test_knowledge_replies_module_is_import_light() -> None:
    """Importing the reply conversion pulls in no chat library, HTTP client, pydantic or rich."""
    import subprocess
    import sys

    code = (
        "import sys, bot.core.knowledge_replies, knowledge; "
        "heavy = [m for m in ('discord', 'slack_bolt', 'httpx', 'aiohttp', 'pydantic', 'rich', 'rapidfuzz') "
        "if m in sys.modules]; print(','.join(heavy))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).parents[2],
    )
    assert result.stdout.strip() == ""


# -- entity + facet --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def real_kb(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    return KnowledgeBase.load(tmp_path_factory.mktemp("reply-real-kb"))


def test_facet_follows_the_service_ports(real_kb: KnowledgeBase) -> None:
    """A service asked about through a concept shows its ports first, then that concept led by its own numbers."""
    reply = reply_for(real_kb, "valheim server, tcp or udp?")
    assert reply.title == "Valheim"
    assert [f.name for f in reply.fields][:2] == ["Ports", "TCP vs UDP"]
    assert fields(reply)["TCP vs UDP"].startswith("Valheim uses UDP only: 2456/udp, 2457/udp. ")


def test_forwarding_facet_names_the_ports_to_forward(real_kb: KnowledgeBase) -> None:
    """The forwarding facet says which of the service's ports to forward before explaining forwards."""
    reply = reply_for(real_kb, "which ports do I forward for palworld")
    assert fields(reply)["Port forwarding"].startswith(
        "For Palworld, forward 8211/udp to the LAN address of the machine that runs it, with the same protocol;"
    )


def test_safety_facet_puts_the_security_line_right_after_the_ports(real_kb: KnowledgeBase) -> None:
    """Asked whether exposing it is safe, the service's own risk comes second, once, before the general advice."""
    reply = reply_for(real_kb, "our Redis port is open to the internet, how bad is it")
    names = [f.name for f in reply.fields]
    assert names[:3] == ["Ports", "Security", "Exposing a service to the internet, safely"]
    assert names.count("Security") == 1


def test_port_with_a_safety_facet_shows_every_services_security(real_kb: KnowledgeBase) -> None:
    """ "Should I forward 22" warns about SSH even though 22 is a port one may forward."""
    reply = reply_for(real_kb, "should i forward port 22")
    assert reply.title == "Port 22"
    assert "PasswordAuthentication no" in fields(reply)["Security"]


def test_facet_is_the_first_follow_up_button(real_kb: KnowledgeBase) -> None:
    """The whole concept page is one button away from the facet's summary."""
    reply = reply_for(real_kb, "xbox nat type strict")
    asks = [a for a in reply.actions if a.kind is ActionKind.ASK]
    assert asks[0].query == "console-nat-types"


def test_footer_says_when_the_sources_were_read(real_kb: KnowledgeBase) -> None:
    """A rechecked entry's footer dates its sources, so a stale fact can be spotted."""
    reply = reply_for(real_kb, "velocity")
    assert reply.footer is not None and reply.footer.startswith("Sources (read 2026-12-01): PaperMC docs")


@settings(max_examples=200, deadline=None)
@given(
    text=st.builds(
        lambda a, q, b: a + q + b,
        st.text(max_size=8),
        st.sampled_from(
            [
                "which ports do I forward for valheim",
                "should I forward 3389 to reach my PC",
                "our mongodb port is open to the internet, how bad is it",
                "can I use port 99999",
                "my router's WAN IP is 100.64.1.2",
                "ps5 nat type 3",
                "how do I turn on port forwarding",
                "well-known vs dynamic ports",
            ]
        ),
        st.text(max_size=8),
    )
)
def test_questions_with_junk_around_them_stay_within_limits(real_kb: KnowledgeBase, text: str) -> None:
    """Entity-and-facet answers over the real data never overflow a limit, whatever surrounds the question."""
    assert_within_limits(knowledge_reply(real_kb.lookup(text)))


@pytest.mark.parametrize("facet", ["tcp-vs-udp", "port-forwarding", "exposing-services", "console-nat-types"])
def test_disagreeing_sources_survive_any_facet(real_kb: KnowledgeBase, facet: str) -> None:
    """Every service whose sources disagree says so, whatever concept the question sees it through."""
    topic = real_kb.topic(facet)
    assert topic is not None
    for service in real_kb.services:
        if service.disagreement:
            reply = knowledge_reply(ServiceAnswer(service.id, service, iana=(), facet=topic))
            assert fields(reply).get("Sources disagree") == service.disagreement, service.id
