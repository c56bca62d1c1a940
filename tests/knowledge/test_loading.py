"""Loading ports.toml and concepts.toml: valid files become frozen dataclasses, bad ones fail with a sentence
that names the file, the entry and the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from knowledge import KnowledgeBase, Service, ServicePort
from knowledge._curated import load_services
from knowledge._topics import load_topics
from knowledge.errors import DataError

SERVICE = """
[[service]]
id = "demo"
name = "Demo"
aliases = ["demo"]
category = "game"
summary = "A demo."
sources = ["X"]
{extra}
  [[service.ports]]
  port = {port}
  protocol = "{protocol}"
  role = "game"
  forward = "yes"
"""
TOPIC = """
[[topic]]
id = "{id}"
kind = "{kind}"
title = "T"
keywords = ["t"]
summary = "S."
related = {related}
"""


def _service(tmp_path: Path, *, port: str = "1234", protocol: str = "udp", extra: str = "") -> Path:
    path = tmp_path / "ports.toml"
    path.write_text(SERVICE.format(port=port, protocol=protocol, extra=extra), encoding="utf-8")
    return path


def test_services_load_as_frozen_dataclasses(tmp_path: Path) -> None:
    """A valid entry gives a Service with ServicePorts; both are immutable."""
    (service,) = load_services(_service(tmp_path, port='"26900-26902"'))
    assert service == Service(
        id="demo",
        name="Demo",
        aliases=("demo",),
        category="game",
        summary="A demo.",
        security="",
        troubles=(),
        sources=("X",),
        disagreement="",
        iana_note="",
        ports=(ServicePort(26900, 26902, "udp", "game", "yes"),),
    )
    with pytest.raises(dataclasses.FrozenInstanceError):
        service.name = "Other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("port", "protocol", "extra", "message"),
    [
        (
            "0",
            "udp",
            "",
            "ports.toml: service 'demo', port #1: 'port' 0 is outside 1–65535 (or the range is backwards).",
        ),
        (
            '"9-1"',
            "udp",
            "",
            "ports.toml: service 'demo', port #1: 'port' '9-1' is outside 1–65535 (or the range is backwards).",
        ),
        (
            '"80,443"',
            "udp",
            "",
            "ports.toml: service 'demo', port #1: 'port' must be an integer or a range string like "
            "\"26900-26902\", not '80,443'.",
        ),
        (
            "1234",
            "icmp",
            "",
            "ports.toml: service 'demo', port #1: 'protocol' is 'icmp'; expected one of tcp, udp, tcp+udp.",
        ),
        ("1234", "udp", 'securty = "typo"', "ports.toml: service 'demo': unknown key(s) securty."),
        (
            "1234",
            "udp",
            'troubles = "one"',
            "ports.toml: service 'demo': 'troubles' must be a list of non-empty strings.",
        ),
        (
            "1234",
            "udp",
            'sources_read = "1 Dec 2026"',
            "ports.toml: service 'demo': 'sources_read' '1 Dec 2026' must be a date written YYYY-MM-DD.",
        ),
    ],
)
def test_bad_service_entries_name_the_problem(
    tmp_path: Path, port: str, protocol: str, extra: str, message: str
) -> None:
    """Range, protocol, unknown keys and wrong types are each reported precisely."""
    with pytest.raises(DataError) as caught:
        load_services(_service(tmp_path, port=port, protocol=protocol, extra=extra))
    assert str(caught.value) == message


def test_upper_case_aliases_are_refused(tmp_path: Path) -> None:
    """Aliases must be lower case, as the schema says."""
    path = _service(tmp_path)
    path.write_text(path.read_text().replace('aliases = ["demo"]', 'aliases = ["Demo"]'))
    with pytest.raises(DataError, match=r"^ports.toml: service 'demo': 'aliases' must be lower case.$"):
        load_services(path)


def test_duplicate_service_ids_are_refused(tmp_path: Path) -> None:
    """Two entries with one id would make lookups ambiguous."""
    path = _service(tmp_path)
    path.write_text(path.read_text() * 2)
    with pytest.raises(DataError, match=r"^ports.toml: service 'demo': this id is used twice.$"):
        load_services(path)


def test_invalid_toml_is_reported(tmp_path: Path) -> None:
    """A syntax error names the file and tomllib's position."""
    path = tmp_path / "ports.toml"
    path.write_text("[[service]\nid = 1\n")
    with pytest.raises(DataError, match=r"^ports.toml is not valid TOML: .*\(at line 1, column 10\)\.$"):
        load_services(path)


def test_missing_file_has_no_entries(tmp_path: Path) -> None:
    """A data file that does not exist yet loads as empty, so the IANA registry alone still answers."""
    assert load_services(tmp_path / "ports.toml") == ()
    assert load_topics(tmp_path / "concepts.toml") == ()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            TOPIC.format(id="a", kind="concept", related='["b"]'),
            "concepts.toml: topic 'a' relates to unknown topic(s) b.",
        ),
        (
            TOPIC.format(id="a", kind="faq", related="[]"),
            "concepts.toml: topic 'a': 'kind' is 'faq'; expected one of concept, guide.",
        ),
        (
            TOPIC.format(id="Not Kebab", kind="concept", related="[]"),
            "concepts.toml: topic #1: 'id' 'Not Kebab' must be kebab-case (a-z, 0-9 and hyphens).",
        ),
        ('title = "stray"\n', "concepts.toml has unexpected top-level keys: title."),
    ],
)
def test_bad_topics_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    """Unknown related ids, kinds, bad ids and stray keys are refused."""
    path = tmp_path / "concepts.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_topics(path)
    assert str(caught.value) == message


def test_load_fails_loudly_on_bad_data(tmp_path: Path, sources: Path) -> None:
    """KnowledgeBase.load raises DataError for a broken source instead of answering from half the data."""
    (sources / "ports.toml").write_text('[[service]]\nid = "x"\n')
    with pytest.raises(DataError, match=r"^ports.toml: service 'x': 'name' must be a non-empty string.$"):
        KnowledgeBase.load(tmp_path / "data", source_dir=sources)
