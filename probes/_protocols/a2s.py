"""Valve's Source server query (A2S_INFO), spoken by Source servers and many Steam games' query ports.

Only the first request is sent here: current servers answer it with an anti-spoofing challenge, which proves
the port open. The server's details (name, game, map, players) come after the verdict from python-a2s, which
does the challenge handshake (probes/identify.py, ``identify_a2s``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

if TYPE_CHECKING:
    from probes.policy import IPAddress

INFO_REQUEST = b"\xff\xff\xff\xffTSource Engine Query\x00"
HINTS = (
    "a2s", "steam", "source", "valheim", "counter-strike", "cs2", "csgo", "garry", "rust", "ark",
    "enshrouded", "v rising", "vrising", "palworld", "team fortress", "tf2", "left 4 dead",
)  # fmt: skip


def request() -> bytes:
    return INFO_REQUEST


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if not data.startswith(b"\xff\xff\xff\xff") or len(data) < 5 or data[4] not in b"AIm":
        return None
    # 0x41 is the challenge current servers send first; the details come from ``details`` below.
    return ServiceInfo(
        "a2s", "Steam game server (answers the Source server query)", {"challenge": data[4] == 0x41}
    )


async def details(address: IPAddress, port: int, time_box: float) -> ServiceInfo | None:
    from probes.identify import identify_a2s

    return await identify_a2s(address, port, time_box=time_box)


PROTOCOL = UdpProtocol(
    kind="a2s",
    request=request,
    parse=parse,
    ports=frozenset(
        {
            *range(27015, 27021),  # Source dedicated servers and many Steam query ports
            2457,  # Valheim's query port (game port 2456 + 1)
            15637,  # Enshrouded's query port
            9877,  # V Rising's query port
        }
    ),
    tcp_ports=frozenset({27015}),  # Source servers play over UDP 27015 and take RCON over TCP 27015
    hints=HINTS,
    details=details,
)
