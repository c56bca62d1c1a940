"""Turn what a person typed ("mc.example.com:25565", "https://example.com", "[2001:db8::7]:443", "münchen.de")
into one :class:`Target`: a normalised host name or an address literal, plus the port it named, if any.

Address literals are recognised by :func:`probes.policy.parse_ip_literal`, so every spelling a socket would
accept (``2130706433``, ``0x7f.1``, ``127.1``, ...) becomes the address it really means and meets the safety
policy as such. Names are lower-cased, lose their trailing dot and become IDNA A-labels (``xn--...``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from probes.errors import InputError
from probes.policy import IPAddress, parse_ip_literal

#: URL schemes we accept, with the port each one implies. Anything else (``minecraft://``, ``file://``)
#: is refused: guessing a port for a scheme we don't know would check the wrong thing.
SCHEME_PORTS: dict[str, int] = {"http": 80, "https": 443, "ws": 80, "wss": 443, "ftp": 21, "ssh": 22}

_MAX_INPUT = 300
_MAX_NAME = 253
# Underscores are not valid in host names, but DNS allows them and some hosts carry them in practice.
_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_DIGITS = re.compile(r"^[0-9]+$")

_EXAMPLES = "e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`"
_HOST_HINT = (
    "A server name looks like `mc.example.com`; an address looks like `203.0.113.7` or `2001:db8::7`. "
    "Put a port after a colon: `mc.example.com:25565`, or `[2001:db8::7]:25565` for IPv6."
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where to probe. ``host`` is the A-label name or the canonical address text."""

    host: str
    address: IPAddress | None = None  # set when the user gave an address rather than a name
    port: int | None = None  # from ``host:port`` or implied by a URL's scheme
    scheme: str | None = None  # "http", "https", ... when given as a URL

    @property
    def is_address(self) -> bool:
        return self.address is not None


def parse_target(text: str) -> Target:
    """Parse one target as a person would type it. Raises :class:`InputError` with a friendly sentence."""
    raw = text.strip()
    if not raw:
        raise InputError(f"Tell me which server to check, {_EXAMPLES}.")
    if len(raw) > _MAX_INPUT:
        raise InputError("That's far too long to be a server name or address.", hint=_HOST_HINT)
    if any(ch.isspace() or not ch.isprintable() for ch in raw):
        raise InputError(
            f"{_quote(raw)} has a space or an invisible character in it; give me one server name or address.",
            hint=_HOST_HINT,
        )

    scheme: str | None = None
    rest = raw
    if "://" in raw:
        scheme, rest = raw.split("://", 1)
        scheme = scheme.lower()
        if scheme not in SCHEME_PORTS:
            raise InputError(
                f"I can't check `{_clip(scheme)}://` links. Give me the server's name or address instead, "
                f"{_EXAMPLES}.",
                hint=_HOST_HINT,
            )
        rest = re.split(r"[/?#]", rest, maxsplit=1)[0]
        rest = rest.rsplit("@", 1)[-1]  # user:password@ is never needed to probe, and never echoed back
    else:
        if rest.endswith("/"):
            rest = rest[:-1]
        if "/" in rest or "\\" in rest:
            raise InputError(
                f"{_quote(raw)} looks like a path or a network range. I check one server at a time: "
                f"give me its name or address, {_EXAMPLES}.",
                hint=_HOST_HINT,
            )
    if not rest:
        raise InputError(f"{_quote(raw)} has no server name in it; {_EXAMPLES}.", hint=_HOST_HINT)

    host, port_text, bracketed = _split_host_port(rest, raw)
    port = _parse_port(port_text) if port_text is not None else None
    if port is None and scheme is not None:
        port = SCHEME_PORTS[scheme]

    address = parse_ip_literal(host)
    if bracketed and (address is None or address.version != 6):
        raise InputError(f"{_quote(raw)}: square brackets are only for IPv6 addresses.", hint=_HOST_HINT)
    if address is not None:
        return Target(host=str(address), address=address, port=port, scheme=scheme)
    return Target(host=_normalise_name(host, raw), port=port, scheme=scheme)


def _split_host_port(text: str, raw: str) -> tuple[str, str | None, bool]:
    """(host, port text or None, whether the host was in brackets)."""
    if text.startswith("["):
        end = text.find("]")
        if end < 0:
            raise InputError(f"{_quote(raw)} opens a `[` but never closes it.", hint=_HOST_HINT)
        host, after = text[1:end], text[end + 1 :]
        if not after:
            return host, None, True
        if not after.startswith(":"):
            raise InputError(f"{_quote(raw)} has something odd after the `]`.", hint=_HOST_HINT)
        return host, after[1:], True
    if text.count(":") >= 2:
        # Only an IPv6 address has several colons; it can't carry a port without brackets.
        if parse_ip_literal(text) is None:
            raise InputError(
                f"{_quote(raw)} is not a valid IPv6 address. To add a port to one, write `[2001:db8::7]:25565`.",
                hint=_HOST_HINT,
            )
        return text, None, False
    if ":" in text:
        host, port_text = text.split(":", 1)
        return host, port_text, False
    return text, None, False


def _parse_port(text: str) -> int:
    if not _DIGITS.match(text) or not 1 <= int(text) <= 65535:
        raise InputError(
            f"{_quote(text) if text else 'An empty port'} is not a port: ports go from 1 to 65535."
        )
    return int(text)


def _normalise_name(host: str, raw: str) -> str:
    name = host.lower()
    if name.endswith("."):
        name = name[:-1]  # the DNS root; "example.com." and "example.com" are the same name
    if not name:
        raise InputError(f"{_quote(raw)} has no server name in it; {_EXAMPLES}.", hint=_HOST_HINT)
    if not name.isascii():
        import idna  # ~13 ms, and only internationalised names need it: not on an address's `portbot probe`

        try:
            name = idna.encode(name, uts46=True).decode("ascii")
        except (idna.IDNAError, UnicodeError):
            raise InputError(f"{_quote(raw)} is not a valid server name.", hint=_HOST_HINT) from None
    labels = name.split(".")
    if len(name) > _MAX_NAME or not all(_LABEL.match(label) for label in labels):
        raise InputError(f"{_quote(raw)} is not a valid server name.", hint=_HOST_HINT)
    if _DIGITS.match(labels[-1]):
        # No top-level domain is all digits: this is a mistyped address such as "203.0.113.7.5".
        raise InputError(f"{_quote(raw)} is neither an IP address nor a server name.", hint=_HOST_HINT)
    return name


def _clip(text: str, limit: int = 60) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text).replace("`", "'")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _quote(text: str) -> str:
    return f"`{_clip(text)}`"
