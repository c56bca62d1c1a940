"""Round-trip times remembered per network (/24 for IPv4, /48 for IPv6) from recent probes, in this process.

    memory = RttMemory()
    memory.remember(address, 0.031)   # a TCP answer's or an ICMP echo's time, in seconds
    memory.recall(other_address)      # 0.031 if other_address is in the same /24 (or /48) and it's recent

Hosts in one /24 or /48 usually sit at the same place on the internet (one ISP's customers in one town, one
data centre), so a recent RTT to one of them is a fair guess for the others, and for the same host the next
time it is asked about. The engine uses it exactly like an ICMP echo's RTT (probes/tcp.py): trusted less than
a TCP answer of the request, and only ever with the floors that keep a slow-but-open port open. Bounded
(least recently used entries go first) and forgotten after ``max_age``.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable

from probes.policy import IPAddress

MAX_ENTRIES = 4096
MAX_AGE = 600.0  # seconds; paths change (a home connection moves, a route flaps), so forget after 10 min


def network_key(address: IPAddress) -> tuple[int, int]:
    """The /24 (IPv4) or /48 (IPv6) ``address`` belongs to, as (version, prefix)."""
    return (4, int(address) >> 8) if address.version == 4 else (6, int(address) >> 80)


class RttMemory:
    """Recent RTTs by network. Not shared between processes; each worker learns its own paths."""

    def __init__(
        self,
        *,
        max_entries: int = MAX_ENTRIES,
        max_age: float = MAX_AGE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_entries = max_entries
        self.max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[tuple[int, int], tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    def remember(self, address: IPAddress, seconds: float) -> None:
        """Record the latest RTT to ``address``'s network: the path as it is now, not its best moment."""
        key = network_key(address)
        self._entries[key] = (seconds, self._clock())
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def recall(self, address: IPAddress) -> float | None:
        """The RTT last seen to ``address``'s network, or None if none is younger than ``max_age``."""
        key = network_key(address)
        entry = self._entries.get(key)
        if entry is None:
            return None
        seconds, when = entry
        if self._clock() - when > self.max_age:
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return seconds
