"""The command core's knowledge answers: asked once per question, never a cached failure."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.commands import Portbot
from knowledge import Answer, KnowledgeBase


class CountingKnowledge(KnowledgeBase):
    """The real knowledge base, counting lookups; ``failures`` first lookups raise, as a bug would."""

    calls = 0
    failures = 0

    def lookup(self, text: str) -> Answer:
        self.calls += 1
        if self.failures:
            self.failures -= 1
            raise RuntimeError("boom")
        return super().lookup(text)


@pytest.fixture
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> CountingKnowledge:
    data: Path = tmp_path_factory.getbasetemp() / "commands-kb"
    return CountingKnowledge.load(data)


def test_a_repeated_question_is_looked_up_once(knowledge: CountingKnowledge) -> None:
    """The second `/port 25565` is the same Reply, without asking the knowledge base again."""
    portbot = Portbot(knowledge=knowledge)
    first = portbot.lookup("25565")
    assert portbot.lookup("25565") is first
    assert knowledge.calls == 1
    assert portbot.lookup("443").title == "Port 443"
    assert knowledge.calls == 2


def test_a_failed_lookup_is_not_remembered(
    knowledge: CountingKnowledge, caplog: pytest.LogCaptureFixture
) -> None:
    """A lookup that raised answers with the apology once; asking again gets the real answer."""
    knowledge.failures = 1
    portbot = Portbot(knowledge=knowledge)
    assert portbot.lookup("25565").title == "Something went wrong on my side"
    assert "knowledge lookup failed" in caplog.text
    assert portbot.lookup("25565").title == "Port 25565"
    assert knowledge.calls == 2
