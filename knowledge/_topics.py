"""Plain-language concepts and troubleshooting guides (``concepts.toml``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from knowledge.errors import DataError

if TYPE_CHECKING:
    from pathlib import Path

KINDS = ("concept", "guide")
#: What the placeholders say when the question names no service or port.
GENERIC = {
    "{name}": "your server",
    "{ports}": "your server's ports",
    "{forward_ports}": "your server's port",
    "{game_port}": "your server's port",
}


@dataclass(frozen=True, slots=True)
class Topic:
    """A concept (``kind == "concept"``) or a guide with ordered ``steps`` that may hold placeholders."""

    id: str
    kind: str
    title: str
    keywords: tuple[str, ...]
    summary: str
    body: tuple[str, ...]
    steps: tuple[str, ...]
    commands: tuple[str, ...]
    related: tuple[str, ...]

    @property
    def is_guide(self) -> bool:
        return self.kind == "guide"

    @property
    def plain_title(self) -> str:
        """The title with any placeholder in generic words."""
        return fill(self.title, GENERIC)


def load_topics(path: Path) -> tuple[Topic, ...]:
    """Read and validate ``concepts.toml``, including that every ``related`` id exists."""
    from knowledge._toml import Entry, read_tables  # only when (re)building the index

    topics: list[Topic] = []
    for number, table in enumerate(read_tables(path, "topic"), start=1):
        entry = Entry(path.name, f"topic #{number}", table)
        topic_id = entry.ident()
        entry.where = f"topic '{topic_id}'"
        if any(t.id == topic_id for t in topics):
            raise entry.fail("this id is used twice.")
        topics.append(
            Topic(
                id=topic_id,
                kind=entry.choice("kind", KINDS),
                title=entry.text("title"),
                keywords=entry.texts("keywords", lower=True),
                summary=entry.text("summary"),
                body=entry.texts("body"),
                steps=entry.texts("steps"),
                commands=entry.texts("commands"),
                related=entry.texts("related"),
            )
        )
        entry.finish()
    known = {t.id for t in topics}
    for topic in topics:
        missing = [r for r in topic.related if r not in known]
        if missing:
            raise DataError(
                f"{path.name}: topic '{topic.id}' relates to unknown topic(s) {', '.join(missing)}."
            )
    return tuple(topics)


def fill(text: str, values: dict[str, str]) -> str:
    """Replace the known placeholders only; any other brace in the text is left alone."""
    for key, value in values.items():
        text = text.replace(key, value)
    return text


def to_data(topics: tuple[Topic, ...]) -> list[Any]:
    return [
        (t.id, t.kind, t.title, t.keywords, t.summary, t.body, t.steps, t.commands, t.related) for t in topics
    ]


def from_data(data: list[Any]) -> tuple[Topic, ...]:
    return tuple(Topic(*row) for row in data)
