"""From one line of text to one answer. The order of attempts is the whole algorithm:

1. empty → help; a port number (or something number-like that is no port) → the port, or why not;
2. an exact name: a curated service or alias, a port range, a topic id or keyword, an IANA service name;
3. a question: the entity it names (a service, else a port) with the concept the topic scorer in ``_match``
   finds as its facet; a guide, specialised for the entity; a concept alone; a range (a port in an "is … open"
   question → the is-my-port-open guide; a port number past 65535 → why there is none);
4. a typo of the whole text: the closest curated name, topic keyword or IANA service name;
5. a typo of one word in a longer text ("valhiem server");
6. nothing: "did you mean" suggestions.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import replace

from knowledge._curated import Service
from knowledge._iana import IanaEntry
from knowledge._index import Index
from knowledge._match import (
    MIN_FUZZY_LENGTH,
    MIN_SCORE,
    QuestionMatcher,
    TopicScore,
    find_misspelled_service,
    find_ports,
    find_service,
    fuzzy_best,
    fuzzy_top,
    too_big_port,
)
from knowledge._portquery import VALID_RANGE, BadPort, parse_port_query
from knowledge._ranges import RANGES, PortRange, iana_block, range_for_term
from knowledge._text import clean, words
from knowledge._topics import GENERIC, Topic, fill
from knowledge.answers import (
    Answer,
    GuideAnswer,
    HelpAnswer,
    IanaServiceAnswer,
    InvalidQuery,
    NotFound,
    PortAnswer,
    RangeAnswer,
    ServiceAnswer,
    ServiceUse,
    Suggestion,
    TopicAnswer,
)

OPEN_GUIDE = "is-my-port-open"
HELP = HelpAnswer(
    examples=(
        ("25565", "who uses a port, and what IANA registered it for"),
        ("valheim", "the ports a game or program needs, and which to forward"),
        ("what is cgnat", "a networking idea in plain words"),
        ("why can't my friends join my valheim server", "a troubleshooting guide for your server"),
        (
            "should I forward 3389",
            "a port or program, seen through what you ask: safety, protocol, forwarding",
        ),
        ("ephemeral", "what a range of ports is for"),
    )
)
#: "is 25565 open", "is my valheim server reachable": a question about the state of a port. Not "is it safe
#: to open port 22" or "how do I open": there "open" is something to do, after "to", "I", "we" or "you";
#: nor "is 27017 open to the world": that asks how bad it is.
#: Compiled on first use (re caches it): a port number never needs it.
_STATE_QUESTION = (
    r"\b(?:is|are|isnt|arent|check|test)\b.*(?<!\bto )(?<!\bi )(?<!\bwe )(?<!\byou )"
    r"\b(?:open|reachable|closed|blocked|accessible|forwarded|working)\b"
    r"(?! to (?:the )?(?:internet|world|public|everyone))"
)
#: The facets a question about one service or port can ask about, strongest cue first.
_SAFETY = "exposing-services"
_PRIVATE_WAN = "private-wan-address"
_FACET_CUES = (
    (
        _SAFETY,
        frozenset(
            (
                *("safe", "safely", "unsafe", "dangerous", "danger", "risk", "risky", "secure", "security"),
                *(
                    "hack",
                    "hacked",
                    "hackers",
                    "attack",
                    "attacks",
                    "attacked",
                    "vulnerable",
                    "vulnerability",
                ),
                *("expose", "exposed", "exposing", "bad", "publicly"),
            )
        ),
    ),
    ("isp-blocked-ports", frozenset(("isp", "isps", "comcast", "xfinity", "verizon", "spectrum"))),
    ("privileged-ports", frozenset(("sudo", "root", "admin", "administrator", "privileged", "permission"))),
    ("tcp-vs-udp", frozenset(("tcp", "udp", "protocol", "protocols"))),
    ("changing-default-port", frozenset(("change", "changing", "changed", "different", "custom"))),
    ("firewalls", frozenset(("firewall", "ufw", "iptables", "nftables", "firewalld", "defender"))),
    (
        "friends-cant-join",
        frozenset(
            (
                *("cant", "cannot", "couldnt", "connect", "join", "joining", "unreachable", "unavailable"),
                *("outside", "lag", "kicked"),
            )
        ),
    ),
    (
        "port-forwarding",
        frozenset(("forward", "forwarding", "forwarded", "router", "open", "opening", "public")),
    ),
)
#: Concepts a stronger facet cue may replace when the question names a service or port.
_GENERAL_FACETS = frozenset(("port-forwarding", "firewalls", "what-is-a-port"))
_DOING = frozenset(("forward", "open", "expose", "opening", "forwarding"))
#: Words that ask for a comparison ("well-known vs dynamic ports", "difference between …").
_COMPARING = frozenset(("vs", "versus", "difference", "differences", "compare", "compared", "between"))
_RANGE_TOPICS = frozenset(("well-known-ports", "registered-ports", "ephemeral-ports", "privileged-ports"))
_RANGES_OVERVIEW = "port-ranges"
#: Words people add around a name that do not change what they ask about ("valheim ports", "ssh server").
_FILLER = frozenset(("port", "ports", "server", "servers", "default", "dedicated"))
_MAX_SUGGESTIONS = 3
#: Stricter than for our own names: among 7,000 IANA names, almost any word is 80% like one of them.
IANA_CUTOFF = 85.0
_MAX_RANGE_SCAN = 16
_MIN_IANA_WORD = 3  # shorter words in a sentence are too often something else ("at", "go")  # ports of a curated range we check against IANA


class Lookup:
    """Answers queries against one :class:`Index`."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._matcher: QuestionMatcher | None = None
        self._choices: dict[str, Suggestion] | None = None
        self._choice_keys: list[str] = []
        self._service_keys = list(index.service_keys)
        self._topic_keys = list(index.topic_keys)

    @property
    def matcher(self) -> QuestionMatcher:
        if self._matcher is None:
            self._matcher = QuestionMatcher(self.index.topics, self.index.topic_terms())
        return self._matcher

    def answer(self, raw: str) -> Answer:
        text = clean(raw)
        if not text:
            return HELP
        parsed = parse_port_query(text)
        keyword_topic = self.index.topic_for_keyword(text)
        if isinstance(parsed, BadPort):
            # "127.0.0.1" or "100.64" is no port, but may be a topic's keyword.
            return self.topic(text, keyword_topic) if keyword_topic else InvalidQuery(text, parsed.message)
        if parsed is not None:
            answer = self.port(text, parsed.port, parsed.protocol)
            # "10048" is a port and a Windows error code: answer the port, offer the topic.
            return replace(answer, related=(keyword_topic,)) if keyword_topic else answer
        tokens = words(text)
        if not tokens:
            if keyword_topic is not None:
                return self.topic(text, keyword_topic)
            return NotFound(text, self._did_you_mean(text.casefold(), []))
        return self._exact(text, tokens) or self._question(text, tokens) or self._typo(text, tokens)

    # -- the kinds of answer -------------------------------------------------------------------------------

    def port(self, query: str, port: int, protocol: str | None = None) -> PortAnswer:
        """Curated uses and IANA registrations of ``port``; ``protocol`` narrows both when that leaves any."""
        entries = [self.index.iana.entry(row) for row in self.index.iana.rows_for_port(port)]
        uses = self._uses(port, protocol)
        if protocol is not None:
            narrowed = [e for e in entries if e.protocol in (protocol, "")]
            entries = narrowed or entries
            uses = uses or self._uses(port, None)
        return PortAnswer(query, port, protocol, tuple(uses), tuple(entries), iana_block(port))

    def _uses(self, port: int, protocol: str | None) -> list[ServiceUse]:
        uses = []
        for service in self.index.services_on(port):
            matching = service.ports_for(port, protocol)
            if matching:
                uses.append(ServiceUse(service, matching))
        return uses

    def service(
        self, query: str, found: tuple[Service, ...], also: Topic | None = None, facet: Topic | None = None
    ) -> ServiceAnswer:
        """``found[0]``; the others are alternatives. ``also`` is a topic the same words name ("upnp");
        ``facet`` the concept the question asks about it."""
        service = found[0]
        related = tuple(t for t in self._service_topics(service) if t is not facet)
        return ServiceAnswer(
            query,
            service,
            iana=self._registrations(service),
            alternatives=found[1:],
            related=(also, *related) if also is not None and also not in related else related,
            facet=facet,
        )

    def _registrations(self, service: Service) -> tuple[IanaEntry, ...]:
        """IANA's assigned names for the ports a service uses: often something unrelated (7777 is ``cbt``)."""
        seen: set[int] = set()
        found = []
        for entry in service.ports:
            for port in range(entry.low, min(entry.high, entry.low + _MAX_RANGE_SCAN) + 1):
                for row in self.index.iana.rows_for_port(port):
                    if row not in seen:
                        seen.add(row)
                        registration = self.index.iana.entry(row)
                        if registration.status == "assigned" and registration.protocol in (
                            *entry.protocols,
                            "",
                        ):
                            found.append(registration)
        return tuple(found)

    def _service_topics(self, service: Service) -> tuple[Topic, ...]:
        wanted = (
            ("friends-cant-join", "port-forwarding") if service.category == "game" else ("port-forwarding",)
        )
        return self.index.related(wanted)

    def topic(
        self,
        query: str,
        topic: Topic,
        services: tuple[Service, ...] = (),
        port: tuple[int, str | None] | None = None,
    ) -> Answer:
        related = self.index.related(topic.related)
        for block in RANGES:
            if self._range_topic(block) is topic:
                return RangeAnswer(query, block, topic, related)
        if not topic.is_guide:
            return TopicAnswer(query, topic, related)
        service = services[0] if services else None
        if port is not None and port[1] is None:
            port = (port[0], self._only_protocol(port[0]))
        values = _placeholders(service, port)
        return GuideAnswer(
            query,
            topic,
            title=fill(topic.title, values),
            summary=fill(topic.summary, values),
            body=tuple(fill(p, values) for p in topic.body),
            steps=tuple(fill(s, values) for s in topic.steps),
            service=service,
            port=port[0] if port else (service.main_port.low if service and service.main_port else None),
            protocol=port[1]
            if port
            else (service.main_port.check_protocol if service and service.main_port else None),
            related=related,
        )

    def _only_protocol(self, port: int) -> str | None:
        """The transport the curated services on ``port`` agree on, if they do (25565 → tcp; 7777 → None)."""
        entries = [p for use in self._uses(port, None) for p in use.ports]
        for wanted in ([p for p in entries if p.forward == "yes"], entries):  # forwarded ports speak loudest
            protocols = {proto for p in wanted for proto in p.protocols}
            if len(protocols) == 1:
                return protocols.pop()
        return None

    def range(self, query: str, block: PortRange) -> RangeAnswer:
        topic = self._range_topic(block)
        return RangeAnswer(query, block, topic, self.index.related(topic.related) if topic else ())

    def _range_topic(self, block: PortRange) -> Topic | None:
        for key in (block.id, f"{block.id} ports", *block.terms):
            topic = self.index.topic_for(key)
            if topic is not None:
                return topic
        return None

    def iana_name(self, query: str, name: str, rows: list[int]) -> IanaServiceAnswer:
        entries = tuple(self.index.iana.entry(row) for row in rows)
        ports = sorted({e.low for e in entries if e.low is not None and e.low == e.high})
        uses = tuple(use for port in ports[:4] for use in self._uses(port, None))
        return IanaServiceAnswer(query, entries[0].name if entries else name, entries, uses)

    # -- the steps of the algorithm ------------------------------------------------------------------------

    def _exact(self, text: str, tokens: list[str]) -> Answer | None:
        candidates = [tokens]
        trimmed = [t for t in tokens if t not in _FILLER]
        if trimmed and trimmed != tokens:
            candidates.append(trimmed)
        for words_ in candidates:
            folded = " ".join(words_)
            found = self.index.services_for(folded) or self.index.services_for("".join(words_))
            if found:
                return self.service(text, found, also=self.index.topic_for(folded))
            block = range_for_term(folded)
            if block is not None:
                return self.range(text, block)
            topic = self.index.topic_for(folded)
            if topic is not None:
                return self.topic(text, topic)
        for name in (text.casefold(), "-".join(tokens)):
            rows = self.index.iana.rows_for_name(name)
            if rows:
                return self.iana_name(text, name, rows)
        return None

    def _question(self, text: str, tokens: list[str]) -> Answer | None:
        """Entity and facet: the service or port the question names, and the concept it asks about.

        The entity wins over a general concept page ("valheim, tcp or udp?" is about Valheim's ports, seen
        through TCP vs UDP), except when its only evidence is an everyday word ("turn" in "how do I turn on
        port forwarding"). A guide stays the answer when one matches: it is specialised for the entity.
        """
        too_big = too_big_port(tokens)
        if too_big is not None:
            return InvalidQuery(text, f"There is no port {too_big[:12]}. {VALID_RANGE}")
        ports = find_ports(tokens)
        if "tcp" in tokens and "udp" in tokens:  # "7777 tcp or udp" asks which, it doesn't choose
            ports = [(port, None) for port, _ in ports]
        match = find_service(tokens, self.index)
        services = self._services(match.ids) if match else ()
        folded = " ".join(tokens)
        best = self.matcher.best(tokens)
        open_guide = self.index.topics_by_id.get(OPEN_GUIDE)
        if (
            (ports or services)
            and open_guide is not None
            and (best is None or best.topic.is_guide)  # not "is port 25 blocked by my isp"
            and re.search(_STATE_QUESTION, folded)
        ):
            return self.topic(text, open_guide, services, ports[0] if ports else None)
        if best is not None and _COMPARING & set(tokens):
            if best.topic.id in _RANGE_TOPICS:
                best = self._overview(tokens) or best
            elif best.topic.id in _GENERAL_FACETS:
                # "port forwarding vs dmz": the specific idea compared with the general one explains both
                best = next(
                    (t for t in self.matcher.ranked(tokens) if t.topic.id not in _GENERAL_FACETS), best
                )
        if best is not None and match is not None and match.weak:
            services = ()
        topic = best.topic if best else None
        if topic is None and any(_shared_address(t) for t in tokens):
            # "my router shows 100.64.5.1": an address from the carriers' shared range is CGNAT's calling card
            topic = self.index.topics_by_id.get(_PRIVATE_WAN)
        if (services or ports) and (topic is None or topic.id in _GENERAL_FACETS):
            # "proxmox port forward safe?" asks about safety more than about forwarding
            topic = self._facet(tokens) or topic
        if topic is not None:
            # "error 10048", "higher than 65535": the number is part of the topic's keyword, not a port asked about
            ports = [p for p in ports if not _in_keyword(str(p[0]), topic, f" {folded} ")]
            if topic.is_guide:
                if not services:
                    services = self._services(
                        find_misspelled_service(tokens, self.index, self.matcher.vocabulary)
                    )
                return self.topic(text, topic, services, ports[0] if ports else None)
            if services:
                return self.service(text, services, facet=topic)
            if ports:
                return replace(self.port(text, *ports[0]), facet=topic)
            return self.topic(text, topic)
        padded = f" {folded} "
        for block in RANGES:
            if any(f" {term} " in padded for term in block.terms if " " in term):
                return self.range(text, block)
        if services:
            return self.service(text, services)
        if ports:
            return self.port(text, *ports[0])
        return self._iana_in_sentence(text, tokens)

    def _iana_in_sentence(self, text: str, tokens: list[str]) -> Answer | None:
        """A name only IANA knows, inside a question ("what port does gopher use", "xmpp client port")."""
        vocabulary = self.matcher.vocabulary
        pairs = [f"{a}-{b}" for a, b in itertools.pairwise(tokens)]
        for name in (*pairs, *tokens):
            if len(name) < _MIN_IANA_WORD or name in vocabulary or name.isdigit():
                continue
            rows = self.index.iana.rows_for_name(name)
            if rows:
                return self.iana_name(text, name, rows)
        return None

    def _facet(self, tokens: list[str]) -> Topic | None:
        """What a question asks about the service or port it names, from one telling word: safety, the
        protocol, forwarding. "Should I forward 3389" asks whether it is safe; "which ports should I forward"
        asks which."""
        present = set(tokens)
        asks_which = bool(present & {"which", "what", "whats", "how"})
        for topic_id, cues in _FACET_CUES:
            if present & cues:
                return self.index.topics_by_id.get(topic_id)
            if topic_id == _SAFETY and "should" in present and present & _DOING and not asks_which:
                return self.index.topics_by_id.get(topic_id)
        return None

    def _overview(self, tokens: list[str]) -> TopicScore | None:
        """ "Registered vs ephemeral": two port ranges compared are answered by the page on all of them."""
        found = {t.topic.id for t in self.matcher.ranked(tokens, 1)} & _RANGE_TOPICS
        overview = self.index.topics_by_id.get(_RANGES_OVERVIEW)
        if len(found) >= 2 and overview is not None:
            return TopicScore(overview, MIN_SCORE)
        return None

    def _services(self, ids: tuple[str, ...]) -> tuple[Service, ...]:
        return tuple(self.index.services_by_id[i] for i in ids)

    def _typo(self, text: str, tokens: list[str]) -> Answer:
        """Steps 4 to 6: a typo of the whole text, a typo of one word in it, else "did you mean"."""
        folded = " ".join(t for t in tokens if t not in _FILLER) or " ".join(tokens)
        key = fuzzy_best(folded, self._service_keys)
        if key is not None:
            return self.service(text, self.index.services_for(key))
        key = fuzzy_best(folded, self._topic_keys)
        topic = self.index.topic_for(key) if key is not None else None
        if topic is not None:
            return self.topic(text, topic)
        # One pass over the 7,000 IANA names serves both the typo fix and the suggestions.
        iana_query = text.casefold() if " " not in text else "-".join(tokens)
        near = fuzzy_top(
            iana_query, self.index.iana.names, limit=_MAX_SUGGESTIONS, cutoff=IANA_CUTOFF - 10, loose=False
        )
        if near and near[0][1] >= IANA_CUTOFF and len(iana_query) >= MIN_FUZZY_LENGTH:
            name = near[0][0]
            return self.iana_name(text, name, self.index.iana.rows_for_name(name))
        # The one-word keys are among the service keys ``folded`` was compared with above.
        services = self._services(
            find_misspelled_service(tokens, self.index, self.matcher.vocabulary, checked=folded)
        )
        if services:
            return self.service(text, services)
        return NotFound(text, self._did_you_mean(folded, [name for name, _ in near]))

    def _did_you_mean(self, folded: str, iana_names: list[str]) -> tuple[Suggestion, ...]:
        choices = self._suggestion_choices()
        picked: list[Suggestion] = []
        # Names the text starts with ("plexiglass" → plex), longest first, then near spellings. Cheaper than a
        # partial-match scorer over every alias and keyword, and just as useful here.
        starts = [folded[:n] for n in range(len(folded), 2, -1) if folded[:n] in choices]
        close = [key for key, _ in fuzzy_top(folded, self._choice_keys, limit=12, cutoff=65, loose=False)]
        for key in (*starts, *close):
            if choices[key] not in picked:
                picked.append(choices[key])
        picked += (Suggestion(name, name) for name in iana_names)
        return tuple(picked[:_MAX_SUGGESTIONS])

    def _suggestion_choices(self) -> dict[str, Suggestion]:
        """The autocomplete choices, by folded name: the same labels in "did you mean" as while typing."""
        if self._choices is None:
            from knowledge._suggest import build_choices

            self._choices = {}
            for choice in build_choices(self.index):
                self._choices.setdefault(choice.key, choice.suggestion)
            self._choice_keys = list(self._choices)
        return self._choices


def _shared_address(token: str) -> bool:
    """An IPv4 address in 100.64.0.0/10, the range providers use for CGNAT (RFC 6598)."""
    parts = token.split(".")
    if len(parts) != 4 or not all(p.isdigit() and len(p) <= 3 for p in parts):
        return False
    return parts[0] == "100" and 64 <= int(parts[1]) <= 127 and all(int(p) <= 255 for p in parts[2:])


def _in_keyword(number: str, topic: Topic, padded: str) -> bool:
    """True when ``number`` is a word of one of the topic's keywords that the question contains."""
    for keyword in topic.keywords:
        folded = f" {' '.join(words(keyword))} "
        if f" {number} " in folded and folded in padded:
            return True
    return False


def _placeholders(service: Service | None, port: tuple[int, str | None] | None) -> dict[str, str]:
    """Values for a guide's placeholders: the named service's ports, the asked-about port, or plain words."""
    if service is not None:
        forward = [p for p in service.ports if p.forward == "yes"]
        main = service.main_port
        game_port = str(port[0]) if port else (main.number if main else "your server's port")
        return {
            "{name}": service.name,
            "{ports}": ", ".join(p.label for p in service.ports),
            "{forward_ports}": ", ".join(p.label for p in forward) or "no ports (it needs none forwarded)",
            "{game_port}": game_port,
        }
    if port is not None:
        label = f"{port[0]}/{port[1]}" if port[1] else str(port[0])
        return {
            "{name}": "your server",
            "{ports}": label,
            "{forward_ports}": label,
            "{game_port}": str(port[0]),
        }
    return GENERIC
