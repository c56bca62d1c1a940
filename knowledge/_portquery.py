"""Recognising a query that is a port number: ``25565``, ``443/tcp``, ``udp 53``, ``port 8080`` — and the
number-like inputs that are not valid ports (``65536``, ``-1``, ``1e3``, ``0x50``), which get a clear message
instead of a search.
"""

from __future__ import annotations

import re
from typing import NamedTuple

PROTOCOLS = ("tcp", "udp", "sctp", "dccp")
VALID_RANGE = "Port numbers run 1–65535 (0 is reserved)."

_PREFIX = re.compile(r"^ports?\b\s*(?:number\b)?\s*[:#]?\s*")
_SPLIT = re.compile(r"[\s/:]+")
# Only text that is not a plain number reaches these: compiled on first use (re caches them), not at start-up.
_NUMBERISH = r"[+\-−]?(?:0[xob][0-9a-f_]*|[0-9][0-9_,.']*(?:e[+-]?[0-9]*)?|\.[0-9]+)"
_NUMBER_RANGE = r"[0-9]+\s*[-–]\s*[0-9]+"
_IPV4 = r"[0-9]{1,3}(?:\.[0-9]{1,3}){3}"


class PortQuery(NamedTuple):
    port: int
    protocol: str | None


class BadPort(NamedTuple):
    message: str


def parse_port_query(text: str) -> PortQuery | BadPort | None:
    """A port query, a number-like input that is no valid port, or None when the text is something else."""
    lowered = _PREFIX.sub("", text.casefold().strip())
    parts = [p for p in _SPLIT.split(lowered) if p]
    protocols = [p for p in parts if p in PROTOCOLS]
    rest = [p for p in parts if p not in PROTOCOLS]
    if len(rest) != 1 or len(protocols) > 1:
        return None
    value = rest[0].rstrip("?.!")
    if value.isascii() and value.isdigit():
        if len(value) > 5 or int(value) > 65535:
            return BadPort(f"There is no port {value[:12]}{'…' if len(value) > 12 else ''}. {VALID_RANGE}")
        return PortQuery(int(value), protocols[0] if protocols else None)
    if re.fullmatch(_NUMBER_RANGE, value):
        return BadPort(f"Ask about one port at a time, like {value.split('-')[0].strip()}. {VALID_RANGE}")
    if re.fullmatch(_IPV4, value):
        return BadPort(
            f"That looks like an IP address, not a port. Ask about a port number, like 8080. {VALID_RANGE}"
        )
    if value[:1] in "-−" and re.fullmatch(_NUMBERISH, value):
        return BadPort(f"Port numbers are never negative. {VALID_RANGE}")
    if re.fullmatch(_NUMBERISH, value):
        return BadPort(f"Write the port as a plain whole number, like 8080. {VALID_RANGE}")
    return None
