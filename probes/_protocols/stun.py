"""STUN (RFC 5389, and RFC 3489's older servers): a binding request, answered with the address we came from."""

from __future__ import annotations

import ipaddress
import os
import struct

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

COOKIE = 0x2112A442  # the magic cookie every RFC 5389 message carries


def request() -> bytes:
    return struct.pack(">HHI", 0x0001, 0, COOKIE) + os.urandom(12)  # binding request


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    if len(data) < 20:
        return None
    kind, length, cookie = struct.unpack_from(">HHI", data)
    if kind & 0xC110 not in (0x0100, 0x0110) or cookie != COOKIE:  # a success or error response
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
    port = xport ^ (COOKIE >> 16)
    mask = struct.pack(">I", COOKIE) + (transaction if family == 2 else b"")
    raw = bytes(a ^ b for a, b in zip(value[4 : 4 + len(mask)], mask, strict=True))
    return _join(ipaddress.ip_address(raw), port)


def _plain_address(value: bytes) -> str:
    family, port = value[1], struct.unpack_from(">H", value, 2)[0]
    return _join(ipaddress.ip_address(value[4 : 8 if family == 1 else 20]), port)


def _join(ip: ipaddress.IPv4Address | ipaddress.IPv6Address, port: int) -> str:
    return f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}"


PROTOCOL = UdpProtocol(
    kind="stun",
    request=request,
    parse=parse,
    ports=frozenset({3478, 3479, 19302}),  # 19302: a widely used public STUN port
    hints=("stun", "turn"),
)
