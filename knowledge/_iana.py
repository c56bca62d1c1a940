"""IANA's service-name and port-number registry, held column-wise so the compiled index loads in about a
millisecond: all text as one UTF-8 buffer plus a few integer arrays, instead of 14,512 small objects. The
buffers are used where they lie in the cache file's bytes, never copied or decoded whole: an
:class:`IanaEntry` is decoded only for the rows an answer shows.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from knowledge import _intervals
from knowledge.errors import DataError

HEADER = (
    "Service Name",
    "Port Number",
    "Transport Protocol",
    "Description",
    "Assignee",
    "Contact",
    "Registration Date",
    "Modification Date",
    "Reference",
    "Service Code",
    "Unauthorized Use Reported",
    "Assignment Notes",
)
PROTOCOLS = ("", "tcp", "udp", "sctp", "dccp")

# The CSV columns we keep, in the order they are stored per row.
_KEPT = (0, 3, 8, 11, 10)  # name, description, reference, notes, unauthorized use
_NO_PORT = -1


@dataclass(frozen=True, slots=True)
class IanaEntry:
    """One row of the IANA registry. ``low``/``high`` are None for a service name registered without a port."""

    name: str
    low: int | None
    high: int | None
    protocol: str  # tcp | udp | sctp | dccp | "" (a name-only row, or a range held for every protocol)
    description: str
    reference: str
    notes: str
    unauthorized_use: str

    @property
    def ports(self) -> str:
        """``"80"``, ``"225-241"`` or ``""``."""
        if self.low is None:
            return ""
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    @property
    def status(self) -> str:
        """``assigned`` for a named service, else ``reserved``, ``unassigned`` or ``withdrawn``."""
        if self.name:
            return "assigned"
        word = self.description.strip().lower()
        if word in ("reserved", "unassigned"):
            return word
        return "withdrawn"  # IANA marks these "De-registered" or "Removed"


class IanaTable:
    """All registry rows, with an index by port and by service name."""

    __slots__ = (
        "_by_name",
        "_high",
        "_low",
        "_name_recs",
        "_name_start",
        "_names",
        "_names_text",
        "_offsets",
        "_proto",
        "_range_items",
        "_range_offsets",
        "_range_starts",
        "_single_port",
        "_single_rec",
        "_text",
    )

    def __init__(self, data: dict[str, Any]) -> None:
        self._text: bytes | memoryview = data["text"]
        self._offsets = _ints("I", data["offsets"])
        self._low = _ints("i", data["low"])
        self._high = _ints("i", data["high"])
        self._proto: bytes | memoryview = data["proto"]
        self._single_port = _ints("i", data["single_port"])
        self._single_rec = _ints("i", data["single_rec"])
        self._range_starts = _ints("i", data["range_starts"])
        self._range_offsets = _ints("i", data["range_offsets"])
        self._range_items = _ints("i", data["range_items"])
        self._names_text: bytes | memoryview = data["names"]
        self._name_start = _ints("I", data["name_start"])
        self._name_recs = _ints("i", data["name_recs"])
        self._names: list[str] | None = None
        self._by_name: dict[str, int] | None = None

    def __len__(self) -> int:
        return len(self._low)

    def entry(self, row: int) -> IanaEntry:
        """The row number ``row`` (0-based, in file order) as an entry."""
        base = row * len(_KEPT)
        name, description, reference, notes, unauthorized = (
            str(self._text[self._offsets[base + k] : self._offsets[base + k + 1]], "utf-8")
            for k in range(len(_KEPT))
        )
        low = self._low[row]
        return IanaEntry(
            name=name,
            low=None if low == _NO_PORT else low,
            high=None if low == _NO_PORT else self._high[row],
            protocol=PROTOCOLS[self._proto[row]],
            description=description,
            reference=reference,
            notes=notes,
            unauthorized_use=unauthorized,
        )

    def rows_for_port(self, port: int) -> list[int]:
        """Rows registering ``port`` itself or a range containing it, in file order."""
        first = bisect.bisect_left(self._single_port, port)
        last = bisect.bisect_right(self._single_port, port)
        found = list(self._single_rec[first:last])
        found += _intervals.covering(self._range_starts, self._range_offsets, self._range_items, port)
        return sorted(found)

    def ports_with_prefix(self, digits: str) -> list[int]:
        """Distinct single registered ports whose decimal form starts with ``digits``, shortest first."""
        found: list[int] = []
        if digits.startswith("0"):  # no port is written with a leading zero, except 0 itself
            return [0] if digits == "0" and self.rows_for_port(0) else []
        value, width = int(digits), 1
        while value * width <= 65535:
            lo = bisect.bisect_left(self._single_port, value * width)
            hi = bisect.bisect_left(self._single_port, (value + 1) * width)
            for port in self._single_port[lo:hi]:
                if not found or found[-1] != port:
                    found.append(port)
            width *= 10
        return found

    @property
    def names(self) -> list[str]:
        """Every registered service name, case-folded and sorted."""
        if self._names is None:
            self._names = str(self._names_text, "utf-8").split("\n") if len(self._names_text) else []
        return self._names

    def rows_for_name(self, name: str) -> list[int]:
        """Rows for a service name (case-insensitive exact match)."""
        if self._by_name is None:
            self._by_name = {n: i for i, n in enumerate(self.names)}
        index = self._by_name.get(name.casefold())
        if index is None:
            return []
        return list(self._name_recs[self._name_start[index] : self._name_start[index + 1]])

    def names_with_prefix(self, prefix: str) -> list[str]:
        """Registered names starting with ``prefix`` (case-folded), in alphabetical order."""
        names = self.names
        start = bisect.bisect_left(names, prefix)
        end = bisect.bisect_left(names, prefix + "\U0010ffff")
        return names[start:end]


def _ints(typecode: Literal["i", "I"], raw: bytes | memoryview) -> Sequence[int]:
    """The integers packed in ``raw`` in native byte order, read in place (no copy)."""
    return memoryview(raw).cast(typecode)


def check_header(header: Sequence[str]) -> None:
    """Refuse a file whose header is not exactly IANA's 12 columns."""
    cleaned = tuple(h.lstrip("\ufeff").strip() for h in header)
    if cleaned != HEADER:
        raise DataError(
            f"This is not the IANA registry CSV: expected the 12 columns {', '.join(HEADER)}; "
            f"found {len(cleaned)}: {', '.join(cleaned)[:300]}."
        )


def compile_rows(rows: Iterable[Sequence[str]]) -> dict[str, Any]:
    """Turn the CSV rows after the header into the plain data :class:`IanaTable` loads (marshal-friendly)."""
    parts: list[bytes] = []
    offsets = array("I", [0])
    low, high = array("i"), array("i")
    proto = bytearray()
    singles: list[tuple[int, int]] = []
    ranges: list[tuple[int, int, int]] = []
    by_name: dict[str, list[int]] = {}
    position = 0
    for row_number, row in enumerate(rows):
        if len(row) != len(HEADER):
            raise DataError(
                f"IANA registry record {row_number + 1} has {len(row)} fields, not {len(HEADER)}."
            )
        first, last = _parse_ports(row[1], row_number)
        protocol = row[2].strip().lower()
        if protocol not in PROTOCOLS:
            raise DataError(f"IANA registry record {row_number + 1} has an unknown protocol {row[2]!r}.")
        for column in _KEPT:
            field = row[column].encode("utf-8")
            parts.append(field)
            position += len(field)
            offsets.append(position)
        low.append(first)
        high.append(last)
        proto.append(PROTOCOLS.index(protocol))
        if first == last != _NO_PORT:
            singles.append((first, row_number))
        elif first != _NO_PORT:
            ranges.append((first, last, row_number))
        if row[0]:
            by_name.setdefault(row[0].casefold(), []).append(row_number)
    singles.sort()
    range_starts, range_offsets, range_items = _intervals.build(ranges)
    names = sorted(by_name)
    name_start = array("I", [0])
    name_recs = array("i")
    for name in names:
        name_recs.extend(by_name[name])
        name_start.append(len(name_recs))
    return {
        "text": b"".join(parts),
        "offsets": offsets.tobytes(),
        "low": low.tobytes(),
        "high": high.tobytes(),
        "proto": bytes(proto),
        "single_port": array("i", (p for p, _ in singles)).tobytes(),
        "single_rec": array("i", (r for _, r in singles)).tobytes(),
        "range_starts": array("i", range_starts).tobytes(),
        "range_offsets": array("i", range_offsets).tobytes(),
        "range_items": array("i", range_items).tobytes(),
        "names": "\n".join(names).encode("utf-8"),
        "name_start": name_start.tobytes(),
        "name_recs": name_recs.tobytes(),
    }


def _parse_ports(field: str, row_number: int) -> tuple[int, int]:
    text = field.strip()
    if not text:
        return _NO_PORT, _NO_PORT
    first, _, last = text.partition("-")
    if not first.isascii() or not first.isdigit() or (last and not (last.isascii() and last.isdigit())):
        raise DataError(f"IANA registry record {row_number + 1} has a bad port number {field!r}.")
    low, high = int(first), int(last or first)
    if not 0 <= low <= high <= 65535:
        raise DataError(f"IANA registry record {row_number + 1} has a port outside 0–65535: {field!r}.")
    return low, high


def read_csv(text: str) -> dict[str, Any]:
    """Parse the registry CSV text (quoted fields may hold newlines) into the compiled table data."""
    import csv  # only needed when (re)building the index
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    header = next(reader, None)
    if header is None:
        raise DataError("The IANA registry file is empty.")
    check_header(header)
    try:
        return compile_rows(reader)
    except csv.Error as err:
        raise DataError(f"The IANA registry CSV is malformed: {err}.") from None
