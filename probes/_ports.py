"""Small tables: which protocol a port gets when the request says "auto", which UDP packet makes the service
on a port answer, and which service names a hint can carry. Facts are from IANA and the games' own server
documentation; the knowledge base holds the long explanations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from probes.models import Protocol

# Probe kinds for UDP: each has a request packet the real service answers (probes/_payloads.py).
BEDROCK = "bedrock"  # Minecraft Bedrock: RakNet unconnected ping
A2S = "a2s"  # Valve's Source server query (A2S_INFO), spoken by many Steam games' query ports
DNS = "dns"
NTP = "ntp"
STUN = "stun"
GENERIC = "generic"  # a few bytes: any answer at all means open

# Service kinds for TCP identification (probes/identify.py).
HTTP = "http"
TLS = "tls"
SSH = "ssh"
MINECRAFT = "minecraft"  # Java Edition status

_UDP_KIND: dict[int, str] = {
    53: DNS,
    123: NTP,
    3478: STUN,
    3479: STUN,
    19302: STUN,  # a widely used public STUN port
    19132: BEDROCK,  # Bedrock IPv4 default
    19133: BEDROCK,  # Bedrock IPv6 default
    **{port: A2S for port in range(27015, 27021)},  # Source dedicated servers and many Steam query ports
    2457: A2S,  # Valheim's query port (game port 2456 + 1)
    15637: A2S,  # Enshrouded's query port
    9877: A2S,  # V Rising's query port
}

# Ports whose service speaks UDP only, or mostly: "auto" probes these over UDP.
_UDP_ONLY = frozenset(
    {
        123, 3478, 3479, 19302,  # NTP, STUN
        19132, 19133,  # Minecraft Bedrock
        2456, 2457, 2458,  # Valheim
        34197,  # Factorio
        9987,  # TeamSpeak 3 voice
        15636, 15637,  # Enshrouded
        9876, 9877,  # V Rising
        8211,  # Palworld
        27016, 27017, 27018, 27019, 27020,  # Steam query ports
        51820,  # WireGuard
        1194,  # OpenVPN's default
        500, 4500,  # IPsec IKE and NAT traversal
    }
)  # fmt: skip

# Ports where both matter: DNS answers over both; Source servers play over UDP 27015 and take RCON over TCP.
_BOTH = frozenset({53, 27015, 64738})  # 64738: Mumble

_TLS_PORTS = frozenset({443, 8443, 9443, 4443, 993, 995, 465, 636, 853, 8920, 5001})
_HTTP_PORTS = frozenset({80, 8080, 8000, 8008, 8081, 8088, 8096, 8123, 8888, 3000, 5000, 9000, 32400})

# Words a service hint may contain, most specific first.
_HINT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (BEDROCK, ("bedrock", "mcpe")),
    (MINECRAFT, ("minecraft", "java")),
    (
        A2S,
        ("a2s", "steam", "source", "valheim", "counter-strike", "cs2", "csgo", "garry", "rust", "ark",
         "enshrouded", "v rising", "vrising", "palworld", "team fortress", "tf2", "left 4 dead"),
    ),
    (STUN, ("stun", "turn")),
    (NTP, ("ntp", "time")),
    (DNS, ("dns", "domain")),
    (SSH, ("ssh", "sftp")),
    (TLS, ("https", "tls", "ssl", "wss")),
    (HTTP, ("http", "web", "ws")),
)  # fmt: skip

# Whole words only: "ark" must not match "parkour", nor "time" match "sometimes".
_HINT_PATTERNS = tuple(
    (kind, re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])"))
    for kind, words in _HINT_WORDS
)


def hint_kind(hint: str | None) -> str | None:
    """The service kind a free-text hint names ("Minecraft Bedrock" → bedrock), or None."""
    if not hint:
        return None
    text = hint.strip().lower()
    for kind, pattern in _HINT_PATTERNS:
        if pattern.search(text):
            return kind
    return None


def auto_protocols(port: int, hint: str | None = None) -> tuple[Protocol, ...]:
    """The protocols to probe ``port`` with when the request says "auto"."""
    kind = hint_kind(hint)
    if kind in (BEDROCK, A2S, STUN, NTP):
        return ("udp",)
    if kind in (MINECRAFT, HTTP, TLS, SSH):
        return ("tcp",)
    if port in _BOTH or kind == DNS:
        return ("tcp", "udp")
    if port in _UDP_ONLY:
        return ("udp",)
    return ("tcp",)


def udp_kind(port: int, hint: str | None = None) -> str:
    """Which UDP request to send to ``port``."""
    kind = hint_kind(hint)
    if kind in (BEDROCK, A2S, DNS, NTP, STUN):
        return kind
    return _UDP_KIND.get(port, GENERIC)


def tcp_kinds(port: int, hint: str | None = None) -> tuple[str, ...]:
    """What to try, in order, to identify the service on an open TCP ``port``; empty: read a banner first."""
    kind = hint_kind(hint)
    if kind == MINECRAFT or (kind is None and port == MINECRAFT_PORT):
        return (MINECRAFT,)
    if kind == TLS or (kind is None and port in _TLS_PORTS):
        return (TLS,)
    if kind == SSH or (kind is None and port == 22):
        return (SSH,)
    if kind == HTTP or (kind is None and port in _HTTP_PORTS):
        return (HTTP,)
    return ()


MINECRAFT_PORT = 25565
MINECRAFT_SRV = "_minecraft._tcp"


def uses_minecraft_srv(ports: Iterable[int], hint: str | None) -> bool:
    """Minecraft Java clients given a name without a port look up ``_minecraft._tcp.<name>`` first and
    connect where it points; so do we when the Java port is asked for (unless the hint names another service)."""
    return MINECRAFT_PORT in ports and hint_kind(hint) in (None, MINECRAFT)
