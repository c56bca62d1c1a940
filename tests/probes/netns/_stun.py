"""A minimal STUN binding responder (RFC 5389) for the lab routers' miniupnpd.

    python -m tests.probes.netns._stun ADDRESS [PORT]

miniupnpd reports no external address when its WAN address is reserved (documentation, CGNAT and private
ranges alike) unless it learns one over STUN (``ext_perform_stun``). Bound to the router's own WAN address,
this responder sees that address as the source and reports it back, so miniupnpd reports exactly the WAN
address. Prints ``ready`` once bound.
"""

from __future__ import annotations

import socket
import struct
import sys

MAGIC = 0x2112A442


def answer(request: bytes, peer: tuple[str, int]) -> bytes | None:
    if len(request) < 20:
        return None
    kind, _, cookie = struct.unpack("!HHI", request[:8])
    if kind != 0x0001 or cookie != MAGIC:
        return None
    transaction = request[8:20]
    address = socket.inet_aton(peer[0])
    xport = peer[1] ^ (MAGIC >> 16)
    xaddress = bytes(a ^ b for a, b in zip(address, struct.pack("!I", MAGIC), strict=True))
    attrs = struct.pack("!HHBBH", 0x0020, 8, 0, 1, xport) + xaddress  # XOR-MAPPED-ADDRESS
    attrs += struct.pack("!HHBBH", 0x0001, 8, 0, 1, peer[1]) + address  # MAPPED-ADDRESS, for old clients
    return struct.pack("!HHI", 0x0101, len(attrs), MAGIC) + transaction + attrs


def main() -> None:
    host = sys.argv[1]
    port = int(sys.argv[2]) if len(sys.argv) > 2 else 3478
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind((host, port))
        print("ready", flush=True)
        while True:
            data, peer = sock.recvfrom(2048)
            reply = answer(data, peer)
            if reply is not None:
                sock.sendto(reply, peer)


if __name__ == "__main__":
    main()
