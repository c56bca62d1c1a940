"""The protocol choice table: what a check named after a curated entry covers, and the hint it carries."""

from __future__ import annotations

import pytest

from bot.core.checks import Part, Plan, find_service, plan, steam_query_port
from knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return KnowledgeBase.load()


@pytest.mark.parametrize(
    ("service_id", "port", "protocol", "expected"),
    [
        # TCP game: the game port over TCP (Minecraft's optional UDP query on 25565 is not "both").
        ("minecraft-java", 25565, "auto", Plan((Part("tcp", (25565,)),), "minecraft-java")),
        # UDP game without a Steam query port.
        ("minecraft-bedrock", 19132, "auto", Plan((Part("udp", (19132,)),), "minecraft-bedrock")),
        # TCP+UDP game: both protocols on the game port.
        (
            "7-days-to-die",
            26900,
            "auto",
            Plan((Part("tcp", (26900,)), Part("udp", (26900,))), "7-days-to-die"),
        ),
        # Steam game: the game port and the A2S query port over UDP, with a hint that makes the engine speak A2S.
        (
            "ark-survival-evolved",
            7777,
            "auto",
            Plan((Part("udp", (7777, 27015)),), "steam ark-survival-evolved"),
        ),
        ("valheim", 2456, "auto", Plan((Part("udp", (2456, 2457)),), "steam valheim")),
        # A TCP+UDP Steam game: both on the game port, the query port over UDP.
        (
            "soulmask",
            8777,
            "auto",
            Plan((Part("tcp", (8777,)), Part("udp", (8777, 27015))), "steam soulmask"),
        ),
        # A plain service (not a game): its own protocol, its id as the hint.
        ("ssh", 22, "auto", Plan((Part("tcp", (22,)),), "ssh")),
        # A protocol the user typed wins for the asked port; the Steam query port is still added.
        (
            "ark-survival-evolved",
            7777,
            "tcp",
            Plan((Part("tcp", (7777,)), Part("udp", (27015,))), "steam ark-survival-evolved"),
        ),
        # A button that says "both" checks both.
        (
            "7-days-to-die",
            26900,
            "both",
            Plan((Part("tcp", (26900,)), Part("udp", (26900,))), "7-days-to-die"),
        ),
    ],
)
def test_protocol_choice_table(
    kb: KnowledgeBase, service_id: str, port: int, protocol: str, expected: Plan
) -> None:
    """Each kind of entry gets the protocols and ports it lists, and the hint for the engine."""
    service = kb.service(service_id)
    assert service is not None
    assert plan((port,), protocol, service) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("port", "protocol", "expected"),
    [
        (443, "auto", (Part("auto", (443,)),)),
        (443, "tcp", (Part("tcp", (443,)),)),
        (7777, "both", (Part("tcp", (7777,)), Part("udp", (7777,)))),
    ],
)
def test_plain_port_is_checked_as_asked(port: int, protocol: str, expected: tuple[Part, ...]) -> None:
    """No entry behind the check: the port as asked, "auto" left to the engine, and no hint."""
    assert plan((port,), protocol, None) == Plan(expected, None)  # type: ignore[arg-type]


def test_query_port_is_added_only_for_a_game_port(kb: KnowledgeBase) -> None:
    """Checking ARK's RCON port does not drag in the query port."""
    service = kb.service("ark-survival-evolved")
    assert service is not None
    assert plan((27020,), "auto", service) == Plan((Part("tcp", (27020,)),), "steam ark-survival-evolved")


@pytest.mark.parametrize(
    ("service_id", "query"),
    [("valheim", 2457), ("ark-survival-evolved", 27015), ("minecraft-java", None), ("satisfactory", None)],
)
def test_steam_query_port(kb: KnowledgeBase, service_id: str, query: int | None) -> None:
    """A game's UDP query port worth forwarding is its Steam query; Minecraft's GameSpy query is not."""
    service = kb.service(service_id)
    assert service is not None
    found = steam_query_port(service)
    assert (found.low if found else None) == query


@pytest.mark.parametrize(
    ("name", "service_id"),
    [
        ("valheim", "valheim"),
        ("Valheim", "valheim"),
        ("ark", "ark-survival-evolved"),
        ("7 days to die", "7-days-to-die"),
        ("7daystodie", "7-days-to-die"),
        ("minecraft-java", "minecraft-java"),
        ("nosuchgame", None),
        ("", None),
    ],
)
def test_find_service_by_id_name_or_alias(kb: KnowledgeBase, name: str, service_id: str | None) -> None:
    """A game named in chat is matched against curated ids, names and aliases, any case or spacing."""
    found = find_service(kb.services, name)
    assert (found.id if found else None) == service_id
