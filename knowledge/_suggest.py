"""Autocomplete: what to offer while someone is still typing. Prefix matches only (plus a typo fix for longer
words), curated entries before IANA names, so each keystroke costs well under a millisecond.
"""

from __future__ import annotations

import bisect
from typing import NamedTuple

from knowledge._index import Index
from knowledge._match import MIN_FUZZY_LENGTH, fuzzy_top
from knowledge._ranges import RANGES
from knowledge._text import clean, fold
from knowledge.answers import Suggestion

MAX_LIMIT = 25  # Discord shows at most 25 choices
MAX_TEXT = 100  # and each label and value may hold at most 100 characters


class _Choice(NamedTuple):
    key: str  # folded text that is matched against the prefix
    suggestion: Suggestion


class _Tails:
    """Every choice key from each of its words on ("minecraft java edition", "java edition", "edition"),
    sorted, so a prefix finds whole keys and words inside them with two binary searches."""

    def __init__(self, choices: list[_Choice]) -> None:
        rows = sorted(
            (" ".join(words[start:]), start > 0, number)
            for number, choice in enumerate(choices)
            for words in [choice.key.split()]
            for start in range(len(words))
        )
        self._rows = rows
        self._tails = [tail for tail, _, _ in rows]

    def matching(self, folded: str) -> list[int]:
        """Choice numbers whose key, or a word in it, starts with ``folded``: whole-key matches first."""
        first = bisect.bisect_left(self._tails, folded)
        last = bisect.bisect_left(self._tails, folded + "\U0010ffff")
        return [number for _, number in sorted((inside, n) for _, inside, n in self._rows[first:last])]


class Suggester:
    """Suggestions over one index. The choice list is built on first use (a few hundred entries)."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._choices: list[_Choice] | None = None
        self._tails: _Tails | None = None

    def suggest(self, prefix: str, limit: int = MAX_LIMIT) -> list[Suggestion]:
        limit = max(0, min(limit, MAX_LIMIT))
        text = clean(prefix)[:MAX_TEXT]
        lowered = text.casefold()
        for lead in ("port ", "ports "):
            lowered = lowered.removeprefix(lead)
        lowered = lowered.strip().removesuffix("/tcp").removesuffix("/udp")
        if not limit:
            return []
        if not lowered:
            return list(dict.fromkeys(c.suggestion for c in self.choices))[:limit]
        if lowered.isascii() and lowered.isdigit():
            return self._ports(lowered, limit)
        return self._names(lowered, limit)

    @property
    def choices(self) -> list[_Choice]:
        if self._choices is None:
            self._choices = build_choices(self.index)
        return self._choices

    def _ports(self, digits: str, limit: int) -> list[Suggestion]:
        protocols: dict[
            int, dict[str, list[str]]
        ] = {}  # port → service name → "tcp", "udp", "26900-26902/udp"
        for service in self.index.services:
            for entry in service.ports:
                if str(entry.low).startswith(digits):
                    shown = entry.protocol if entry.low == entry.high else entry.label
                    protocols.setdefault(entry.low, {}).setdefault(service.name, []).append(shown)
        found = {
            port: [f"{name} ({', '.join(dict.fromkeys(shown))})" for name, shown in names.items()]
            for port, names in protocols.items()
        }
        # Curated ports first: typing "255" leads to 25565 far more often than to port 255.
        ordered = sorted(found, key=lambda p: (len(str(p)), p))
        typed = int(digits) if len(digits) <= 5 and not digits.startswith("0") else None
        if typed is not None and typed <= 65535 and typed not in found:
            ordered.append(typed)
        for port in self.index.iana.ports_with_prefix(digits):
            if len(ordered) >= limit:
                break
            if port not in ordered:
                ordered.append(port)
        return [self._port_suggestion(port, found.get(port, [])) for port in ordered[:limit]]

    def _port_suggestion(self, port: int, uses: list[str]) -> Suggestion:
        if uses:
            return Suggestion(_cut(f"{port} — {', '.join(dict.fromkeys(uses))}"), str(port))
        names = []
        for row in self.index.iana.rows_for_port(port):
            entry = self.index.iana.entry(row)
            names.append(entry.name or entry.description.lower())
        described = ", ".join(dict.fromkeys(names)) or "not registered"
        return Suggestion(_cut(f"{port} — IANA: {described}"), str(port))

    def _names(self, lowered: str, limit: int) -> list[Suggestion]:
        folded = fold(lowered)
        picked: dict[str, Suggestion] = {}
        if folded:
            if self._tails is None:
                self._tails = _Tails(self.choices)
            for number in self._tails.matching(folded):
                suggestion = self.choices[number].suggestion
                picked.setdefault(suggestion.value, suggestion)
        for name in self.index.iana.names_with_prefix(lowered):
            if len(picked) >= limit:
                break
            picked.setdefault(name, self._iana_suggestion(name))
        if not picked and len(folded) >= MIN_FUZZY_LENGTH:
            keyed = {c.key: c.suggestion for c in self.choices}
            for key, _ in fuzzy_top(folded, list(keyed), limit=limit, cutoff=75, loose=False):
                picked.setdefault(keyed[key].value, keyed[key])
        return list(picked.values())[:limit]

    def _iana_suggestion(self, name: str) -> Suggestion:
        entries = [self.index.iana.entry(row) for row in self.index.iana.rows_for_name(name)]
        shown = entries[0].name if entries else name
        where = ", ".join(
            dict.fromkeys(f"{e.ports}/{e.protocol}" if e.protocol else e.ports for e in entries if e.ports)
        )
        return Suggestion(
            _cut(f"{shown} — IANA {where}" if where else f"{shown} — IANA service name"), _cut(shown)
        )


def build_choices(index: Index) -> list[_Choice]:
    """Every name, alias, id, range term and topic keyword, folded, with the suggestion it stands for."""
    choices: list[_Choice] = []

    def add(key: str, suggestion: Suggestion) -> None:
        folded = fold(key)
        if folded:
            choices.append(_Choice(folded, suggestion))

    for service in index.services:
        main = service.main_port
        label = _cut(f"{service.name} — {main.label}" if main else service.name)
        suggestion = Suggestion(label, _cut(service.id))
        for key in (service.name, service.id, *service.aliases):
            add(key, suggestion)
    for block in RANGES:
        suggestion = Suggestion(_cut(f"{block.name} ({block.label})"), block.terms[0])
        for key in (block.name, *block.terms):
            add(key, suggestion)
    for topic in index.topics:
        suggestion = Suggestion(_cut(topic.plain_title), _cut(topic.id))
        for key in (topic.plain_title, topic.id, *topic.keywords):
            add(key, suggestion)
    return choices


def _cut(text: str) -> str:
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"
