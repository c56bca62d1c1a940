"""The topic scorer: phrases beat scattered words, and a word many topics share says little on its own."""

from __future__ import annotations

from knowledge._match import QuestionMatcher
from knowledge._text import words
from knowledge._topics import Topic


def _topic(topic_id: str, *keywords: str) -> Topic:
    return Topic(topic_id, "concept", topic_id.replace("-", " "), keywords, "s", ("b", "b"), (), (), ())


TOPICS = [
    _topic("alpha", "open port", "forward ports"),
    _topic("beta", "open router", "forward traffic"),
    _topic("gamma", "open nat", "forward rule"),
    _topic("delta", "open firewall", "forward inbound", "reach my nas", "vpn on server pc"),
]


def test_a_keyword_phrase_scores_as_a_phrase() -> None:
    """A keyword found whole in the question wins, even when its words are common."""
    best = QuestionMatcher(TOPICS).best(words("how do i open nat"))
    assert best is not None and best.topic.id == "gamma"


def test_words_many_topics_share_score_nothing_alone() -> None:
    """ "forward" and "open" sit in every topic's keywords: with two rare words they no longer reach the bar."""
    assert QuestionMatcher(TOPICS).best(words("should i forward and open this to reach my pc")) is None


def test_rare_words_still_add_up() -> None:
    """Words only one topic uses still count one point each."""
    best = QuestionMatcher(TOPICS).best(words("reach nas server pc vpn"), min_score=3)
    assert best is not None and best.topic.id == "delta"


def test_precompiled_terms_score_like_fresh_ones() -> None:
    """The terms stored in the index cache give the same scores as terms worked out on the spot."""
    from knowledge._match import compile_terms

    fresh = QuestionMatcher(TOPICS)
    stored = QuestionMatcher(TOPICS, compile_terms(TOPICS))
    for question in ("how do i open nat", "reach nas server pc vpn", "forward ports please"):
        assert fresh.ranked(words(question), 1) == stored.ranked(words(question), 1)
