"""The IANA registry index: every row of the packaged CSV, found by port (ranges too) and by name."""

from __future__ import annotations

import csv
import io

import pytest

from knowledge import KnowledgeBase
from knowledge._iana import HEADER, IanaTable, read_csv
from knowledge._paths import IANA_FILE, PACKAGED
from knowledge.errors import DataError

RAW = (PACKAGED / IANA_FILE).read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def table() -> IanaTable:
    return IanaTable(read_csv(RAW))


def _csv(*rows: tuple[str, ...], header: tuple[str, ...] = HEADER) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


def _row(name: str, port: str, protocol: str, description: str = "x") -> tuple[str, ...]:
    return (name, port, protocol, description, "", "", "", "", "", "", "", "")


def test_every_record_is_indexed(table: IanaTable, fixture_kb: KnowledgeBase) -> None:
    """All 14,512 records of the packaged registry are in the index, in file order."""
    records = list(csv.reader(io.StringIO(RAW, newline="")))[1:]
    assert len(table) == len(records) == 14_512
    assert fixture_kb.iana_records == 14_512
    for row in (0, 1, 5_000, 14_511):
        entry = table.entry(row)
        assert (entry.name, entry.ports, entry.protocol) == (
            records[row][0],
            records[row][1],
            records[row][2],
        )


def test_quoted_newlines_survive(table: IanaTable) -> None:
    """Fields holding line breaks inside quotes stay within their record."""
    rows = [table.entry(r) for r in table.rows_for_name("whois++")]
    assert rows and all(e.low == 63 for e in rows)
    assert "\n" in rows[0].notes


@pytest.mark.parametrize(
    ("port", "name", "ports"),
    [
        (225, "", "225-241"),
        (241, "", "225-241"),
        (6000, "x11", "6000-6063"),
        (6063, "x11", "6000-6063"),
        (27005, "flex-lm", "27000-27009"),
    ],
)
def test_a_port_inside_a_range_row_finds_it(table: IanaTable, port: int, name: str, ports: str) -> None:
    """Range rows ("225-241") answer for every port they cover, ends included."""
    found = [table.entry(r) for r in table.rows_for_port(port)]
    assert any(e.name == name and e.ports == ports for e in found)


def test_a_port_just_outside_a_range_does_not_find_it(table: IanaTable) -> None:
    """6064 is not x11's."""
    assert all(table.entry(r).name != "x11" for r in table.rows_for_port(6064))


@pytest.mark.parametrize(
    ("port", "protocol", "name"),
    [(22, "sctp", "ssh"), (9, "dccp", "discard"), (443, "sctp", "https"), (5222, "tcp", "xmpp-client")],
)
def test_sctp_and_dccp_rows_are_indexed(table: IanaTable, port: int, protocol: str, name: str) -> None:
    """Rows for every transport are kept, not only tcp and udp."""
    assert any(
        table.entry(r).protocol == protocol and table.entry(r).name == name for r in table.rows_for_port(port)
    )


def test_a_port_has_all_its_names(table: IanaTable) -> None:
    """Port 63 carries both whoispp and its historic alias whois++."""
    assert {table.entry(r).name for r in table.rows_for_port(63)} >= {"whoispp", "whois++"}


def test_name_only_rows_are_found_by_name(table: IanaTable) -> None:
    """Service names without a port (empty protocol) are searchable by name and by nothing else."""
    entries = [table.entry(r) for r in table.rows_for_name("ARP")]
    assert entries == [entries[0]]
    assert (entries[0].low, entries[0].protocol, entries[0].ports) == (None, "", "")


@pytest.mark.parametrize(
    ("port", "status"),
    [(0, "reserved"), (1895, "unassigned"), (585, "withdrawn"), (443, "assigned")],
)
def test_row_status(table: IanaTable, port: int, status: str) -> None:
    """Reserved, Unassigned and De-registered rows are told apart from assignments."""
    assert status in {table.entry(r).status for r in table.rows_for_port(port)}


def test_ports_with_prefix_lists_registered_ports_shortest_first(table: IanaTable) -> None:
    """Autocomplete's port source: 2 → 2, then 20…29, then 200…"""
    found = table.ports_with_prefix("2")
    assert found[:3] == [2, 20, 21]
    assert all(str(p).startswith("2") for p in found)
    assert found == sorted(found, key=lambda p: (len(str(p)), p))
    assert table.ports_with_prefix("0") == [0]
    assert table.ports_with_prefix("01") == []
    assert table.ports_with_prefix("99999") == []


def test_names_with_prefix(table: IanaTable) -> None:
    """Name prefixes come back in alphabetical order, case-folded."""
    found = table.names_with_prefix("xmpp")
    assert "xmpp-client" in found and found == sorted(found)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "The IANA registry file is empty."),
        (
            _csv(header=("Service Name", "Port Number")),
            "This is not the IANA registry CSV: expected the 12 columns "
            + ", ".join(HEADER)
            + "; found 2: Service Name, Port Number.",
        ),
        (_csv(_row("a", "80x", "tcp")), "IANA registry record 1 has a bad port number '80x'."),
        (_csv(_row("a", "70000", "tcp")), "IANA registry record 1 has a port outside 0–65535: '70000'."),
        (_csv(_row("a", "90-80", "tcp")), "IANA registry record 1 has a port outside 0–65535: '90-80'."),
        (_csv(_row("a", "80", "icmp")), "IANA registry record 1 has an unknown protocol 'icmp'."),
        (_csv(("a", "80")), "IANA registry record 1 has 2 fields, not 12."),
    ],
)
def test_malformed_csv_is_refused_with_the_reason(text: str, message: str) -> None:
    """A file that is not the registry fails with a sentence naming the problem."""
    with pytest.raises(DataError) as caught:
        read_csv(text)
    assert str(caught.value) == message
