"""The list autocomplete offers before anything is typed (bot.core.popular)."""

from __future__ import annotations

import pytest

from bot.core.popular import CHOICES_MAX, POPULAR, popular
from knowledge import KnowledgeBase


@pytest.fixture(scope="module")
def knowledge() -> KnowledgeBase:
    return KnowledgeBase.load()


def test_every_popular_id_is_in_the_knowledge_base(knowledge: KnowledgeBase) -> None:
    """A renamed or removed service id fails here instead of silently shrinking the list."""
    assert [service_id for service_id in POPULAR if knowledge.service(service_id) is None] == []
    assert len(POPULAR) == len(set(POPULAR)) <= CHOICES_MAX


def test_popular_suggestions_fit_discord_and_lead_with_games(knowledge: KnowledgeBase) -> None:
    """At most 25 choices, names and values of 1-100 characters, Minecraft first, services after games."""
    suggestions = popular(knowledge)
    assert len(suggestions) == len(POPULAR)
    assert suggestions[0].label == "Minecraft: Java Edition — 25565/tcp"
    assert all(1 <= len(s.label) <= 100 and 1 <= len(s.value) <= 100 for s in suggestions)
    values = [s.value for s in suggestions]
    assert values.index("valheim") < values.index("plex") < values.index("ssh")


def test_an_unknown_id_is_skipped_and_the_limit_is_kept(knowledge: KnowledgeBase) -> None:
    """Knowledge without some services still gives a clean list, never more than asked for."""

    class Partial:
        def service(self, service_id: str) -> object:
            return None if service_id == "minecraft-java" else knowledge.service(service_id)

    partial = popular(Partial(), limit=3)  # type: ignore[arg-type]
    assert [s.value for s in partial] == ["minecraft-bedrock", "valheim", "palworld"]
