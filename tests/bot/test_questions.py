"""Questions worded as people word them (tests/knowledge/questions.toml), asked through the bot's core as
`portbot ask` and `/port` ask them (``Portbot.handle``: intent parsing, then lookup), over the packaged data:
each reply must hold the facts its question needs, and no question is ever taken for a probe."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from bot.core.commands import Portbot
from bot.core.reply import Reply
from bot.terminal import TERMINAL_USER
from knowledge import KnowledgeBase

TABLE = Path(__file__).resolve().parents[1] / "knowledge" / "questions.toml"


class Question(NamedTuple):
    text: str
    facts: tuple[str, ...]
    title: str | None


def _questions() -> list[Question]:
    with TABLE.open("rb") as fh:
        data: dict[str, Any] = tomllib.load(fh)
    found = []
    for facet in data["facet"]:
        for entity in data["entity"]:
            if entity["kind"] not in facet["kinds"]:
                continue
            for template in facet["questions"]:
                found.append(
                    Question(
                        template.replace("{x}", entity["name"]),
                        (*entity["facts"], *facet["facts"]),
                        entity["title"],
                    )
                )
    found += [Question(q["q"], tuple(q["facts"]), q.get("title")) for q in data["question"]]
    return found


QUESTIONS = _questions()


def _no_probes() -> object:
    pytest.fail("a question was taken for a probe request")


@pytest.fixture(scope="module")
def portbot(tmp_path_factory: pytest.TempPathFactory) -> Portbot:
    knowledge = KnowledgeBase.load(tmp_path_factory.mktemp("questions-kb"))
    return Portbot(knowledge=knowledge, probes=_no_probes)  # type: ignore[arg-type]


def rendered(reply: Reply) -> str:
    """Everything a person reads in a knowledge reply."""
    parts = [reply.title, reply.summary, *(f"{f.name}\n{f.value}" for f in reply.fields)]
    return "\n".join(parts)


def test_the_table_is_big_enough() -> None:
    """The table holds at least 300 distinct questions."""
    assert len({q.text for q in QUESTIONS}) >= 300


@pytest.mark.parametrize("question", QUESTIONS, ids=[q.text for q in QUESTIONS])
async def test_answer_holds_the_facts(portbot: Portbot, question: Question) -> None:
    """The reply names every fact the question needs, under a title naming the game or app asked about."""
    reply = await portbot.handle(question.text, TERMINAL_USER)
    text = rendered(reply).casefold()
    missing = [fact for fact in question.facts if fact.casefold() not in text]
    assert not missing, f"{reply.title!r} lacks {missing}"
    if question.title is not None:
        assert question.title.casefold() in reply.title.casefold(), reply.title
