"""NTP: a client packet, answered by a server packet with the stratum, the reference and the server's clock."""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import struct

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo

_NTP_EPOCH = 2208988800  # seconds from 1900 (NTP's epoch) to 1970


def request() -> bytes:
    # LI 0, version 4, mode 3 (client); a transmit timestamp so the server has something to echo.
    return bytes([0x23]) + bytes(39) + os.urandom(8)


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
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


PROTOCOL = UdpProtocol(
    kind="ntp", request=request, parse=parse, ports=frozenset({123}), hints=("ntp", "time")
)
