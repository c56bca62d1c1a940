"""Matching people's words to what we know: typo-tolerant name matching and a small, explainable scorer that
picks the topic a free-text question is about.

The scorer adds up visible evidence, nothing learned:

* a topic keyword found as a phrase in the question: ``PHRASE`` points plus one per extra word in it;
* a multi-word keyword whose words all occur, but apart: one point per word;
* each distinct content word the question shares with the topic's id, title and keywords: ``WORD`` point.

Generic words ("port", "server") and grammar words ("why", "my") never score on their own; a keyword made
only of them scores only when it is at least three words long and found as a whole ("what is using port"). A topic needs
``MIN_SCORE`` points to be the answer; ties go to the topic listed first in ``concepts.toml``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, NamedTuple

from knowledge._text import words
from knowledge._topics import Topic

if TYPE_CHECKING:
    from knowledge._index import Index

PHRASE = 3
WORD = 1
MIN_SCORE = 3
#: A content word in the keywords of more topics than this scores only inside a phrase.
COMMON_TOPICS = 3
#: A keyword made only of everyday words still counts, as a whole phrase, once it is this long.
PLAIN_PHRASE_WORDS = 3

#: Shortest word we try to correct: below this, typos look like other words ("test" vs "rust").
MIN_FUZZY_LENGTH = 5
#: rapidfuzz ratio (0–100) a correction needs; 80 allows one swap or slip in a 5-to-9 letter name.
FUZZY_CUTOFF = 80.0


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


STOP_WORDS = _word_set(
    "a about am an and any are as at be been but by can could did do does doing for from get gets got had has "
    "have how i id if im in into is isnt it its ive just me my of on or our please should so some than that "
    "thats the their them then there these they this those to us use using was we what whats when where which "
    "who whos why will with wont would you your youre"
)
#: Everyday words that some product also uses as a nickname ("bind" for the DNS server, "turn" for a relay).
#: Aliases that are one of these, or that our concept pages use as ordinary lower-case words, are weak: they
#: name the product only when no concept matches the question better (see ``_index.weak_service_keys``).
COMMON_WORDS = _word_set(
    "admin bind distribution element ice local matrix named peering printer printing registry resolver swarm "
    "turn web website www"
)
GENERIC_WORDS = _word_set(
    "port ports server servers game games network networks internet connect connection service services"
)


def fuzzy_best(query: str, choices: Sequence[str], *, cutoff: float = FUZZY_CUTOFF) -> str | None:
    """The closest choice to ``query``, if it is close enough to be a typo of it."""
    if len(query) < MIN_FUZZY_LENGTH or not choices:
        return None
    from rapidfuzz import fuzz, process  # about 30 ms to import: only paid when a typo needs it

    found = process.extractOne(query, choices, scorer=fuzz.ratio, score_cutoff=cutoff)
    return None if found is None else str(found[0])


def fuzzy_top(
    query: str, choices: Sequence[str], *, limit: int, cutoff: float, loose: bool
) -> list[tuple[str, float]]:
    """Up to ``limit`` (choice, score) pairs resembling ``query``, best first; ``loose`` also credits partial
    and reordered matches."""
    if not query or not choices:
        return []
    from rapidfuzz import fuzz, process

    scorer = fuzz.WRatio if loose else fuzz.ratio
    found = process.extract(query, choices, scorer=scorer, limit=limit, score_cutoff=cutoff)
    return [(str(choice), float(score)) for choice, score, _ in found]


#: A keyword as the scorer sees it: (" carrier grade nat " padded for a contiguous match, its number of words,
#: its words that are neither grammar nor generic). Plain tuples, so the compiled index can store them.
Phrase = tuple[str, int, frozenset[str]]
#: A topic's terms: its phrases, all their content words, and its long phrases of everyday words only
#: ("what is using port").
Terms = tuple[tuple[Phrase, ...], frozenset[str], tuple[Phrase, ...]]


class TopicScore(NamedTuple):
    topic: Topic
    score: int


def compile_terms(topics: Sequence[Topic]) -> list[Terms]:
    """Every topic's terms, worked out when the index is compiled: doing it at the first question would cost
    `portbot ask` about 3 ms."""
    return [_terms(t) for t in topics]


class QuestionMatcher:
    """Scores topics against a question. Built once per index (a few hundred words)."""

    def __init__(self, topics: Sequence[Topic], terms: Sequence[Terms] | None = None) -> None:
        self._topics = tuple(topics)
        self._terms = tuple(terms) if terms is not None else tuple(_terms(t) for t in self._topics)
        #: Words that belong to questions, not to service names: never "corrected" into a service.
        self.vocabulary = STOP_WORDS | GENERIC_WORDS | frozenset(w for t in self._terms for w in t[1])
        # A word in the keywords of many topics ("ip", "forwarding", "open") says little about which one is
        # meant: on its own it scores nothing (it still counts inside a phrase). IDF, in its bluntest form.
        counts: dict[str, int] = {}
        for _, content_words, _ in self._terms:
            for word in content_words:
                counts[word] = counts.get(word, 0) + 1
        self._common = frozenset(w for w, n in counts.items() if n > COMMON_TOPICS)

    def ranked(self, tokens: Sequence[str], min_score: int = MIN_SCORE) -> list[TopicScore]:
        """Every topic scoring at least ``min_score``, best first (ties in ``concepts.toml`` order)."""
        padded, present = f" {' '.join(tokens)} ", frozenset(tokens)
        found = [
            TopicScore(topic, score)
            for topic, terms in zip(self._topics, self._terms, strict=True)
            if (score := _score(terms, padded, present, self._common)) >= min_score
        ]
        return sorted(found, key=lambda t: -t.score)

    def best(self, tokens: Sequence[str], min_score: int = MIN_SCORE) -> TopicScore | None:
        """The best-scoring topic, if it scores at least ``min_score``."""
        best: TopicScore | None = None
        padded, present = f" {' '.join(tokens)} ", frozenset(tokens)
        for topic, terms in zip(self._topics, self._terms, strict=True):
            score = _score(terms, padded, present, self._common)
            if score >= min_score and (best is None or score > best.score):
                best = TopicScore(topic, score)
        return best


def _score(terms: Terms, padded: str, present: frozenset[str], common: frozenset[str]) -> int:
    phrases, content_words, plain = terms
    score = sum(PHRASE + size - 1 for text, size, _ in plain if text in padded)
    shared = content_words & present
    if shared:  # without a shared content word, no other phrase can match
        score += WORD * len(shared - common) + _phrase_score(phrases, padded, present)
    return score


def _terms(topic: Topic) -> Terms:
    texts = [*topic.keywords, topic.id.replace("-", " "), topic.title]
    phrases: dict[str, Phrase] = {}
    plain: dict[str, Phrase] = {}
    for text in texts:
        found = words(text)
        content = frozenset(w for w in found if w not in STOP_WORDS and w not in GENERIC_WORDS)
        padded = f" {' '.join(found)} "
        if content:
            phrases.setdefault(padded, (padded, len(found), content))
        elif len(found) >= PLAIN_PHRASE_WORDS:
            plain.setdefault(padded, (padded, len(found), content))
        # else: one or two everyday words ("ports", "what is") say nothing about which topic is meant
    content_words = frozenset(w for _, _, content in phrases.values() for w in content)
    return tuple(phrases.values()), content_words, tuple(plain.values())


def _phrase_score(phrases: Sequence[Phrase], padded: str, present: frozenset[str]) -> int:
    score = 0
    for text, size, content in phrases:
        if not content <= present:
            continue
        if text in padded:
            score += PHRASE + size - 1
        elif len(content) > 1:
            score += len(content)
    return score


def find_ports(tokens: Sequence[str]) -> list[tuple[int, str | None]]:
    """Port numbers mentioned in a question, each with the protocol written right after it (``53 udp``)."""
    found: list[tuple[int, str | None]] = []
    for i, token in enumerate(tokens):
        if token.isascii() and token.isdigit() and len(token) <= 5 and int(token) <= 65535:
            following = tokens[i + 1] if i + 1 < len(tokens) else ""
            found.append((int(token), following if following in ("tcp", "udp") else None))
    return found


class ServiceMatch(NamedTuple):
    ids: tuple[str, ...]
    key: str  # the name, alias or id the question used
    weak: bool  # the key is also an everyday word ("bind", "turn"): a concept the question matches wins


def find_service(tokens: Sequence[str], index: Index) -> ServiceMatch | None:
    """The service a question names exactly: the longest phrase that is a name, alias or id, preferring one
    that is not an everyday word ("bind dns port" is about DNS by its name, not by "bind")."""
    weak: ServiceMatch | None = None
    for size in range(min(4, len(tokens)), 0, -1):
        for start in range(len(tokens) - size + 1):
            gram = tokens[start : start + size]
            if size == 1 and (gram[0] in STOP_WORDS or gram[0] in GENERIC_WORDS):
                continue  # "server" or "why" is never an alias, even if a data file says so
            for key in (" ".join(gram), "".join(gram)):
                found = index.services_for(key)
                if found:
                    match = ServiceMatch(tuple(s.id for s in found), key, key in index.weak_service_keys)
                    if not match.weak:
                        return match
                    weak = weak or match
    return weak


def too_big_port(tokens: Sequence[str]) -> str | None:
    """A number past 65535 in a question about ports ("can I use port 99999"), as written."""
    if "port" not in tokens and "ports" not in tokens:
        return None
    for token in tokens:
        if token.isascii() and token.isdigit() and (len(token) > 5 or int(token) > 65535):
            return token
    return None


def find_misspelled_service(
    tokens: Sequence[str], index: Index, vocabulary: frozenset[str], *, checked: str = ""
) -> tuple[str, ...]:
    """Ids of the service one word of a question is a typo of ("valhiem"); question words are never corrected.

    ``checked`` is a text already compared with every service key: as a word it cannot match one of them.
    """
    candidates = [
        t
        for t in tokens
        if len(t) >= MIN_FUZZY_LENGTH and t not in vocabulary and not t.isdigit() and t != checked
    ]
    if not candidates:
        return ()
    for token in candidates:
        corrected = fuzzy_best(token, index.one_word_service_keys)
        if corrected is not None:
            return tuple(s.id for s in index.services_for(corrected))
    return ()
