"""Autocomplete: what KnowledgeBase.suggest offers while someone types, within Discord's limits."""

from __future__ import annotations

import pytest

from knowledge import KnowledgeBase, ServiceAnswer, Suggestion


def test_name_prefix_offers_curated_services_with_their_main_port(fixture_kb: KnowledgeBase) -> None:
    """'mine' offers both Minecraft editions, labelled with the port to forward, valued by id."""
    assert fixture_kb.suggest("mine")[:2] == [
        Suggestion("Minecraft: Java Edition — 25565/tcp", "minecraft-java"),
        Suggestion("Minecraft: Bedrock Edition — 19132/udp", "minecraft-bedrock"),
    ]


@pytest.mark.parametrize(
    ("prefix", "value"),
    [
        ("Mine", "minecraft-java"),
        ("java", "minecraft-java"),
        ("val", "valheim"),
        ("teamsp", "teamspeak-3"),
        ("eph", "ephemeral"),
        ("friends", "friends-cant-join"),
        ("kerb", "kerberos"),
        ("xmpp-c", "xmpp-client"),
        ("teamspeek", "teamspeak-3"),
    ],
)
def test_prefixes_offer_the_expected_first_choice(fixture_kb: KnowledgeBase, prefix: str, value: str) -> None:
    """Curated names, words inside names, ranges, topics, IANA names and typos all complete."""
    assert fixture_kb.suggest(prefix)[0].value == value


def test_digits_offer_curated_ports_first_then_iana_ports(fixture_kb: KnowledgeBase) -> None:
    """'255' leads with 25565 and 25575, then the port itself, then other registered ports starting 255."""
    found = fixture_kb.suggest("255")
    assert found[:3] == [
        Suggestion("25565 — Minecraft: Java Edition (tcp)", "25565"),
        Suggestion("25575 — Minecraft: Java Edition (tcp)", "25575"),
        Suggestion("255 — IANA: reserved", "255"),
    ]
    assert all(s.value.startswith("255") for s in found)


def test_a_shared_port_names_every_service(fixture_kb: KnowledgeBase) -> None:
    """7777 lists Terraria and ARK in one choice."""
    assert fixture_kb.suggest("7777")[0] == Suggestion(
        "7777 — Terraria (tcp), ARK: Survival Evolved (udp)", "7777"
    )


def test_every_value_looks_up_to_what_its_label_says(fixture_kb: KnowledgeBase) -> None:
    """Choosing a suggestion and looking up its value lands on that service."""
    for suggestion in fixture_kb.suggest("mine") + fixture_kb.suggest("val"):
        answer = fixture_kb.lookup(suggestion.value)
        if isinstance(answer, ServiceAnswer):
            assert suggestion.label.startswith(answer.service.name)


@pytest.mark.parametrize("prefix", ["", "2", "a", "port", "x" * 500, "99999", "0", "\x00", "25565/tcp"])
def test_suggestions_stay_within_discord_limits(fixture_kb: KnowledgeBase, prefix: str) -> None:
    """At most 25 choices, unique values, labels and values of 1–100 characters."""
    found = fixture_kb.suggest(prefix)
    assert len(found) <= 25
    assert len({s.value for s in found}) == len(found)
    assert all(1 <= len(s.label) <= 100 and 1 <= len(s.value) <= 100 for s in found)


@pytest.mark.parametrize(("limit", "most"), [(0, 0), (3, 3), (-5, 0), (500, 25)])
def test_limit_is_respected_and_capped(fixture_kb: KnowledgeBase, limit: int, most: int) -> None:
    """The limit is clamped to 0–25."""
    assert len(fixture_kb.suggest("2", limit=limit)) == most


def test_out_of_range_digits_offer_nothing(fixture_kb: KnowledgeBase) -> None:
    """No port starts with 99999."""
    assert fixture_kb.suggest("99999") == []
