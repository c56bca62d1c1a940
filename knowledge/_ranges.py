"""The named port ranges (IANA's three blocks, plus the Unix "privileged" block people ask about)."""

from __future__ import annotations

from dataclasses import dataclass

MIN_PORT = 0
MAX_PORT = 65535


@dataclass(frozen=True, slots=True)
class PortRange:
    """A named block of port numbers, with a one-line explanation in our own words."""

    id: str
    name: str
    low: int
    high: int
    summary: str
    terms: tuple[str, ...]  # folded words people use for it

    @property
    def label(self) -> str:
        return f"{self.low}–{self.high}"


RANGES: tuple[PortRange, ...] = (
    PortRange(
        id="well-known",
        name="Well-known ports",
        low=0,
        high=1023,
        summary="IANA's system ports: the classic services (22 SSH, 53 DNS, 80 and 443 web, 25 mail). "
        "IANA assigns them only through an IETF process.",
        terms=(
            "well known",
            "wellknown",
            "well known ports",
            "well known port",
            "system ports",
            "system port",
        ),
    ),
    PortRange(
        id="registered",
        name="Registered ports",
        low=1024,
        high=49151,
        summary="IANA's user ports: anyone can ask IANA to register a service here. Most game servers and "
        "self-hosted apps use numbers in this block, registered or not.",
        terms=("registered", "registered ports", "registered port", "user ports", "user port"),
    ),
    PortRange(
        id="dynamic",
        name="Dynamic (ephemeral) ports",
        low=49152,
        high=65535,
        summary="IANA never assigns these. Operating systems pick the source port of outgoing connections "
        "from a block like this one, so they come and go. Linux uses 32768–60999 by default; Windows uses "
        "49152–65535.",
        terms=(
            "ephemeral",
            "ephemeral ports",
            "ephemeral port",
            "dynamic",
            "dynamic ports",
            "dynamic port",
            "private ports",
            "private port",
            "dynamic and private ports",
        ),
    ),
    PortRange(
        id="privileged",
        name="Privileged ports",
        low=1,
        high=1023,
        summary="On Linux only root, or a program given the CAP_NET_BIND_SERVICE capability, may listen on a "
        "port below 1024 (the sysctl net.ipv4.ip_unprivileged_port_start moves that line). Windows has no such "
        "rule, and recent macOS versions dropped it.",
        terms=("privileged", "privileged ports", "privileged port", "low ports", "ports below 1024"),
    ),
)


def range_for_term(folded: str) -> PortRange | None:
    """The range a folded query names, e.g. ``ephemeral ports`` → the dynamic range."""
    for block in RANGES:
        if folded in block.terms:
            return block
    return None


def iana_block(port: int) -> PortRange:
    """Which of IANA's three blocks ``port`` (0–65535) falls in."""
    return RANGES[0] if port <= 1023 else RANGES[1] if port <= 49151 else RANGES[2]
