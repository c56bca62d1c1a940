"""IANA's IPv4 and IPv6 Special-Purpose Address Registries (RFC 6890), read from the CSV files IANA publishes.

The files ship in ``knowledge/data/`` beside the port registry; ``portbot knowledge update`` can install newer
copies into the data directory, which then win. This module reads them by path (it never imports the
``knowledge`` package, whose index code the probe path does not need) and parses them once, on first use.

A row counts as globally reachable only when its "Globally Reachable" cell says ``True`` and the entry has no
termination date: ``False``, ``N/A`` and the blank cells of terminated entries all mean "not reachable".
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where used: the policy loads this module on the probe path
    from pathlib import Path

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

IPV4_FILE = "iana-ipv4-special-registry-1.csv"
IPV6_FILE = "iana-ipv6-special-registry-1.csv"
META_FILE = "special-registry-meta.json"
IPV4_URL = "https://www.iana.org/assignments/iana-ipv4-special-registry/iana-ipv4-special-registry-1.csv"
IPV6_URL = "https://www.iana.org/assignments/iana-ipv6-special-registry/iana-ipv6-special-registry-1.csv"
HEADER = (
    "Address Block",
    "Name",
    "RFC",
    "Allocation Date",
    "Termination Date",
    "Source",
    "Destination",
    "Forwardable",
    "Globally Reachable",
    "Reserved-by-Protocol",
)
# A registry that no longer refuses these is not IANA's (a wrong or tampered file): refuse to use it.
ESSENTIAL = {
    4: ("10.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"),
    6: ("::1/128", "::/128", "fc00::/7", "fe80::/10", "2001:db8::/32"),
}
MIN_ROWS = 15  # both registries have had over 20 rows since 2013


@dataclass(frozen=True, slots=True)
class SpecialBlock:
    """One address block of a registry row (a row may list several blocks)."""

    network: IPNetwork
    name: str
    reachable: bool


class SpecialRegistry:
    """One family's registry: ``lookup(address)`` gives the most specific block holding it, or None."""

    def __init__(self, version: int, blocks: tuple[SpecialBlock, ...]) -> None:
        self.version = version
        self.blocks = blocks
        # Most specific first, as (network bits, mask, block): a lookup is a short loop of integer ands.
        ordered = sorted(blocks, key=lambda b: -b.network.prefixlen)
        self._compiled = tuple((int(b.network.network_address), int(b.network.netmask), b) for b in ordered)

    def lookup(self, address: IPAddress) -> SpecialBlock | None:
        number = int(address)
        for bits, mask, block in self._compiled:
            if number & mask == bits:
                return block
        return None

    def __len__(self) -> int:
        return len(self.blocks)


@dataclass(frozen=True, slots=True)
class SpecialRegistries:
    """Both registries, and where each came from (for ``portbot doctor``)."""

    ipv4: SpecialRegistry
    ipv6: SpecialRegistry
    sources: tuple[Path, Path]

    def lookup(self, address: IPAddress) -> SpecialBlock | None:
        registry = self.ipv4 if address.version == 4 else self.ipv6
        return registry.lookup(address)


def parse(text: str, version: int) -> tuple[SpecialBlock, ...]:
    """The blocks of one registry CSV. Raises ValueError with a sentence saying what is wrong."""
    import csv  # the C reader handles the quoted cells with line breaks that IANA's files have

    family = f"IPv{version}"
    rows = list(csv.reader(text.splitlines(keepends=True)))
    if not rows or tuple(cell.strip() for cell in rows[0]) != HEADER:
        found = ", ".join(rows[0]) if rows else "nothing"
        raise ValueError(
            f"This is not IANA's {family} Special-Purpose Address Registry CSV: expected the columns "
            f"{', '.join(HEADER)}; found {found}."
        )
    blocks: list[SpecialBlock] = []
    for number, row in enumerate(rows[1:], start=1):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(HEADER):
            raise ValueError(
                f"{family} registry row {number} has {len(row)} columns instead of {len(HEADER)}."
            )
        reachable = _reachable(row, number, family)
        name = " ".join(_without_footnotes(row[1]).split()).strip('"')
        for cell in row[0].split(","):
            text_block = _without_footnotes(cell)
            try:
                network = ipaddress.ip_network(text_block)
            except ValueError:
                raise ValueError(
                    f"{family} registry row {number}: {text_block!r} is not an address block."
                ) from None
            if network.version != version:
                raise ValueError(f"{family} registry row {number}: {network} is not an {family} block.")
            blocks.append(SpecialBlock(network, name, reachable))
    if len({b.network for b in blocks}) < MIN_ROWS:
        raise ValueError(
            f"The {family} registry has only {len(blocks)} blocks; IANA's has more than {MIN_ROWS}. "
            "The file may be cut short."
        )
    registry = SpecialRegistry(version, tuple(blocks))
    for essential in ESSENTIAL[version]:
        network = ipaddress.ip_network(essential)
        block = registry.lookup(network.network_address)
        if block is None or block.reachable:
            raise ValueError(
                f"The {family} registry does not list {essential} as not globally reachable, "
                "so it is not IANA's registry."
            )
    return tuple(blocks)


def _without_footnotes(cell: str) -> str:
    """``False [1]`` → ``False``; ``192.0.0.0/24 [2]`` → ``192.0.0.0/24``."""
    head, _, _ = cell.partition("[")
    return head.strip()


def _reachable(row: list[str], number: int, family: str) -> bool:
    terminated = _without_footnotes(row[4]) not in ("", "N/A")
    value = _without_footnotes(row[8])
    if value not in ("True", "False", "N/A", ""):
        raise ValueError(
            f"{family} registry row {number}: Globally Reachable is {row[8]!r}, not True, False or N/A."
        )
    return value == "True" and not terminated


def packaged_dir() -> Path:
    """``knowledge/data``, found without importing the ``knowledge`` package."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.find_spec("knowledge")
    locations = spec.submodule_search_locations if spec is not None else None
    if not locations:
        raise RuntimeError("The knowledge package (which holds the IANA registries) is not installed.")
    return Path(next(iter(locations))) / "data"


def read_file(path: Path, version: int) -> SpecialRegistry:
    """Parse one registry file. Raises ValueError (bad content) or OSError (unreadable)."""
    text = path.read_bytes().decode("utf-8")
    return SpecialRegistry(version, parse(text, version))


def load(data_dir: Path | None = None) -> SpecialRegistries:
    """The registries: a copy installed into ``data_dir`` by ``portbot knowledge update`` wins over the packaged
    one. Raises ValueError naming the file when a copy is not a valid registry."""
    packaged = packaged_dir()
    found: list[SpecialRegistry] = []
    paths: list[Path] = []
    for version, name in ((4, IPV4_FILE), (6, IPV6_FILE)):
        path = data_dir / name if data_dir is not None and (data_dir / name).is_file() else packaged / name
        try:
            found.append(read_file(path, version))
        except (ValueError, OSError) as err:
            raise ValueError(f"{path}: {err}") from None
        paths.append(path)
    return SpecialRegistries(found[0], found[1], (paths[0], paths[1]))
