"""The stabbing index behind port lookups: it finds exactly the ranges a brute-force scan finds."""

from __future__ import annotations

import bisect
import csv
import io

from hypothesis import given
from hypothesis import strategies as st

from knowledge import KnowledgeBase, _intervals
from knowledge._iana import IanaTable, read_csv
from knowledge._paths import IANA_FILE, PACKAGED

RANGES = st.lists(
    st.tuples(st.integers(0, 200), st.integers(0, 40)).map(lambda r: (r[0], r[0] + r[1])),
    max_size=30,
)


def _brute(ranges: list[tuple[int, int]], port: int) -> list[int]:
    return sorted({item for item, (low, high) in enumerate(ranges) if low <= port <= high})


@given(RANGES)
def test_every_port_finds_exactly_the_ranges_covering_it(ranges: list[tuple[int, int]]) -> None:
    """For any set of ranges (overlapping, nested, repeated), each port gets the covering items, ascending."""
    index = _intervals.build((low, high, item) for item, (low, high) in enumerate(ranges))
    for port in range(-1, 245):
        assert list(_intervals.covering(*index, port)) == _brute(ranges, port)


def test_no_ranges_cover_nothing() -> None:
    """An empty index answers every port with nothing."""
    assert list(_intervals.covering(*_intervals.build([]), 80)) == []


def test_iana_ports_match_a_scan_of_the_csv() -> None:
    """Every port's rows, on a sample across 0–65535, are the CSV rows whose port field covers it."""
    raw = (PACKAGED / IANA_FILE).read_text(encoding="utf-8")
    table = IanaTable(read_csv(raw))
    sample = sorted(
        {*range(0, 1100), *range(6000, 6100), *range(25000, 27100), *range(48000, 65536, 7), 65535}
    )
    expected: dict[int, list[int]] = {port: [] for port in sample}
    for number, row in enumerate(list(csv.reader(io.StringIO(raw, newline="")))[1:]):
        low, _, high = row[1].strip().partition("-")
        if low:
            start, stop = bisect.bisect_left(sample, int(low)), bisect.bisect_right(sample, int(high or low))
            for port in sample[start:stop]:
                expected[port].append(number)
    for port in sample:
        assert table.rows_for_port(port) == expected[port], port


def test_services_on_a_port_match_a_scan_of_every_service(real_kb: KnowledgeBase) -> None:
    """The curated services found for a port are those with an entry covering it, in ports.toml order."""
    edges = {e + d for s in real_kb.services for p in s.ports for e in (p.low, p.high) for d in (-1, 0, 1)}
    for port in sorted(edges | set(range(0, 65536, 97))):
        expected = [s.id for s in real_kb.services if any(p.covers(port) for p in s.ports)]
        assert [s.id for s in real_kb._index.services_on(port)] == expected, port
