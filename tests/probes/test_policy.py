"""The safety policy: hostile targets in every spelling are refused with an explanation; public ones pass."""

from __future__ import annotations

import ipaddress

import pytest

from probes.errors import InputError, RefusedTarget
from probes.policy import (
    SafetyPolicy,
    carried_ipv4,
    embedded_ipv4,
    parse_ip_literal,
    parse_nat64_prefixes,
    rfc6052_ipv4,
)

POLICY = SafetyPolicy()

LAN_MESSAGE = (
    "{ip} is a LAN (private) address, only reachable inside your home network; check your PUBLIC address "
    "instead."
)
LOOPBACK_MESSAGE = "{ip} is a loopback address: that's the bot's own machine, not your server."


def refusal(target: str, policy: SafetyPolicy = POLICY) -> RefusedTarget:
    address = parse_ip_literal(target)
    assert address is not None, f"{target!r} should parse as an address"
    with pytest.raises(RefusedTarget) as info:
        policy.check_address(address)
    return info.value


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2130706433", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("0x7F.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("127.0.0.1..", "127.0.0.1"),
        (" 127.0.0.1 ", "127.0.0.1"),
        ("[::ffff:127.0.0.1]", "::ffff:7f00:1"),
        ("[::FFFF:7F00:1]", "::ffff:7f00:1"),
        ("FE80::1%eth0", "fe80::1"),
        ("[fe80::1%25lo]", "fe80::1"),
        ("0", "0.0.0.0"),
        ("203.0.113.7", "203.0.113.7"),
    ],
)
def test_parse_ip_literal_reads_every_spelling(text: str, expected: str) -> None:
    """Every spelling a socket would accept is recognised as the address it means."""
    assert parse_ip_literal(text) == ipaddress.ip_address(expected)


@pytest.mark.parametrize(
    "text",
    [
        "localhost",
        "example.com",
        "mc.example.org.",
        "127.0.0.1.5",
        "256.0.0.1",
        "08.0.0.1",
        "1..2",
        "",
        "１２７.0.0.1",
    ],
)
def test_parse_ip_literal_leaves_names_alone(text: str) -> None:
    """Names and impossible numbers are not addresses (the engine resolves names, then checks each address)."""
    assert parse_ip_literal(text) is None


HOSTILE = [
    # RFC 1918, in plain and tricky spellings
    ("10.0.0.1", "private", "10.0.0.1"),
    ("172.16.5.4", "private", "172.16.5.4"),
    ("172.31.255.254", "private", "172.31.255.254"),
    ("192.168.1.20", "private", "192.168.1.20"),
    ("0xc0.0xa8.1.20", "private", "192.168.1.20"),
    ("3232235796", "private", "192.168.1.20"),
    ("::ffff:192.168.1.20", "private", "::ffff:c0a8:114"),
    # loopback
    ("127.0.0.1", "loopback", "127.0.0.1"),
    ("2130706433", "loopback", "127.0.0.1"),
    ("0177.0.0.1", "loopback", "127.0.0.1"),
    ("0x7f.1", "loopback", "127.0.0.1"),
    ("127.1", "loopback", "127.0.0.1"),
    ("0x7f000001", "loopback", "127.0.0.1"),
    ("127.0.0.1.", "loopback", "127.0.0.1"),
    ("127.255.255.254", "loopback", "127.255.255.254"),
    ("::1", "loopback", "::1"),
    ("[::1]", "loopback", "::1"),
    ("[::ffff:127.0.0.1]", "loopback", "::ffff:7f00:1"),
    ("[::ffff:7f00:1]", "loopback", "::ffff:7f00:1"),
    ("::127.0.0.1", "loopback", "::7f00:1"),
    ("64:ff9b::7f00:1", "loopback", "64:ff9b::7f00:1"),
    ("64:ff9b:1::7f00:1", "loopback", "64:ff9b:1::7f00:1"),
    ("2002:7f00:1::", "loopback", "2002:7f00:1::"),
    ("2002:7f00:1::1", "loopback", "2002:7f00:1::1"),
    ("2001:0:4136:e378:8000:63bf:80ff:fffe", "loopback", "2001:0:4136:e378:8000:63bf:80ff:fffe"),
    # link-local and cloud metadata
    ("169.254.169.254", "cloud-metadata", "169.254.169.254"),
    ("0xa9fea9fe", "cloud-metadata", "169.254.169.254"),
    ("::ffff:169.254.169.254", "cloud-metadata", "::ffff:a9fe:a9fe"),
    ("fd00:ec2::254", "cloud-metadata", "fd00:ec2::254"),
    ("169.254.1.1", "link-local", "169.254.1.1"),
    ("fe80::1", "link-local", "fe80::1"),
    ("fe80::1%lo", "link-local", "fe80::1"),
    ("fe80::1%eth0", "link-local", "fe80::1"),
    # CGNAT
    ("100.64.1.1", "cgnat", "100.64.1.1"),
    ("100.127.255.254", "cgnat", "100.127.255.254"),
    ("64:ff9b::6440:101", "cgnat", "64:ff9b::6440:101"),
    # multicast, broadcast, unspecified, reserved
    ("224.0.0.1", "multicast", "224.0.0.1"),
    ("239.255.255.250", "multicast", "239.255.255.250"),
    ("ff02::1", "multicast", "ff02::1"),
    ("255.255.255.255", "broadcast", "255.255.255.255"),
    ("4294967295", "broadcast", "255.255.255.255"),
    ("0.0.0.0", "unspecified", "0.0.0.0"),
    ("0", "unspecified", "0.0.0.0"),
    ("::", "unspecified", "::"),
    ("240.0.0.1", "reserved", "240.0.0.1"),
    ("0.1.2.3", "reserved", "0.1.2.3"),
    ("192.0.0.8", "reserved", "192.0.0.8"),
    ("100::1", "reserved", "100::1"),
    # documentation and benchmarking
    ("192.0.2.1", "documentation", "192.0.2.1"),
    ("198.51.100.7", "documentation", "198.51.100.7"),
    ("203.0.113.7", "documentation", "203.0.113.7"),
    ("2001:db8::1", "documentation", "2001:db8::1"),
    ("2002:cb00:7107::", "documentation", "2002:cb00:7107::"),
    ("198.18.0.1", "benchmarking", "198.18.0.1"),
    ("198.19.255.1", "benchmarking", "198.19.255.1"),
    # IPv6 local ranges
    ("fd00::1", "private", "fd00::1"),
    ("fc00::1", "private", "fc00::1"),
    ("fec0::1", "site-local", "fec0::1"),
]


@pytest.mark.parametrize(("target", "category", "address"), HOSTILE)
def test_hostile_targets_are_refused(target: str, category: str, address: str) -> None:
    """Each non-public target is refused under its own category, naming the address it really is."""
    err = refusal(target)
    assert (err.category, err.address) == (category, address)


@pytest.mark.parametrize("target", ["10.1.2.3", "172.20.0.5", "192.168.0.1"])
def test_lan_refusal_tells_the_user_to_check_their_public_address(target: str) -> None:
    """RFC 1918 targets get the LAN explanation and a hint on finding the public address."""
    err = refusal(target)
    assert err.message == LAN_MESSAGE.format(ip=target)
    assert err.hint is not None and "router's status page" in err.hint


def test_loopback_refusal_says_it_is_the_bots_own_machine() -> None:
    """Loopback is explained as the bot's own machine."""
    assert refusal("127.1").message == LOOPBACK_MESSAGE.format(ip="127.0.0.1")


def test_cgnat_refusal_explains_what_it_means_for_hosting() -> None:
    """CGNAT gets an explanation of the provider's NAT and the ways around it."""
    err = refusal("100.64.1.1")
    assert err.message.startswith("100.64.1.1 is a carrier-grade NAT (CGNAT) address")
    assert err.hint is not None and "public IPv4 address" in err.hint and "IPv6" in err.hint


def test_metadata_refusal_says_never() -> None:
    """The cloud metadata address is refused outright."""
    assert refusal("169.254.169.254").message.endswith("I never probe it.")


@pytest.mark.parametrize("target", ["192.0.2.1", "198.51.100.2", "203.0.113.3", "2001:db8::5"])
def test_documentation_ranges_are_called_example_addresses(target: str) -> None:
    """Documentation ranges are explained as example addresses."""
    assert "that's an example address" in refusal(target).message


def test_wrapped_ipv4_refusal_names_the_form_and_the_real_address() -> None:
    """An IPv6 wrapper of a refused IPv4 address says which address it wraps and why that one is refused."""
    err = refusal("64:ff9b::7f00:1")
    assert err.message == "64:ff9b::7f00:1 is the NAT64 IPv6 form of 127.0.0.1. " + LOOPBACK_MESSAGE.format(
        ip="127.0.0.1"
    )


@pytest.mark.parametrize(
    ("text", "inner", "form"),
    [
        ("::ffff:1.2.3.4", "1.2.3.4", "IPv4-mapped"),
        ("::1.2.3.4", "1.2.3.4", "IPv4-compatible"),
        ("::ffff:0:102:304", "1.2.3.4", "SIIT (IPv4-translated)"),
        ("64:ff9b:1::102:304", "1.2.3.4", "NAT64"),
        ("64:ff9b::102:304", "1.2.3.4", "NAT64"),
        ("2002:102:304::1", "1.2.3.4", "6to4"),
        ("2001:0:4136:e378:8000:63bf:fefd:fcfb", "1.2.3.4", "Teredo"),
        ("2606:4700::1", None, None),
    ],
)
def test_embedded_ipv4_is_extracted(text: str, inner: str | None, form: str | None) -> None:
    """Every IPv6 form that carries an IPv4 address gives it up."""
    found = embedded_ipv4(ipaddress.IPv6Address(text))
    expected = None if inner is None else (ipaddress.IPv4Address(inner), form)
    assert found == expected


@pytest.mark.parametrize(
    "target",
    [
        "1.1.1.1",
        "8.8.4.4",
        "168.63.129.15",
        "2606:4700:4700::1111",
        "::ffff:1.1.1.1",
        "[::FFFF:1.1.1.1%eth0]",
        # registry rows that are globally reachable, inside rows that are not
        "192.0.0.9",
        "192.0.0.10",
        "2001:1::1",
        "2001:1::3",
        "2001:3::1",
        "2001:4:112::1",
        "2620:4f:8000::1",
    ],
)
def test_public_addresses_pass(target: str) -> None:
    """Public addresses, their IPv4-mapped spelling, and globally reachable registry rows may be probed."""
    address = parse_ip_literal(target)
    assert address is not None
    POLICY.check_address(address)


@pytest.mark.parametrize(
    ("target", "category", "message", "hint"),
    [
        (
            "::1.1.1.1",
            "not-internet",
            "::101:101 is the IPv4-compatible IPv6 form of 1.1.1.1, which only works inside networks set up for "
            "it, never across the internet.",
            "Give me 1.1.1.1 itself.",
        ),
        (
            "64:ff9b::101:101",
            "not-internet",
            "64:ff9b::101:101 is the NAT64 IPv6 form of 1.1.1.1, which only works inside networks set up for it, "
            "never across the internet.",
            "Give me 1.1.1.1 itself.",
        ),
        (
            "64:ff9b:1::101:101",
            "not-internet",
            "64:ff9b:1::101:101 is the NAT64 IPv6 form of 1.1.1.1, which only works inside networks set up for "
            "it, never across the internet.",
            "Give me 1.1.1.1 itself.",
        ),
        (
            "::ffff:0:101:101",
            "not-internet",
            "::ffff:0:101:101 is the SIIT (IPv4-translated) IPv6 form of 1.1.1.1, which only works inside "
            "networks set up for it, never across the internet.",
            "Give me 1.1.1.1 itself.",
        ),
        (
            "2002:101:101::1",
            "tunnel",
            "2002:101:101::1 is the 6to4 IPv6 form of 1.1.1.1: a tunnel through public relays that are switched "
            "off across most of the internet, so I don't probe through it.",
            "Give me 1.1.1.1 itself, or your server's native IPv6 address.",
        ),
        (
            "2001:0:4136:e378:8000:63bf:fefd:fcfb",
            "tunnel",
            "2001:0:4136:e378:8000:63bf:fefd:fcfb is the Teredo IPv6 form of 1.2.3.4: a tunnel through public "
            "relays that are switched off across most of the internet, so I don't probe through it.",
            "Give me 1.2.3.4 itself, or your server's native IPv6 address.",
        ),
    ],
)
def test_wrappers_of_public_addresses_are_refused_with_the_address_to_use(
    target: str, category: str, message: str, hint: str
) -> None:
    """IPv6 forms of a public IPv4 address that don't route on the internet say so and name the IPv4 address."""
    err = refusal(target)
    assert (err.category, err.message, err.hint) == (category, message, hint)


NOT_INTERNET = (
    "{ip} is outside the IPv6 internet: every public IPv6 address starts with 2 or 3 (2000::/3), so this one "
    "can't be a server on the internet."
)


@pytest.mark.parametrize(
    ("target", "category", "message"),
    [
        (
            "::ffff:0:7f00:1",
            "loopback",
            "::ffff:0:7f00:1 is the SIIT (IPv4-translated) IPv6 form of 127.0.0.1. "
            + LOOPBACK_MESSAGE.format(ip="127.0.0.1"),
        ),
        ("::1:0:0:1", "not-internet", NOT_INTERNET.format(ip="::1:0:0:1")),
        (
            "100:0:0:1::1",
            "reserved",
            "100:0:0:1::1 is in a reserved range that isn't used on the public internet (IANA lists it as "
            "“Dummy IPv6 Prefix”).",
        ),
        ("4000::1", "not-internet", NOT_INTERNET.format(ip="4000::1")),
        ("e000::1", "not-internet", NOT_INTERNET.format(ip="e000::1")),
        (
            "5f00::1",
            "reserved",
            "5f00::1 is in a reserved range that isn't used on the public internet (IANA lists it as "
            "“Segment Routing (SRv6) SIDs”).",
        ),
        (
            "3fff::1",
            "documentation",
            "3fff::1 is from a range set aside for documentation: that's an example address, not a real server.",
        ),
    ],
)
def test_the_issues_examples_are_refused_in_plain_words(target: str, category: str, message: str) -> None:
    """The addresses issue 7 found getting through are refused, each with its own explanation."""
    err = refusal(target)
    assert (err.category, err.message) == (category, message)


def test_allow_list_opens_a_refused_range() -> None:
    """An operator's allow list opens a built-in refusal, e.g. loopback for tests."""
    policy = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])
    for target in ("127.0.0.1", "2130706433", "::1", "::ffff:127.0.0.1"):
        address = parse_ip_literal(target)
        assert address is not None
        policy.check_address(address)


def test_allow_list_can_open_documentation_ranges() -> None:
    """Documentation ranges can be opened, as network-namespace tests need."""
    policy = SafetyPolicy.from_strings(allow="192.0.2.0/24, 198.51.100.0/24,203.0.113.0/24")
    policy.check_address(ipaddress.IPv4Address("203.0.113.7"))
    assert refusal("10.0.0.1", policy).category == "private"


def test_deny_wins_over_allow() -> None:
    """An address both allowed and denied is refused as denied."""
    policy = SafetyPolicy.from_strings(allow=["203.0.113.0/24"], deny=["203.0.113.128/25"])
    err = refusal("203.0.113.200", policy)
    assert err.category == "denied"
    assert err.message == "203.0.113.200 is on this bot's deny list, so I won't probe it."
    policy.check_address(ipaddress.IPv4Address("203.0.113.5"))


def test_deny_list_blocks_public_addresses_and_their_wrappers() -> None:
    """A denied public address stays denied when spelled as an IPv6 wrapper."""
    policy = SafetyPolicy.from_strings(deny=["1.1.1.0/24"])
    assert refusal("1.1.1.1", policy).category == "denied"
    assert refusal("::ffff:1.1.1.1", policy).category == "denied"


def test_allow_list_never_opens_cloud_metadata() -> None:
    """Even an allow list covering link-local keeps the metadata address refused."""
    policy = SafetyPolicy.from_strings(allow=["169.254.0.0/16", "::ffff:0:0/96"])
    assert refusal("169.254.169.254", policy).category == "cloud-metadata"
    assert refusal("::ffff:169.254.169.254", policy).category == "cloud-metadata"
    policy.check_address(ipaddress.IPv4Address("169.254.1.1"))


@pytest.mark.parametrize(
    ("allow", "deny", "message"),
    [
        (
            "10.0.0.0/8,nonsense",
            "",
            r"^PORTBOT_ALLOW_NETWORKS: 'nonsense' is not a network in CIDR form \(like 198\.51\.100\.0/24 or "
            r"2001:db8::/32\); separate several with commas\.$",
        ),
        ("", "300.1.1.1/8", r"^PORTBOT_DENY_NETWORKS: '300\.1\.1\.1/8' is not a network in CIDR form"),
        (
            "",
            "10.1.2.3/8",
            r"^PORTBOT_DENY_NETWORKS: '10\.1\.2\.3/8' has bits set after the prefix; did you mean 10\.0\.0\.0/8\?$",
        ),
    ],
)
def test_bad_networks_name_the_variable(allow: str, deny: str, message: str) -> None:
    """A bad CIDR in the settings is one clear error naming the variable."""
    with pytest.raises(ValueError, match=message):
        SafetyPolicy.from_strings(allow=allow, deny=deny)


@pytest.mark.parametrize(
    ("ports", "message"),
    [
        ((), r"^Tell me which port to check, e\.g\. `check example\.com 25565`\.$"),
        ((1, 2, 3, 4, 5, 6), r"^I check at most 5 ports at a time, and never scan ranges\.$"),
        ((0,), r"^0 is not a port: ports go from 1 to 65535\.$"),
        ((65536,), r"^65536 is not a port: ports go from 1 to 65535\.$"),
        ((80, -1), r"^-1 is not a port: ports go from 1 to 65535\.$"),
    ],
)
def test_bad_port_lists_are_refused(ports: tuple[int, ...], message: str) -> None:
    """No ports, too many ports and out-of-range ports are input errors users can fix."""
    with pytest.raises(InputError, match=message):
        POLICY.check_ports(ports)


def test_five_ports_are_fine() -> None:
    """Up to five ports pass."""
    POLICY.check_ports([1, 80, 443, 25565, 65535])


# RFC 6052 §2.4's own examples: 192.0.2.33 under a network-specific prefix of each length.
RFC6052_EXAMPLES = [
    ("2001:db8::/32", "2001:db8:c000:221::"),
    ("2001:db8:100::/40", "2001:db8:1c0:2:21::"),
    ("2001:db8:122::/48", "2001:db8:122:c000:2:2100::"),
    ("2001:db8:122:300::/56", "2001:db8:122:3c0:0:221::"),
    ("2001:db8:122:344::/64", "2001:db8:122:344:c0:2:2100:0"),
    ("2001:db8:122:344::/96", "2001:db8:122:344::192.0.2.33"),
    ("64:ff9b::/96", "64:ff9b::192.0.2.33"),
]


@pytest.mark.parametrize(("prefix", "text"), RFC6052_EXAMPLES)
def test_rfc6052_extraction_matches_the_rfcs_examples(prefix: str, text: str) -> None:
    """The IPv4 address sits where RFC 6052 §2.2 puts it for each prefix length, around the u octet."""
    network = ipaddress.IPv6Network(prefix)
    address = ipaddress.IPv6Address(text)
    assert rfc6052_ipv4(address, network.prefixlen) == ipaddress.IPv4Address("192.0.2.33")
    assert (ipaddress.IPv4Address("192.0.2.33"), "NAT64") in carried_ipv4(address, [network])


def test_teredo_carries_the_client_and_the_server() -> None:
    """A Teredo address gives up the client's de-obfuscated address and the Teredo server's."""
    found = carried_ipv4(ipaddress.IPv6Address("2001:0:4136:e378:8000:63bf:3fff:fdd2"))
    assert found == (
        (ipaddress.IPv4Address("192.0.2.45"), "Teredo"),
        (ipaddress.IPv4Address("65.54.227.120"), "Teredo server"),
    )


def test_teredo_through_a_private_server_is_refused() -> None:
    """A Teredo address whose server is a LAN address is refused for the server, even with a public client."""
    err = refusal("2001:0:a00:1:8000:63bf:fefd:fcfb")
    assert err.category == "private"
    assert (
        err.message
        == "2001:0:a00:1:8000:63bf:fefd:fcfb is a Teredo tunnel address through the Teredo server 10.0.0.1. "
        + (LAN_MESSAGE.format(ip="10.0.0.1"))
    )


OPERATOR = SafetyPolicy.from_strings(nat64="2001:db8:64::/96, 2001:db8:100::/40")


@pytest.mark.parametrize(
    ("target", "category"),
    [
        ("2001:db8:64::7f00:1", "loopback"),
        ("2001:db8:64::192.168.1.1", "private"),
        ("2001:db8:64::a9fe:a9fe", "cloud-metadata"),
        ("2001:db8:17f:0:1::", "loopback"),  # 127.0.0.1 under the /40, split around the u octet
    ],
)
def test_operator_nat64_prefixes_are_unwrapped(target: str, category: str) -> None:
    """An address inside PORTBOT_NAT64_PREFIXES is judged by the IPv4 address it carries."""
    assert refusal(target, OPERATOR).category == category


def test_operator_nat64_form_of_a_public_address_follows_the_prefixs_own_verdict() -> None:
    """Unwrapping only adds refusals: a public IPv4 inside a NAT64 prefix still needs a probeable prefix."""
    inside_docs = refusal("2001:db8:64::101:101", OPERATOR)
    assert inside_docs.category == "documentation"
    public = SafetyPolicy.from_strings(nat64="2606:4700:64::/96")
    public.check_address(ipaddress.IPv6Address("2606:4700:64::101:101"))
    assert refusal("2606:4700:64::7f00:1", public).category == "loopback"


METADATA_ENDPOINTS = [
    ("169.254.169.254", "169.254.0.0/16"),
    ("169.254.170.2", "169.254.0.0/16"),
    ("169.254.170.23", "169.254.0.0/16"),
    ("fd00:ec2::23", "fd00::/8"),
    ("fd00:ec2::254", "fc00::/7"),
    ("100.100.100.200", "100.64.0.0/10"),
    ("168.63.129.16", "168.63.0.0/16"),
]


@pytest.mark.parametrize(("endpoint", "covering"), METADATA_ENDPOINTS)
def test_metadata_endpoints_are_refused_even_when_allowed(endpoint: str, covering: str) -> None:
    """Each cloud metadata or credential endpoint is refused though the allow list covers its whole range."""
    policy = SafetyPolicy.from_strings(allow=[covering, "0.0.0.0/0", "::/0"])
    err = refusal(endpoint, policy)
    assert err.category == "cloud-metadata"
    assert err.message.startswith(f"{endpoint} is ")
    assert err.message.endswith(", which hands out a cloud machine's credentials. I never probe it.")


def _wrapped_forms(ipv4: str) -> list[str]:
    """The IPv6 spellings that carry ``ipv4``: mapped, SIIT, compatible, NAT64 (both), 6to4, Teredo,
    and the operator prefix 2001:db8:64::/96."""
    n = int(ipaddress.IPv4Address(ipv4))
    return [
        str(ipaddress.IPv6Address(base | n))
        for base in (
            0xFFFF << 32,
            0xFFFF << 48,
            0,
            int(ipaddress.IPv6Address("64:ff9b::")),
            int(ipaddress.IPv6Address("64:ff9b:1::")),
            int(ipaddress.IPv6Address("2001:db8:64::")),
        )
    ] + [
        str(ipaddress.IPv6Address(0x2002 << 112 | n << 80 | 1)),
        str(ipaddress.IPv6Address(0x20010000 << 96 | 0x41_36_E3_78 << 64 | (~n & 0xFFFFFFFF))),
    ]


@pytest.mark.parametrize(("endpoint", "covering"), [e for e in METADATA_ENDPOINTS if ":" not in e[0]])
def test_metadata_endpoints_are_refused_in_every_wrapped_form(endpoint: str, covering: str) -> None:
    """Mapped, SIIT, compatible, NAT64, operator NAT64, 6to4 and Teredo forms of an endpoint are refused too."""
    policy = SafetyPolicy.from_strings(allow=[covering, "::/0"], nat64="2001:db8:64::/96")
    for form in _wrapped_forms(endpoint):
        err = refusal(form, policy)
        assert err.category == "cloud-metadata", form
        assert f" form of {endpoint}. " in err.message, form


DENIED_SPELLINGS = [
    "203.0.113.9",
    "3405803785",
    "0xcb.0.0x71.011",
    "203.0.28937",
    "0313.0.0161.011",
    "203.0.113.9.",
]


def test_deny_list_covers_every_spelling_and_wrapper() -> None:
    """An IPv4 address on the deny list stays denied in every spelling and every IPv6 form that carries it."""
    policy = SafetyPolicy.from_strings(
        allow="203.0.113.0/24,::/0", deny="203.0.113.9/32", nat64="2001:db8:64::/96"
    )
    for target in DENIED_SPELLINGS + _wrapped_forms("203.0.113.9"):
        err = refusal(target, policy)
        assert err.category == "denied", target
    policy.check_address(ipaddress.IPv4Address("203.0.113.10"))


def test_deny_list_catches_every_position_of_the_local_use_nat64_block() -> None:
    """Inside 64:ff9b:1::/48 the prefix length is the operator's choice, so a denied IPv4 at any position counts."""
    policy = SafetyPolicy.from_strings(deny="192.0.2.33/32")
    for text in ("64:ff9b:1:c000:2:2100::", "64:ff9b:1:c0:0:221::", "64:ff9b:1:0:c0:2:2100:0"):
        assert refusal(text, policy).category == "denied", text


def test_a_mapped_deny_entry_denies_the_ipv4_spelling_too() -> None:
    """A deny entry written in IPv4-mapped IPv6 means those IPv4 addresses, however they are spelled."""
    policy = SafetyPolicy.from_strings(deny="::ffff:1.1.1.0/120")
    assert refusal("1.1.1.1", policy).category == "denied"
    assert refusal("::ffff:1.1.1.1", policy).category == "denied"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (
            "64:ff9b::/95",
            r"^PORTBOT_NAT64_PREFIXES: '64:ff9b::/95' has length /95; a NAT64 prefix is /32, /40, ",
        ),
        ("192.0.2.0/24", r"^PORTBOT_NAT64_PREFIXES: '192\.0\.2\.0/24' is not an IPv6 prefix"),
        ("2001:db8::1/96", r"^PORTBOT_NAT64_PREFIXES: '2001:db8::1/96' has bits set after the prefix"),
        ("2001:db8:0:0:ff00::/96", r"^PORTBOT_NAT64_PREFIXES: '2001:db8:0:0:ff00::/96' sets bits 64–71"),
        ("nat64", r"^PORTBOT_NAT64_PREFIXES: 'nat64' is not a network in CIDR form"),
    ],
)
def test_bad_nat64_prefixes_name_the_variable(value: str, message: str) -> None:
    """A NAT64 prefix that RFC 6052 does not allow is one clear error naming the variable."""
    with pytest.raises(ValueError, match=message):
        parse_nat64_prefixes(value)


def test_nat64_prefixes_are_read_from_a_comma_separated_string() -> None:
    """Every RFC 6052 length is accepted, spaces allowed."""
    prefixes = parse_nat64_prefixes(
        " 2001:db8::/32,2001:db8:100::/40, 2001:db8:122::/48,2001:db8:122:300::/56,"
        "2001:db8:122:344::/64,64:ff9b::/96"
    )
    assert [p.prefixlen for p in prefixes] == [32, 40, 48, 56, 64, 96]
