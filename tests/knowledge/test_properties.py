"""Property tests: no string at all makes lookup or suggest fail, and their outputs keep their promises."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from hypothesis import given, settings
from hypothesis import strategies as st

from knowledge import HelpAnswer, InvalidQuery, KnowledgeBase, NotFound, PortAnswer

#: Anything people might paste: any Unicode (control characters included), huge inputs, number-like text,
#: and known words with junk around them.
ANY_TEXT = st.one_of(
    st.text(),
    st.text(min_size=300, max_size=5_000),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.from_regex(r"[+\-]?(port |tcp |udp )?[0-9x.e,_-]{1,12}(/tcp|/udp| sctp)?", fullmatch=True),
    st.builds(
        lambda a, word, b: a + word + b,
        st.text(max_size=10),
        st.sampled_from(
            ["25565", "valheim", "minecarft", "what is cgnat", "is 7777 open", "ephemeral", "x11"]
        ),
        st.text(max_size=10),
    ),
)


class _Failures(logging.Handler):
    """Collects what the never-raise guards log, so a swallowed bug still fails the test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@contextmanager
def no_swallowed_errors() -> Iterator[None]:
    handler = _Failures()
    logger = logging.getLogger("knowledge._base")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    assert handler.records == [], [r.getMessage() for r in handler.records]


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT)
def test_lookup_answers_any_string(fixture_kb: KnowledgeBase, text: str) -> None:
    """lookup returns an answer for every string, without hitting its last-resort guard."""
    with no_swallowed_errors():
        answer = fixture_kb.lookup(text)
    if isinstance(answer, (NotFound, InvalidQuery)):
        assert len(answer.query) <= 300
        assert not any(ch in answer.query for ch in "\x00\x1b\x07\r\n")
    if isinstance(answer, PortAnswer):
        assert 0 <= answer.port <= 65535
    if not text.strip():
        assert isinstance(answer, HelpAnswer)


@settings(max_examples=300, deadline=None)
@given(text=ANY_TEXT, limit=st.integers(min_value=-10, max_value=100))
def test_suggest_answers_any_string_within_limits(fixture_kb: KnowledgeBase, text: str, limit: int) -> None:
    """suggest never fails and never breaks Discord's 25 choices / 100 characters."""
    with no_swallowed_errors():
        found = fixture_kb.suggest(text, limit)
    assert len(found) <= min(max(limit, 0), 25)
    assert all(1 <= len(s.label) <= 100 and 1 <= len(s.value) <= 100 for s in found)
