"""Find the server a chat message names: ``mc.example.com:25565``, ``[2001:db8::7]:25565``, ``host 25565``,
``IP: 203.0.113.7 Port: 25565`` or a URL (its scheme implies the port).

Used by the "Check this server" message command. Pure string work on top of :func:`probes.targets.parse_target`;
never raises. Messages are chat, not input fields, so it is stricter than ``parse_target`` about what counts
as a host: dotted quads or IPv6 for addresses (``1.20.4`` is a version, not ``1.20.0.4``), and names with an
alphabetic top-level domain (``e.g.`` is not a server).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from probes.errors import InputError
from probes.targets import Target, parse_target

# A message holds at most 4,000 characters and its embeds 6,000 more: every word of the longest one is read.
_MAX_TOKENS = 5_000
# Markdown and punctuation that wrap a host in chat: `code`, **bold**, <no-embed links>, (parentheses), quotes.
_EDGE = "`*_~|<>(){}\"'“”‘’«»,;!?"
_TRAIL = _EDGE + "."
_QUAD = re.compile(r"^\d{1,3}(?:\.\d{1,3}){3}$")
_TLD = re.compile(r"^[^\W\d_]{2,63}$|^xn--[a-z0-9-]{1,59}$")
# Words people put between a host and its port: "host port 25565", "host on port 25565", "IP: x Port: y".
_FILLER = {"port", "port:", "ports", "on", ":", "-", "–", "—", "/"}
_MAX_CANDIDATES = 64
# A dot before two letters or a digit, a colon, or a bracket: what any host, address or URL holds somewhere.
_MAYBE_HOST = re.compile(r"\.(?:[^\W\d_]{2}|\d)|[:\[]")
_LEADS = ("ip:", "ip=", "host:", "address:", "server:")  # "IP:203.0.113.7", "server:mc.example.com:25565"
_PORT = re.compile(r"^(?:port:?)?([0-9]{1,5})$", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Found:
    """A server named in a message; ``port`` is None when the message gives none."""

    host: str  # what /portcheck's host option would take: a name (A-label) or a canonical address
    port: int | None


def find_server(text: str) -> Found | None:
    """The first server named in ``text``, with its port if one is given (a later one with a port wins)."""
    tokens = text.split()[:_MAX_TOKENS]
    without_port: Found | None = None
    candidates = 0
    for index, raw in enumerate(tokens):
        if not _MAYBE_HOST.search(raw):  # most words: no host can hide in them (one C-level scan)
            continue
        candidates += 1
        if candidates > _MAX_CANDIDATES:  # a wall of dotted words is no server post; bound the parsing
            break
        token = _unwrap(raw)
        target = _target(token)
        if target is None:
            continue
        port = target.port if target.port is not None else _port_after(tokens, index)
        found = Found(target.host, port)
        if port is not None:
            return found
        without_port = without_port or found
    return without_port


def _unwrap(token: str) -> str:
    token = token.strip(_EDGE)
    if token.startswith("[") and "]" not in token:
        token = token[1:]
    token = token.rstrip(_TRAIL)
    # "[mc.example.com]" (a Markdown link's text) but not "[2001:db8::7]:25565"
    if token.startswith("[") and token.endswith("]") and ":" not in token:
        token = token[1:-1]
    lowered = token.lower()
    for lead in _LEADS:
        if lowered.startswith(lead) and len(token) > len(lead):
            return token[len(lead) :]
    return token


def _target(token: str) -> Target | None:
    if not ("." in token or ":" in token) or not _plausible(token):
        return None
    try:
        target = parse_target(token)
    except InputError:
        return None
    if target.address is not None:
        plain = target.address.version == 6 or _QUAD.match(_host_part(token))
        return target if plain else None
    tld = target.host.rsplit(".", 1)[-1] if "." in target.host else ""
    return target if _TLD.match(tld) else None


def _plausible(token: str) -> bool:
    """A cheap look at the last label before the full parse: most words with a dot are not hosts, and a
    4,000-character message of them would otherwise cost ~12 ms of parsing on the event loop."""
    if "://" in token or token.startswith("[") or token.count(":") >= 2:
        return True
    last = _host_part(token).rsplit(".", 1)[-1].lower()
    return last.isdigit() or bool(_TLD.match(last)) or last.startswith("xn--")


def _host_part(token: str) -> str:
    if "://" in token:
        token = re.split(r"[/?#]", token.split("://", 1)[1], maxsplit=1)[0].rsplit("@", 1)[-1]
    return token.rsplit(":", 1)[0] if token.count(":") == 1 else token


def _port_after(tokens: list[str], index: int) -> int | None:
    """A port number within the next three words, past filler such as "port" or "on port"."""
    for raw in tokens[index + 1 : index + 4]:
        word = raw.strip(_TRAIL).lower()
        if word in _FILLER:
            continue
        match = _PORT.match(word)
        if match and 1 <= int(match[1]) <= 65535:
            return int(match[1])
        return None
    return None
