"""Checks knowledge/data/concepts.toml against the [[topic]] schema in SCHEMA.md and the facts it must carry.

Reads the file with tomllib only, so it guards the data no matter how the lookup engine evolves.
"""

from __future__ import annotations

import ipaddress
import re
import string
import tomllib
from pathlib import Path
from typing import Any

import pytest

CONCEPTS = Path(__file__).resolve().parents[2] / "knowledge" / "data" / "concepts.toml"

REQUIRED_KEYS = {"id", "kind", "title", "keywords", "summary", "body", "related"}
OPTIONAL_KEYS = {"steps", "commands"}
KINDS = {"concept", "guide"}
PLACEHOLDERS = {"name", "ports", "forward_ports", "game_port"}
PROSE_FIELDS = ("title", "summary", "body", "steps")
MAX_SUMMARY = 400
MAX_PARAGRAPH = 600

# One question named a service, one didn't: the two ways the lookup fills a guide in.
SPECIALISED = {
    "name": "Valheim",
    "ports": "2456–2457/udp",
    "forward_ports": "2456–2457/udp",
    "game_port": "2456",
}
GENERIC = {
    "name": "your server",
    "ports": "your server's ports",
    "forward_ports": "your server's port",
    "game_port": "your server's port",
}

REQUIRED_TOPICS = [
    ("what-is-a-port", "concept"),
    ("listening", "concept"),
    ("source-vs-destination", "concept"),
    ("port-ranges", "concept"),
    ("well-known-ports", "concept"),
    ("registered-ports", "concept"),
    ("ephemeral-ports", "concept"),
    ("tcp-vs-udp", "concept"),
    ("port-forwarding", "concept"),
    ("nat", "concept"),
    ("cgnat", "concept"),
    ("double-nat", "concept"),
    ("hairpin-nat", "concept"),
    ("firewalls", "concept"),
    ("vpns-and-ports", "concept"),
    ("port-conflicts", "concept"),
    ("changing-default-port", "concept"),
    ("what-is-listening", "concept"),
    ("ping-cannot-test-ports", "concept"),
    ("port-states", "concept"),
    ("port-scanning", "concept"),
    ("ipv6-and-ports", "concept"),
    ("public-vs-private-ip", "concept"),
    ("dynamic-dns", "concept"),
    ("friends-cant-join", "guide"),
    ("is-my-port-open", "guide"),
    ("site-not-reachable-443", "guide"),
    # issue 12: what people asked and found no page for
    ("dmz", "concept"),
    ("port-triggering", "concept"),
    ("refused-vs-timed-out", "concept"),
    ("vpn-split-tunnelling", "concept"),
    ("port-zero", "concept"),
    ("isp-blocked-ports", "concept"),
    ("console-nat-types", "concept"),
    ("privileged-ports", "concept"),
    ("exposing-services", "concept"),
    ("private-wan-address", "concept"),
]

# (topic id, where to look, text that must be there). "text" is every prose field plus commands.
FACTS = [
    ("what-is-a-port", "text", "65535"),
    ("what-is-a-port", "text", "Port 0 is reserved"),
    ("listening", "text", "0.0.0.0"),
    ("listening", "text", "127.0.0.1"),
    ("listening", "text", "address already in use"),
    ("port-ranges", "text", "0–1023"),
    ("port-ranges", "text", "1024–49151"),
    ("port-ranges", "text", "49152–65535"),
    ("port-ranges", "text", "RFC 6335"),
    ("well-known-ports", "text", "0–1023"),
    ("well-known-ports", "text", "CAP_NET_BIND_SERVICE"),
    ("well-known-ports", "text", "net.ipv4.ip_unprivileged_port_start"),
    ("registered-ports", "text", "1024–49151"),
    ("ephemeral-ports", "text", "49152–65535"),
    ("ephemeral-ports", "text", "32768–60999"),
    ("ephemeral-ports", "text", "RFC 6335"),
    ("ephemeral-ports", "text", "Vista"),
    ("ephemeral-ports", "text", "/proc/sys/net/ipv4/ip_local_port_range"),
    ("tcp-vs-udp", "text", "Both"),
    ("port-forwarding", "text", "DHCP reservation"),
    ("port-forwarding", "text", "UPnP"),
    ("cgnat", "text", "100.64.0.0/10"),
    ("cgnat", "text", "RFC 6598"),
    ("cgnat", "text", "IPv6"),
    ("double-nat", "text", "bridge mode"),
    ("hairpin-nat", "text", "mobile data"),
    ("public-vs-private-ip", "text", "RFC 1918"),
    ("public-vs-private-ip", "text", "10.0.0.0/8"),
    ("public-vs-private-ip", "text", "172.16.0.0/12"),
    ("public-vs-private-ip", "text", "192.168.0.0/16"),
    ("port-conflicts", "text", "EADDRINUSE"),
    ("port-conflicts", "text", "10048"),
    ("port-states", "text", "open|filtered"),
    ("ping-cannot-test-ports", "text", "ICMP"),
    ("ipv6-and-ports", "text", "RFC 6092"),
    ("what-is-listening", "commands", "ss -ltnup"),
    ("what-is-listening", "commands", "sudo lsof -iTCP -sTCP:LISTEN -P -n"),
    ("what-is-listening", "commands", "netstat -ano"),
    ("what-is-listening", "commands", "netstat -an | grep LISTEN"),
    ("what-is-listening", "commands", "Get-NetTCPConnection -State Listen"),
    ("what-is-listening", "commands", "Get-NetUDPEndpoint"),
    ("what-is-listening", "commands", "Get-Process -Id <pid>"),
    ("ping-cannot-test-ports", "commands", "nc -vz"),
    ("ping-cannot-test-ports", "commands", "Test-NetConnection"),
    ("firewalls", "commands", "New-NetFirewallRule"),
    ("firewalls", "commands", "sudo ufw allow"),
    ("firewalls", "commands", "firewall-cmd"),
    ("firewalls", "commands", "sudo iptables"),
    ("firewalls", "commands", "sudo nft"),
    ("friends-cant-join", "text", "0.0.0.0"),
    ("friends-cant-join", "text", "DHCP reservation"),
    ("friends-cant-join", "text", "CGNAT"),
    ("friends-cant-join", "text", "hairpin"),
    ("site-not-reachable-443", "text", "certificate"),
    ("site-not-reachable-443", "text", "security group"),
    ("dmz", "text", "DHCP reservation"),
    ("port-triggering", "text", "trigger port"),
    ("refused-vs-timed-out", "text", "ECONNREFUSED"),
    ("refused-vs-timed-out", "text", "10061"),
    ("refused-vs-timed-out", "text", "10060"),
    ("vpn-split-tunnelling", "text", "kill switch"),
    ("port-zero", "text", "getsockname"),
    ("isp-blocked-ports", "text", "587"),
    ("console-nat-types", "text", "3074"),
    ("console-nat-types", "text", "Type 3"),
    ("console-nat-types", "text", "TCP 3478-3480"),
    ("console-nat-types", "text", "UDP range 1-65535"),
    ("privileged-ports", "text", "CAP_NET_BIND_SERVICE"),
    ("privileged-ports", "text", "Windows has no such rule"),
    ("exposing-services", "text", "WireGuard"),
    ("exposing-services", "text", "Tailscale"),
    ("exposing-services", "text", "127.0.0.1"),
    ("private-wan-address", "text", "100.64.0.0/10"),
    ("private-wan-address", "text", "bridge"),
    ("what-is-listening", "commands", "ss -tulpn"),
    ("what-is-listening", "commands", "lsof -i -P -n"),
]


def _load() -> tuple[dict[str, Any] | None, Exception | None]:
    try:
        with CONCEPTS.open("rb") as fh:
            return tomllib.load(fh), None
    except (OSError, tomllib.TOMLDecodeError) as exc:
        return None, exc


DATA, LOAD_ERROR = _load()
TOPICS: list[dict[str, Any]] = list((DATA or {}).get("topic", []))
BY_ID = {str(t.get("id")): t for t in TOPICS}
GUIDES = [t for t in TOPICS if t.get("kind") == "guide"]


def _ids(topics: list[dict[str, Any]]) -> list[str]:
    return [str(t.get("id", "?")) for t in topics]


def _strings(topic: dict[str, Any], fields: tuple[str, ...]) -> list[str]:
    out: list[str] = []
    for name in fields:
        value = topic.get(name, [])
        out.extend([value] if isinstance(value, str) else value)
    return out


def _fields_in(text: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(text) if field is not None}


def test_file_parses() -> None:
    """concepts.toml is valid TOML holding a non-empty list of [[topic]] tables and nothing else."""
    assert LOAD_ERROR is None, f"cannot read {CONCEPTS}: {LOAD_ERROR}"
    assert DATA is not None
    assert set(DATA) == {"topic"}
    assert TOPICS


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_has_only_schema_keys(topic: dict[str, Any]) -> None:
    """Every topic has the required keys and no keys outside the schema."""
    assert not REQUIRED_KEYS - set(topic), f"missing: {REQUIRED_KEYS - set(topic)}"
    assert set(topic) <= REQUIRED_KEYS | OPTIONAL_KEYS, (
        f"unknown: {set(topic) - REQUIRED_KEYS - OPTIONAL_KEYS}"
    )


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_topic_field_types(topic: dict[str, Any]) -> None:
    """Scalar fields are non-empty strings and list fields are lists of non-empty strings."""
    for name in ("id", "kind", "title", "summary"):
        assert isinstance(topic[name], str) and topic[name].strip(), name
    for name in ("keywords", "body", "related", "steps", "commands"):
        value = topic.get(name, [])
        assert isinstance(value, list), name
        assert all(isinstance(item, str) and item.strip() for item in value), name


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_kind_is_known(topic: dict[str, Any]) -> None:
    """kind is concept or guide."""
    assert topic["kind"] in KINDS


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_id_is_kebab_case(topic: dict[str, Any]) -> None:
    """Ids are lower-case kebab-case."""
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", topic["id"])


def test_ids_are_unique() -> None:
    """No two topics share an id."""
    ids = _ids(TOPICS)
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})


@pytest.mark.parametrize(("topic_id", "kind"), REQUIRED_TOPICS)
def test_required_topic_exists(topic_id: str, kind: str) -> None:
    """Every topic the bot promises to explain exists, with the right kind."""
    assert topic_id in BY_ID
    assert BY_ID[topic_id]["kind"] == kind


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_related_ids_exist(topic: dict[str, Any]) -> None:
    """related names other existing topics, each once, never the topic itself."""
    related = topic["related"]
    assert related, "every topic points somewhere next"
    assert len(related) == len(set(related))
    assert topic["id"] not in related
    assert set(related) <= set(BY_ID), f"unknown: {set(related) - set(BY_ID)}"


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_keywords_are_lower_case_and_distinct(topic: dict[str, Any]) -> None:
    """Keywords are non-empty, lower case, trimmed and not repeated."""
    keywords = topic["keywords"]
    assert keywords
    for keyword in keywords:
        assert keyword == keyword.lower(), keyword
        assert keyword == keyword.strip() and "  " not in keyword, keyword
    assert len(keywords) == len(set(keywords))


def test_each_keyword_belongs_to_one_topic() -> None:
    """A keyword leads to exactly one topic, so the lookup never has to guess between two."""
    owners: dict[str, list[str]] = {}
    for topic in TOPICS:
        for keyword in topic["keywords"]:
            owners.setdefault(keyword, []).append(topic["id"])
    shared = {k: v for k, v in owners.items() if len(v) > 1}
    assert not shared


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_steps_only_in_guides(topic: dict[str, Any]) -> None:
    """Guides have steps; concepts have none."""
    if topic["kind"] == "guide":
        assert len(topic.get("steps", [])) >= 3
    else:
        assert not topic.get("steps")


@pytest.mark.parametrize("guide", GUIDES, ids=_ids(GUIDES))
def test_guide_uses_only_known_placeholders(guide: dict[str, Any]) -> None:
    """Steps use only {name}, {ports}, {forward_ports} and {game_port}, with no format specs."""
    for step in guide["steps"]:
        assert _fields_in(step) <= PLACEHOLDERS, step
        for _, _, spec, conversion in string.Formatter().parse(step):
            assert not spec and conversion is None, step


@pytest.mark.parametrize("fill", [SPECIALISED, GENERIC], ids=["specialised", "generic"])
@pytest.mark.parametrize("guide", GUIDES, ids=_ids(GUIDES))
def test_guide_renders(guide: dict[str, Any], fill: dict[str, str]) -> None:
    """Every step renders with str.format, leaves no braces behind and doesn't stutter ("server server")."""
    for step in guide["steps"]:
        rendered = step.format(**fill)
        assert "{" not in rendered and "}" not in rendered, rendered
        assert not re.search(r"\b(\w+) \1\b", rendered, flags=re.IGNORECASE), rendered


@pytest.mark.parametrize("guide", GUIDES, ids=_ids(GUIDES))
def test_no_sentence_starts_with_a_placeholder(guide: dict[str, Any]) -> None:
    """The generic fill is lower case, so a placeholder never opens a sentence."""
    for step in guide["steps"]:
        assert not re.search(r"(^|[.!?]\s+)\{", step), step


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_placeholders_and_braces_only_in_steps(topic: dict[str, Any]) -> None:
    """Outside steps there are no braces at all, so a renderer may format any field safely."""
    for text in _strings(topic, ("id", "title", "summary", "body", "commands", "keywords", "related")):
        assert "{" not in text and "}" not in text, text


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_summary_is_short(topic: dict[str, Any]) -> None:
    """The summary answers on its own in at most about 400 characters."""
    assert len(topic["summary"]) <= MAX_SUMMARY


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_body_is_a_few_short_paragraphs(topic: dict[str, Any]) -> None:
    """The body is 2 to 5 paragraphs, none of them a wall of text."""
    assert 2 <= len(topic["body"]) <= 5
    assert all(len(paragraph) <= MAX_PARAGRAPH for paragraph in topic["body"])


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_prose_is_plain_text(topic: dict[str, Any]) -> None:
    """Prose carries no Markdown or stray whitespace; renderers decide the formatting."""
    for text in _strings(topic, PROSE_FIELDS):
        assert "`" not in text and "**" not in text, text
        assert text == text.strip() and "  " not in text, text


@pytest.mark.parametrize("topic", TOPICS, ids=_ids(TOPICS))
def test_example_addresses_are_not_public(topic: dict[str, Any]) -> None:
    """Every IPv4 address written out is private, reserved or for documentation, never someone's real host."""
    for text in _strings(topic, (*PROSE_FIELDS, "commands")):
        for literal in re.findall(r"(?<![\d.])\d{1,3}(?:\.\d{1,3}){3}(?![\d.])", text):
            assert not ipaddress.ip_address(literal).is_global, literal


@pytest.mark.parametrize(("topic_id", "where", "needle"), FACTS)
def test_fact_is_present(topic_id: str, where: str, needle: str) -> None:
    """The topic states the fact it exists to explain."""
    topic = BY_ID[topic_id]
    haystack = (
        topic.get("commands", []) if where == "commands" else _strings(topic, (*PROSE_FIELDS, "commands"))
    )
    assert any(needle in text for text in haystack), f"{topic_id} should mention {needle!r}"
