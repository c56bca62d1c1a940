"""RTTs remembered per /24 and /48: which addresses share one, for how long, and how many are kept."""

from __future__ import annotations

import ipaddress

import pytest

from probes._rtt_memory import RttMemory, network_key


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.mark.parametrize(
    ("first", "second", "shared"),
    [
        ("203.0.113.20", "203.0.113.254", True),
        ("203.0.113.20", "203.0.112.20", False),
        ("2001:db8:113::20", "2001:db8:113:ffff::1", True),
        ("2001:db8:113::20", "2001:db8:114::20", False),
        ("0.0.0.1", "::1", False),  # same integer, different family
    ],
)
def test_addresses_share_an_rtt_within_a_slash_24_or_slash_48(first: str, second: str, shared: bool) -> None:
    """An RTT learned for one address is recalled for another in the same /24 (IPv4) or /48 (IPv6) only."""
    memory = RttMemory()
    memory.remember(ipaddress.ip_address(first), 0.03)
    assert memory.recall(ipaddress.ip_address(second)) == (0.03 if shared else None)
    assert (network_key(ipaddress.ip_address(first)) == network_key(ipaddress.ip_address(second))) is shared


def test_the_latest_rtt_replaces_an_older_one() -> None:
    """The path as it is now counts, not its best moment."""
    memory = RttMemory()
    address = ipaddress.ip_address("198.51.100.7")
    memory.remember(address, 0.01)
    memory.remember(address, 0.2)
    assert memory.recall(address) == 0.2


def test_an_rtt_is_forgotten_after_max_age() -> None:
    """Ten minutes by default; older entries are dropped when asked for."""
    clock = Clock()
    memory = RttMemory(max_age=600.0, clock=clock)
    address = ipaddress.ip_address("198.51.100.7")
    memory.remember(address, 0.05)
    clock.now += 600.0
    assert memory.recall(address) == 0.05
    clock.now += 0.001
    assert memory.recall(address) is None
    assert len(memory) == 0


def test_the_least_recently_used_network_goes_first_when_full() -> None:
    """Bounded: a new network pushes out the one neither remembered nor recalled for longest."""
    memory = RttMemory(max_entries=2)
    a, b, c = (ipaddress.ip_address(f"198.51.{n}.1") for n in (1, 2, 3))
    memory.remember(a, 0.01)
    memory.remember(b, 0.02)
    assert memory.recall(a) == 0.01  # a is now the most recently used
    memory.remember(c, 0.03)
    assert (memory.recall(a), memory.recall(b), memory.recall(c), len(memory)) == (0.01, None, 0.03, 2)
