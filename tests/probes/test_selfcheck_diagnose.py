"""The diagnosis table: the public address the worker saw against the router's WAN address."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from probes.selfcheck import diagnose

CONCEPTS = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "concepts.toml"


@pytest.mark.parametrize(
    ("public", "wan", "verdict"),
    [
        ("203.0.113.20", "203.0.113.20", "forward-or-firewall"),
        ("203.0.113.20", " 203.0.113.20 ", "forward-or-firewall"),
        ("::ffff:203.0.113.20", "203.0.113.20", "forward-or-firewall"),
        ("203.0.113.20", "100.64.0.1", "cgnat"),
        ("203.0.113.20", "100.127.255.254", "cgnat"),
        ("198.51.100.7", "10.0.0.2", "double-nat"),
        ("198.51.100.7", "172.16.5.1", "double-nat"),
        ("198.51.100.7", "172.31.255.1", "double-nat"),
        ("198.51.100.7", "192.168.1.2", "double-nat"),
        ("198.51.100.7", "198.51.100.99", "other-nat"),
        ("198.51.100.7", "100.128.0.1", "other-nat"),
        ("198.51.100.7", "172.32.0.1", "other-nat"),
        ("198.51.100.7", None, "unknown"),
        ("198.51.100.7", "", "unknown"),
        ("198.51.100.7", "not an address", "unknown"),
        ("198.51.100.7", "0.0.0.0", "unknown"),
        ("198.51.100.7", "169.254.1.1", "unknown"),
        ("198.51.100.7", "2001:db8::1", "unknown"),
        ("2001:db8::20", None, "ipv6-firewall"),
        ("2001:db8::20", "203.0.113.20", "ipv6-firewall"),
        ("2001:db8::20", "100.64.0.1", "ipv6-firewall"),
    ],
)
def test_verdict_table(public: str, wan: str | None, verdict: str) -> None:
    """Each comparison gives the verdict of the issue's table."""
    assert diagnose(public, wan).verdict == verdict


def test_ipv6_advice_never_says_forward() -> None:
    """IPv6 advice is to allow the port in the firewall, never to forward it."""
    diagnosis = diagnose("2001:db8::20", None)
    text = " ".join((diagnosis.title, diagnosis.summary, *diagnosis.steps)).lower()
    assert "firewall" in text
    assert "port forward" not in text
    assert "add a forward" not in text
    assert "ipv6-and-ports" in diagnosis.topics


@pytest.mark.parametrize(
    ("wan", "first_topic"),
    [("203.0.113.20", "port-forwarding"), ("100.64.0.1", "cgnat"), ("192.168.1.2", "double-nat")],
)
def test_verdict_links_its_topic_first(wan: str, first_topic: str) -> None:
    """Each verdict names its own knowledge topic first, so chat can link it."""
    assert diagnose("203.0.113.20", wan).topics[0] == first_topic


@pytest.mark.parametrize(
    ("public", "wan"),
    [
        ("203.0.113.20", "203.0.113.20"),
        ("203.0.113.20", "100.64.0.1"),
        ("203.0.113.20", "10.0.0.1"),
        ("203.0.113.20", "198.51.100.1"),
        ("203.0.113.20", None),
        ("2001:db8::1", None),
    ],
)
def test_every_topic_exists(public: str, wan: str | None) -> None:
    """Every topic a verdict references is a real knowledge topic id."""
    ids = {topic["id"] for topic in tomllib.loads(CONCEPTS.read_text(encoding="utf-8"))["topic"]}
    diagnosis = diagnose(public, wan)
    assert set(diagnosis.topics) <= ids
    assert len(diagnosis.steps) >= 2


def test_as_dict_is_json_shaped() -> None:
    """The JSON form carries the verdict, both addresses, steps and topics as lists."""
    data = diagnose("203.0.113.20", "100.64.1.1").as_dict()
    assert data["verdict"] == "cgnat"
    assert (data["public_address"], data["wan_address"]) == ("203.0.113.20", "100.64.1.1")
    assert isinstance(data["steps"], list)
    assert data["topics"][0] == "cgnat"


def test_public_address_must_be_an_address() -> None:
    """A public address that is not an IP address is a programming error, said plainly."""
    with pytest.raises(ValueError, match=r"^not an IP address: 'example\.org'$"):
        diagnose("example.org", None)
