"""The knowledge base: load once, then answer lookups and autocomplete in well under a millisecond."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from knowledge._cache import load_compiled
from knowledge._curated import Service
from knowledge._index import Index
from knowledge._lookup import Lookup
from knowledge._paths import Sources, cache_dir, default_data_dir
from knowledge._text import clean
from knowledge._topics import Topic
from knowledge.answers import Answer, NotFound, Suggestion

if TYPE_CHECKING:
    from knowledge._suggest import Suggester


class KnowledgeBase:
    """IANA's registry, our curated services and our topics, indexed for lookup."""

    def __init__(self, index: Index, *, rebuilt: bool = False) -> None:
        self._index = index
        self._lookup = Lookup(index)
        self._suggester: Suggester | None = None
        #: True when this load had to compile the sources (no cache, or a source changed).
        self.rebuilt = rebuilt

    @classmethod
    def load(
        cls, data_dir: Path | None = None, *, source_dir: Path | None = None, rebuild: bool = False
    ) -> KnowledgeBase:
        """Load the compiled index from ``data_dir/cache``, compiling it first when a source changed.

        ``data_dir`` is the settings' PORTBOT_DATA_DIR (default ``~/.local/share/portbot``); an IANA file updated
        into it replaces the packaged one. ``source_dir`` replaces the packaged data directory (for tests).
        Raises :class:`~knowledge.errors.DataError` if a source file is malformed.
        """
        data_dir = default_data_dir() if data_dir is None else data_dir
        sources = Sources.resolve(data_dir, source_dir)
        data, rebuilt = load_compiled(sources, cache_dir(data_dir), rebuild=rebuild)
        return cls(Index(data), rebuilt=rebuilt)

    def lookup(self, text: str) -> Answer:
        """Answer one query: a port, a name, a range or a question. Never raises."""
        try:
            return self._lookup.answer(text)
        except Exception:  # a bug must cost one answer, not the bot: log it and say we did not find it
            import logging

            logging.getLogger(__name__).exception("knowledge lookup failed")
            return NotFound(clean(text) if isinstance(text, str) else "")

    def suggest(self, prefix: str, limit: int = 25) -> list[Suggestion]:
        """Autocomplete choices for a partly typed query (at most 25, labels and values ≤ 100 characters)."""
        try:
            if self._suggester is None:
                from knowledge._suggest import Suggester  # chat bots need it; `portbot ask` does not

                self._suggester = Suggester(self._index)
            return self._suggester.suggest(prefix, limit)
        except Exception:
            import logging

            logging.getLogger(__name__).exception("knowledge suggest failed")
            return []

    @property
    def services(self) -> tuple[Service, ...]:
        return self._index.services

    @property
    def topics(self) -> tuple[Topic, ...]:
        return self._index.topics

    @property
    def iana_records(self) -> int:
        """How many IANA registry rows are indexed."""
        return len(self._index.iana)

    def service(self, service_id: str) -> Service | None:
        return self._index.services_by_id.get(service_id)

    def topic(self, topic_id: str) -> Topic | None:
        return self._index.topics_by_id.get(topic_id)
