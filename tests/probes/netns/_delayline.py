"""A one-way latency link for the test internet: ``python -m tests.probes.netns._delayline``.

Creates a tun device; every IPv4 packet the kernel routes into it is held for ``--delay`` seconds and then
sent out of ``--out`` as an Ethernet frame addressed to ``--mac`` (the next hop), as if it had arrived late.
Prints ``ready`` once the device exists. Stops on SIGTERM. Stands in for ``tc qdisc … netem delay``, which
many kernels are built without.
"""

from __future__ import annotations

import argparse
import asyncio
import fcntl
import os
import signal
import socket
import struct

_TUNSETIFF = 0x400454CA
_IFF_TUN = 0x0001
_IFF_NO_PI = 0x1000
_ETH_P_IP = 0x0800


def open_tun(name: str) -> int:
    fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, _TUNSETIFF, struct.pack("16sH", name.encode(), _IFF_TUN | _IFF_NO_PI))
    return fd


async def serve(tun: str, out: str, mac: str, delay: float) -> None:
    fd = open_tun(tun)
    sender = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(_ETH_P_IP))
    next_hop = bytes.fromhex(mac.replace(":", ""))
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def forward(packet: bytes) -> None:
        if packet[0] >> 4 == 4:
            sender.sendto(packet, (out, _ETH_P_IP, 0, 0, next_hop))

    def on_readable() -> None:
        while True:
            try:
                packet = os.read(fd, 65535)
            except BlockingIOError:
                return
            loop.call_later(delay, forward, packet)

    loop.add_reader(fd, on_readable)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    print("ready", flush=True)
    try:
        await stop.wait()
    finally:
        loop.remove_reader(fd)
        os.close(fd)
        sender.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--tun", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--mac", required=True)
    parser.add_argument("--delay", type=float, required=True)
    args = parser.parse_args()
    asyncio.run(serve(args.tun, args.out, args.mac, args.delay))


if __name__ == "__main__":
    main()
