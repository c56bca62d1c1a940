"""Minecraft Bedrock Edition: the RakNet unconnected ping, answered by an unconnected pong with the MOTD.

mcstatus' ``BedrockServer.async_status`` retries three times on silence and folds ICMP errors into generic
exceptions, and a verdict needs to tell an answer, an ICMP error and silence apart; so the ping (one fixed
packet) is built here and only the answer is decoded by mcstatus' public ``BedrockStatusResponse``.
"""

from __future__ import annotations

import os
import struct
import time

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")  # RakNet's offline-message magic


def request() -> bytes:
    # Unconnected ping: id 0x01, client time (ms), the magic, a client GUID.
    return b"\x01" + struct.pack(">q", int(time.monotonic() * 1000)) + MAGIC + os.urandom(8)


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if len(data) < 35 or data[0] != 0x1C or data[17:33] != MAGIC:
        return None
    (length,) = struct.unpack_from(">H", data, 33)
    fields = data[35 : 35 + length].decode("utf-8", "replace").split(";")

    from mcstatus.responses import BedrockStatusResponse

    status = BedrockStatusResponse.build(fields, rtt_ms or 0.0)
    motd = status.motd.to_plain().strip()
    edition = "Minecraft Education" if status.version.brand == "MCEE" else "Minecraft Bedrock"
    summary = f"{edition} {status.version.name}, {status.players.online}/{status.players.max} players"
    return ServiceInfo(
        kind="bedrock",
        summary=f"{summary} – “{motd}”" if motd else summary,
        details={
            "motd": motd,
            "version": status.version.name,
            "protocol": status.version.protocol,
            "brand": status.version.brand,
            "players_online": status.players.online,
            "players_max": status.players.max,
            "map": status.map_name,
            "gamemode": status.gamemode,
        },
    )


PROTOCOL = UdpProtocol(
    kind="bedrock",
    request=request,
    parse=parse,
    ports=frozenset({19132, 19133}),  # the IPv4 and IPv6 defaults
    hints=("bedrock", "mcpe"),
)
