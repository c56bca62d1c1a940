"""Reading a target as people type it: names, addresses in every spelling, ports, URLs, IDNA, garbage."""

from __future__ import annotations

import ipaddress

import pytest

from probes.errors import InputError
from probes.targets import Target, parse_target


@pytest.mark.parametrize(
    ("text", "host", "port", "scheme"),
    [
        ("mc.example.com", "mc.example.com", None, None),
        ("  mc.example.com  ", "mc.example.com", None, None),
        ("MC.Example.COM", "mc.example.com", None, None),
        ("mc.example.com.", "mc.example.com", None, None),
        ("mc.example.com:25565", "mc.example.com", 25565, None),
        ("mc.example.com.:25565", "mc.example.com", 25565, None),
        ("localhost", "localhost", None, None),
        ("my_server.duckdns.org", "my_server.duckdns.org", None, None),
        ("https://example.com", "example.com", 443, "https"),
        ("HTTPS://Example.com/login?next=/", "example.com", 443, "https"),
        ("http://example.com", "example.com", 80, "http"),
        ("http://example.com:8080/", "example.com", 8080, "http"),
        ("https://user:secret@example.com/", "example.com", 443, "https"),
        ("wss://chat.example.com", "chat.example.com", 443, "wss"),
        ("ssh://example.com", "example.com", 22, "ssh"),
        ("example.com/", "example.com", None, None),
        ("münchen.de", "xn--mnchen-3ya.de", None, None),
        ("MÜNCHEN.de:443", "xn--mnchen-3ya.de", 443, None),
        ("bücher.example.", "xn--bcher-kva.example", None, None),
        ("例え.テスト", "xn--r8jz45g.xn--zckzah", None, None),
        ("ex\u3002com", "ex.com", None, None),
        ("https://bücher.example/", "xn--bcher-kva.example", 443, "https"),
    ],
)
def test_names_are_normalised(text: str, host: str, port: int | None, scheme: str | None) -> None:
    """Names come out lower-case, without the trailing dot, as IDNA A-labels, with the port they named."""
    assert parse_target(text) == Target(host=host, port=port, scheme=scheme)


@pytest.mark.parametrize(
    ("text", "address", "port"),
    [
        ("203.0.113.7", "203.0.113.7", None),
        ("203.0.113.7:25565", "203.0.113.7", 25565),
        ("203.0.113.7.", "203.0.113.7", None),
        ("2001:db8::7", "2001:db8::7", None),
        ("2001:DB8:0:0::7", "2001:db8::7", None),
        ("[2001:db8::7]", "2001:db8::7", None),
        ("[2001:db8::7]:443", "2001:db8::7", 443),
        ("::1", "::1", None),
        ("[::ffff:127.0.0.1]:80", "::ffff:7f00:1", 80),
        ("http://[2001:db8::1]:8080/x", "2001:db8::1", 8080),
        ("https://203.0.113.7", "203.0.113.7", 443),
        # Textual tricks: each is an address, so the safety policy sees what it really is.
        ("2130706433", "127.0.0.1", None),
        ("2130706433:22", "127.0.0.1", 22),
        ("0177.0.0.1", "127.0.0.1", None),
        ("0x7f.1", "127.0.0.1", None),
        ("0X7F.0.0.1:80", "127.0.0.1", 80),
        ("127.1", "127.0.0.1", None),
        ("http://0x7f000001/", "127.0.0.1", 80),
        ("[fe80::1%25eth0]:22", "fe80::1", 22),
    ],
)
def test_address_literals_in_every_spelling(text: str, address: str, port: int | None) -> None:
    """Address spellings become the canonical address, marked as an address rather than a name."""
    target = parse_target(text)
    assert target.address == ipaddress.ip_address(address)
    assert target.is_address
    assert target.host == address
    assert target.port == port


HOST_HINT = (
    "A server name looks like `mc.example.com`; an address looks like `203.0.113.7` or `2001:db8::7`. "
    "Put a port after a colon: `mc.example.com:25565`, or `[2001:db8::7]:25565` for IPv6."
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "",
            "Tell me which server to check, e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        (
            "   ",
            "Tell me which server to check, e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        (
            "mc example com",
            "`mc example com` has a space or an invisible character in it; give me one server name or address.",
        ),
        (
            "mc.example.com\x00",
            "`mc.example.com?` has a space or an invisible character in it; give me one server name or address.",
        ),
        (
            "minecraft://mc.example.com",
            "I can't check `minecraft://` links. Give me the server's name or address instead, "
            "e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        (
            "file:///etc/passwd",
            "I can't check `file://` links. Give me the server's name or address instead, "
            "e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        (
            "203.0.113.0/24",
            "`203.0.113.0/24` looks like a path or a network range. I check one server at a time: give me its "
            "name or address, e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        ("mc.example.com:", "An empty port is not a port: ports go from 1 to 65535."),
        ("mc.example.com:0", "`0` is not a port: ports go from 1 to 65535."),
        ("mc.example.com:65536", "`65536` is not a port: ports go from 1 to 65535."),
        ("mc.example.com:http", "`http` is not a port: ports go from 1 to 65535."),
        ("mc.example.com:-1", "`-1` is not a port: ports go from 1 to 65535."),
        ("[2001:db8::7]:99999", "`99999` is not a port: ports go from 1 to 65535."),
        ("[2001:db8::7", "`[2001:db8::7` opens a `[` but never closes it."),
        ("[2001:db8::7]x", "`[2001:db8::7]x` has something odd after the `]`."),
        ("[mc.example.com]:80", "`[mc.example.com]:80`: square brackets are only for IPv6 addresses."),
        ("[203.0.113.7]:80", "`[203.0.113.7]:80`: square brackets are only for IPv6 addresses."),
        (
            "2001:db8::7:25565:1:2:3:4:5",
            "`2001:db8::7:25565:1:2:3:4:5` is not a valid IPv6 address. To add a port to one, "
            "write `[2001:db8::7]:25565`.",
        ),
        (
            "https://",
            "`https://` has no server name in it; e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        (
            ":25565",
            "`:25565` has no server name in it; e.g. `mc.example.com`, `mc.example.com:25565` or `203.0.113.7`.",
        ),
        ("-bad-.example.com", "`-bad-.example.com` is not a valid server name."),
        ("mc..example.com", "`mc..example.com` is not a valid server name."),
        ("mc.exa$mple.com", "`mc.exa$mple.com` is not a valid server name."),
        ("a" * 64 + ".com", f"`{'a' * 59}…` is not a valid server name."),
        (
            "\u2603\u200d.example",
            "`\u2603?.example` has a space or an invisible character in it; give me one server name or address.",
        ),
        ("xn--\u00e9.example", "`xn--\u00e9.example` is not a valid server name."),
        ("203.0.113.7.5", "`203.0.113.7.5` is neither an IP address nor a server name."),
        ("1.2.3.4.5:80", "`1.2.3.4.5:80` is neither an IP address nor a server name."),
        ("x" * 301, "That's far too long to be a server name or address."),
        ("mc`.example.com", "`mc'.example.com` is not a valid server name."),
    ],
)
def test_garbage_is_refused_with_a_friendly_sentence(text: str, message: str) -> None:
    """Bad input raises InputError with the exact sentence the user will read."""
    with pytest.raises(InputError) as info:
        parse_target(text)
    assert str(info.value) == message


def test_bad_names_carry_a_hint_with_examples() -> None:
    """A bad host comes with a hint showing what a name, an address and a port look like."""
    with pytest.raises(InputError) as info:
        parse_target("mc..example.com")
    assert info.value.hint == HOST_HINT


def test_names_are_not_addresses() -> None:
    """A host name has no address yet: the resolver finds those later."""
    target = parse_target("mc.example.com")
    assert target.address is None
    assert not target.is_address
