"""The engine over the real data files (ports.toml, concepts.toml, the packaged IANA registry): the answers
people will actually get. The data files' own checks live in test_ports_data.py and test_concepts_data.py."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.knowledge_replies import knowledge_reply
from bot.core.reply import Action, ActionKind, Reply
from knowledge import (
    GuideAnswer,
    IanaServiceAnswer,
    InvalidQuery,
    KnowledgeBase,
    PortAnswer,
    RangeAnswer,
    ServiceAnswer,
    TopicAnswer,
)

WORDS = ["is 7777 open", "friends cant join my cs2 server", "valhiem", "what is nat", "22/tcp", "ephemeral"]


def fields(reply: Reply) -> dict[str, str]:
    return {f.name: f.value for f in reply.fields}


def within_limits(reply: Reply) -> bool:
    sizes = [len(f.name) + len(f.value) for f in reply.fields]
    return (
        len(reply.title) <= 256
        and len(reply.fields) <= 25
        and all(len(f.name) <= 256 and len(f.value) <= 1024 for f in reply.fields)
        and len(reply.title) + len(reply.summary) + len(reply.footer or "") + sum(sizes) <= 6000
    )


@pytest.mark.parametrize(
    ("query", "service_id"),
    [
        ("22", "ssh"),
        ("3389", "rdp"),
        ("25565", "minecraft-java"),
        ("2456", "valheim"),
        ("7777", "terraria"),
        ("7777", "ark-survival-evolved"),
        ("32400", "plex"),
        ("5432", "postgresql"),
        ("26901", "7-days-to-die"),
    ],
)
def test_ports_name_the_programs_people_run_there(
    real_kb: KnowledgeBase, query: str, service_id: str
) -> None:
    """A port lists the curated services that use it, ranges included."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, PortAnswer)
    assert service_id in {use.service.id for use in answer.used_by}


def test_rdp_port_warns_never_to_expose_it(real_kb: KnowledgeBase) -> None:
    """3389: do not forward, and the security line says to use a VPN instead."""
    reply = knowledge_reply(real_kb.lookup("3389"))
    assert "do not forward" in fields(reply)["Commonly used by"]
    security = fields(reply)["Security"]
    assert "Remote Desktop" in security and "VPN" in security


def test_7777_keeps_common_use_and_iana_apart(real_kb: KnowledgeBase) -> None:
    """7777: Terraria and ARK under "Commonly used by", IANA's cbt under "IANA registration"."""
    reply = knowledge_reply(real_kb.lookup("7777"))
    assert "Terraria" in fields(reply)["Commonly used by"] and "ARK" in fields(reply)["Commonly used by"]
    assert "`cbt` 7777 (tcp, udp)" in fields(reply)["IANA registration"]
    assert "cbt" not in fields(reply)["Commonly used by"]


def test_port_zero_and_out_of_range(real_kb: KnowledgeBase) -> None:
    """0 is reserved; 65536 gets the valid range."""
    zero = real_kb.lookup("0")
    assert isinstance(zero, PortAnswer) and zero.reserved
    invalid = real_kb.lookup("65536")
    assert isinstance(invalid, InvalidQuery) and "1–65535" in invalid.message


@pytest.mark.parametrize(
    ("query", "service_id", "port_label"),
    [
        ("minecraft", "minecraft-java", "25565/tcp"),
        ("minecarft", "minecraft-java", "25565/tcp"),
        ("valhiem", "valheim", "2456/udp"),
        ("plex", "plex", "32400/tcp"),
        ("ssh", "ssh", "22/tcp"),
        ("rdp", "rdp", "3389/tcp"),
        ("teamspeak", "teamspeak3", "9987/udp"),
        ("postgres", "postgresql", "5432/tcp"),
    ],
)
def test_names_and_typos_find_the_curated_entry(
    real_kb: KnowledgeBase, query: str, service_id: str, port_label: str
) -> None:
    """The brief's names, typos included, land on the entry with its main port."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, ServiceAnswer)
    assert answer.service.id == service_id
    assert port_label in {p.label for p in answer.service.ports}


@pytest.mark.parametrize(("query", "port"), [("kerberos", 88), ("ldaps", 636), ("xmpp-client", 5222)])
def test_protocol_names_answer_with_their_port(real_kb: KnowledgeBase, query: str, port: int) -> None:
    """Protocol names answer from the curated entry when there is one, else from IANA."""
    answer = real_kb.lookup(query)
    if isinstance(answer, ServiceAnswer):
        assert any(p.low <= port <= p.high for p in answer.service.ports)
    else:
        assert isinstance(answer, IanaServiceAnswer)
        assert port in {e.low for e in answer.entries}


@pytest.mark.parametrize(
    ("query", "low", "high"),
    [
        ("ephemeral", 49152, 65535),
        ("dynamic", 49152, 65535),
        ("well-known", 0, 1023),
        ("registered", 1024, 49151),
        ("privileged ports", 1, 1023),
    ],
)
def test_range_words(real_kb: KnowledgeBase, query: str, low: int, high: int) -> None:
    """Range words give the range, with our longer topic attached."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, RangeAnswer)
    assert (answer.range.low, answer.range.high) == (low, high)
    assert answer.topic is not None


@pytest.mark.parametrize(
    ("query", "topic_id"),
    [
        ("what is cgnat", "cgnat"),
        ("tcp vs udp", "tcp-vs-udp"),
        ("why can't ping test a port", "ping-cannot-test-ports"),
        ("address already in use", "port-conflicts"),
        ("what is a port", "what-is-a-port"),
        ("connection refused", "refused-vs-timed-out"),
        ("how do i find what is using my port", "what-is-listening"),
        ("my website is down", "site-not-reachable-443"),
    ],
)
def test_questions(real_kb: KnowledgeBase, query: str, topic_id: str) -> None:
    """Everyday questions land on the right concept or guide."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, (TopicAnswer, GuideAnswer))
    assert answer.topic.id == topic_id


def test_valheim_friends_question_gets_the_guide_with_valheims_ports(real_kb: KnowledgeBase) -> None:
    """The friends-can't-join guide is filled with Valheim's forwarded ports and a check on 2456/udp."""
    answer = real_kb.lookup("why can't my friends join my valheim server")
    assert isinstance(answer, GuideAnswer) and answer.topic.id == "friends-cant-join"
    assert answer.service is not None and answer.service.id == "valheim"
    steps = " ".join(answer.steps)
    assert "2456/udp" in steps and "{" not in steps
    reply = knowledge_reply(answer)
    assert reply.actions[0] == Action(
        ActionKind.CHECK_PORT, "Check this port", port=2456, protocol="udp", hint="valheim"
    )
    assert within_limits(reply)
    assert "11." in "\n".join(
        v for n, v in fields(reply).items() if n.startswith("Steps")
    )  # every step shown


def test_is_port_open_question(real_kb: KnowledgeBase) -> None:
    """'is 25565 open' is the is-my-port-open guide for 25565/tcp."""
    answer = real_kb.lookup("is 25565 open")
    assert isinstance(answer, GuideAnswer) and answer.topic.id == "is-my-port-open"
    assert (answer.port, answer.protocol) == (25565, "tcp")
    assert "25565" in " ".join(answer.steps)


def test_every_service_is_found_by_id_name_and_alias(real_kb: KnowledgeBase) -> None:
    """Each curated id, name and alias answers with that entry (first, or as an alternative)."""
    missed = []
    for service in real_kb.services:
        for query in (service.id, service.name, *service.aliases):
            answer = real_kb.lookup(query)
            ids = (
                [answer.service.id, *(s.id for s in answer.alternatives)]
                if isinstance(answer, ServiceAnswer)
                else []
            )
            if service.id not in ids:
                missed.append((service.id, query, type(answer).__name__))
    assert missed == []


def test_every_topic_keyword_reaches_its_topic(real_kb: KnowledgeBase) -> None:
    """Each topic id and keyword answers with the topic, or offers it beside a port or service of that name."""
    missed = []
    for topic in real_kb.topics:
        for query in (topic.id, *topic.keywords):
            answer = real_kb.lookup(query)
            if isinstance(answer, (TopicAnswer, GuideAnswer, RangeAnswer)) and answer.topic is not None:
                found = answer.topic.id == topic.id
            elif isinstance(answer, (PortAnswer, ServiceAnswer)):
                found = topic in answer.related
            else:
                found = False
            if not found:
                missed.append((topic.id, query, type(answer).__name__))
    assert missed == []


def test_every_guide_reads_well_for_every_service_and_for_none(real_kb: KnowledgeBase) -> None:
    """No placeholder is left unfilled, whichever service (or none) the question names; replies fit."""
    guides = [t for t in real_kb.topics if t.is_guide]
    for guide in guides:
        for service in (None, *real_kb.services):
            query = f"{guide.keywords[0]} {service.id if service else ''}".strip()
            answer = real_kb.lookup(query)
            assert isinstance(answer, GuideAnswer) and answer.topic.id == guide.id, query
            text = " ".join([answer.title, answer.summary, *answer.body, *answer.steps])
            assert "{" not in text and "}" not in text, query
            assert within_limits(knowledge_reply(answer)), query


def test_every_curated_port_reply_fits(real_kb: KnowledgeBase) -> None:
    """The reply for every port and every service in ports.toml stays within the embed limits."""
    ports = {p.low for s in real_kb.services for p in s.ports}
    for port in sorted(ports):
        assert within_limits(knowledge_reply(real_kb.lookup(str(port)))), port
    for service in real_kb.services:
        assert within_limits(knowledge_reply(real_kb.lookup(service.id))), service.id


def test_suggest_completes_every_service_name(real_kb: KnowledgeBase) -> None:
    """Typing a service's full name offers that service."""
    for service in real_kb.services:
        assert service.id in {s.value for s in real_kb.suggest(service.name)}, service.name


@settings(max_examples=200, deadline=None)
@given(
    text=st.one_of(st.text(), st.text(min_size=200, max_size=2_000), st.sampled_from(WORDS).map(str.upper))
)
def test_any_text_over_the_real_data_gives_a_reply_within_limits(real_kb: KnowledgeBase, text: str) -> None:
    """No string makes the real knowledge base or its replies fail or overflow."""
    assert within_limits(knowledge_reply(real_kb.lookup(text)))
    assert all(len(s.label) <= 100 and len(s.value) <= 100 for s in real_kb.suggest(text))


# -- entity + facet (issue 12) ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "service_id", "facet_id"),
    [
        ("which ports do I forward for valheim", "valheim", "port-forwarding"),
        ("minecraft server, tcp or udp?", "minecraft-java", "tcp-vs-udp"),
        ("is it safe to open plex to the internet", "plex", "exposing-services"),
        ("proxmox port forward safe?", "proxmox-ve", "exposing-services"),
        ("xbox nat type strict", "xbox-network", "console-nat-types"),
        ("connection timed out minecraft", "minecraft-java", "refused-vs-timed-out"),
    ],
)
def test_named_service_wins_and_the_concept_becomes_its_facet(
    real_kb: KnowledgeBase, query: str, service_id: str, facet_id: str
) -> None:
    """A game or app named beside a concept word is the answer; the concept is the part of it asked about."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, ServiceAnswer) and answer.service.id == service_id
    assert answer.facet is not None and answer.facet.id == facet_id


@pytest.mark.parametrize(
    ("query", "facet_id"),
    [
        ("should I forward 3389 to reach my PC", "exposing-services"),
        ("how do i forward port 25565", "port-forwarding"),
    ],
)
def test_named_port_wins_and_the_concept_becomes_its_facet(
    real_kb: KnowledgeBase, query: str, facet_id: str
) -> None:
    """A port number in a sentence is the answer, seen through what the sentence asks."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, PortAnswer) and answer.facet is not None and answer.facet.id == facet_id


@pytest.mark.parametrize(
    ("query", "topic_id"),
    [
        ("how do I turn on port forwarding", "port-forwarding"),  # "turn" is also STUN/TURN's alias
        ("what does bind to 0.0.0.0 mean", "listening"),  # "bind" is also the DNS server's alias
    ],
)
def test_everyday_word_alias_loses_to_a_matching_concept(
    real_kb: KnowledgeBase, query: str, topic_id: str
) -> None:
    """A common word inside a product's nicknames never beats a concept that matches the whole question."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, TopicAnswer) and answer.topic.id == topic_id


def test_everyday_word_alias_alone_still_names_the_product(real_kb: KnowledgeBase) -> None:
    """Typed on its own, "bind" is still the DNS server."""
    answer = real_kb.lookup("bind")
    assert isinstance(answer, ServiceAnswer) and answer.service.id == "dns"


def test_port_past_the_range_in_a_sentence_is_explained(real_kb: KnowledgeBase) -> None:
    """ "can I use port 99999" says there is no such port and what the range is."""
    answer = real_kb.lookup("can I use port 99999")
    assert isinstance(answer, InvalidQuery)
    assert answer.message == "There is no port 99999. Port numbers run 1–65535 (0 is reserved)."


def test_open_to_the_internet_is_a_safety_question_not_a_port_check(real_kb: KnowledgeBase) -> None:
    """ "is 27017 open to the world a problem" asks how bad it is, not whether the port is open."""
    answer = real_kb.lookup("is 27017 open to the world a problem")
    assert isinstance(answer, PortAnswer) and answer.facet is not None
    assert answer.facet.id == "exposing-services"


@pytest.mark.parametrize(
    "query", ["well-known vs dynamic ports", "difference between registered and ephemeral ports"]
)
def test_comparing_port_ranges_gets_the_overview(real_kb: KnowledgeBase, query: str) -> None:
    """Two ranges compared are answered by the page that explains all of them."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, TopicAnswer) and answer.topic.id == "port-ranges"


@pytest.mark.parametrize(
    ("query", "topic_id"),
    [
        ("my router's WAN IP is 100.64.12.5", "private-wan-address"),
        ("wan ip is 10.0.0.5", "private-wan-address"),
    ],
)
def test_private_wan_address_leads_to_cgnat_and_double_nat(
    real_kb: KnowledgeBase, query: str, topic_id: str
) -> None:
    """A private or shared WAN address in a sentence gets the page on CGNAT and double NAT."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, TopicAnswer) and answer.topic.id == topic_id


@pytest.mark.parametrize(
    ("query", "name"), [("what port does gopher use", "gopher"), ("which port is used by finger", "finger")]
)
def test_name_only_iana_knows_is_found_inside_a_question(
    real_kb: KnowledgeBase, query: str, name: str
) -> None:
    """A registry name inside a sentence is answered from IANA when nothing curated or conceptual matches."""
    answer = real_kb.lookup(query)
    assert isinstance(answer, IanaServiceAnswer) and answer.name == name


def test_shared_address_in_a_sentence_points_to_cgnat(real_kb: KnowledgeBase) -> None:
    """An address from 100.64.0.0/10 anywhere in a question leads to the CGNAT and double NAT page."""
    answer = real_kb.lookup("my router shows 100.72.5.1")
    assert isinstance(answer, TopicAnswer) and answer.topic.id == "private-wan-address"
