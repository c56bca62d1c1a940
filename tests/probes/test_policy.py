"""The safety policy: hostile targets in every spelling are refused with an explanation; public ones pass."""

from __future__ import annotations

import ipaddress

import pytest

from probes.errors import InputError, RefusedTarget
from probes.policy import SafetyPolicy, embedded_ipv4, parse_ip_literal

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
    ["1.1.1.1", "8.8.4.4", "2606:4700:4700::1111", "::ffff:1.1.1.1", "64:ff9b::101:101", "2002:101:101::1"],
)
def test_public_addresses_pass(target: str) -> None:
    """Public addresses, and the routable IPv6 forms of public IPv4 ones, may be probed."""
    address = parse_ip_literal(target)
    assert address is not None
    POLICY.check_address(address)


@pytest.mark.parametrize("target", ["::1.1.1.1", "64:ff9b:1::101:101"])
def test_non_routable_wrappers_of_public_addresses_are_reserved(target: str) -> None:
    """The deprecated IPv4-compatible form and the local-use NAT64 prefix never route on the internet."""
    assert refusal(target).category == "reserved"


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
