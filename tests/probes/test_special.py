"""Reading IANA's special-purpose registry CSVs: IANA's quirks, the "Globally Reachable" rule, lookups, and a
light import path."""

from __future__ import annotations

import ipaddress
import subprocess
import sys
from pathlib import Path

import pytest

from probes._special import SpecialRegistry, load, packaged_dir, parse

HEADER = (
    "Address Block,Name,RFC,Allocation Date,Termination Date,Source,Destination,Forwardable,Globally Reachable,"
    "Reserved-by-Protocol\r\n"
)
ESSENTIAL_V4 = "".join(
    f"{net},Essential,[RFC1],2000-01,N/A,True,True,True,False,False\r\n"
    for net in (
        "10.0.0.0/8",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
    )
)
FILLER_V4 = "".join(
    f"198.18.{n}.0/24,Filler,[RFC1],2000-01,N/A,True,True,True,False,False\r\n" for n in range(10)
)
# IANA's quirks, one a row: footnote marks, two blocks in one cell, a line break in a quoted cell, a terminated
# entry with blank flags, and a reachable block inside an unreachable one.
QUIRKS_V4 = (
    '192.0.0.0/24 [2],IETF Protocol Assignments,"[RFC6890], Section 2.1",2010-01,N/A,False,False,False,False,False\r\n'
    "192.0.0.9/32,Port Control Protocol Anycast,[RFC7723],2015-10,N/A,True,True,True,True,False\r\n"
    '"192.0.0.170/32, 192.0.0.171/32",NAT64/DNS64 Discovery,"[RFC8880][RFC7050], Section 2.2",2013-02,N/A,'
    "False,False,False,False,True\r\n"
    "192.88.99.0/24,Deprecated (6to4 Relay Anycast),[RFC7526],2001-06,2015-03,,,,,\r\n"
    '255.255.255.255/32,Limited Broadcast,"[RFC8190]\n        [RFC919], Section 7",1984-10,N/A,False,True,False,'
    "False,True\r\n"
    '0.0.0.0/8,"""This network""","[RFC791], Section 3.2",1981-09,N/A,True,False,False,False,True\r\n'
    "203.0.113.0/24,Footnoted,[RFC1],2000-01,N/A,True [9],True,True,True [9],False\r\n"
)
V4 = HEADER + ESSENTIAL_V4 + FILLER_V4 + QUIRKS_V4


def registry(text: str = V4) -> SpecialRegistry:
    return SpecialRegistry(4, parse(text, 4))


@pytest.mark.parametrize(
    ("address", "name", "reachable"),
    [
        ("192.0.0.1", "IETF Protocol Assignments", False),
        ("192.0.0.9", "Port Control Protocol Anycast", True),
        ("192.0.0.171", "NAT64/DNS64 Discovery", False),
        ("192.88.99.1", "Deprecated (6to4 Relay Anycast)", False),
        ("255.255.255.255", "Limited Broadcast", False),
        ("0.1.2.3", "This network", False),
        ("203.0.113.5", "Footnoted", True),
    ],
)
def test_iana_quirks_are_read(address: str, name: str, reachable: bool) -> None:
    """Footnotes, two blocks in a cell, line breaks in cells, blank flags and quoted names all parse."""
    block = registry().lookup(ipaddress.IPv4Address(address))
    assert block is not None
    assert (block.name, block.reachable) == (name, reachable)


def test_only_true_is_reachable_and_termination_overrides_it() -> None:
    """False, N/A and blank are not reachable; a terminated entry is not reachable even if marked True."""
    text = V4 + "198.51.100.0/24,Ended,[RFC1],2000-01,2020-01,True,True,True,True,False\r\n"
    block = registry(text).lookup(ipaddress.IPv4Address("198.51.100.1"))
    assert block is not None and not block.reachable


def test_an_address_in_no_row_has_no_block() -> None:
    """Outside every special-purpose block there is nothing to say."""
    assert registry().lookup(ipaddress.IPv4Address("8.8.8.8")) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "Prefix,Name\r\n",
            r"^This is not IANA's IPv4 Special-Purpose Address Registry CSV: expected the columns ",
        ),
        ("", r"found nothing\.$"),
        (
            V4 + "10.0.0.0/33,Bad,[RFC1],2000-01,N/A,True,True,True,False,False\r\n",
            r"'10\.0\.0\.0/33' is not an",
        ),
        (
            V4 + "10.0.0.1/8,Bad,[RFC1],2000-01,N/A,True,True,True,False,False\r\n",
            r"'10\.0\.0\.1/8' is not an",
        ),
        (V4 + "10.0.0.0/8,Short,[RFC1]\r\n", r"^IPv4 registry row 24 has 3 columns instead of 10\.$"),
        (HEADER + ESSENTIAL_V4, r"^The IPv4 registry has only 6 blocks; IANA's has more than 15\."),
        (
            V4.replace(
                "127.0.0.0/8,Essential,[RFC1],2000-01,N/A,True,True,True,False",
                "127.0.0.0/8,E,[RFC1],2000-01,N/A,True,True,True,True",
            ),
            r"^The IPv4 registry does not list 127\.0\.0\.0/8 as not globally reachable, so it is not IANA's",
        ),
    ],
)
def test_bad_registries_are_refused_with_a_reason(text: str, message: str) -> None:
    """Wrong header, nothing, bad blocks, short rows, too few rows or a loopback made reachable: ValueError."""
    with pytest.raises(ValueError, match=message):
        parse(text, 4)


def test_the_shipped_registries_load() -> None:
    """Both packaged files parse, from knowledge/data, with IANA's row counts."""
    registries = load()
    assert registries.sources == (
        packaged_dir() / "iana-ipv4-special-registry-1.csv",
        packaged_dir() / "iana-ipv6-special-registry-1.csv",
    )
    assert (len(registries.ipv4), len(registries.ipv6)) == (26, 25)
    assert packaged_dir() == Path(__file__).resolve().parents[2] / "knowledge" / "data"


def test_checking_an_address_imports_neither_knowledge_nor_anything_heavy() -> None:
    """The policy reads the registries by path: the knowledge package, httpx and pydantic stay unloaded."""
    code = (
        "import sys, ipaddress\n"
        "from probes.policy import SafetyPolicy\n"
        "SafetyPolicy().check_address(ipaddress.ip_address('8.8.8.8'))\n"
        "heavy = ('knowledge', 'httpx', 'pydantic', 'dns', 'probes.engine')\n"
        "print(','.join(m for m in heavy if m in sys.modules))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
