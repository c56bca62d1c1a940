"""The Check modal's pieces: button values, the metadata it carries, and what counts as a host."""

from __future__ import annotations

import json

import pytest

from bot.slack.modals import (
    SELF_CHECK_ACTION,
    CheckContext,
    check_modal,
    host_problem,
    parse_check_value,
    submitted_host,
)
from bot.slack.render import check_value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("25565/tcp", (25565, "tcp")),
        ("19132/udp", (19132, "udp")),
        ("8080/auto", (8080, "auto")),
        ("1", (1, "auto")),
    ],
)
def test_check_values_read_back(value: str, expected: tuple[int, str]) -> None:
    """A Check button's value gives back its port and protocol."""
    assert parse_check_value(value) == expected


@pytest.mark.parametrize("value", ["", "abc/tcp", "0/tcp", "65536/udp", "-1/tcp"])
def test_bad_check_values_are_refused(value: str) -> None:
    """A value Portbot never wrote is an error, not a probe of something odd."""
    with pytest.raises(ValueError):
        parse_check_value(value)


@pytest.mark.parametrize(("port", "protocol"), [(25565, "tcp"), (19132, "udp"), (443, None)])
def test_check_value_round_trips(port: int, protocol: str | None) -> None:
    """What the renderer writes, the modal reads."""
    assert parse_check_value(check_value(port, protocol)) == (port, protocol or "auto")


def test_metadata_round_trips() -> None:
    """Everything the submission needs comes back out of private_metadata."""
    context = CheckContext(25565, "tcp", "C1", "1700000000.1", "https://hooks.slack.com/actions/T/1/x")
    assert CheckContext.from_metadata(context.to_metadata()) == context


def test_metadata_drops_the_fallback_url_rather_than_exceed_slacks_limit() -> None:
    """private_metadata is capped at 3000 characters; the response_url is only a fallback."""
    context = CheckContext(25565, "tcp", "C1", None, "https://x/" + "a" * 3000)
    assert len(context.to_metadata()) <= 3000
    assert CheckContext.from_metadata(context.to_metadata()).response_url is None


@pytest.mark.parametrize(
    "text",
    ["", "null", "[]", "{}", '{"port": "x"}', '{"port": 0}', '{"port": 80, "protocol": "sctp"}', "not json"],
)
def test_foreign_metadata_is_refused(text: str) -> None:
    """Metadata Portbot did not write raises ValueError."""
    with pytest.raises(ValueError, match=r"^not a Portbot check modal$"):
        CheckContext.from_metadata(text)


@pytest.mark.parametrize("port", [1, 443, 65535])
@pytest.mark.parametrize("protocol", ["auto", "tcp", "udp"])
def test_modal_title_fits_slacks_24_characters(port: int, protocol: str) -> None:
    """Modal titles longer than 24 characters are rejected by views.open."""
    view = check_modal(CheckContext(port, protocol))  # type: ignore[arg-type]
    assert len(view["title"]["text"]) <= 24
    assert json.loads(view["private_metadata"])["port"] == port


@pytest.mark.parametrize(
    ("host", "problem"),
    [
        ("mc.example.com", None),
        ("203.0.113.7", None),
        ("[2001:db8::1]:25565", None),
        ("https://example.com:8443/path", None),
        ("", "Type the address or name of your server."),
        ("a b", "Type just one address or name, without spaces."),
        ("x" * 254, "That is longer than any host name can be."),
        ("<@U123>", "That doesn't look like a host name or address."),
        ("example.com|evil", "That doesn't look like a host name or address."),
    ],
)
def test_host_problems(host: str, problem: str | None) -> None:
    """Obvious non-hosts are caught in the modal; the probe's own checks do the rest."""
    assert host_problem(host) == problem


def test_submitted_host_is_cleaned() -> None:
    """Whitespace and invisible characters around the host are dropped."""
    view = {"state": {"values": {"host": {"host": {"value": "\u200b mc.example.com\n"}}}}}
    assert submitted_host(view) == "mc.example.com"
    assert submitted_host({}) == ""


def test_modal_self_check_button_fits_block_kit() -> None:
    """The modal's "Check my own server" button keeps to Block Kit's limits and leaves the address required."""
    view = check_modal(CheckContext(65535, "both", "C1", hint="ark-survival-evolved"))
    (block,) = [b for b in view["blocks"] if "accessory" in b]
    button = block["accessory"]
    assert button["action_id"] == SELF_CHECK_ACTION and len(button["action_id"]) <= 255
    assert len(button["text"]["text"]) <= 75 and len(block["text"]["text"]) <= 3000
    assert all(b.get("optional") is not True for b in view["blocks"] if b["type"] == "input")
    assert len(view["blocks"]) <= 100  # Slack's limit for a modal
