"""Who may see a reply: the one rule every chat adapter (Discord, Slack) applies, so none of them can drift.

A reply is shown only to the person who asked when it may hold someone's address:

* every probe result and every error (mistakes are only the asker's business);
* any reply to text that holds an IP address in any spelling a socket accepts (dotted, decimal, hex, octal,
  IPv6, bracketed, with a port, inside a URL) or a host name (``mc.example.com``, ``play.server.net:25565``,
  ``https://foo.bar/x``), whatever the reply says, "no match" included: Slack echoes the typed command and a
  "no match" quotes the text;
* everything, when a server's admins made knowledge answers private.

Only a knowledge answer to address-free text may be public. Settings can make answers more private, never
less. The detector errs towards private: ``node.js`` or ``1.20`` count as names/addresses (``1.20`` *is*
1.0.0.20 to a socket); bare numbers up to 65535 are ports, since as addresses they are 0.0.x.y, which no
one on the internet has.

Pure string work (re, unicodedata, ipaddress via :func:`probes.policy.parse_ip_literal`): light enough for any
adapter, and `portbot ask` never imports it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol

from bot.core import intents
from bot.core.reply import Status
from probes.policy import IPAddress, parse_ip_literal

if TYPE_CHECKING:
    from bot.core.reply import Reply

__all__ = ["DEFAULTS", "Defaults", "Preferences", "decide", "holds_address"]

#: Text longer than this is private without a scan: no port question is that long, and it bounds the work.
SCAN_MAX = 20_000
_PORT_MAX = 0xFFFF  # a bare integer up to here is a port: as an address it would be 0.0.x.y (0.0.0.0/8)


class Preferences(Protocol):
    """A server's or workspace's choice; Discord's GuildSettings satisfies it."""

    @property
    def knowledge_private(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Defaults:
    """Where no one chose otherwise: knowledge answers public, everything else private."""

    knowledge_private: bool = False


DEFAULTS = Defaults()


def decide(
    text: str, reply: Reply | None = None, settings: Preferences = DEFAULTS, *, probe: bool = False
) -> bool:
    """True when the answer to ``text`` must be shown only to whoever typed it.

    ``reply`` is None before the answer exists (a Slack ack, a Discord defer): then only an address-free
    knowledge question may be public. ``probe`` says ``text`` is a host to check (``/portcheck``, a modal).
    """
    if probe or settings.knowledge_private or holds_address(text):
        return True
    if reply is None:
        return not isinstance(intents.parse(text), intents.Lookup)
    return reply.kind != "knowledge" or reply.status is Status.ERROR or reply.private or bool(reply.sensitive)


# -- detection --------------------------------------------------------------------------------------------------

# Dots a reader takes for "." that NFKC leaves alone, and the usual ways of "defanging" an address.
_DOTS = str.maketrans({"\u3002": ".", "\uff61": ".", "\u2024": ".", "\u2e33": "."})
_DEFANGED = re.compile(r"\s*(?:\[\.\]|\(\.\)|\{\.\}|\[dot\]|\(dot\))\s*", re.IGNORECASE)
# Runs of dotted labels ("mc.example.com", "203.0.113.7", "0x7f.1"), unicode labels included.
_DOTTED = re.compile(r"(?<![\w-])[\w-]++(?:\.[\w-]++)+")
# Four groups of digits (any script) with dots, spaces allowed around the dots: "203 . 0 . 113 . 7", "v1.2.3.4".
_QUAD = re.compile(r"\d{1,3}(?:\s*+\.\s*+\d{1,3}){3}")
# Runs that may be IPv6: hex digits, colons, dots (for an IPv4 tail).
_HEXCOLON = re.compile(r"[0-9A-Fa-f:.]+")
# A whole-word integer: decimal, octal or hex ("2130706433", "017700000001", "0x7f000001"), a full stop
# after it allowed.
_INTEGER = re.compile(r"(?<!\w)(?<!\w\.)(?:0[xX][0-9A-Fa-f]++|[0-9]++)(?!\w|\.\w)")
# A one-label host with a port: "myserver:25565", "localhost:8080".
_LABEL_PORT = re.compile(r"(?<![\w.-])[^\W\d_][\w-]*+:[0-9]{1,5}(?![\w.])")
_HEX_GROUP = re.compile(r"^[0-9A-Fa-f]{1,4}$")


@lru_cache(maxsize=1024)  # adapters ask about the same text when acking and when answering
def holds_address(text: str) -> bool:
    """Whether ``text`` holds something that may be an IP address or a host name, in any spelling."""
    if len(text) > SCAN_MAX:
        return True
    text = _normalise(text)
    if "://" in text:
        return True  # a URL always names a host
    if any(_quad_is_address(m.group()) for m in _QUAD.finditer(text)):
        return True
    if any(_dotted_is_host(m.group()) for m in _DOTTED.finditer(text)):
        return True
    if any(_may_be_ipv6(m.group()) for m in _HEXCOLON.finditer(text) if m.group().count(":") >= 2):
        return True
    if _LABEL_PORT.search(text):
        return True
    return any(_beyond_ports(_literal(m.group())) for m in _INTEGER.finditer(text))


def _normalise(text: str) -> str:
    """What a reader sees: full-width forms folded (NFKC), invisible characters gone, defanged dots restored."""
    text = unicodedata.normalize("NFKC", text).translate(_DOTS)
    # Format characters (zero-width space, soft hyphen, ...) are invisible: "203.0.113\u200b.7" reads as one
    # address. Control characters separate words.
    text = "".join(
        "" if (cat := unicodedata.category(ch)) == "Cf" else " " if cat[0] == "C" else ch for ch in text
    )
    return _DEFANGED.sub(".", text)


def _literal(text: str) -> IPAddress | None:
    try:
        return parse_ip_literal(text)
    except ValueError:  # a part too long for int(): no address has it
        return None


def _quad_is_address(quad: str) -> bool:
    # In ASCII digits, without the spaces: "２０３ . ０ . １１３ . ７" and "٢٠٣.٠.١١٣.٧" read as 203.0.113.7.
    ascii_quad = "".join(ch if ch == "." else str(unicodedata.decimal(ch)) for ch in quad if not ch.isspace())
    return _beyond_ports(_literal(ascii_quad))


def _beyond_ports(address: IPAddress | None) -> bool:
    return address is not None and (address.version == 6 or int(address) > _PORT_MAX)


def _dotted_is_host(run: str) -> bool:
    """A dotted run is an IPv4 spelling, or a name whose last label could be a top-level domain."""
    run = run.strip("-_")
    if _beyond_ports(_literal(run)):
        return True
    labels = [label for label in run.split(".") if label]
    if len(labels) < 2:
        return False
    last = labels[-1]
    # No top-level domain is one character or all digits: "e.g", "v1.2" and "python3.11" are not names.
    return len(last) >= 2 and any(ch.isalpha() for ch in last)


def _may_be_ipv6(run: str) -> bool:
    """An IPv6 address, or something close enough (a typo, a port glued on) that a reader sees one."""
    run = run.strip(".")
    if run.startswith(":") and not run.startswith("::"):
        run = run[1:]  # "host:2001:db8::7" leaves ":2001:db8::7"
    if run.endswith(":") and not run.endswith("::"):
        run = run[:-1]
    if _beyond_ports(_literal(run)):
        return True
    if "::" not in run and run.count(":") < 3:
        return False  # "10:30:00" is a time
    groups = run.split(":")
    *head, tail = groups
    tail_ok = not tail or bool(_HEX_GROUP.match(tail)) or tail.isdigit() or "." in tail
    return tail_ok and all(not g or _HEX_GROUP.match(g) for g in head)
