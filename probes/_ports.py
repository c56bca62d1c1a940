"""Small tables: which protocol a port gets when the request says "auto", which UDP request a port gets, and
which service a hint names. The UDP services (their ports, hint words and packets) are declared one module
each in probes/_protocols/; the TCP side is here. Facts are from IANA and the games' own server documentation;
the knowledge base holds the long explanations.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable

from probes import _protocols
from probes._protocols._base import words_pattern
from probes.models import Protocol

GENERIC = _protocols.REGISTRY.fallback.kind  # the UDP request for a port no protocol declares

# Service kinds for TCP identification (probes/identify.py).
HTTP = "http"
TLS = "tls"
SSH = "ssh"
MINECRAFT = "minecraft"  # Java Edition status

_TLS_PORTS = frozenset({443, 8443, 9443, 4443, 993, 995, 465, 636, 853, 8920, 5001})
_HTTP_PORTS = frozenset({80, 8080, 8000, 8008, 8081, 8088, 8096, 8123, 8888, 3000, 5000, 9000, 32400})

# Words a hint may contain for the TCP services, most specific first; the UDP protocols' words are tried
# before these (probes/_protocols/: "minecraft bedrock" is Bedrock, "minecraft" alone Java).
_TCP_HINT_WORDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (MINECRAFT, ("minecraft", "java")),
    (SSH, ("ssh", "sftp")),
    (TLS, ("https", "tls", "ssl", "wss")),
    (HTTP, ("http", "web", "ws")),
)
_TCP_KINDS = frozenset(kind for kind, _ in _TCP_HINT_WORDS)


@functools.cache  # compiled on the first hint: most one-shot probes carry none
def _tcp_hints() -> tuple[tuple[str, re.Pattern[str]], ...]:
    return tuple((kind, words_pattern(words)) for kind, words in _TCP_HINT_WORDS)


def hint_kind(hint: str | None) -> str | None:
    """The service kind a free-text hint names ("Minecraft Bedrock" → bedrock), or None."""
    if not hint:
        return None
    text = hint.strip().lower()
    udp = _protocols.REGISTRY.hinted(text)
    if udp is not None:
        return udp.kind
    for kind, pattern in _tcp_hints():
        if pattern.search(text):
            return kind
    return None


def auto_protocols(port: int, hint: str | None = None) -> tuple[Protocol, ...]:
    """The protocols to probe ``port`` with when the request says "auto"."""
    kind = hint_kind(hint)
    if kind in _TCP_KINDS:
        return ("tcp",)
    if kind is not None:
        return ("tcp", "udp") if _protocols.REGISTRY.kind(kind).hint_tcp else ("udp",)
    return _protocols.REGISTRY.transports(port) or ("tcp",)


def protocols_for(requested: str, port: int, hint: str | None = None) -> tuple[Protocol, ...]:
    """The protocols the engine probes ``port`` with for a request's protocol (``auto``, ``tcp`` or ``udp``);
    probes/quick.py asks the same question to know whether a request is TCP only."""
    if requested == "auto":
        return auto_protocols(port, hint)
    return ("udp",) if requested == "udp" else ("tcp",)


def udp_kind(port: int, hint: str | None = None) -> str:
    """Which UDP request to send to ``port``."""
    kind = hint_kind(hint)
    if kind is not None and kind not in _TCP_KINDS:
        return kind
    declared = _protocols.REGISTRY.on_port(port)
    return GENERIC if declared is None else declared.kind


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
