"""KnowledgeBase.lookup over the fixture data: which answer each kind of query gets, and the facts in it."""

from __future__ import annotations

import pytest

from knowledge import (
    GuideAnswer,
    HelpAnswer,
    IanaServiceAnswer,
    InvalidQuery,
    KnowledgeBase,
    NotFound,
    PortAnswer,
    RangeAnswer,
    ServiceAnswer,
    TopicAnswer,
)

VALID_RANGE = "Port numbers run 1–65535 (0 is reserved)."


@pytest.mark.parametrize(
    ("query", "port", "protocol", "used_by", "iana_names"),
    [
        ("22", 22, None, {"ssh"}, {"ssh"}),
        ("25565", 25565, None, {"minecraft-java"}, set()),
        (" 443 ", 443, None, set(), {"https"}),
        ("443/tcp", 443, "tcp", set(), {"https"}),
        ("udp 53", 53, "udp", set(), {"domain"}),
        ("53/udp", 53, "udp", set(), {"domain"}),
        ("port 8080", 8080, None, set(), {"http-alt"}),
        ("Port: 8080", 8080, None, set(), {"http-alt"}),
        ("3389", 3389, None, {"rdp"}, {"ms-wbt-server"}),
        ("7777", 7777, None, {"terraria", "ark-survival-evolved"}, {"cbt"}),
        ("7777/udp", 7777, "udp", {"ark-survival-evolved"}, {"cbt"}),
        ("2456", 2456, None, {"valheim"}, {"altav-remmgt"}),
        ("26901", 26901, None, {"7-days-to-die"}, set()),
        ("6001", 6001, None, set(), {"x11"}),
        ("２５５６５", 25565, None, {"minecraft-java"}, set()),
        ("0", 0, None, set(), set()),
    ],
)
def test_port_queries_list_curated_uses_and_iana_registrations(
    fixture_kb: KnowledgeBase,
    query: str,
    port: int,
    protocol: str | None,
    used_by: set[str],
    iana_names: set[str],
) -> None:
    """A port number finds every curated service on it (ranges included) and IANA's registrations."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, PortAnswer)
    assert (answer.port, answer.protocol) == (port, protocol)
    assert {use.service.id for use in answer.used_by} == used_by
    assert {e.name for e in answer.iana if e.name} == iana_names


def test_port_zero_is_reserved(fixture_kb: KnowledgeBase) -> None:
    """Port 0 answers as reserved, from IANA's own Reserved rows."""
    answer = fixture_kb.lookup("0")
    assert isinstance(answer, PortAnswer) and answer.reserved
    assert {(e.protocol, e.status) for e in answer.iana} == {("tcp", "reserved"), ("udp", "reserved")}


def test_unassigned_port_shows_the_unassigned_range(fixture_kb: KnowledgeBase) -> None:
    """25565 is not registered: the answer carries IANA's Unassigned range that covers it."""
    answer = fixture_kb.lookup("25565")
    assert isinstance(answer, PortAnswer)
    assert [(e.status, e.low is not None and e.low <= 25565 <= (e.high or 0)) for e in answer.iana] == [
        ("unassigned", True)
    ]


def test_protocol_narrows_iana_rows(fixture_kb: KnowledgeBase) -> None:
    """443/tcp leaves out the udp and sctp registrations of https."""
    answer = fixture_kb.lookup("443/tcp")
    assert isinstance(answer, PortAnswer)
    assert {e.protocol for e in answer.iana} == {"tcp"}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("65536", f"There is no port 65536. {VALID_RANGE}"),
        ("99999", f"There is no port 99999. {VALID_RANGE}"),
        ("1234567890123456", f"There is no port 123456789012…. {VALID_RANGE}"),
        ("-1", f"Port numbers are never negative. {VALID_RANGE}"),
        ("port -80", f"Port numbers are never negative. {VALID_RANGE}"),
        ("1e3", f"Write the port as a plain whole number, like 8080. {VALID_RANGE}"),
        ("0x50", f"Write the port as a plain whole number, like 8080. {VALID_RANGE}"),
        ("12.5", f"Write the port as a plain whole number, like 8080. {VALID_RANGE}"),
        ("26900-26902", f"Ask about one port at a time, like 26900. {VALID_RANGE}"),
        (
            "203.0.113.7",
            f"That looks like an IP address, not a port. Ask about a port number, like 8080. {VALID_RANGE}",
        ),
    ],
)
def test_number_like_input_that_is_no_port_gets_a_clear_message(
    fixture_kb: KnowledgeBase, query: str, message: str | None
) -> None:
    """Out-of-range, negative and non-integer numbers are refused with the valid range, never searched."""
    answer = fixture_kb.lookup(query)
    if message is None:
        assert not isinstance(answer, PortAnswer)
    else:
        assert isinstance(answer, InvalidQuery)
        assert answer.message == message


@pytest.mark.parametrize(
    ("query", "service_id"),
    [
        ("minecraft", "minecraft-java"),
        ("Minecraft", "minecraft-java"),
        ("minecarft", "minecraft-java"),
        ("minecraft-java", "minecraft-java"),
        ("Minecraft: Java Edition", "minecraft-java"),
        ("mc", "minecraft-java"),
        ("minecrat bedrok", "minecraft-bedrock"),
        ("valheim", "valheim"),
        ("valhiem", "valheim"),
        ("valheim ports", "valheim"),
        ("valhiem server", "valheim"),
        ("plex", "plex"),
        ("ssh", "ssh"),
        ("rdp", "rdp"),
        ("remote desktop", "rdp"),
        ("teamspeak", "teamspeak-3"),
        ("teamspeak3", "teamspeak-3"),
        ("team speak 3", "teamspeak-3"),
        ("teamspek", "teamspeak-3"),
        ("postgres", "postgresql"),
        ("postgress", "postgresql"),
        ("7 days to die", "7-days-to-die"),
        ("how do i set up a valheim server", "valheim"),
    ],
)
def test_names_and_typos_find_the_curated_service(
    fixture_kb: KnowledgeBase, query: str, service_id: str
) -> None:
    """Names, aliases, ids and one-slip typos all land on the curated entry."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, ServiceAnswer), answer
    assert answer.service.id == service_id


def test_service_answer_keeps_iana_registrations_apart(fixture_kb: KnowledgeBase) -> None:
    """Valheim's answer carries IANA's unrelated names for its ports, for a separate section."""
    answer = fixture_kb.lookup("valheim")
    assert isinstance(answer, ServiceAnswer)
    assert [p.label for p in answer.service.ports] == ["2456/udp", "2457/udp"]
    assert {(e.name, e.low, e.protocol) for e in answer.iana} == {
        ("altav-remmgt", 2456, "udp"),
        ("rapido-ip", 2457, "udp"),
    }


def test_ambiguous_alias_offers_the_other_services(fixture_kb: KnowledgeBase) -> None:
    """A name shared by two entries answers with the first and lists the other as an alternative."""
    answer = fixture_kb.lookup("minecraft")
    assert isinstance(answer, ServiceAnswer)
    bedrock = fixture_kb.lookup("bedrock")
    assert isinstance(bedrock, ServiceAnswer)
    assert bedrock.service.id == "minecraft-bedrock"
    assert answer.alternatives == ()  # "minecraft" is an alias of the Java entry only in the fixtures


@pytest.mark.parametrize(
    ("query", "name", "port"),
    [
        ("kerberos", "kerberos", 88),
        ("ldaps", "ldaps", 636),
        ("xmpp-client", "xmpp-client", 5222),
        ("XMPP-Client", "xmpp-client", 5222),
        ("kerbros", "kerberos", 88),
        ("x11", "x11", 6000),
    ],
)
def test_iana_service_names_answer_when_nothing_is_curated(
    fixture_kb: KnowledgeBase, query: str, name: str, port: int
) -> None:
    """IANA-only names (and typos of them) return the registry rows."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, IanaServiceAnswer), answer
    assert answer.name == name
    assert port in {e.low for e in answer.entries}


def test_name_only_iana_row_is_found_by_name(fixture_kb: KnowledgeBase) -> None:
    """A service name registered without a port (an empty protocol row) is still an answer."""
    answer = fixture_kb.lookup("bootp")
    assert isinstance(answer, IanaServiceAnswer)
    assert any(e.low is None and e.protocol == "" for e in answer.entries)


@pytest.mark.parametrize(
    ("query", "low", "high"),
    [
        ("ephemeral", 49152, 65535),
        ("Ephemeral ports", 49152, 65535),
        ("dynamic", 49152, 65535),
        ("private ports", 49152, 65535),
        ("well-known", 0, 1023),
        ("well known ports", 0, 1023),
        ("registered", 1024, 49151),
        ("privileged ports", 1, 1023),
        ("what are ephemeral ports", 49152, 65535),
    ],
)
def test_range_words_find_the_range(fixture_kb: KnowledgeBase, query: str, low: int, high: int) -> None:
    """Range names give the block's bounds."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, RangeAnswer), answer
    assert (answer.range.low, answer.range.high) == (low, high)


def test_range_answer_carries_the_topic_when_there_is_one(fixture_kb: KnowledgeBase) -> None:
    """The dynamic range links to the ephemeral-ports topic of concepts.toml."""
    answer = fixture_kb.lookup("ephemeral")
    assert isinstance(answer, RangeAnswer)
    assert answer.topic is not None and answer.topic.id == "ephemeral-ports"


@pytest.mark.parametrize(
    ("query", "topic_id"),
    [
        ("what is cgnat", "cgnat"),
        ("cgnat", "cgnat"),
        ("What is CGNAT?", "cgnat"),
        ("am i behind carrier grade nat", "cgnat"),
        ("tcp vs udp", "tcp-vs-udp"),
        ("TCP or UDP?", "tcp-vs-udp"),
        ("why can't ping test a port", "ping-vs-port"),
        ("address already in use", "address-in-use"),
        ("Error: EADDRINUSE", "address-in-use"),
        ("nat", "nat"),
    ],
)
def test_questions_find_the_concept(fixture_kb: KnowledgeBase, query: str, topic_id: str) -> None:
    """Free-text questions land on the topic whose keywords they use."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, TopicAnswer), answer
    assert answer.topic.id == topic_id


def test_friends_question_specialises_the_guide_for_the_named_game(fixture_kb: KnowledgeBase) -> None:
    """The friends-can't-join guide names Valheim and its forwarded UDP ports."""
    answer = fixture_kb.lookup("why can't my friends join my valheim server")
    assert isinstance(answer, GuideAnswer)
    assert answer.topic.id == "friends-cant-join"
    assert answer.service is not None and answer.service.id == "valheim"
    assert answer.title == "Friends can't join Valheim"
    assert answer.steps == (
        "Check that Valheim runs and listens on 2456/udp, 2457/udp.",
        "Forward 2456/udp, 2457/udp on your router to the machine running it.",
        "Give friends your public address and port 2456.",
    )
    assert (answer.port, answer.protocol) == (2456, "udp")


def test_guide_forward_ports_leave_out_ports_not_to_forward(fixture_kb: KnowledgeBase) -> None:
    """Minecraft's RCON port (forward = no) is among its ports but not among those to forward."""
    answer = fixture_kb.lookup("friends cant join my minecraft server")
    assert isinstance(answer, GuideAnswer)
    assert answer.steps[0] == "Check that Minecraft: Java Edition runs and listens on 25565/tcp, 25575/tcp."
    assert answer.steps[1] == "Forward 25565/tcp on your router to the machine running it."


def test_guide_with_a_typo_in_the_game_name_is_still_specialised(fixture_kb: KnowledgeBase) -> None:
    """A misspelt game in a question is corrected when the question is clearly the guide's."""
    answer = fixture_kb.lookup("why cant my friends join my valhiem server")
    assert isinstance(answer, GuideAnswer)
    assert answer.service is not None and answer.service.id == "valheim"


def test_guide_without_a_service_uses_generic_words(fixture_kb: KnowledgeBase) -> None:
    """With no service named, placeholders read as plain words."""
    answer = fixture_kb.lookup("my friends cant join")
    assert isinstance(answer, GuideAnswer)
    assert answer.service is None and answer.port is None
    assert answer.title == "Friends can't join your server"
    assert answer.steps[1] == "Forward your server's port on your router to the machine running it."


@pytest.mark.parametrize(
    ("query", "port", "protocol"),
    [
        ("is 25565 open", 25565, "tcp"),
        ("is port 7777 open?", 7777, None),
        ("is 2456 udp reachable", 2456, "udp"),
        ("are my ports open 19132", 19132, "udp"),
    ],
)
def test_is_port_open_questions_get_the_guide_for_that_port(
    fixture_kb: KnowledgeBase, query: str, port: int, protocol: str | None
) -> None:
    """Questions about a port's state get the is-my-port-open guide filled with the port."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, GuideAnswer)
    assert answer.topic.id == "is-my-port-open"
    assert (answer.port, answer.protocol) == (port, protocol)
    label = f"{port}/{protocol}" if protocol else str(port)
    assert answer.summary == f"Test {label} from outside your network."


def test_state_question_naming_a_service_gets_the_guide_for_it(fixture_kb: KnowledgeBase) -> None:
    """'is my valheim server reachable' is the is-my-port-open guide with Valheim's game port."""
    answer = fixture_kb.lookup("is my valheim server reachable")
    assert isinstance(answer, GuideAnswer) and answer.topic.id == "is-my-port-open"
    assert answer.service is not None and answer.service.id == "valheim"
    assert (answer.port, answer.protocol) == (2456, "udp")


@pytest.mark.parametrize(
    "query", ["is it safe to open port 22", "how do i open port 25565", "should we open 3389"]
)
def test_open_as_a_verb_is_not_a_state_question(fixture_kb: KnowledgeBase, query: str) -> None:
    """The verb "open" (after "to", "I" or "we") is something to do, not a state: no is-my-port-open guide."""
    answer = fixture_kb.lookup(query)
    assert not (isinstance(answer, GuideAnswer) and answer.topic.id == "is-my-port-open")


def test_question_naming_only_a_port_answers_about_the_port(fixture_kb: KnowledgeBase) -> None:
    """'what runs on 3389' has no topic: the port's answer it is."""
    answer = fixture_kb.lookup("what runs on 3389")
    assert isinstance(answer, PortAnswer) and answer.port == 3389


@pytest.mark.parametrize("query", ["", "   ", "\n\t", "\x00\x1b[31m\x1b[0m", "\u200b"])
def test_empty_input_gets_help(fixture_kb: KnowledgeBase, query: str) -> None:
    """Nothing to look up (after stripping control characters) gives the help answer."""
    assert isinstance(fixture_kb.lookup(query), HelpAnswer)


def test_control_characters_are_stripped_before_lookup(fixture_kb: KnowledgeBase) -> None:
    """A name with escape codes and NULs in it is still found."""
    answer = fixture_kb.lookup("\x1b[1mval\x00heim\x07\x1b[0m")
    assert isinstance(answer, ServiceAnswer) and answer.service.id == "valheim"


def test_topic_keyword_that_looks_like_a_bad_port_finds_the_topic(fixture_kb: KnowledgeBase) -> None:
    """A keyword is honoured even when it reads like a bad port ("100.64")."""
    answer = fixture_kb.lookup("100.64")
    assert isinstance(answer, TopicAnswer) and answer.topic.id == "cgnat"


@pytest.mark.parametrize(
    ("query", "port", "facet"),
    [("what is using port 80", 80, "address-in-use"), ("80/tcp/udp", 80, "tcp-vs-udp")],
)
def test_a_port_with_a_concept_is_the_port_seen_through_the_concept(
    fixture_kb: KnowledgeBase, query: str, port: int, facet: str
) -> None:
    """A question naming a port and a concept answers the port, with the concept as its facet."""
    answer = fixture_kb.lookup(query)
    assert isinstance(answer, PortAnswer) and answer.port == port and answer.protocol is None
    assert answer.facet is not None and answer.facet.id == facet


def test_port_that_is_also_a_keyword_offers_the_topic(fixture_kb: KnowledgeBase) -> None:
    """10048 is a port and a Windows error code: the port answer carries the topic as related."""
    answer = fixture_kb.lookup("10048")
    assert isinstance(answer, PortAnswer)
    assert [t.id for t in answer.related] == ["address-in-use"]


def test_long_input_is_capped(fixture_kb: KnowledgeBase) -> None:
    """Only the first 300 characters are considered; the echoed query never grows past that."""
    answer = fixture_kb.lookup("zq" * 10_000)
    assert isinstance(answer, NotFound)
    assert len(answer.query) == 300


def test_unknown_input_suggests_close_names(fixture_kb: KnowledgeBase) -> None:
    """An unknown word that resembles known ones gets at most three suggestions, closest first."""
    unknown = fixture_kb.lookup("plexiglass")
    assert isinstance(unknown, NotFound)
    assert 1 <= len(unknown.suggestions) <= 3
    assert unknown.suggestions[0].value == "plex"


def test_gibberish_is_not_found(fixture_kb: KnowledgeBase) -> None:
    """Text resembling nothing is a NotFound that echoes the cleaned query."""
    answer = fixture_kb.lookup("  qqqqzzzzxxxx  ")
    assert answer == NotFound("qqqqzzzzxxxx", answer.suggestions)
