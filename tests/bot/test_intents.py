"""How text typed after /port becomes an intent."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core import intents
from bot.core.intents import MAX_INPUT, Check, Help, Invalid, Lookup, SelfCheck, clean, parse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("25565", Lookup("25565")),
        ("/port minecraft", Lookup("minecraft")),
        ("what is cgnat", Lookup("what is cgnat")),
        ("is 25565 open", Lookup("is 25565 open")),
        ("is my port open", Lookup("is my port open")),
        ("ping example.com", Lookup("ping example.com")),
        ("test my server", SelfCheck()),  # issue 9: a check with no host is of the asker's own server
        ("check minecraft", Lookup("check minecraft")),
        ("check example.com 25565", Check("example.com", (25565,))),
        ("CHECK example.com 25565 UDP", Check("example.com", (25565,), "udp")),
        ("check example.com:25565", Check("example.com:25565", ())),
        ("check https://example.com", Check("https://example.com", ())),
        ("check [2001:db8::1]:25565", Check("[2001:db8::1]:25565", ())),
        ("check example.com 25565/udp", Check("example.com", (25565,), "udp")),
        ("check example.com 2456,2457 udp", Check("example.com", (2456, 2457), "udp")),
        ("check example.com 443 443", Check("example.com", (443,))),
        ("probe 203.0.113.5 port 80", Check("203.0.113.5", (80,))),
        ("check myhost 25565", Check("myhost", (25565,))),
        ("is 443 open on example.com", Check("example.com", (443,))),
        ("is port 443 reachable on example.com?", Check("example.com", (443,))),
        ("is example.com:443 open?", Check("example.com:443", ())),
        ("is example.com port 443 open", Check("example.com", (443,))),
        ("can people reach 25565 on mc.example.com", Check("mc.example.com", (25565,))),
        ("can my friends reach port 2456 on 203.0.113.5?", Check("203.0.113.5", (2456,))),
        ("", Help()),
        ("   ", Help()),
        ("help", Help()),
        ("/port", Help()),
    ],
)
def test_parse(text: str, expected: object) -> None:
    """Each phrasing lands on the intended intent."""
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("check example.com 99999", "99999 is not a port I can check: ports go from 1 to 65535."),
        ("check example.com 0", "0 is not a port I can check: ports go from 1 to 65535."),
        ("check example.com -5", "-5 is not a port I can check: ports go from 1 to 65535."),
        (
            "check example.com 1-1000",
            "I check one host and a few ports at a time, never ranges: that would be a port scan.",
        ),
        (
            "scan 203.0.113.5",
            "I check one host and a few ports at a time, never ranges: that would be a port scan.",
        ),
        ("check example.com 80 8o", "I couldn't read `8o` as a port number."),
    ],
)
def test_invalid_requests_explain_themselves(text: str, message: str) -> None:
    """Bad probe requests get a friendly sentence and a hint, not an exception."""
    intent = parse(text)
    assert isinstance(intent, Invalid)
    assert intent.message == message
    assert intent.hint


def test_control_characters_and_long_input_are_cleaned() -> None:
    """Control characters become spaces and input is cut to MAX_INPUT."""
    assert clean("25\x00565\u200b\n") == "25 565"
    assert len(clean("x" * 10_000)) == MAX_INPUT


@given(st.text())
def test_parse_never_raises(text: str) -> None:
    """No string makes the parser raise."""
    assert isinstance(parse(text), Lookup | Check | SelfCheck | Help | Invalid)


@given(
    st.one_of(
        st.text(min_size=4, max_size=8),
        st.builds(
            lambda v, x: v + x, st.sampled_from(["is", "are", "can", "İs"]), st.text(min_size=1, max_size=3)
        ),
    ).filter(lambda w: len(w.split()) == 1 and not w[0].isspace()),
    st.one_of(
        st.text(max_size=40),
        st.sampled_from(
            ["443 open on example.com", "example.com:443 open?", "I reach port 22 on host.example"]
        ),
    ),
)
def test_the_is_open_patterns_never_match_after_a_long_first_word(first: str, rest: str) -> None:
    """parse() skips the "is … open" patterns when the first word is over three characters: they cannot match."""
    text = clean(f"{first} {rest}")
    words = text.split()  # cleaning can leave nothing: control characters become spaces
    if words and len(words[0]) > 3:
        assert re.match(intents._IS_PORT_OPEN_ON, text, re.IGNORECASE) is None
        assert re.match(intents._IS_TARGET_OPEN, text, re.IGNORECASE) is None


@pytest.mark.parametrize("verb", ["is", "IS", "are", "iſ", "İs", "ıs"])
def test_is_open_checks_still_parse_with_short_first_words(verb: str) -> None:
    """Every spelling the case-blind pattern accepts is still read as a check."""
    assert parse(f"{verb} 443 open on example.com") == Check("example.com", (443,))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("check example.com 2456 valheim", Check("example.com", (2456,), game="valheim")),
        ("check example.com 2456 Valheim udp", Check("example.com", (2456,), "udp", game="Valheim")),
        ("check example.com 26900 7daystodie", Check("example.com", (26900,), game="7daystodie")),
        ("check example.com:7777 ark", Check("example.com:7777", (), game="ark")),
        ("check example.com 25565 port25566", Check("example.com", (25565, 25566))),
    ],
)
def test_a_game_name_after_the_ports_is_kept_as_the_hint(text: str, expected: Check) -> None:
    """Words after the target that are not ports or protocols name the game; the core matches them."""
    assert parse(text) == expected
