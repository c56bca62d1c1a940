"""Which ports and protocols a check covers: the protocol choice table.

A check named after a curated entry (a "Check this port" button, ``check host 2456 valheim``) covers what the
entry lists, not just one TCP port:

=============================  ===============================================  =========================
entry behind the check         what is checked                                  hint given to the engine
=============================  ===============================================  =========================
none (a plain port)            the port, as asked ("auto": the engine picks)    none
TCP game or app port           the port over TCP                                the entry's id
UDP game port                  the port over UDP                                the entry's id
TCP+UDP game port              the port over TCP and over UDP                   the entry's id
Steam game (a UDP query port)  the above, plus the query port over UDP          ``steam <id>`` (A2S query)
=============================  ===============================================  =========================

A protocol the user typed (``tcp``/``udp``) wins for the asked port; the Steam query port is still added.
Pure data work: no I/O, no chat library.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.core.intents import CheckProtocol

if TYPE_CHECKING:
    from knowledge._curated import Service, ServicePort

__all__ = ["CheckProtocol", "Part", "Plan", "find_service", "plan", "steam_query_port"]

Transport = Literal["auto", "tcp", "udp"]

# A query port that is not Steam's A2S: Minecraft Java's (GameSpy4, off unless enable-query is set).
_NOT_A2S = frozenset({"minecraft-java"})


@dataclass(frozen=True, slots=True)
class Part:
    """One probe request's worth: ``ports`` over ``protocol``."""

    protocol: Transport
    ports: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Plan:
    """Every part of one check, and the service hint each part carries."""

    parts: tuple[Part, ...]
    hint: str | None = None


def plan(ports: Iterable[int], protocol: CheckProtocol, service: Service | None = None) -> Plan:
    """The ports and protocols to check for ``ports`` asked as ``protocol`` (see the table above)."""
    wanted: dict[int, tuple[Transport, ...]] = {}
    for port in ports:
        wanted[port] = _protocols(port, protocol, service)
    hint = None
    if service is not None:
        hint = service.id
        query = steam_query_port(service)
        if query is not None:
            hint = f"steam {service.id}"  # the engine's hint words send Valve's A2S query for "steam"
            if any(_plays_on(service, port) for port in wanted):
                wanted.setdefault(query.low, ("udp",))
    return Plan(_grouped(wanted), hint)


def steam_query_port(service: Service) -> ServicePort | None:
    """The UDP query port a game lists for Steam's server browser (A2S), if it lists one worth forwarding."""
    if service.category != "game" or service.id in _NOT_A2S:
        return None
    return next(
        (p for p in service.ports if p.role == "query" and "udp" in p.protocols and p.forward != "no"),
        None,
    )


def find_service(services: Iterable[Service], name: str) -> Service | None:
    """The curated entry ``name`` spells (id, name or alias, any case or spacing), or None."""
    key = _compact(name)
    if not key:
        return None
    for service in services:
        if key in {_compact(text) for text in (service.id, service.name, *service.aliases)}:
            return service
    return None


def _protocols(port: int, protocol: CheckProtocol, service: Service | None) -> tuple[Transport, ...]:
    if protocol == "both":
        return ("tcp", "udp")
    if protocol != "auto" or service is None:
        return (protocol,)
    entries = service.ports_for(port)
    # The ports people connect to say which protocols matter; a query port on the same number (Minecraft's
    # optional UDP query on 25565) counts only when nothing else covers the port.
    main = [p for p in entries if p.role != "query"] or list(entries)
    found = {proto for p in main for proto in p.protocols}
    if found == {"tcp", "udp"}:
        return ("tcp", "udp")
    if found == {"udp"}:
        return ("udp",)
    if found == {"tcp"}:
        return ("tcp",)
    return ("auto",)


def _plays_on(service: Service, port: int) -> bool:
    return any(p.role == "game" for p in service.ports_for(port))


def _grouped(wanted: dict[int, tuple[Transport, ...]]) -> tuple[Part, ...]:
    groups: dict[Transport, list[int]] = {}
    for port, protocols in wanted.items():
        for proto in protocols:
            groups.setdefault(proto, []).append(port)
    order: tuple[Transport, ...] = ("auto", "tcp", "udp")
    return tuple(Part(proto, tuple(groups[proto])) for proto in order if proto in groups)


def _compact(text: str) -> str:
    return re.sub(r"[^a-z0-9]", "", text.lower())
