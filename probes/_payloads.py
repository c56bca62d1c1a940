"""UDP requests that make real services answer, and readers for their answers.

Why our own codecs rather than the libraries' clients: a verdict needs to tell three outcomes apart (an
answer, an ICMP error, silence) on a socket aimed at the exact address the safety policy checked.
mcstatus' ``BedrockServer.async_status`` retries three times on silence and folds ICMP errors into generic
exceptions, so the RakNet ping (one fixed packet) is built here; its answer is still decoded by mcstatus'
public ``BedrockStatusResponse``. python-a2s' ``ainfo`` is used for the A2S details after the verdict
(probes/identify.py); here we only send its first request. dnspython builds and reads the DNS messages.

Readers never raise: a malformed answer still proves the port open; it just carries less detail.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import struct
import time
from collections.abc import Callable

from probes import _ports
from probes.models import ServiceInfo

RAKNET_MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")
A2S_INFO_REQUEST = b"\xff\xff\xff\xffTSource Engine Query\x00"
STUN_COOKIE = 0x2112A442
_NTP_EPOCH = 2208988800  # seconds from 1900 (NTP's epoch) to 1970
GENERIC_REQUEST = b"\r\n\r\n"  # a blank line or two: text protocols tend to answer it with an error


def request(kind: str) -> bytes:
    """The first packet to send for a UDP probe of ``kind``."""
    if kind == _ports.BEDROCK:
        # RakNet unconnected ping: id 0x01, client time (ms), the offline-message magic, a client GUID.
        return b"\x01" + struct.pack(">q", int(time.monotonic() * 1000)) + RAKNET_MAGIC + os.urandom(8)
    if kind == _ports.A2S:
        return A2S_INFO_REQUEST
    if kind == _ports.DNS:
        import dns.message

        return dns.message.make_query(".", "NS").to_wire()
    if kind == _ports.NTP:
        # LI 0, version 4, mode 3 (client); a transmit timestamp so the server has something to echo.
        return bytes([0x23]) + bytes(39) + os.urandom(8)
    if kind == _ports.STUN:
        return struct.pack(">HHI", 0x0001, 0, STUN_COOKIE) + os.urandom(12)  # binding request
    return GENERIC_REQUEST


def parse(kind: str, data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    """What the answer to a ``kind`` request says, or None when there's nothing to tell beyond "it answered"."""
    reader = _READERS.get(kind)
    if reader is None:
        return None
    try:
        return reader(data, rtt_ms)
    except Exception:  # any malformed answer: the port is open all the same
        return None


def _bedrock(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if len(data) < 35 or data[0] != 0x1C or data[17:33] != RAKNET_MAGIC:
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


def _a2s(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if not data.startswith(b"\xff\xff\xff\xff") or len(data) < 5 or data[4] not in b"AIm":
        return None
    # 0x41 is the anti-spoofing challenge current servers send first; the details come from identify.
    return ServiceInfo(
        "a2s", "Steam game server (answers the Source server query)", {"challenge": data[4] == 0x41}
    )


def _dns(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    import dns.flags
    import dns.message
    import dns.rcode

    message = dns.message.from_wire(data)
    if not message.flags & dns.flags.QR:
        return None
    rcode = dns.rcode.to_text(message.rcode())
    recursion = bool(message.flags & dns.flags.RA)
    extra = ", recursion available" if recursion else ""
    return ServiceInfo(
        "dns",
        f"DNS server (answered {rcode}{extra})",
        {
            "rcode": rcode,
            "recursion_available": recursion,
            "authoritative": bool(message.flags & dns.flags.AA),
        },
    )


def _ntp(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if len(data) < 48 or data[0] & 0x07 not in (4, 5):  # mode 4: server, 5: broadcast
        return None
    version, stratum = (data[0] >> 3) & 0x07, data[1]
    refid = data[12:16]
    if stratum == 0:  # a "kiss-o'-death": the server tells us to go away, in four ASCII letters
        code = refid.decode("ascii", "replace").strip("\x00")
        return ServiceInfo(
            "ntp", f"NTP server (refused to serve us: {code})", {"stratum": 0, "kiss_code": code}
        )
    if stratum == 1:
        reference = refid.decode("ascii", "replace").strip("\x00")  # e.g. "GPS", "PPS"
    else:
        reference = str(ipaddress.IPv4Address(refid))  # the upstream server (a hash of it for IPv6)
    seconds, fraction = struct.unpack_from(">II", data, 40)
    server_time = dt.datetime.fromtimestamp(seconds - _NTP_EPOCH + fraction / 2**32, dt.UTC)
    return ServiceInfo(
        "ntp",
        f"NTP time server, stratum {stratum}",
        {
            "stratum": stratum,
            "version": version,
            "reference": reference,
            "server_time": server_time.isoformat(timespec="milliseconds"),
        },
    )


def _stun(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if len(data) < 20:
        return None
    kind, length, cookie = struct.unpack_from(">HHI", data)
    if kind & 0xC110 not in (0x0100, 0x0110) or cookie != STUN_COOKIE:  # a success or error response
        return None
    transaction = data[8:20]
    details: dict[str, str | int | float | bool | None] = {}
    offset, end = 20, min(len(data), 20 + length)
    while offset + 4 <= end:
        attr, size = struct.unpack_from(">HH", data, offset)
        value = data[offset + 4 : offset + 4 + size]
        if attr in (0x0020, 0x8020):  # XOR-MAPPED-ADDRESS (0x8020: a pre-RFC 5389 number some servers use)
            details["mapped_address"] = _xor_address(value, transaction)
        elif attr == 0x0001 and "mapped_address" not in details:  # MAPPED-ADDRESS, from RFC 3489 servers
            details["mapped_address"] = _plain_address(value)
        elif attr == 0x8022:  # SOFTWARE
            details["software"] = value.decode("utf-8", "replace").strip("\x00 ")
        offset += 4 + size + (-size % 4)
    software = details.get("software")
    return ServiceInfo("stun", f"STUN server ({software})" if software else "STUN server", details)


def _xor_address(value: bytes, transaction: bytes) -> str:
    family, xport = value[1], struct.unpack_from(">H", value, 2)[0]
    port = xport ^ (STUN_COOKIE >> 16)
    mask = struct.pack(">I", STUN_COOKIE) + (transaction if family == 2 else b"")
    raw = bytes(a ^ b for a, b in zip(value[4 : 4 + len(mask)], mask, strict=True))
    return _join(ipaddress.ip_address(raw), port)


def _plain_address(value: bytes) -> str:
    family, port = value[1], struct.unpack_from(">H", value, 2)[0]
    return _join(ipaddress.ip_address(value[4 : 8 if family == 1 else 20]), port)


def _join(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


_READERS: dict[str, Callable[[bytes, float | None], ServiceInfo | None]] = {
    _ports.BEDROCK: _bedrock,
    _ports.A2S: _a2s,
    _ports.DNS: _dns,
    _ports.NTP: _ntp,
    _ports.STUN: _stun,
}
