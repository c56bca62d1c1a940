"""The one visibility rule: what may hold someone's address is shown only to the asker."""

from __future__ import annotations

import ipaddress
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.commands import INTERNAL_ERROR, help_reply
from bot.core.reply import Reply, Status
from bot.core.visibility import SCAN_MAX, Defaults, decide, holds_address

KNOWLEDGE = Reply("Port 25565", "Minecraft: Java Edition")
PROBE = Reply("Port check: mc.example.com", "open", kind="probe", private=True, sensitive=("mc.example.com",))
NO_MATCH = Reply("No match", "I don't know “zork”.")

HOLDS_ADDRESS = [
    "203.0.113.7",
    "/port 203.0.113.7",
    "is 25565 open on mc.example.com",
    "check 2130706433 80",
    "check 3405803783 80",
    "check 0x7f000001 80",
    "check 0X7F000001 80",
    "check 017700000001 80",
    "check 0x7f.1 80",
    "check 0177.0.0.1 80",
    "127.1",
    "10.1",
    "1.2",
    "minecraft 1.20",
    "[2001:db8::7]:25565",
    "2001:db8::7",
    "2001:DB8::7",
    "2001:0db8:0000:0000:0000:0000:0000:0007",
    "fe80::1%eth0",
    "::1",
    "::ffff:203.0.113.7",
    "::ffff:cb00:7107",
    "2001:db8::7:25565",
    "host:2001:db8::7",
    "1:2:3:4:5:6:7:8",
    "http://u1@mc.example.com",
    "https://foo.bar/x",
    "minecraft://whatever",
    "<http://mc.example.com|mc.example.com>",
    "mc.example.com",
    "MC.EXAMPLE.COM",
    "mc.example.com.",
    "play.myserver.net:25565",
    "localhost:25565",
    "myserver:25565",
    "alice@mc.example.com",
    "münchen.de",
    "xn--mnchen-3ya.de",
    "my_server.example",
    "why can't my friends join play.myserver.net",
    "is it 203.0.113.7?",
    "check 2130706433.",
    "ip=203.0.113.7",
    "abc203.0.113.7",
    "203 . 0 . 113 . 7",
    "203.0.113\u200b.7",
    "２０３．０．１１３．７",
    "203。0。113。7",
    "٢٠٣.٠.١١٣.٧",
    "mc[.]example[.]com",
    "203[.]0[.]113[.]7",
    "65536",
    "x" * (SCAN_MAX + 1),
    # Deliberately private (false positives): dotted words that could be names.
    "node.js",
    "what is socket.io",
]

NO_ADDRESS = [
    "",
    "25565",
    "/port 25565",
    "65535",
    "minecraft",
    "minecraft java",
    "what is cgnat",
    "port 80 vs 443",
    "tcp vs udp",
    "443/tcp",
    "udp 53",
    "25565-25570",
    "v1.2",
    "python3.11",
    "e.g. plex",
    "i.e. the router",
    "what does 0.0.0.0 mean",
    "10:30:00",
    "why can't my friends join my valheim server",
    "port forwarding",
    "what is a port?",
    "help",
    "check 25565 80",  # 0.0.99.221 is no one's address
]


@pytest.mark.parametrize("text", HOLDS_ADDRESS)
def test_text_with_an_address_or_name_is_detected(text: str) -> None:
    """Every spelling of an address or host name, and near misses a reader would take for one."""
    assert holds_address(text)


@pytest.mark.parametrize("text", NO_ADDRESS)
def test_plain_questions_hold_no_address(text: str) -> None:
    """Ports, names of games, questions, version numbers and times are not addresses."""
    assert not holds_address(text)


@pytest.mark.parametrize(
    ("text", "reply", "settings", "private"),
    [
        ("25565", KNOWLEDGE, Defaults(), False),
        ("zork", NO_MATCH, Defaults(), False),
        ("25565", KNOWLEDGE, Defaults(knowledge_private=True), True),
        ("mc.example.com", KNOWLEDGE, Defaults(), True),
        ("what is mc.example.com", NO_MATCH, Defaults(), True),
        ("check mc.example.com 25565", PROBE, Defaults(), True),
        ("25565", INTERNAL_ERROR, Defaults(), True),
        ("help", help_reply(), Defaults(), True),
        ("25565", Reply("t", "s", status=Status.ERROR), Defaults(), True),
        ("25565", Reply("t", "s", private=True), Defaults(), True),
        ("25565", Reply("t", "s", sensitive=("x",)), Defaults(), True),
    ],
)
def test_decide_after_the_answer(text: str, reply: Reply, settings: Defaults, private: bool) -> None:
    """Only a knowledge answer to address-free text is public, and only if the settings allow it."""
    assert decide(text, reply, settings) is private


@pytest.mark.parametrize(
    ("text", "private"),
    [
        ("25565", False),
        ("what is cgnat", False),
        ("mc.example.com", True),
        ("check mc.example.com 25565", True),
        ("is 443 open on example.com", True),
        ("help", True),
        ("", True),
    ],
)
def test_decide_before_the_answer(text: str, private: bool) -> None:
    """Before answering (a Slack ack, a Discord defer) only an address-free knowledge question may be public."""
    assert decide(text, None) is private


def test_settings_never_make_an_address_public() -> None:
    """Public knowledge settings do not make a probe target or an address text public."""
    everything_public = Defaults(knowledge_private=False)
    assert decide("localhost", None, everything_public, probe=True)
    assert decide("203.0.113.7", KNOWLEDGE, everything_public)


# -- properties ---------------------------------------------------------------------------------------------------

_public_v4 = st.integers(min_value=0x10000, max_value=0xFFFFFFFF).map(ipaddress.IPv4Address)


def _v4_spellings(address: ipaddress.IPv4Address) -> list[str]:
    a, b, c, d = (int(p) for p in str(address).split("."))
    value = int(address)
    return [
        str(address),
        str(value),
        hex(value),
        hex(value).upper().replace("X", "x"),
        "0" + oct(value)[2:],
        ".".join(hex(p) for p in (a, b, c, d)),
        ".".join("0" + oct(p)[2:] for p in (a, b, c, d)),
        f"{a}.{b}.{c * 256 + d}",
        f"{a}.{value & 0xFFFFFF}",
        f"{address}:25565",
        f"[::ffff:{address}]:80",
        f"::ffff:{address}",
        f"http://u1@{address}:8080/x",
        f"https://{value}/",
    ]


def _v6_spellings(address: ipaddress.IPv6Address) -> list[str]:
    return [
        str(address),
        address.exploded,
        str(address).upper(),
        f"[{address}]",
        f"[{address}]:25565",
        f"{address}%eth0",
        f"http://[{address}]:8080/x",
    ]


_names = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(st.from_regex(r"[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?", fullmatch=True), min_size=1, max_size=3),
    st.from_regex(r"[a-z]{2,8}", fullmatch=True),
)
_name_spellings = [
    "{}",
    "{}:25565",
    "https://{}/x",
    "http://u1@{}",
    "user@{}",
    "{}.",
]
_around = st.sampled_from(
    [
        ("", ""),
        ("check ", " 25565"),
        ("is 25565 open on ", "?"),
        ("what is ", ""),
        ("my server ", " is down."),
    ]
)


@given(_public_v4, st.data())
def test_any_ipv4_spelling_in_any_sentence_is_detected(
    address: ipaddress.IPv4Address, data: st.DataObject
) -> None:
    """Dotted, decimal, hex, octal, short forms, mapped, bracketed, with a port or in a URL: all private."""
    spelling = data.draw(st.sampled_from(_v4_spellings(address)))
    before, after = data.draw(_around)
    assert holds_address(before + spelling + after)


@given(st.ip_addresses(v=6), st.data())
def test_any_ipv6_spelling_in_any_sentence_is_detected(
    address: ipaddress.IPv6Address, data: st.DataObject
) -> None:
    """Compressed, exploded, upper case, bracketed, with a zone, a port or in a URL: all private."""
    spelling = data.draw(st.sampled_from(_v6_spellings(address)))
    before, after = data.draw(_around)
    assert holds_address(before + spelling + after)


@given(_names, st.sampled_from(_name_spellings), _around)
def test_any_host_name_in_any_sentence_is_detected(name: str, form: str, around: tuple[str, str]) -> None:
    """A dotted name alone, with a port, in a URL or after user@ is private."""
    assert holds_address(around[0] + form.format(name) + around[1])


_words = st.sampled_from(
    ["minecraft", "port", "open", "is", "what", "cgnat", "vs", "tcp", "udp", "my", "server"]
)
_ports = st.integers(min_value=1, max_value=65535).map(str)
_port_forms = st.one_of(_ports, _ports.map(lambda p: p + "/tcp"), _ports.map(lambda p: "port " + p))


@given(st.lists(st.one_of(_words, _port_forms), max_size=8))
def test_questions_made_of_words_and_ports_stay_public(words: list[str]) -> None:
    """Any mix of ordinary words and port numbers holds no address, so the test can fail both ways."""
    assert not holds_address(" ".join(words))


@pytest.mark.parametrize(
    "text", ["a" * SCAN_MAX, "1" * SCAN_MAX, "1." * (SCAN_MAX // 2), "a:" * (SCAN_MAX // 2)]
)
def test_scanning_is_linear_on_hostile_text(text: str) -> None:
    """The longest text scanned takes well under a second (a quadratic regex would take minutes)."""
    holds_address.cache_clear()
    start = time.perf_counter()
    holds_address(text)
    assert time.perf_counter() - start < 1.0
