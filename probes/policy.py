"""The safety policy: which addresses a probe may be aimed at, and how many ports at once.

Portbot only ever probes public internet addresses, and it decides which those are from IANA's IPv4 and IPv6
Special-Purpose Address Registries (``knowledge/data/iana-ipv*-special-registry-1.csv``), never from Python's
``is_global``/``is_private`` flags (Python 3.11.7 calls ``::ffff:0:7f00:1`` global). Deny by default:

1. the deny list (``PORTBOT_DENY_NETWORKS``) refuses, whichever spelling or wrapper carries the address;
2. cloud metadata and credential endpoints are always refused, even when the allow list covers them;
3. every IPv4 address an IPv6 address carries (IPv4-mapped, SIIT, IPv4-compatible, NAT64 well-known and
   local-use and the operator's ``PORTBOT_NAT64_PREFIXES``, 6to4, both Teredo addresses) is judged as IPv4;
4. the allow list (``PORTBOT_ALLOW_NETWORKS``) opens the remaining built-in refusals (tests, private set-ups);
5. an IPv4 address passes unless the most specific registry row holding it is not globally reachable
   (``False``, ``N/A``, or a terminated entry), or it is multicast;
6. an IPv6 address passes only inside global unicast ``2000::/3`` and outside every registry row that is not
   globally reachable. IPv4-mapped addresses are the one exception: they are an IPv4 address in IPv6 spelling
   (a dual-stack socket sends IPv4 packets), so they get exactly the verdict of that IPv4 address.

Each refusal is a :class:`~probes.errors.RefusedTarget` that explains, in plain words, why and what to do
instead; a wrapped form says which address it wraps ("X is the NAT64 IPv6 form of Y. ...").

Public surface, stable for the rest of the code base:

- ``parse_ip_literal(host) -> IPv4Address | IPv6Address | None``: recognise every textual form an address can
  take (inet_aton forms such as ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``; trailing dots; ``[v6]``;
  zone ids; mixed case), or None when ``host`` is a name.
- ``embedded_ipv4(ipv6)`` and ``carried_ipv4(ipv6, nat64=...)``: the IPv4 address(es) an IPv6 address wraps.
- ``SafetyPolicy(allow=..., deny=..., nat64=...)``: ``check_address(ip)`` raises RefusedTarget for anything not
  safe to probe; ``check_ports(ports)`` raises InputError for too many ports or out-of-range ones.
  ``SafetyPolicy.from_strings(allow=..., deny=..., nat64=..., data_dir=...)`` builds one from operator
  settings; ``data_dir`` is where ``portbot knowledge update`` installs newer registries.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from probes import _special
from probes.errors import InputError, RefusedTarget

if TYPE_CHECKING:  # pathlib and logging cost ~10 ms each to import; the probe path may not need them
    from pathlib import Path

    from probes._special import SpecialBlock, SpecialRegistries

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PORTS_PER_REQUEST = 5
ALLOW_VARIABLE = "PORTBOT_ALLOW_NETWORKS"
DENY_VARIABLE = "PORTBOT_DENY_NETWORKS"
NAT64_VARIABLE = "PORTBOT_NAT64_PREFIXES"
NAT64_PREFIX_LENGTHS = (32, 40, 48, 56, 64, 96)  # RFC 6052 §2.2

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
    "{ip} is {service}, which hands out a cloud machine's credentials. I never probe it.",
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


_RESERVED_NAMED = _Rule(
    "reserved",
    "{ip} is in a reserved range that isn't used on the public internet (IANA lists it as “{name}”).",
    _RESERVED.hint,
)
_NOT_INTERNET = _Rule(
    "not-internet",
    "{ip} is outside the IPv6 internet: every public IPv6 address starts with 2 or 3 (2000::/3), so this one "
    "can't be a server on the internet.",
    _UNIQUE_LOCAL.hint,
)
_WRAPPER_LOCAL = _Rule(
    "not-internet",
    "{ip} is the {form} IPv6 form of {v4}, which only works inside networks set up for it, never across the "
    "internet.",
    "Give me {v4} itself.",
)
_TUNNEL = _Rule(
    "tunnel",
    "{ip} is the {form} IPv6 form of {v4}: a tunnel through public relays that are switched off across most of "
    "the internet, so I don't probe through it.",
    "Give me {v4} itself, or your server's native IPv6 address.",
)

# Always refused, whatever the allow list says: they hand out a cloud machine's credentials or secrets.
_METADATA_ENDPOINTS: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "the cloud metadata service",
    ipaddress.ip_address("fd00:ec2::254"): "the cloud metadata service",
    ipaddress.ip_address("169.254.170.2"): "Amazon ECS's credential service",
    ipaddress.ip_address("169.254.170.23"): "Amazon EKS Pod Identity's credential service",
    ipaddress.ip_address("fd00:ec2::23"): "Amazon EKS Pod Identity's credential service",
    ipaddress.ip_address("100.100.100.200"): "Alibaba Cloud's metadata service",
    ipaddress.ip_address("168.63.129.16"): "Azure's WireServer (its platform and metadata endpoint)",
}

# Outside the special-purpose registries, in registries of their own.
_IPV4_MULTICAST = ipaddress.IPv4Network("224.0.0.0/4")
_IPV6_EXTRA = (
    (ipaddress.IPv6Network("ff00::/8"), _MULTICAST),
    (ipaddress.IPv6Network("fec0::/10"), _SITE_LOCAL),
)
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")

# Registry names → the plain-words rule. Anything else that is not reachable is "reserved", with its name.
_RULES_BY_NAME = (
    ("private-use", _PRIVATE),
    ("loopback", _LOOPBACK),
    ("link local", _LINK_LOCAL),
    ("link-local", _LINK_LOCAL),
    ("shared address space", _CGNAT),
    ("documentation", _DOCUMENTATION),
    ("benchmarking", _BENCHMARKING),
    ("broadcast", _BROADCAST),
    ("unspecified", _UNSPECIFIED),
    ("this host on this network", _UNSPECIFIED),
    ("unique-local", _UNIQUE_LOCAL),
)


@functools.lru_cache(maxsize=256)
def _rule_for(name: str) -> _Rule:
    lowered = name.lower()
    for key, rule in _RULES_BY_NAME:
        if key in lowered:
            return rule
    return _RESERVED_NAMED


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


# --- IPv4 inside IPv6 ----------------------------------------------------------------------------------

_LOW32 = 0xFFFFFFFF
_NAT64_WELL_KNOWN = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")  # RFC 8215: operators carve their prefixes from it
_SIXTOFOUR = ipaddress.IPv6Network("2002::/16")
_TEREDO = ipaddress.IPv6Network("2001::/32")


def rfc6052_ipv4(address: ipaddress.IPv6Address, prefix_length: int) -> ipaddress.IPv4Address:
    """The IPv4 address inside ``address`` under a NAT64 prefix of ``prefix_length`` (RFC 6052 §2.2).

    The 32 bits follow the prefix, except that bits 64–71 (the "u" octet) are skipped: with a /40, /48 or
    /56 prefix the IPv4 address is split around them, with a /64 it starts after them.
    """
    if prefix_length not in NAT64_PREFIX_LENGTHS:
        raise ValueError(f"RFC 6052 has no /{prefix_length} NAT64 prefix.")
    number = int(address)
    without_u = (number >> 64) << 56 | number & ((1 << 56) - 1)  # 120 bits: the address minus the u octet
    start = prefix_length if prefix_length <= 64 else prefix_length - 8
    return ipaddress.IPv4Address(without_u >> (120 - start - 32) & _LOW32)


def carried_ipv4(
    address: ipaddress.IPv6Address, nat64: Iterable[ipaddress.IPv6Network] = ()
) -> tuple[tuple[ipaddress.IPv4Address, str], ...]:
    """Every IPv4 address ``address`` carries, with the name of the form that carries it, most telling first.

    Forms: IPv4-mapped ``::ffff:0:0/96``, SIIT ``::ffff:0:0:0/96``, IPv4-compatible ``::/96``, NAT64 in
    ``64:ff9b::/96``, in the local-use ``64:ff9b:1::/48`` (read as a /96 prefix) and in each prefix of
    ``nat64``, 6to4 ``2002::/16``, and Teredo ``2001::/32`` (the client's address, then the Teredo server's).
    """
    number = int(address)
    high = number >> 32
    found: list[tuple[ipaddress.IPv4Address, str]] = []
    if high == 0xFFFF:
        found.append((ipaddress.IPv4Address(number & _LOW32), "IPv4-mapped"))
    elif high == 0xFFFF0000:
        found.append((ipaddress.IPv4Address(number & _LOW32), "SIIT (IPv4-translated)"))
    elif high == 0 and number > 1:  # :: and ::1 are the unspecified and loopback addresses, not wrappers
        found.append((ipaddress.IPv4Address(number), "IPv4-compatible"))
    if address in _NAT64_WELL_KNOWN or address in _NAT64_LOCAL:
        found.append((rfc6052_ipv4(address, 96), "NAT64"))
    for prefix in nat64:
        if address in prefix:
            found.append((rfc6052_ipv4(address, prefix.prefixlen), "NAT64"))
    if address in _SIXTOFOUR:
        found.append((ipaddress.IPv4Address(number >> 80 & _LOW32), "6to4"))
    elif address in _TEREDO:
        found.append((ipaddress.IPv4Address(~number & _LOW32), "Teredo"))
        found.append((ipaddress.IPv4Address(number >> 64 & _LOW32), "Teredo server"))
    return tuple(dict.fromkeys(found))  # a NAT64 prefix may be listed twice; judge each address once


def _other_positions(address: ipaddress.IPv6Address) -> tuple[tuple[ipaddress.IPv4Address, str], ...]:
    """In the local-use NAT64 block the operator's prefix length is unknown: the IPv4 address at every other
    RFC 6052 position, so that the deny list and the metadata endpoints are caught there too."""
    if address not in _NAT64_LOCAL:
        return ()
    return tuple((rfc6052_ipv4(address, length), "NAT64") for length in (64, 56, 48))


def embedded_ipv4(address: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, str] | None:
    """The main IPv4 address an IPv6 address wraps (mapped, SIIT, compatible, NAT64, 6to4, Teredo) and the
    form's name, or None. :func:`carried_ipv4` gives all of them."""
    found = carried_ipv4(address)
    return found[0] if found else None


@functools.cache
def _packaged_registries() -> SpecialRegistries:
    return _special.load()


def load_registries(data_dir: Path | None) -> SpecialRegistries:
    """The registries to decide from: newer copies in ``data_dir`` when valid, else the packaged ones.

    A broken copy in ``data_dir`` is logged and skipped (the packaged registries are safe to fall back on);
    ``portbot doctor`` names it.
    """
    if data_dir is None:
        return _packaged_registries()
    try:
        return _special.load(data_dir)
    except ValueError as err:
        import logging

        logging.getLogger(__name__).warning(
            "Ignoring the updated address registries and using the packaged ones: %s", err
        )
        return _packaged_registries()


# --- the policy ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SafetyPolicy:
    """Which addresses may be probed. ``deny`` beats everything; ``allow`` opens built-in refusals (for tests
    or a private deployment), except the cloud metadata and credential endpoints, which stay refused.
    ``nat64`` lists the operator's NAT64 prefixes, so the IPv4 addresses inside them are judged too."""

    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = field(default=())
    nat64: tuple[ipaddress.IPv6Network, ...] = ()
    registries: SpecialRegistries | None = field(default=None, compare=False, repr=False)
    # An IPv6 entry inside ::ffff:0:0/96 means its IPv4 addresses, whichever way they are spelled.
    _allow4: tuple[ipaddress.IPv4Network, ...] = field(init=False, compare=False, repr=False)
    _deny4: tuple[ipaddress.IPv4Network, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_allow4", _ipv4_networks(self.allow))
        object.__setattr__(self, "_deny4", _ipv4_networks(self.deny))

    @classmethod
    def from_strings(
        cls,
        allow: Iterable[str] | str = (),
        deny: Iterable[str] | str = (),
        nat64: Iterable[str] | str = (),
        data_dir: Path | None = None,
    ) -> SafetyPolicy:
        """Build a policy from CIDR strings (a list, or one comma-separated string as in the environment).

        Raises ValueError naming ``PORTBOT_ALLOW_NETWORKS`` / ``PORTBOT_DENY_NETWORKS`` /
        ``PORTBOT_NAT64_PREFIXES`` for a bad entry. ``data_dir`` may hold newer registries.
        """
        return cls(
            allow=_parse_networks(allow, ALLOW_VARIABLE),
            deny=_parse_networks(deny, DENY_VARIABLE),
            nat64=parse_nat64_prefixes(nat64),
            registries=None if data_dir is None else load_registries(data_dir),
        )

    def check_address(self, address: IPAddress) -> None:
        """Raise :class:`RefusedTarget` unless ``address`` is safe to probe."""
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id is not None:
            address = ipaddress.IPv6Address(int(address))
        refusal = self._ipv4(address) if isinstance(address, ipaddress.IPv4Address) else self._ipv6(address)
        if refusal is not None:
            raise refusal

    # Each step returns the refusal, or None to pass; the order is the one in the module docstring.

    def _ipv4(self, address: ipaddress.IPv4Address) -> RefusedTarget | None:
        if _within(address, self._deny4):
            return _refusal(_DENIED, address)
        if address in _METADATA_ENDPOINTS:
            return _metadata(address)
        if _within(address, self._allow4):
            return None
        if address in _IPV4_MULTICAST:
            return _refusal(_MULTICAST, address)
        return self._registry_refusal(address)

    def _ipv6(self, address: ipaddress.IPv6Address) -> RefusedTarget | None:
        carried = carried_ipv4(address, self.nat64)
        everything = carried + _other_positions(address)
        if _within(address, self.deny):
            return _refusal(_DENIED, address)
        for inner, form in everything:
            if _within(inner, self._deny4):
                return _wrapped(address, inner, form, _refusal(_DENIED, inner))
        if address in _METADATA_ENDPOINTS:
            return _metadata(address)
        for inner, form in everything:
            if inner in _METADATA_ENDPOINTS:
                return _wrapped(address, inner, form, _metadata(inner))
        for inner, form in carried:
            refused = self._ipv4(inner)
            if refused is not None:
                return _wrapped(address, inner, form, refused)
        if carried and carried[0][1] == "IPv4-mapped":
            return None  # an IPv4 address in IPv6 spelling: its verdict is the IPv4 address's, given above
        if _within(address, self.allow):
            # An allowed local-use NAT64 address opens only if the IPv4 address at every position passes too.
            for inner, form in everything[len(carried) :]:
                refused = self._ipv4(inner)
                if refused is not None:
                    return _wrapped(address, inner, form, refused)
            return None
        return self._own_ipv6_refusal(address, carried)

    def _own_ipv6_refusal(
        self, address: ipaddress.IPv6Address, carried: tuple[tuple[ipaddress.IPv4Address, str], ...]
    ) -> RefusedTarget | None:
        """Whether the IPv6 address itself may be probed, now that every IPv4 address it carries passed."""
        block = self._registries().lookup(address)
        if address not in _GLOBAL_UNICAST:
            if carried:
                inner, form = carried[0]
                return _refusal(_WRAPPER_LOCAL, address, v4=inner, form=form)
            if block is not None and not block.reachable:
                return _block_refusal(block, address)
            for network, rule in _IPV6_EXTRA:
                if address in network:
                    return _refusal(rule, address)
            return _refusal(_NOT_INTERNET, address)
        if block is None or block.reachable:
            return None
        if carried and carried[0][1] in ("6to4", "Teredo"):
            inner, form = carried[0]
            return _refusal(_TUNNEL, address, v4=inner, form=form)
        return _block_refusal(block, address)

    def _registry_refusal(self, address: IPAddress) -> RefusedTarget | None:
        block = self._registries().lookup(address)
        if block is None or block.reachable:
            return None
        return _block_refusal(block, address)

    def _registries(self) -> SpecialRegistries:
        return self.registries if self.registries is not None else _packaged_registries()

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


def _within(address: IPAddress, networks: Iterable[IPNetwork]) -> bool:
    return any(address.version == net.version and address in net for net in networks)


def _ipv4_networks(networks: Iterable[IPNetwork]) -> tuple[ipaddress.IPv4Network, ...]:
    """The IPv4 networks, plus the IPv4 meaning of IPv6 entries inside ``::ffff:0:0/96``."""
    found: list[ipaddress.IPv4Network] = []
    for net in networks:
        if isinstance(net, ipaddress.IPv4Network):
            found.append(net)
        elif net.prefixlen >= 96 and net.network_address.ipv4_mapped is not None:
            found.append(ipaddress.IPv4Network((int(net.network_address) & _LOW32, net.prefixlen - 96)))
    return tuple(found)


def _refusal(rule: _Rule, address: IPAddress, **details: object) -> RefusedTarget:
    return RefusedTarget(
        rule.message.format(ip=address, **details),
        category=rule.category,
        address=str(address),
        hint=None if rule.hint is None else rule.hint.format(ip=address, **details),
    )


def _block_refusal(block: SpecialBlock, address: IPAddress) -> RefusedTarget:
    return _refusal(_rule_for(block.name), address, name=block.name)


def _metadata(address: IPAddress) -> RefusedTarget:
    return _refusal(_METADATA, address, service=_METADATA_ENDPOINTS[address])


def _wrapped(
    address: ipaddress.IPv6Address, inner: ipaddress.IPv4Address, form: str, err: RefusedTarget
) -> RefusedTarget:
    """The refusal of the IPv4 address ``inner``, said of the IPv6 address that carries it."""
    if form == "Teredo server":
        lead = f"{address} is a Teredo tunnel address through the Teredo server {inner}."
    else:
        lead = f"{address} is the {form} IPv6 form of {inner}."
    return RefusedTarget(f"{lead} {err.message}", category=err.category, address=str(address), hint=err.hint)


def parse_nat64_prefixes(value: Iterable[str] | str) -> tuple[ipaddress.IPv6Network, ...]:
    """NAT64 prefixes from ``PORTBOT_NAT64_PREFIXES``: IPv6, /32 /40 /48 /56 /64 or /96 (RFC 6052).

    Raises ValueError naming the variable for a bad entry.
    """
    prefixes: list[ipaddress.IPv6Network] = []
    for net in _parse_networks(value, NAT64_VARIABLE):
        text = str(net)
        if not isinstance(net, ipaddress.IPv6Network):
            raise ValueError(f"{NAT64_VARIABLE}: {text!r} is not an IPv6 prefix; NAT64 prefixes are IPv6.")
        if net.prefixlen not in NAT64_PREFIX_LENGTHS:
            raise ValueError(
                f"{NAT64_VARIABLE}: {text!r} has length /{net.prefixlen}; a NAT64 prefix is /32, /40, /48, "
                "/56, /64 or /96 (RFC 6052)."
            )
        if net.prefixlen == 96 and int(net.network_address) >> 56 & 0xFF:
            raise ValueError(
                f"{NAT64_VARIABLE}: {text!r} sets bits 64–71, which RFC 6052 keeps zero in every NAT64 address."
            )
        prefixes.append(net)
    return tuple(prefixes)


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
