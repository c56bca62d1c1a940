"""Parse the text after ``/port`` into an intent. Pure string work: no I/O, never raises.

25565 | minecraft | what is cgnat          -> Lookup
check example.com 25565 [udp]             -> Check
check example.com 2456 valheim            -> Check (a game or app named: the core picks its protocols)
check example.com:25565 / https://host    -> Check (port taken from the target)
is 443 open on example.com                -> Check
is example.com:443 open / reachable       -> Check
check | check my server 25565             -> SelfCheck (no host: a one-time link checks the asker's own)
can my friends reach my server on 2456    -> SelfCheck
help | (nothing)                          -> Help
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

MAX_INPUT = 500  # longer text is cut before parsing; nobody types a 500-character port question

ProtocolChoice = Literal["auto", "tcp", "udp"]
#: What a check may cover: one protocol, the engine's choice, or both (a TCP+UDP entry's button).
CheckProtocol = Literal["auto", "tcp", "udp", "both"]


@dataclass(frozen=True, slots=True)
class Lookup:
    """A knowledge question: a port, a name, a range or free text."""

    query: str


@dataclass(frozen=True, slots=True)
class Check:
    """A reachability check of ``ports`` on ``target`` (no ports: take the one written in the target).

    ``game`` is what the user named after the ports ("valheim"), as typed; ``hint`` a curated service id
    the core already matched (buttons carry one). Both say which protocols and packets fit the port."""

    target: str
    ports: tuple[int, ...]
    protocol: CheckProtocol = "auto"
    game: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class SelfCheck:
    """Check the asker's own server: no host, the worker sees it when they open a one-time link.

    ``game`` is what the user named ("valheim"), as typed; ``hint`` a curated service id (buttons carry one)."""

    ports: tuple[int, ...] = ()
    protocol: ProtocolChoice = "auto"
    game: str | None = None
    hint: str | None = None


@dataclass(frozen=True, slots=True)
class Help:
    """Nothing asked, or a plea for help: show what can be asked."""


@dataclass(frozen=True, slots=True)
class Invalid:
    """Text we cannot act on; ``message`` says why and ``hint`` what to type instead."""

    message: str
    hint: str | None = None


Intent = Lookup | Check | SelfCheck | Help | Invalid

_CHECK_VERBS = {"check", "probe", "test"}
_HELP_WORDS = {"help", "?", "-h", "--help", "commands", "usage"}
_PROTOCOLS = {"tcp", "udp"}
# A game or app name ("valheim", "7daystodie"): two letters or more; "8o" stays a mistyped port.
_GAME_WORD = r"^(?=(?:[^a-z]*[a-z]){2})[\w'’:+-]+$"  # with re.IGNORECASE
# The patterns below are compiled on first use (re caches them): most questions never need them, and
# compiling all of them would be a noticeable part of `portbot ask`'s start.
_PORT_WORD = r"^(?:port\s*)?(-?\d+)(?:/(tcp|udp))?$"  # with re.IGNORECASE
_RANGE_WORD = r"^\d+\s*[-–]\s*\d+$"
# "is 443 open on example.com", "is port 443 reachable on example.com?"
_IS_PORT_OPEN_ON = (
    r"^(?:(?:is|are)\s+(?:ports?\s+)?(?P<ports>[\d,\s/a-z]+?)\s+(?:open|reachable|up|forwarded|accessible)"
    r"|can\s+(?:\S+\s+){0,3}reach\s+(?:ports?\s+)?(?P<ports2>[\d,\s/a-z]+?))"
    r"\s+(?:on|at|for)\s+(?P<target>\S+?)[?.!]*$"
)  # with re.IGNORECASE
# "is example.com:443 open?", "is example.com port 443 open"
# "check my server 25565", "test my own valheim server", "can my friends reach my server on 2456"
_MY_SERVER = (
    r"^(?:(?:check|test|probe)\s+(?:if\s+|whether\s+)?"
    r"|can\s+(?:my\s+)?(?:friends|people|players|others|anyone|everyone)\s+(?:reach|join|connect\s+to|see)\s+)"
    r"my\s+(?:own\s+)?(?:(?P<game>[\w'’:+-]+)\s+)?server\b(?P<rest>.*)$"
)  # with re.IGNORECASE
_IS_TARGET_OPEN = (
    r"^(?:is|are)\s+(?P<target>\S+?)(?:\s+(?:port\s+)?(?P<ports>\d+(?:/(?:tcp|udp))?))?\s+"
    r"(?:open|reachable|up|forwarded|accessible)[?.!]*$"
)  # with re.IGNORECASE


def clean(text: str) -> str:
    """Drop control and format characters, fold whitespace, cut to MAX_INPUT."""
    text = text[: MAX_INPUT * 4]
    kept = "".join(" " if unicodedata.category(ch)[0] in "CZ" else ch for ch in text)
    return " ".join(kept.split())[:MAX_INPUT]


@lru_cache(maxsize=1024)  # adapters ask "is it a probe?" and then handle the same text; intents are frozen
def parse(text: str) -> Intent:
    """Turn ``/port`` text into an intent."""
    text = clean(text)
    if text.startswith("/port"):
        text = text[len("/port") :].strip()
    if not text or text.lower() in _HELP_WORDS:
        return Help()

    words = text.split()
    verb = words[0].lower()
    if (
        verb in _CHECK_VERBS
        and len(words) >= 2
        and (_looks_like_host(words[1]) or (len(words) > 2 and re.match(_PORT_WORD, words[2], re.IGNORECASE)))
    ):
        return check_args(words[1], words[2:])
    if (mine := _self_check(words, text)) is not None:  # a check with no host: the asker's own server
        return mine
    if verb == "scan":
        return _no_ranges()

    if len(words[0]) > 3:  # both patterns begin with "is", "are" or "can" and a space
        return Lookup(text)
    if match := re.match(_IS_PORT_OPEN_ON, text, re.IGNORECASE):
        ports = match["ports"] or match["ports2"] or ""
        return check_args(match["target"], ports.replace(",", " ").split())
    if (match := re.match(_IS_TARGET_OPEN, text, re.IGNORECASE)) and _looks_like_host(match["target"]):
        return check_args(match["target"], (match["ports"] or "").split())
    return Lookup(text)


def _self_check(words: list[str], text: str) -> Intent | None:
    """``check`` with no host: the asker's own server, or None when the text is something else."""
    if words[0].lower() not in _CHECK_VERBS and words[0].lower() != "can":
        return None
    rest: list[str]
    game: str | None = None
    if match := re.match(_MY_SERVER, text, re.IGNORECASE):
        rest = match["rest"].split()
        word = match["game"]
        game = word if word and word.lower() not in {"own", "game"} else None
    elif words[0].lower() in _CHECK_VERBS and all(
        re.match(_PORT_WORD, w, re.IGNORECASE) or w.lower() in _PROTOCOLS for w in words[1:]
    ):
        rest = words[1:]  # "check" or "check 25565 udp": no host named
    else:
        return None
    parsed = check_args("", rest)
    if not isinstance(parsed, Check):
        return parsed
    named = " ".join(filter(None, (game, parsed.game)))[:60] or None
    protocol: ProtocolChoice = "auto" if parsed.protocol == "both" else parsed.protocol
    return SelfCheck(ports=parsed.ports, protocol=protocol, game=named)


def _looks_like_host(token: str) -> bool:
    """A dotted name, an address literal, a bracketed IPv6 address or a URL; not a bare port number."""
    token = token.strip("?.!")
    if token.isdigit():
        return False
    return "." in token or ":" in token or token.startswith("[")


def check_args(target: str, rest: list[str] | tuple[str, ...]) -> Intent:
    """A probe request from a target and the words after it (ports, "tcp"/"udp", a game's name). Never raises."""
    target = target.strip("?!,;")
    if re.match(_RANGE_WORD, target):
        return _no_ranges()
    ports: list[int] = []
    protocol: ProtocolChoice = "auto"
    game: list[str] = []
    for raw in rest:
        token = raw.strip(",;?!.")
        low = token.lower()
        if not token or low in {"port", "ports", "on", "at", "and", "is", "open"}:
            continue
        if low in _PROTOCOLS:
            protocol = "tcp" if low == "tcp" else "udp"
            continue
        if re.match(_RANGE_WORD, token):
            return _no_ranges()
        if re.match(_GAME_WORD, token, re.IGNORECASE) and not re.match(_PORT_WORD, token, re.IGNORECASE):
            game.append(token)
            continue
        for piece in filter(None, token.split(",")):
            match = re.match(_PORT_WORD, piece, re.IGNORECASE)
            if not match:
                return Invalid(
                    f"I couldn't read `{piece[:40]}` as a port number.",
                    hint="Ports are whole numbers from 1 to 65535, e.g. `check example.com 25565`.",
                )
            number = int(match[1])
            if match[2]:
                protocol = "tcp" if match[2].lower() == "tcp" else "udp"
            if not 1 <= number <= 65535:
                return Invalid(
                    f"{number} is not a port I can check: ports go from 1 to 65535.",
                    hint="Try e.g. `check example.com 25565`.",
                )
            if number not in ports:
                ports.append(number)
    return Check(target=target, ports=tuple(ports), protocol=protocol, game=" ".join(game)[:60] or None)


def _no_ranges() -> Invalid:
    return Invalid(
        "I check one host and a few ports at a time, never ranges: that would be a port scan.",
        hint="Name the ports your server uses, e.g. `check example.com 2456 2457 udp`.",
    )
