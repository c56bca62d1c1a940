"""Table tests generated from both shipped IANA registries: every row is refused unless globally reachable.

The rows are read here with the csv module on its own, not with the parser under test, and the verdict each
address should get comes from a small oracle written straight from the rules: an IPv4-mapped address gets its
IPv4 address's verdict, other IPv6 outside 2000::/3 is refused, and otherwise the most specific row holding
the address decides (no row: public, except IPv4 multicast).
"""

from __future__ import annotations

import csv
import ipaddress
from pathlib import Path
from typing import NamedTuple

import pytest

from probes.errors import RefusedTarget
from probes.policy import SafetyPolicy

DATA = Path(__file__).resolve().parents[2] / "knowledge" / "data"
POLICY = SafetyPolicy()

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class Row(NamedTuple):
    network: IPNetwork
    name: str
    reachable: bool


def _cell(text: str) -> str:
    return text.split("[")[0].strip()


def _rows(name: str) -> list[Row]:
    with (DATA / name).open(encoding="utf-8", newline="") as handle:
        records = list(csv.DictReader(handle))
    rows = []
    for record in records:
        reachable = _cell(record["Globally Reachable"]) == "True" and _cell(record["Termination Date"]) in (
            "",
            "N/A",
        )
        for block in record["Address Block"].split(","):
            rows.append(Row(ipaddress.ip_network(_cell(block)), " ".join(record["Name"].split()), reachable))
    return rows


IPV4_ROWS = _rows("iana-ipv4-special-registry-1.csv")
IPV6_ROWS = _rows("iana-ipv6-special-registry-1.csv")
ALL_ROWS = IPV4_ROWS + IPV6_ROWS

# The plain-words category each row's refusals carry (rows that are globally reachable have none).
CATEGORIES = {
    '"This network"': "reserved",
    '"This host on this network"': "unspecified",
    "Private-Use": "private",
    "Shared Address Space": "cgnat",
    "Loopback": "loopback",
    "Link Local": "link-local",
    "IETF Protocol Assignments": "reserved",
    "IPv4 Service Continuity Prefix": "reserved",
    "IPv4 dummy address": "reserved",
    "NAT64/DNS64 Discovery": "reserved",
    "Documentation (TEST-NET-1)": "documentation",
    "Documentation (TEST-NET-2)": "documentation",
    "Documentation (TEST-NET-3)": "documentation",
    "Deprecated (6to4 Relay Anycast)": "reserved",
    "6a44-relay anycast address": "reserved",
    "Benchmarking": "benchmarking",
    "Reserved": "reserved",
    "Limited Broadcast": "broadcast",
    "Loopback Address": "loopback",
    "Unspecified Address": "unspecified",
    "Discard-Only Address Block": "reserved",
    "Dummy IPv6 Prefix": "reserved",
    "Deprecated (previously ORCHID)": "reserved",
    "Documentation": "documentation",
    "Segment Routing (SRv6) SIDs": "reserved",
    "Unique-Local": "private",
    "Link-Local Unicast": "link-local",
}


def _most_specific(address: IPAddress) -> Row | None:
    holding = [r for r in ALL_ROWS if r.network.version == address.version and address in r.network]
    return max(holding, key=lambda r: r.network.prefixlen, default=None)


def expected_refused(address: IPAddress) -> bool:
    """The oracle: should the default policy refuse ``address``?"""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return expected_refused(address.ipv4_mapped)
        if address not in ipaddress.IPv6Network("2000::/3"):
            return True
    elif address in ipaddress.IPv4Network("224.0.0.0/4"):
        return True
    row = _most_specific(address)
    return row is not None and not row.reachable


def _samples(network: IPNetwork) -> list[IPAddress]:
    first = int(network.network_address)
    size = network.num_addresses
    numbers = dict.fromkeys((first, first + size - 1, first + size // 2))
    return [ipaddress.ip_address(n) if network.version == 4 else ipaddress.IPv6Address(n) for n in numbers]


CASES = [
    pytest.param(row, address, id=f"{row.network}-{address}")
    for row in ALL_ROWS
    for address in _samples(row.network)
]


def test_both_registries_are_shipped_whole() -> None:
    """The shipped files hold IANA's rows, including the newest ones the policy relies on."""
    networks = {str(r.network) for r in ALL_ROWS}
    assert len(IPV4_ROWS) >= 26 and len(IPV6_ROWS) >= 25
    for newer in (
        "5f00::/16",
        "64:ff9b:1::/48",
        "2001:30::/28",
        "3fff::/20",
        "100:0:0:1::/64",
        "192.0.0.9/32",
    ):
        assert newer in networks


@pytest.mark.parametrize(("row", "address"), CASES)
def test_every_row_is_refused_unless_globally_reachable(row: Row, address: IPAddress) -> None:
    """First, middle and last address of each row get the verdict the registry gives them."""
    if expected_refused(address):
        with pytest.raises(RefusedTarget):
            POLICY.check_address(address)
    else:
        POLICY.check_address(address)


WRAPPERS = {"IPv4-mapped Address", "IPv4-IPv6 Translat.", "TEREDO", "6to4"}


def _explained_by_its_row(address: IPAddress) -> bool:
    """Refused because of the row holding it, not because of an IPv4 address it carries."""
    deciding = _most_specific(address)
    return deciding is not None and not deciding.reachable and deciding.name not in WRAPPERS


CATEGORY_CASES = [
    pytest.param(address, _most_specific(address), id=str(address))
    for row in ALL_ROWS
    for address in _samples(row.network)
    if _explained_by_its_row(address)
]


@pytest.mark.parametrize(("address", "deciding"), CATEGORY_CASES)
def test_refusals_name_the_rows_category(address: IPAddress, deciding: Row) -> None:
    """A refusal from a row that is not reachable carries that row's plain-words category."""
    with pytest.raises(RefusedTarget) as info:
        POLICY.check_address(address)
    assert info.value.category == CATEGORIES[deciding.name]
    assert info.value.message.startswith(f"{address} ")


def test_every_row_name_has_a_category() -> None:
    """A new registry row makes this table (and so its explanation) a deliberate decision."""
    names = {r.name for r in ALL_ROWS if not r.reachable}
    assert names - WRAPPERS <= set(CATEGORIES)


@pytest.mark.parametrize(
    "address",
    [
        "192.0.0.9",
        "192.0.0.10",
        "2001:1::1",
        "2001:1::2",
        "2001:1::3",
        "2001:3::1",
        "2001:4:112::1",
        "2620:4f:8000::1",
    ],
)
def test_reachable_rows_inside_refused_ones_pass(address: str) -> None:
    """The most specific row wins: a reachable /32 or /128 inside a refused block may be probed."""
    POLICY.check_address(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("192.0.0.8", "reserved"),
        ("192.0.0.170", "reserved"),
        ("2001:2::1", "benchmarking"),
        ("2001:5::1", "reserved"),
    ],
)
def test_refused_rows_inside_refused_ones_keep_their_own_reason(address: str, category: str) -> None:
    """A refused block inside another (dummy address, benchmarking) is explained by the inner row."""
    with pytest.raises(RefusedTarget) as info:
        POLICY.check_address(ipaddress.ip_address(address))
    assert info.value.category == category
