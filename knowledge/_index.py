"""The compiled index: the three data files turned into plain data (cacheable with marshal) and back."""

from __future__ import annotations

import marshal
from array import array
from typing import Any

from knowledge import _curated, _iana, _intervals, _match, _topics
from knowledge._curated import Service
from knowledge._paths import Sources
from knowledge._text import compact, fold
from knowledge._topics import Topic


def compile_sources(sources: Sources) -> dict[str, Any]:
    """Read and validate every source file; the result holds only marshal-friendly types."""
    iana_text = sources.iana.read_bytes().decode("utf-8")
    services = _curated.load_services(sources.ports)
    topics = _topics.load_topics(sources.concepts)
    return {
        "iana": _iana.read_csv(iana_text),
        "services": _curated.to_data(services),
        "topics": _topics.to_data(topics),
        "service_keys": _service_keys(services),
        "topic_keys": _topic_keys(topics),
        "service_ports": _service_ports(services),
        "weak_service_keys": weak_service_keys(services, topics),
        # Marshalled once more and stored as a raw blob: only a question unpacks it, so `portbot ask 25565`
        # doesn't pay for the scorer's 600 phrases at start-up.
        "topic_terms": {"marshal": marshal.dumps(_match.compile_terms(topics))},
    }


def weak_service_keys(services: tuple[Service, ...], topics: tuple[Topic, ...]) -> list[str]:
    """One-word aliases that are also everyday words: in ``COMMON_WORDS``, or written in lower case in our
    concept pages ("bind", "turn", "web"). Product names are capitalised there ("Minecraft", "Docker"), and a
    service's own id or name is never weak. Computed when the index is compiled, not at each start."""
    import re

    from knowledge._match import COMMON_WORDS

    prose: set[str] = set()
    for topic in topics:
        for text in (topic.title, topic.summary, *topic.body, *topic.steps):
            prose.update(re.findall(r"[^\W_]+", text))
    weak = set()
    for service in services:
        own = {fold(service.id), compact(service.id), fold(service.name), compact(service.name)}
        for alias in service.aliases:
            key = fold(alias)
            if " " not in key and key not in own and (key in prose or key in COMMON_WORDS):
                weak.add(key)
    return sorted(weak)


def _service_ports(services: tuple[Service, ...]) -> tuple[bytes, bytes, bytes]:
    """Which services use each port, as a stabbing index (see ``_intervals``) packed into int arrays."""
    starts, offsets, items = _intervals.build(
        (p.low, p.high, number) for number, s in enumerate(services) for p in s.ports
    )
    return array("i", starts).tobytes(), array("i", offsets).tobytes(), array("i", items).tobytes()


def _service_keys(services: tuple[Service, ...]) -> dict[str, tuple[int, ...]]:
    keys: dict[str, list[int]] = {}
    for number, service in enumerate(services):
        for text in (service.id, service.name, *service.aliases):
            for key in (fold(text), compact(text)):
                owners = keys.setdefault(key, [])
                if key and number not in owners:
                    owners.append(number)
    return {key: tuple(owners) for key, owners in keys.items() if key}


def _topic_keys(topics: tuple[Topic, ...]) -> dict[str, int]:
    keys: dict[str, int] = {}
    for number, topic in enumerate(topics):
        for text in (topic.id, topic.title, *topic.keywords):
            key = fold(text)
            if key:
                keys.setdefault(key, number)
        for keyword in topic.keywords:
            # As typed too, for keywords that folding would change or empty: "[::]", "127.0.0.1", "10048".
            keys.setdefault(f"={keyword.strip()}", number)
    return keys


class Index:
    """Everything a lookup needs, ready to query."""

    __slots__ = (
        "_topic_terms",
        "iana",
        "one_word_service_keys",
        "service_keys",
        "service_ports",
        "services",
        "services_by_id",
        "topic_keys",
        "topics",
        "topics_by_id",
        "weak_service_keys",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        self.iana = _iana.IanaTable(data["iana"])
        self.services: tuple[Service, ...] = _curated.from_data(data["services"])
        self.topics: tuple[Topic, ...] = _topics.from_data(data["topics"])
        self.service_keys: dict[str, tuple[int, ...]] = data["service_keys"]
        self.topic_keys: dict[str, int] = data["topic_keys"]
        self.service_ports = tuple(memoryview(part).cast("i") for part in data["service_ports"])
        self.services_by_id = {s.id: s for s in self.services}
        #: Service keys of one word: what a single misspelt word in a sentence is compared with.
        self.one_word_service_keys = [k for k in self.service_keys if " " not in k]
        self.topics_by_id = {t.id: t for t in self.topics}
        self.weak_service_keys = frozenset(data["weak_service_keys"])
        self._topic_terms: bytes | memoryview = data["topic_terms"]["marshal"]

    def topic_terms(self) -> list[_match.Terms]:
        """The topic scorer's compiled phrases, unpacked on demand (the first question asks for them)."""
        # marshal of our own compiled index, as in _cache: same trust as the installed package.
        terms: list[_match.Terms] = marshal.loads(self._topic_terms)  # noqa: S302
        return terms

    def services_for(self, key: str) -> tuple[Service, ...]:
        """Curated services a folded or compacted key names exactly, best first."""
        return tuple(self.services[i] for i in self.service_keys.get(key, ()))

    def services_on(self, port: int) -> tuple[Service, ...]:
        """Curated services with at least one entry covering ``port``, in ``ports.toml`` order."""
        starts, offsets, items = self.service_ports
        return tuple(self.services[i] for i in _intervals.covering(starts, offsets, items, port))

    def topic_for(self, key: str) -> Topic | None:
        """The topic a folded key names (an id, title or keyword)."""
        number = self.topic_keys.get(key)
        return None if number is None else self.topics[number]

    def topic_for_keyword(self, text: str) -> Topic | None:
        """The topic with ``text`` (case-folded, not otherwise changed) as one of its keywords."""
        number = self.topic_keys.get(f"={text.casefold().strip()}")
        return None if number is None else self.topics[number]

    def related(self, ids: tuple[str, ...]) -> tuple[Topic, ...]:
        return tuple(self.topics_by_id[i] for i in ids if i in self.topics_by_id)
