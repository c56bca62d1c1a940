"""The kernel's smoothed round-trip time of a connected TCP socket (Linux ``TCP_INFO``).

A link's visit arrives over a TCP connection from the very address the worker is about to probe, so its RTT
is the path's RTT, measured for free: the engine can call a silent port filtered after a few RTTs instead of
waiting its full timeout (probes/tcp.py, probes/_rtt_memory.py).
"""

from __future__ import annotations

import socket
import struct

__all__ = ["tcp_rtt"]

# struct tcp_info (linux/tcp.h): eight u8 fields, then u32s: rto, ato, snd_mss, rcv_mss, unacked, sacked, lost,
# retrans, fackets, last_data_sent, last_ack_sent, last_data_recv, last_ack_recv, pmtu, rcv_ssthresh, rtt.
_RTT_OFFSET = 8 + 15 * 4
_SIZE = 104


def tcp_rtt(sock: socket.socket | None) -> float | None:
    """The connection's smoothed RTT in seconds, or None where the kernel can't say (not Linux, not TCP)."""
    option = getattr(socket, "TCP_INFO", None)
    if sock is None or option is None:
        return None
    try:
        info = sock.getsockopt(socket.IPPROTO_TCP, option, _SIZE)
    except (OSError, ValueError):
        return None
    if len(info) < _RTT_OFFSET + 4:
        return None
    (micros,) = struct.unpack_from("I", info, _RTT_OFFSET)
    return micros / 1_000_000 if micros > 0 else None
