"""Property tests of the address policy: outside 2000::/3 is refused, wrapping never launders an address, and
every spelling of one address gets one verdict."""

from __future__ import annotations

import ipaddress

from hypothesis import given
from hypothesis import strategies as st

from probes.errors import RefusedTarget
from probes.policy import SafetyPolicy, parse_ip_literal

# An operator NAT64 prefix of every RFC 6052 length, in public space so the prefix itself may be probed.
OPERATOR_PREFIXES = [
    ipaddress.IPv6Network(p)
    for p in (
        "2606:4700::/32",
        "2606:4701:100::/40",
        "2606:4702:122::/48",
        "2606:4703:122:300::/56",
        "2606:4704:122:344::/64",
        "2606:4705:122:344::/96",
    )
]
POLICY = SafetyPolicy(nat64=tuple(OPERATOR_PREFIXES))
GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")
MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


def verdict(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """The refusal category, or None when the address may be probed."""
    try:
        POLICY.check_address(address)
    except RefusedTarget as err:
        return err.category
    return None


# --- IPv6 outside 2000::/3 -----------------------------------------------------------------------------

_TOP_OUTSIDE = [t for t in range(8) if t != 1]  # the first three bits of 2000::/3 are 001


def _outside(top: int, rest: int) -> ipaddress.IPv6Address:
    return ipaddress.IPv6Address(top << 125 | rest)


OUTSIDE_2000 = st.one_of(
    st.builds(_outside, st.sampled_from(_TOP_OUTSIDE), st.integers(0, 2**125 - 1)),
    # dense where the special blocks are: ::/96, ::ffff:0:0:0/96, 64:ff9b::/32, 100::/16, 5f00::/16, fc00::/7
    st.builds(
        lambda base, low: ipaddress.IPv6Address(int(ipaddress.IPv6Address(base)) | low),
        st.sampled_from(
            ["::", "::ffff:0:0:0", "64:ff9b::", "64:ff9b:1::", "100::", "5f00::", "fd00::", "fe80::"]
        ),
        st.integers(0, 2**64 - 1),
    ),
).filter(lambda a: a not in MAPPED)


@given(OUTSIDE_2000)
def test_any_ipv6_outside_global_unicast_is_refused(address: ipaddress.IPv6Address) -> None:
    """Only 2000::/3 can be probed: any other IPv6 address (bar IPv4-mapped spellings) is refused."""
    assert address not in GLOBAL_UNICAST
    assert verdict(address) is not None


@given(st.integers(0, 2**32 - 1))
def test_ipv4_mapped_addresses_get_their_ipv4_addresss_verdict(number: int) -> None:
    """::ffff:a.b.c.d is a.b.c.d spelled for a dual-stack socket: same verdict, refused or not."""
    v4 = ipaddress.IPv4Address(number)
    assert verdict(ipaddress.IPv6Address(0xFFFF << 32 | number)) == verdict(v4)


# --- wrapped forms of refused IPv4 addresses -----------------------------------------------------------


def _rfc6052(
    prefix: ipaddress.IPv6Network, v4: ipaddress.IPv4Address, u_octet: int, suffix: int
) -> ipaddress.IPv6Address:
    """RFC 6052 §2.2 written out bit by bit: the IPv4 bits follow the prefix and jump over bits 64–71."""
    bits = list(format(int(prefix.network_address), "0128b"))
    position = prefix.prefixlen
    for bit in format(int(v4), "032b"):
        if position == 64:
            position = 72
        bits[position] = bit
        position += 1
    if prefix.prefixlen < 96:  # a translator ignores the u octet and the suffix: so must the policy
        bits[64:72] = format(u_octet, "08b")
        tail = 128 - position
        if tail:
            bits[position:] = format(suffix % (1 << tail), f"0{tail}b")
    return ipaddress.IPv6Address(int("".join(bits), 2))


def wrapped_forms(
    v4: ipaddress.IPv4Address, u_octet: int = 0, suffix: int = 0
) -> dict[str, ipaddress.IPv6Address]:
    n = int(v4)
    forms = {
        "mapped": ipaddress.IPv6Address(0xFFFF << 32 | n),
        "SIIT": ipaddress.IPv6Address(0xFFFF << 48 | n),
        "NAT64 well-known": _rfc6052(ipaddress.IPv6Network("64:ff9b::/96"), v4, 0, 0),
        "6to4": ipaddress.IPv6Address(0x2002 << 112 | n << 80 | suffix % (1 << 80)),
        "Teredo client": ipaddress.IPv6Address(0x20010000 << 96 | 0x4136E378 << 64 | (~n & 0xFFFFFFFF)),
        # with the public client 1.1.1.1, so that the server decides
        "Teredo server": ipaddress.IPv6Address(0x20010000 << 96 | n << 64 | 0x8000_63BF_FEFE_FEFE),
    }
    if n > 1:  # ::0.0.0.0 and ::0.0.0.1 are :: and ::1, the unspecified and loopback addresses
        forms["compatible"] = ipaddress.IPv6Address(n)
    for length in (48, 56, 64, 96):
        local = ipaddress.IPv6Network(f"64:ff9b:1::/{length}")
        forms[f"NAT64 local-use /{length}"] = _rfc6052(local, v4, u_octet, suffix)
    for prefix in OPERATOR_PREFIXES:
        forms[f"operator NAT64 /{prefix.prefixlen}"] = _rfc6052(prefix, v4, u_octet, suffix)
    return forms


_REFUSED_V4_ROWS = [
    ipaddress.IPv4Network(n)
    for n in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/29",
        "192.0.2.0/24",
        "192.88.99.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
    )
]
METADATA = ["169.254.169.254", "169.254.170.2", "169.254.170.23", "100.100.100.200", "168.63.129.16"]

REFUSED_IPV4 = st.one_of(
    st.builds(
        lambda net, offset: net.network_address + offset % net.num_addresses,
        st.sampled_from(_REFUSED_V4_ROWS),
        st.integers(0, 2**32 - 1),
    ),
    st.sampled_from([ipaddress.IPv4Address(a) for a in METADATA]),
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address).filter(lambda a: verdict(a) is not None),
)


@given(REFUSED_IPV4, st.integers(0, 255), st.integers(0, 2**64 - 1))
def test_every_wrapped_form_of_a_refused_ipv4_address_is_refused(
    v4: ipaddress.IPv4Address, u_octet: int, suffix: int
) -> None:
    """Mapped, SIIT, compatible, NAT64 (well-known, local-use and operator, every RFC 6052 length), 6to4 and
    Teredo forms of a refused IPv4 address are all refused, with the IPv4 address's own reason."""
    inner = verdict(v4)
    assert inner is not None
    for name, form in wrapped_forms(v4, u_octet, suffix).items():
        if name in ("NAT64 local-use /48", "NAT64 local-use /56", "NAT64 local-use /64"):
            # the operator's prefix length is unknown there: the /96 reading explains, the rest must refuse
            assert verdict(form) is not None, f"{name} form {form} of {v4}"
        else:
            assert verdict(form) == inner, f"{name} form {form} of {v4}"


@given(st.integers(0, 2**32 - 1), st.integers(0, 255), st.integers(0, 2**64 - 1))
def test_wrapping_never_opens_a_refused_address_under_an_allow_list(
    number: int, u_octet: int, suffix: int
) -> None:
    """With every IPv6 address allowed, a wrapped IPv4 address still gets (at least) the IPv4 verdict."""
    v4 = ipaddress.IPv4Address(number)
    allow_v6 = SafetyPolicy(allow=(ipaddress.IPv6Network("::/0"),), nat64=tuple(OPERATOR_PREFIXES))
    try:
        allow_v6.check_address(v4)
    except RefusedTarget:
        for form in wrapped_forms(v4, u_octet, suffix).values():
            try:
                allow_v6.check_address(form)
            except RefusedTarget:
                continue
            raise AssertionError(f"{form} opened the refused {v4}") from None


# --- one address, many spellings -----------------------------------------------------------------------


def ipv4_spellings(v4: ipaddress.IPv4Address) -> list[str]:
    a, b, c, d = v4.packed
    n = int(v4)
    return [
        str(v4),
        f"{v4}.",
        f"[{v4}]",
        f" {v4} ",
        str(n),
        hex(n),
        hex(n).upper().replace("0X", "0x"),
        "0" + format(n, "o"),
        f"0{a:o}.0{b:o}.0{c:o}.0{d:o}",
        f"{a:#x}.{b:#x}.{c:#x}.{d:#x}",
        f"{a}.{b}.{c << 8 | d}",
        f"{a}.{b << 16 | c << 8 | d}",
        f"::ffff:{v4}",
        f"[::FFFF:{v4}]",
        f"[::ffff:{a << 8 | b:x}:{c << 8 | d:x}%eth0]",
        f"0:0:0:0:0:ffff:{v4}",
    ]


INTERESTING_IPV4 = st.one_of(
    st.integers(0, 2**32 - 1).map(ipaddress.IPv4Address),
    st.builds(
        lambda net, offset: net.network_address + offset % net.num_addresses,
        st.sampled_from(_REFUSED_V4_ROWS),
        st.integers(0, 2**32 - 1),
    ),
    st.sampled_from([ipaddress.IPv4Address(a) for a in [*METADATA, "192.0.0.9", "1.1.1.1"]]),
)


@given(INTERESTING_IPV4)
def test_every_spelling_of_an_ipv4_address_gets_the_same_verdict(v4: ipaddress.IPv4Address) -> None:
    """Decimal, octal, hex, short forms, trailing dot, brackets, zone id and mapped: one address, one verdict."""
    expected = verdict(v4)
    for spelling in ipv4_spellings(v4):
        address = parse_ip_literal(spelling)
        assert address is not None, spelling
        assert verdict(address) == expected, spelling


@given(st.integers(0, 2**128 - 1))
def test_every_spelling_of_an_ipv6_address_gets_the_same_verdict(number: int) -> None:
    """Compressed, exploded, upper case, brackets and zone id: one address, one verdict."""
    v6 = ipaddress.IPv6Address(number)
    expected = verdict(v6)
    for spelling in (str(v6), v6.exploded, v6.exploded.upper(), f"[{v6}]", f"{v6}%eth0", f"[{v6}%25lo]"):
        address = parse_ip_literal(spelling)
        assert address is not None, spelling
        assert verdict(address) == expected, spelling
