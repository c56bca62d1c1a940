"""The safety policy: which addresses a probe may be aimed at, and how many ports at once.

Portbot only ever probes public internet addresses. Everything else (LAN, loopback, link-local, cloud metadata,
CGNAT, multicast, documentation and reserved ranges, and IPv6 forms that wrap one of those IPv4 addresses) is
refused with a :class:`~probes.errors.RefusedTarget` that explains, in plain words, why and what to do instead.

Public surface, stable for the rest of the code base:

- ``parse_ip_literal(host) -> IPv4Address | IPv6Address | None``: recognise every textual form an address can
  take (inet_aton forms such as ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``; trailing dots; ``[v6]``;
  zone ids; mixed case), or None when ``host`` is a name.
- ``SafetyPolicy(allow=..., deny=...)``: ``check_address(ip)`` raises RefusedTarget for anything not safe to
  probe; ``check_ports(ports)`` raises InputError for too many ports or out-of-range ones.
  ``SafetyPolicy.from_strings(allow=..., deny=...)`` builds one from operator settings
  (``PORTBOT_ALLOW_NETWORKS`` / ``PORTBOT_DENY_NETWORKS``). The deny list always wins over the allow list.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from probes.errors import InputError, RefusedTarget

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PORTS_PER_REQUEST = 5
ALLOW_VARIABLE = "PORTBOT_ALLOW_NETWORKS"
DENY_VARIABLE = "PORTBOT_DENY_NETWORKS"

_PUBLIC_ADDRESS_HINT = (
    "Your public address is the one your router's status page lists as its WAN or Internet address, or what "
    "a “what is my IP” website shows when you open it on the server's network. Check that address instead."
)


@dataclass(frozen=True, slots=True)
class _Rule:
    category: str
    message: str  # ``{ip}`` is replaced by the address
    hint: str | None = None


_PRIVATE = _Rule(
    "private",
    "{ip} is a LAN (private) address, only reachable inside your home network; check your PUBLIC address "
    "instead.",
    _PUBLIC_ADDRESS_HINT,
)
_LOOPBACK = _Rule(
    "loopback",
    "{ip} is a loopback address: that's the bot's own machine, not your server.",
    "Give me your server's public address or host name instead.",
)
_METADATA = _Rule(
    "cloud-metadata",
    "{ip} is the cloud metadata service, which hands out a cloud machine's credentials. I never probe it.",
    None,
)
_LINK_LOCAL = _Rule(
    "link-local",
    "{ip} is a link-local address: it only works on one local network segment, never across the internet.",
    _PUBLIC_ADDRESS_HINT,
)
_CGNAT = _Rule(
    "cgnat",
    "{ip} is a carrier-grade NAT (CGNAT) address: your internet provider shares one public address among "
    "many customers, so nobody on the internet can reach this one directly.",
    "Port forwarding on your own router can't get through your provider's NAT. Ask your provider for a "
    "public IPv4 address (often sold as a “static” or “dedicated” IP), use IPv6 if you have it, or host "
    "the server somewhere with a public address (a VPS, or a tunnel service).",
)
_MULTICAST = _Rule(
    "multicast",
    "{ip} is a multicast address: it names a group of listeners, not one server, so there's nothing to check.",
    "Give me the address of the server itself.",
)
_BROADCAST = _Rule(
    "broadcast",
    "{ip} is the broadcast address (“everyone on this network”), not a server.",
    "Give me the address of the server itself.",
)
_UNSPECIFIED = _Rule(
    "unspecified",
    "{ip} means “no particular address”: servers listen on it to accept connections on every interface, "
    "but it can't be a target.",
    _PUBLIC_ADDRESS_HINT,
)
_RESERVED = _Rule(
    "reserved",
    "{ip} is in a reserved range that isn't used on the public internet.",
    "Double-check the address: give me your server's public address or host name.",
)
_DOCUMENTATION = _Rule(
    "documentation",
    "{ip} is from a range set aside for documentation: that's an example address, not a real server.",
    "Use your server's real public address or host name.",
)
_BENCHMARKING = _Rule(
    "benchmarking",
    "{ip} is in the range set aside for network benchmarking labs; it isn't used on the internet.",
    "Use your server's real public address or host name.",
)
_UNIQUE_LOCAL = _Rule(
    "private",
    "{ip} is an IPv6 unique local address (the IPv6 kind of LAN address), only reachable inside your own "
    "network; check your PUBLIC address instead.",
    "Your server's public IPv6 address usually starts with 2 or 3; `ip -6 addr` (Linux) or `ipconfig` "
    "(Windows) lists it as a global address.",
)
_SITE_LOCAL = _Rule(
    "site-local",
    "{ip} is an old-style IPv6 site-local address (no longer used) that never worked across the internet.",
    _PUBLIC_ADDRESS_HINT,
)
_DENIED = _Rule(
    "denied",
    "{ip} is on this bot's deny list, so I won't probe it.",
    "The people who run this bot chose to block it. Ask them if you think that's a mistake.",
)


def _table(*rows: tuple[str, _Rule]) -> tuple[tuple[IPNetwork, _Rule], ...]:
    return tuple((ipaddress.ip_network(net), rule) for net, rule in rows)


# First match wins, so the narrow rows (metadata, broadcast, unspecified) sit above the ranges holding them.
_IPV4_RULES = _table(
    ("169.254.169.254/32", _METADATA),
    ("0.0.0.0/32", _UNSPECIFIED),
    ("255.255.255.255/32", _BROADCAST),
    ("10.0.0.0/8", _PRIVATE),
    ("172.16.0.0/12", _PRIVATE),
    ("192.168.0.0/16", _PRIVATE),
    ("127.0.0.0/8", _LOOPBACK),
    ("169.254.0.0/16", _LINK_LOCAL),
    ("100.64.0.0/10", _CGNAT),
    ("224.0.0.0/4", _MULTICAST),
    ("240.0.0.0/4", _RESERVED),
    ("0.0.0.0/8", _RESERVED),
    ("192.0.2.0/24", _DOCUMENTATION),
    ("198.51.100.0/24", _DOCUMENTATION),
    ("203.0.113.0/24", _DOCUMENTATION),
    ("198.18.0.0/15", _BENCHMARKING),
    ("192.0.0.0/24", _RESERVED),  # IETF protocol assignments (dummy and NAT64 discovery addresses, ...)
)
_IPV6_RULES = _table(
    ("fd00:ec2::254/128", _METADATA),  # AWS's IPv6 metadata endpoint (inside the ULA range)
    ("::/128", _UNSPECIFIED),
    ("::1/128", _LOOPBACK),
    ("ff00::/8", _MULTICAST),
    ("fe80::/10", _LINK_LOCAL),
    ("fec0::/10", _SITE_LOCAL),
    ("fc00::/7", _UNIQUE_LOCAL),
    ("2001:db8::/32", _DOCUMENTATION),
    ("3fff::/20", _DOCUMENTATION),
    ("2001:2::/48", _BENCHMARKING),
)
_METADATA_NETWORKS = tuple(net for net, rule in (*_IPV4_RULES, *_IPV6_RULES) if rule is _METADATA)

_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


# --- parsing -------------------------------------------------------------------------------------------

_PART = re.compile(r"^(?:0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*)$")


@functools.lru_cache(maxsize=4096)  # pure, and asked several times per request on a busy worker
def parse_ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, in any form a resolver or socket would accept, or None for a name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    text = text.split("%", 1)[0]  # an IPv6 zone id does not change which address it is
    while text.endswith("."):
        text = text[:-1]
    if not text or not text.isascii():
        return None
    try:
        return ipaddress.ip_address(text.lower())
    except ValueError:
        pass
    return _parse_inet_aton(text)


def _parse_inet_aton(text: str) -> ipaddress.IPv4Address | None:
    """The classic BSD forms: ``a``, ``a.b``, ``a.b.c``, ``a.b.c.d``, each part decimal, 0-octal or 0x-hex."""
    parts = text.split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.match(p) for p in parts):
        return None
    values = []
    for p in parts:
        if p[:2].lower() == "0x":
            values.append(int(p[2:] or "0", 16))
        elif len(p) > 1 and p.startswith("0"):
            values.append(int(p, 8))
        else:
            values.append(int(p))
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (5 - len(values)):
        return None
    number = 0
    for v in head:
        number = number << 8 | v
    number = number << 8 * (5 - len(values)) | last
    return ipaddress.IPv4Address(number)


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The IPv4 address an IPv6 address wraps (mapped, compatible, NAT64, 6to4, Teredo) and the form's name."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped, "IPv4-mapped"
    if address.sixtofour is not None:
        return address.sixtofour, "6to4"
    if address.teredo is not None:
        return address.teredo[1], "Teredo"
    if address in _NAT64_WELL_KNOWN or address in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF), "NAT64"
    if address in _IPV4_COMPATIBLE and int(address) > 1:
        return ipaddress.IPv4Address(int(address)), "IPv4-compatible"
    return None


# --- the policy ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyPolicy:
    """Which addresses may be probed. ``deny`` beats ``allow``; ``allow`` opens built-in refusals (for tests
    or a private deployment), except the cloud metadata service, which stays refused."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_strings(
        cls,
        allow: Iterable[str] | str = (),
        deny: Iterable[str] | str = (),
    ) -> SafetyPolicy:
        """Build a policy from CIDR strings (a list, or one comma-separated string as in the environment).

        Raises ValueError naming ``PORTBOT_ALLOW_NETWORKS`` / ``PORTBOT_DENY_NETWORKS`` for a bad entry.
        """
        return cls(allow=_parse_networks(allow, ALLOW_VARIABLE), deny=_parse_networks(deny, DENY_VARIABLE))

    def check_address(self, address: IPAddress) -> None:
        """Raise :class:`RefusedTarget` unless ``address`` is safe to probe."""
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
            address = ipaddress.IPv6Address(int(address))
        if self._denied(address):
            raise _refusal(_DENIED, address)
        if _is_metadata(address):
            raise _refusal(_METADATA, address)
        if self._allowed(address):
            return
        if isinstance(address, ipaddress.IPv6Address):
            self._check_ipv6(address)
        else:
            self._check_ipv4(address)

    def _denied(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.deny)

    def _allowed(self, address: IPAddress) -> bool:
        return any(address.version == net.version and address in net for net in self.allow)

    def _check_ipv4(self, address: ipaddress.IPv4Address) -> None:
        rule = _first_rule(address, _IPV4_RULES)
        if rule is None and not address.is_global:
            rule = _RESERVED
        if rule is not None:
            raise _refusal(rule, address)

    def _check_ipv6(self, address: ipaddress.IPv6Address) -> None:
        rule = _first_rule(address, _IPV6_RULES)
        if rule is not None:
            raise _refusal(rule, address)
        wrapped = embedded_ipv4(address)
        if wrapped is not None:
            inner, form = wrapped
            try:
                self.check_address(inner)
            except RefusedTarget as err:
                raise RefusedTarget(
                    f"{address} is the {form} IPv6 form of {inner}. {err.message}",
                    category=err.category,
                    address=str(address),
                    hint=err.hint,
                ) from None
            # The wrapped address is public. These forms still reach it, except two that never route
            # on the internet: the deprecated IPv4-compatible form and the operator-local NAT64 prefix.
            if form == "IPv4-compatible" or address in _NAT64_LOCAL:
                raise _refusal(_RESERVED, address)
            return
        if not address.is_global:
            raise _refusal(_RESERVED, address)

    def check_ports(self, ports: Iterable[int]) -> None:
        """Raise :class:`InputError` unless ``ports`` is 1 to 5 distinct ports, each 1–65535."""
        ports = list(ports)
        if not ports:
            raise InputError(
                "Tell me which port to check, e.g. `check example.com 25565`.",
                hint="Give one to five port numbers after the address.",
            )
        if len(set(ports)) > MAX_PORTS_PER_REQUEST:
            raise InputError(
                f"I check at most {MAX_PORTS_PER_REQUEST} ports at a time, and never scan ranges.",
                hint="Pick the ports your server actually uses and check those.",
            )
        for p in ports:
            if isinstance(p, bool) or not isinstance(p, int) or not 1 <= p <= 65535:
                raise InputError(f"{p} is not a port: ports go from 1 to 65535.")


def _is_metadata(address: IPAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and (wrapped := embedded_ipv4(address)) is not None:
        address = wrapped[0]
    return any(address in net for net in _METADATA_NETWORKS)


def _first_rule(address: IPAddress, rules: tuple[tuple[IPNetwork, _Rule], ...]) -> _Rule | None:
    for net, rule in rules:
        if address in net:
            return rule
    return None


def _refusal(rule: _Rule, address: IPAddress) -> RefusedTarget:
    return RefusedTarget(
        rule.message.format(ip=address), category=rule.category, address=str(address), hint=rule.hint
    )


def _parse_networks(value: Iterable[str] | str, variable: str) -> tuple[IPNetwork, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    networks: list[IPNetwork] = []
    for raw in items:
        text = raw.strip()
        if not text:
            continue
        try:
            networks.append(ipaddress.ip_network(text))
        except ValueError as err:
            if "host bits set" in str(err):
                suggestion = ipaddress.ip_network(text, strict=False)
                raise ValueError(
                    f"{variable}: {text!r} has bits set after the prefix; did you mean {suggestion}?"
                ) from None
            raise ValueError(
                f"{variable}: {text!r} is not a network in CIDR form (like 198.51.100.0/24 or "
                f"2001:db8::/32); separate several with commas."
            ) from None
    return tuple(networks)
