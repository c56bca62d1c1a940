"""ICMP echo round-trip times in milliseconds, as JSON: ``python bench/_ping.py <address> <count>``.

Runs inside the prober namespace (raw socket, so root) to give the benchmarks an independent path RTT.
"""

from __future__ import annotations

import json
import os
import socket
import statistics
import struct
import sys
import time


def _checksum(data: bytes) -> int:
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    return ~(total + (total >> 16)) & 0xFFFF


def ping(address: str, count: int, timeout: float = 2.0) -> list[float]:
    times = []
    ident = os.getpid() & 0xFFFF
    with socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP) as sock:
        sock.settimeout(timeout)
        for seq in range(count):
            header = struct.pack("!BBHHH", 8, 0, 0, ident, seq)
            payload = b"portbot-bench-rtt."  # even length keeps the checksum simple
            packet = struct.pack("!BBHHH", 8, 0, _checksum(header + payload), ident, seq) + payload
            start = time.perf_counter()
            sock.sendto(packet, (address, 0))
            while True:
                reply = sock.recv(2048)
                icmp = reply[(reply[0] & 0x0F) * 4 :]
                kind, _, _, rid, rseq = struct.unpack("!BBHHH", icmp[:8])
                if kind == 0 and rid == ident and rseq == seq:
                    times.append((time.perf_counter() - start) * 1000)
                    break
    return times


if __name__ == "__main__":
    rtts = ping(sys.argv[1], int(sys.argv[2]))
    print(json.dumps({"median_ms": statistics.median(rtts), "all_ms": rtts}))
