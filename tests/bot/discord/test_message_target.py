"""Finding the server a chat message names, for the "Check this server" message command."""

from __future__ import annotations

import pytest

from bot.discord.message_target import Found, find_server

FOUND = [
    ("mc.example.com:25565", Found("mc.example.com", 25565)),
    ("join us at **mc.example.com:25565** tonight!", Found("mc.example.com", 25565)),
    ("`play.example.net:19132`", Found("play.example.net", 19132)),
    ("server is MC.Example.COM 25565", Found("mc.example.com", 25565)),
    ("mc.example.com port 25565", Found("mc.example.com", 25565)),
    ("IP: 203.0.113.7 Port: 2456", Found("203.0.113.7", 2456)),
    ("ip:203.0.113.7:7777", Found("203.0.113.7", 7777)),
    ("[2001:db8::7]:25565", Found("2001:db8::7", 25565)),
    ("v6 is [2001:db8::7]:27015, come play", Found("2001:db8::7", 27015)),
    ("https://files.example.org/share", Found("files.example.org", 443)),
    ("<http://203.0.113.9:8080/status>", Found("203.0.113.9", 8080)),
    ("modpack 1.20.4 on mc.example.com:25565", Found("mc.example.com", 25565)),
    ("first example.org then mc.example.com:25565", Found("mc.example.com", 25565)),
    ("the server is mc.example.com.", Found("mc.example.com", None)),
    ("(mc.example.com) on port 25565", Found("mc.example.com", 25565)),
]

NOTHING = [
    "",
    "anyone up for minecraft tonight?",
    "update to 1.20.4 first, e.g. from the launcher",
    "port 25565 is open",
    "myserver:25565",
]


@pytest.mark.parametrize(("text", "expected"), FOUND, ids=[t for t, _ in FOUND])
def test_a_server_in_a_message_is_found(text: str, expected: Found) -> None:
    """Host and port come out of the usual ways people post a server."""
    assert find_server(text) == expected


@pytest.mark.parametrize("text", NOTHING)
def test_messages_without_a_server_give_nothing(text: str) -> None:
    """Versions, abbreviations, file names and one-label names are not servers."""
    assert find_server(text) is None


def test_a_dotted_quad_without_a_port_is_found_without_one() -> None:
    """A bare address is a server with no port: the command then asks for one."""
    assert find_server("127.0.0.1") == Found("127.0.0.1", None)


def test_a_huge_message_is_read_quickly_and_safely() -> None:
    """A 4,000-character message of noise is handled without error."""
    assert find_server("a.b " * 1000) is None


def test_a_server_at_the_end_of_the_longest_message_is_found() -> None:
    """Every word of a 4,000-character message is read, the last one too."""
    text = "word " * 796 + "mc.example.com:25565"
    assert len(text) == 4000
    assert find_server(text) == Found("mc.example.com", 25565)


def test_parsing_stops_after_64_host_like_words() -> None:
    """A wall of versions and file names is cut short (bounded work on the event loop), not read to the end."""
    assert find_server("v1.2 " * 63 + "mc.example.com:25565") == Found("mc.example.com", 25565)
    assert find_server("v1.2 " * 64 + "mc.example.com:25565") is None
