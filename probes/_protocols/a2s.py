"""Valve's Source server query (A2S_INFO), spoken by Source servers and many Steam games' query ports.

Only the first request is sent for the verdict: current servers answer it with an anti-spoofing challenge,
which proves the port open. The server's details (name, game, map, players) come after the verdict, within the
identification time box, from python-a2s' ``ainfo``, which does the challenge handshake.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from probes._protocols._base import UdpProtocol
from probes._text import clean
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
    # 0x41 is the challenge current servers send first; the details come from ``identify_a2s`` below.
    return ServiceInfo(
        "a2s", "Steam game server (answers the Source server query)", {"challenge": data[4] == 0x41}
    )


async def identify_a2s(address: IPAddress, port: int, time_box: float = 2.0) -> ServiceInfo | None:
    """The Source query's server details (name, game, map, players) via python-a2s, which also does the
    challenge handshake current servers require. None on any failure."""
    import asyncio  # here, not at the top: `portbot probe`'s quick path loads this table without asyncio

    import a2s

    try:
        # a2s' timeout is per answer and the challenge costs a second round trip: two fit in the box.
        async with asyncio.timeout(time_box + 0.5):
            info = await a2s.ainfo((str(address), port), timeout=time_box / 2)
    except Exception:  # best effort, as all identification: it never changes the verdict
        import logging  # only on a failure: the port table that imports this module runs on every probe

        logging.getLogger(__name__).debug(
            "A2S identification of %s port %s failed", address, port, exc_info=True
        )
        return None
    name = clean(str(info.server_name))
    game = clean(str(info.game))
    summary = (
        f"{game}: “{name}”, {info.player_count}/{info.max_players} players, map {clean(str(info.map_name))}"
    )
    return ServiceInfo(
        "a2s",
        summary,
        {
            "name": name,
            "game": game,
            "map": clean(str(info.map_name)),
            "folder": clean(str(info.folder)),
            "players_online": info.player_count,
            "players_max": info.max_players,
            "bots": info.bot_count,
            "password": bool(info.password_protected),
            "vac": bool(info.vac_enabled),
            "version": clean(str(getattr(info, "version", ""))) or None,
            "app_id": getattr(info, "app_id", None),
            "game_port": getattr(info, "port", None),
        },
    )


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
    details=identify_a2s,
)
