"""Our curated entries (``ports.toml``): the programs and games people actually run, with the ports they use."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    from knowledge._toml import Entry

CATEGORIES = (
    "game",
    "web",
    "mail",
    "remote-access",
    "file-transfer",
    "dns",
    "database",
    "vpn",
    "media",
    "voice",
    "self-hosting",
    "infrastructure",
    "time",
    "directory",
    "messaging",
    "monitoring",
    "dev",
)
TRANSPORTS = ("tcp", "udp", "tcp+udp")
ROLES = (
    "game",
    "query",
    "rcon",
    "web-ui",
    "api",
    "voice",
    "file-transfer",
    "control",
    "discovery",
    "data",
    "admin",
    "other",
)
FORWARD = ("yes", "no", "optional")
_RANGE = r"([0-9]{1,5})-([0-9]{1,5})"
_DATE = r"20[0-9]{2}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"


@dataclass(frozen=True, slots=True)
class ServicePort:
    """One port (or a contiguous range) a service uses."""

    low: int
    high: int
    protocol: str  # tcp | udp | tcp+udp
    role: str
    forward: str  # yes | no | optional
    note: str = ""

    @property
    def number(self) -> str:
        return str(self.low) if self.low == self.high else f"{self.low}-{self.high}"

    @property
    def label(self) -> str:
        """``25565/tcp``, ``26900-26902/udp``, ``27015/tcp+udp``."""
        return f"{self.number}/{self.protocol}"

    @property
    def protocols(self) -> tuple[str, ...]:
        return tuple(self.protocol.split("+"))

    @property
    def check_protocol(self) -> str:
        """The transport to check this port on: TCP whenever it speaks TCP (a TCP check gives a clear verdict)."""
        return "tcp" if "tcp" in self.protocols else "udp"

    def covers(self, port: int, protocol: str | None = None) -> bool:
        """True if ``port`` is in this entry (and, when given, ``protocol`` is one it speaks)."""
        return self.low <= port <= self.high and (protocol is None or protocol in self.protocols)


@dataclass(frozen=True, slots=True)
class Service:
    """A curated program or game. ``aliases`` are lower case, as people type them."""

    id: str
    name: str
    aliases: tuple[str, ...]
    category: str
    summary: str
    security: str
    troubles: tuple[str, ...]
    sources: tuple[str, ...]
    disagreement: str
    iana_note: str
    ports: tuple[ServicePort, ...]
    sources_read: str = ""  # YYYY-MM-DD: when the sources were last read; facts go stale

    def ports_for(self, port: int, protocol: str | None = None) -> tuple[ServicePort, ...]:
        return tuple(p for p in self.ports if p.covers(port, protocol))

    @property
    def main_port(self) -> ServicePort | None:
        """The port a friend connects to: the first one to forward, else the first one listed."""
        return next((p for p in self.ports if p.forward == "yes"), self.ports[0] if self.ports else None)


def load_services(path: Path) -> tuple[Service, ...]:
    """Read and validate ``ports.toml``. Raises :class:`~knowledge.errors.DataError` naming the bad entry."""
    from knowledge._toml import Entry, read_tables  # only when (re)building the index

    services: list[Service] = []
    seen: set[str] = set()
    for number, table in enumerate(read_tables(path, "service"), start=1):
        entry = Entry(path.name, f"service #{number}", table)
        service_id = entry.ident()
        entry.where = f"service '{service_id}'"
        if service_id in seen:
            raise entry.fail("this id is used twice.")
        seen.add(service_id)
        services.append(
            Service(
                id=service_id,
                name=entry.text("name"),
                aliases=entry.texts("aliases", lower=True),
                category=entry.choice("category", CATEGORIES),
                summary=entry.text("summary"),
                security=entry.text("security", required=False),
                troubles=entry.texts("troubles"),
                sources=entry.texts("sources"),
                disagreement=entry.text("disagreement", required=False),
                iana_note=entry.text("iana_note", required=False),
                ports=tuple(_port(entry, t, i) for i, t in enumerate(entry.tables("ports"), start=1)),
                sources_read=_date(entry, "sources_read"),
            )
        )
        entry.finish()
        if not services[-1].ports:
            raise entry.fail("a service needs at least one [[service.ports]] table.")
    return tuple(services)


def _date(entry: Entry, key: str) -> str:
    value = entry.text(key, required=False)
    if value and not re.fullmatch(_DATE, value):
        raise entry.fail(f"'{key}' {value!r} must be a date written YYYY-MM-DD.")
    return value


def _port(parent: Entry, table: dict[str, Any], number: int) -> ServicePort:
    from knowledge._toml import Entry

    entry = Entry(parent.file, f"{parent.where}, port #{number}", table)
    low, high = _port_numbers(entry, entry.raw("port"))
    port = ServicePort(
        low=low,
        high=high,
        protocol=entry.choice("protocol", TRANSPORTS),
        role=entry.choice("role", ROLES),
        forward=entry.choice("forward", FORWARD),
        note=entry.text("note", required=False),
    )
    entry.finish()
    return port


def _port_numbers(entry: Entry, value: object) -> tuple[int, int]:
    if isinstance(value, int) and not isinstance(value, bool):
        low = high = value
    elif isinstance(value, str) and (match := re.fullmatch(_RANGE, value)):
        low, high = int(match[1]), int(match[2])
    else:
        raise entry.fail(f"'port' must be an integer or a range string like \"26900-26902\", not {value!r}.")
    if not 1 <= low <= high <= 65535:
        raise entry.fail(f"'port' {value!r} is outside 1–65535 (or the range is backwards).")
    return low, high


def to_data(services: tuple[Service, ...]) -> list[Any]:
    """Plain tuples for the compiled index (marshal cannot store dataclasses)."""
    return [
        (
            s.id,
            s.name,
            s.aliases,
            s.category,
            s.summary,
            s.security,
            s.troubles,
            s.sources,
            s.disagreement,
            s.iana_note,
            tuple((p.low, p.high, p.protocol, p.role, p.forward, p.note) for p in s.ports),
            s.sources_read,
        )
        for s in services
    ]


def from_data(data: list[Any]) -> tuple[Service, ...]:
    services = []
    for (
        service_id,
        name,
        aliases,
        category,
        summary,
        security,
        troubles,
        sources,
        disagree,
        note,
        ports,
        read,
    ) in data:
        services.append(
            Service(
                service_id,
                name,
                aliases,
                category,
                summary,
                security,
                troubles,
                sources,
                disagree,
                note,
                tuple(ServicePort(*p) for p in ports),
                read,
            )
        )
    return tuple(services)
