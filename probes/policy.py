"""The safety policy: which addresses a probe may be aimed at. (Stub interface; the full policy lands soon.)

Public surface, stable for the rest of the code base:

- ``parse_ip_literal(host) -> IPv4Address | IPv6Address | None``: recognise every textual form an address can
  take (including inet_aton forms such as ``2130706433``, ``0177.0.0.1``, ``0x7f.1``, ``127.1``, trailing dots,
  ``[v6]``, mixed case), or None when ``host`` is a name.
- ``SafetyPolicy(allow=..., deny=...)``: ``check_address(ip)`` raises :class:`~probes.errors.RefusedTarget`
  for anything not safe to probe; ``check_ports(ports)`` raises :class:`~probes.errors.InputError` for too
  many ports or out-of-range ones.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PORTS_PER_REQUEST = 5


def parse_ip_literal(host: str) -> IPAddress | None:
    text = host.strip().rstrip(".").strip("[]")
    try:
        return ipaddress.ip_address(text.split("%", 1)[0])
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(text))
    except OSError:
        return None


@dataclass(frozen=True)
class SafetyPolicy:
    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = field(default=())

    @classmethod
    def from_strings(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> SafetyPolicy:
        return cls(
            allow=tuple(ipaddress.ip_network(a.strip(), strict=False) for a in allow if a.strip()),
            deny=tuple(ipaddress.ip_network(d.strip(), strict=False) for d in deny if d.strip()),
        )

    def check_address(self, address: IPAddress) -> None:
        from probes.errors import RefusedTarget

        if any(address in net for net in self.deny):
            raise RefusedTarget(
                f"{address} is on this bot's deny list.", category="denied", address=str(address)
            )
        if any(address in net for net in self.allow):
            return
        if not address.is_global:
            raise RefusedTarget(
                f"{address} is not a public internet address.", category="private", address=str(address)
            )

    def check_ports(self, ports: Iterable[int]) -> None:
        from probes.errors import InputError

        ports = list(ports)
        if not ports:
            raise InputError("Tell me which port to check, e.g. `check example.com 25565`.")
        if len(ports) > MAX_PORTS_PER_REQUEST:
            raise InputError(f"I check at most {MAX_PORTS_PER_REQUEST} ports at a time (no scans).")
        for p in ports:
            if not 1 <= p <= 65535:
                raise InputError(f"{p} is not a port: ports go from 1 to 65535.")
