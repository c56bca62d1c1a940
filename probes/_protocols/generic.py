"""Any other UDP service: a few bytes, where any answer at all means open; and the UDP ports of services
without a protocol module of their own, so that "auto" still checks them over UDP."""

from __future__ import annotations

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

REQUEST = b"\r\n\r\n"  # a blank line or two: text protocols tend to answer it with an error
PORTS = frozenset(
    {
        2456, 2458,  # Valheim (its query port, 2457, speaks A2S)
        34197,  # Factorio
        9987,  # TeamSpeak 3 voice
        15636,  # Enshrouded
        9876,  # V Rising
        8211,  # Palworld
        51820,  # WireGuard
        1194,  # OpenVPN's default
        500, 4500,  # IPsec IKE and NAT traversal
        64738,  # Mumble
    }
)  # fmt: skip


def request() -> bytes:
    return REQUEST


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    return None  # it answered; nothing more to tell


PROTOCOL = UdpProtocol(
    kind="generic",
    request=request,
    parse=parse,
    ports=PORTS,
    tcp_ports=frozenset({64738}),  # Mumble takes its control channel over TCP
)
