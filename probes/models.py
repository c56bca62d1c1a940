"""The probe domain as plain, JSON-friendly frozen dataclasses (no chat or HTTP library in here)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Literal

Protocol = Literal["tcp", "udp"]


class State(StrEnum):
    """A reachability verdict for one address and port, as seen from one vantage point."""

    OPEN = "open"  # TCP handshake completed / UDP service answered
    CLOSED = "closed"  # TCP RST or ICMP port unreachable: host reachable, nothing listening
    FILTERED = "filtered"  # silence, or an ICMP "administratively prohibited" answer
    UNREACHABLE = "unreachable"  # no route to host / host down
    OPEN_FILTERED = "open|filtered"  # UDP silence: cannot tell an idle service from a firewall


@dataclass(frozen=True, slots=True)
class ServiceInfo:
    """What answered on an open port. ``details`` holds only JSON scalars."""

    kind: str  # http, tls, ssh, minecraft, bedrock, a2s, dns, ntp, stun, ...
    summary: str  # one line for people: "Minecraft 1.21.4, 3/20 players"
    details: dict[str, str | int | float | bool | None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PortResult:
    """The verdict for one address, one port, one protocol."""

    address: str
    port: int
    protocol: Protocol
    state: State
    reason: str  # machine-readable: "syn-ack", "rst", "timeout", "icmp-admin-prohibited"
    rtt_ms: float | None = None
    service: ServiceInfo | None = None

    @property
    def family(self) -> int:
        return 6 if ":" in self.address else 4


@dataclass(frozen=True, slots=True)
class ProbeRequest:
    """One target and a few ports. ``protocol`` "auto" lets the engine pick per port (e.g. 19132 → udp)."""

    target: str
    ports: tuple[int, ...]
    protocol: Literal["auto", "tcp", "udp"] = "auto"
    service_hint: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeReport:
    """Everything one vantage point found for one request."""

    target: str  # as the user gave it
    host: str  # the normalised host name or address literal
    vantage: str  # "Frankfurt", or "this bot's own network" for in-process probes
    results: tuple[PortResult, ...]
    local: bool = False  # probed in-process: not from outside the user's network
    error: str | None = None  # set when this vantage point could not probe at all
    srv_target: str | None = None  # "node.example.net:25601" when Minecraft's SRV record moved port 25565
    # How many addresses the name (or the SRV record's target) had; 0 for an address literal. Only the first
    # allowed IPv4 and IPv6 one are probed, so a larger count means the others were left alone.
    address_count: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeReport:
        results = tuple(
            PortResult(
                address=str(r["address"]),
                port=int(r["port"]),
                protocol=r["protocol"],
                state=State(r["state"]),
                reason=str(r["reason"]),
                rtt_ms=None if r.get("rtt_ms") is None else float(r["rtt_ms"]),
                service=None if not r.get("service") else ServiceInfo(**r["service"]),
            )
            for r in data.get("results", ())
        )
        return cls(
            target=str(data["target"]),
            host=str(data["host"]),
            vantage=str(data["vantage"]),
            results=results,
            local=bool(data.get("local", False)),
            error=data.get("error"),
            srv_target=data.get("srv_target"),
            address_count=int(data.get("address_count") or 0),
        )


@dataclass(frozen=True, slots=True)
class Requester:
    """Who asked for a probe, for rate limits and the audit log. Ids are the chat platform's own."""

    platform: str  # discord | slack | terminal | cli | worker
    user_id: str
    guild_id: str | None = None  # Discord server or Slack workspace
    channel_id: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {
            "platform": self.platform,
            "user_id": self.user_id,
            "guild_id": self.guild_id,
            "channel_id": self.channel_id,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Requester:
        def text(key: str) -> str | None:
            value = data.get(key)
            return None if value is None else str(value)

        return cls(
            platform=str(data.get("platform") or "api"),
            user_id=str(data.get("user_id") or "anonymous"),
            guild_id=text("guild_id"),
            channel_id=text("channel_id"),
        )
