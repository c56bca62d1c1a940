"""Stand-in fake servers until tests/probes/servers.py lands (same command line). Temporary."""

from __future__ import annotations

import asyncio
import struct
import sys

import dns.message
import dns.rdatatype
import dns.rrset

MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, answer) -> None:  # type: ignore[no-untyped-def]
        self.answer = answer

    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:  # type: ignore[no-untyped-def]
        reply = self.answer(data)
        if reply:
            self.transport.sendto(reply, addr)


def bedrock(data: bytes) -> bytes | None:
    if data[:1] != b"\x01":
        return None
    motd = b"MCPE;Portbot test world;712;1.21.2;3;20;1;Lobby;Survival;1;19132;19133;"
    return b"\x1c" + data[1:9] + struct.pack(">q", 1) + MAGIC + struct.pack(">H", len(motd)) + motd


def a2s(data: bytes) -> bytes | None:
    if not data.startswith(b"\xff\xff\xff\xffTSource Engine Query\x00"):
        return None
    return (
        b"\xff\xff\xff\xffI\x11Portbot test server\x00de_dust2\x00cstrike\x00Counter-Strike\x00"
        + struct.pack("<hBBBccBB", 240, 5, 16, 0, b"d", b"l", 0, 1)
        + b"1.0.0.0\x00\x00"
    )


def make_dns(records: dict[str, str]):  # type: ignore[no-untyped-def]
    def answer(data: bytes) -> bytes | None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        q = query.question[0]
        name = q.name.to_text().rstrip(".").lower()
        if q.rdtype == dns.rdatatype.A and name in records:
            response.answer.append(dns.rrset.from_text(q.name, 60, "IN", "A", records[name]))
        elif name not in records:
            response.set_rcode(3)
        return response.to_wire()  # type: ignore[no-any-return]

    return answer


async def main(kind: str, host: str, port: int, extra: list[str]) -> None:
    loop = asyncio.get_running_loop()
    if kind == "tcp-open":

        async def handle(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            w.close()

        server = await asyncio.start_server(handle, host, port)
    elif kind == "http":

        async def web(r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
            await r.readuntil(b"\r\n\r\n")
            w.write(
                b"HTTP/1.1 200 OK\r\nServer: portbot-test\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"
            )
            await w.drain()
            w.close()

        server = await asyncio.start_server(web, host, port)
    else:
        answer = {"bedrock": bedrock, "a2s": a2s}.get(kind) or make_dns(dict(e.split("=") for e in extra))
        await loop.create_datagram_endpoint(lambda: _Udp(answer), local_addr=(host, port))
    print("ready", flush=True)
    await asyncio.Event().wait()
    del server


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]))
