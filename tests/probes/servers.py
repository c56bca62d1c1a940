"""Fake servers that speak the real protocols, for probe tests on loopback and inside network namespaces.

In a test (port 0 picks an ephemeral port; ``hits`` counts TCP connections or UDP datagrams):

    async with serve("minecraft", "127.0.0.1") as server:
        report = await engine.probe(ProbeRequest("127.0.0.1", (server.port,)))
    assert server.log[0]["next_state"] == 1

From a shell or the netns harness (prints ``ready`` once it listens, runs until SIGTERM or SIGINT):

    python -m tests.probes.servers KIND HOST PORT [EXTRA ...]

Kinds (TCP unless marked UDP):

  tcp-open     accepts, then closes
  tcp-silent   accepts, then never says a word (reads until the client hangs up)
  tcp-backlog  a listener whose accept queue is full, so new handshakes go unanswered (a silent,
               "filtered"-looking port) until ``release()``; retried handshakes then complete (slow but open)
  http         HTTP/1.1 200, ``Server: PortbotTest/1.0``, a page titled "Portbot test page"; logs each request
  tls          TLS around the HTTP server. In-process: ``cert=CertFiles``; command line: EXTRA names a
               self-signed certificate is made for (default ``portbot.test``)
  ssh          an SSH-2.0 identification line, then waits for the client to hang up
  banner       EXTRA[0] (in-process ``text=``) as the first line, e.g. ``220 test FTP ready``
  minecraft    Minecraft Java status protocol: handshake, status JSON, ping; logs each handshake
  bedrock      UDP, Minecraft Bedrock (RakNet) unconnected ping → unconnected pong
  a2s          UDP, Source A2S_INFO that demands a challenge first (answers S2C_CHALLENGE, 0x41)
  dns          UDP, DNS for EXTRA records ``name=203.0.113.7`` (A or AAAA) or ``name=TYPE:rdata`` (e.g.
               ``_minecraft._tcp.mc.test=SRV:0 5 25600 node.mc.test.``, ``www.test=CNAME:mc.test.``, wildcards
               ``*.wild.test=203.0.113.7``); CNAME chains are answered in full, as a recursive resolver does;
               other names get NXDOMAIN. In-process: ``records={"mc.test": [("A", "127.0.0.1")]}``. Logs each
               question as (name, type)
  ntp          UDP, an NTPv4 server at stratum 2
  stun         UDP, STUN binding success carrying XOR-MAPPED-ADDRESS and SOFTWARE
  udp-silent   UDP, reads everything and never answers
  udp-echo     UDP, sends every datagram straight back
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
import os
import random
import signal
import socket
import ssl
import struct
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdatatype
import dns.rrset

from tests.probes.certs import CertFiles, make_certificate

HTTP_SERVER = "PortbotTest/1.0"
HTTP_TITLE = "Portbot test page"
SSH_BANNER = "SSH-2.0-PortbotTest_1.0 test"
MINECRAFT_STATUS: dict[str, Any] = {
    "version": {"name": "1.21.4", "protocol": 769},
    "players": {
        "max": 20,
        "online": 3,
        "sample": [{"name": "alex", "id": "00000000-0000-0000-0000-000000000001"}],
    },
    "description": {"text": "A Portbot §atest§r world"},
}
BEDROCK_MOTD = "MCPE;Portbot test world;712;1.21.2;3;20;1234567890;Lobby;Survival;1;19132;19133;"
A2S_NAME = "Portbot test server"
A2S_GAME = "Counter-Strike 2"
STUN_SOFTWARE = "PortbotTest STUN"
RAKNET_MAGIC = bytes.fromhex("00ffff00fefefefefdfdfdfd12345678")
STUN_COOKIE = 0x2112A442
_NTP_EPOCH = 2208988800  # seconds from 1900 (NTP's epoch) to 1970


class FakeServer:
    """One fake server. ``hits`` counts TCP connections or UDP datagrams; ``log`` holds protocol details."""

    kind: str

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.hits = 0
        self.log: list[Any] = []

    async def start(self) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


# --- TCP --------------------------------------------------------------------------------------------------


class _TcpServer(FakeServer):
    ssl_context: ssl.SSLContext | None = None

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._server: asyncio.Server | None = None
        self._clients: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, ssl=self.ssl_context)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._clients.add(task)
        self.hits += 1
        try:
            await self._serve(reader, writer)
        except asyncio.CancelledError:
            # close() cancels us. Ending normally matters: Python 3.11's stream callback calls
            # task.exception(), which raises (and logs) for a task that ends cancelled.
            pass
        finally:
            self._clients.discard(task)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                await self.handle(reader, writer)
        except (OSError, EOFError, ValueError, TimeoutError, asyncio.IncompleteReadError, ssl.SSLError):
            pass  # probes hang up early on purpose
        finally:
            writer.close()
            with contextlib.suppress(OSError, ssl.SSLError):
                await writer.wait_closed()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Serve one client; the connection is closed afterwards."""


class TcpOpenServer(_TcpServer):
    kind = "tcp-open"


class TcpSilentServer(_TcpServer):
    """Accepts and then says nothing, reading until the client hangs up."""

    kind = "tcp-silent"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while await reader.read(4096):
            pass


class HttpServer(_TcpServer):
    kind = "http"

    def __init__(self, host: str, port: int, *, status: str = "200 OK", headers: Sequence[str] = ()) -> None:
        super().__init__(host, port)
        self.status = status
        self.headers = tuple(headers)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *header_lines = head.split("\r\n")
        headers = {k.strip().lower(): v.strip() for k, _, v in (h.partition(":") for h in header_lines if h)}
        self.log.append({"request": request_line, "host": headers.get("host")})
        body = f"<html><head><title>{HTTP_TITLE}</title></head><body>ok</body></html>".encode()
        lines = [
            f"HTTP/1.1 {self.status}",
            f"Server: {HTTP_SERVER}",
            "Content-Type: text/html",
            f"Content-Length: {len(body)}",
            "Connection: close",
            *self.headers,
        ]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()


class TlsServer(HttpServer):
    kind = "tls"

    def __init__(self, host: str, port: int, *, cert: CertFiles, **http: Any) -> None:
        super().__init__(host, port, **http)
        self.ssl_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.ssl_context.load_cert_chain(cert.cert, cert.key)


class SshServer(_TcpServer):
    kind = "ssh"

    def __init__(self, host: str, port: int, *, banner: str = SSH_BANNER) -> None:
        super().__init__(host, port)
        self.banner = banner

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(self.banner.encode() + b"\r\n")
        await writer.drain()
        self.log.append(await reader.read(255))  # an SSH server waits for the client's own identification


class BannerServer(SshServer):
    kind = "banner"

    def __init__(self, host: str, port: int, *, text: str = "220 test FTP ready") -> None:
        super().__init__(host, port, banner=text)


class MinecraftServer(_TcpServer):
    """The Java Edition status exchange (see minecraft.wiki "Server List Ping")."""

    kind = "minecraft"

    def __init__(self, host: str, port: int, *, status: Mapping[str, Any] = MINECRAFT_STATUS) -> None:
        super().__init__(host, port)
        self.status = dict(status)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        packet = await _read_packet(reader)
        packet_id, rest = _varint(packet)
        if packet_id != 0:
            return
        protocol, rest = _varint(rest)
        length, rest = _varint(rest)
        address, rest = rest[:length].decode(), rest[length:]
        (port,) = struct.unpack(">H", rest[:2])
        next_state, _ = _varint(rest[2:])
        self.log.append({"protocol": protocol, "address": address, "port": port, "next_state": next_state})
        if next_state != 1:
            return
        while True:
            packet = await _read_packet(reader)
            packet_id, rest = _varint(packet)
            if packet_id == 0:
                body = json.dumps(self.status).encode()
                writer.write(_frame(_pack_varint(0) + _pack_varint(len(body)) + body))
            elif packet_id == 1:
                writer.write(_frame(_pack_varint(1) + rest[:8]))
            await writer.drain()


async def _read_packet(reader: asyncio.StreamReader) -> bytes:
    length = 0
    for shift in range(0, 35, 7):
        byte = (await reader.readexactly(1))[0]
        length |= (byte & 0x7F) << shift
        if not byte & 0x80:
            break
    if length > 1 << 16:
        raise ValueError("packet too long")
    return await reader.readexactly(length)


def _varint(data: bytes) -> tuple[int, bytes]:
    value = 0
    for i in range(5):
        value |= (data[i] & 0x7F) << 7 * i
        if not data[i] & 0x80:
            return value, data[i + 1 :]
    raise ValueError("varint too long")


def _pack_varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _frame(payload: bytes) -> bytes:
    return _pack_varint(len(payload)) + payload


class BacklogServer(FakeServer):
    """A listener whose one-slot accept queue is already taken, so the kernel drops new SYNs unanswered."""

    kind = "tcp-backlog"

    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._listener: socket.socket | None = None
        self._held: list[socket.socket] = []
        self._drain: asyncio.Task[None] | None = None

    async def start(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._listener = socket.socket(family, socket.SOCK_STREAM)
        self._listener.setblocking(False)
        self._listener.bind((self.host, self.port))
        self._listener.listen(0)  # Linux queues backlog + 1 = one connection
        self.port = self._listener.getsockname()[1]
        filler = socket.socket(family, socket.SOCK_STREAM)
        filler.setblocking(False)
        await asyncio.get_running_loop().sock_connect(filler, (self.host, self.port))
        self._held.append(filler)

    def release(self) -> None:
        """Start accepting: handshakes the kernel retries from now on complete."""
        if self._drain is None:
            self._drain = asyncio.create_task(self._accept_forever())

    async def _accept_forever(self) -> None:
        assert self._listener is not None
        loop = asyncio.get_running_loop()
        while True:
            conn, _ = await loop.sock_accept(self._listener)
            self.hits += 1
            self._held.append(conn)

    async def close(self) -> None:
        if self._drain is not None:
            self._drain.cancel()
            await asyncio.gather(self._drain, return_exceptions=True)
        for sock in self._held:
            sock.close()
        if self._listener is not None:
            self._listener.close()


# --- UDP --------------------------------------------------------------------------------------------------


class _UdpServer(FakeServer, asyncio.DatagramProtocol):
    def __init__(self, host: str, port: int) -> None:
        super().__init__(host, port)
        self._transport: asyncio.DatagramTransport | None = None

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(lambda: self, local_addr=(self.host, self.port))
        self._transport = transport
        self.port = transport.get_extra_info("sockname")[1]

    async def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def datagram_received(self, data: bytes, addr: tuple[Any, ...]) -> None:
        self.hits += 1
        try:
            reply = self.answer(data, addr)
        except (ValueError, IndexError, struct.error, dns.exception.DNSException):
            reply = None
        if reply is not None and self._transport is not None:
            self._transport.sendto(reply, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # an ICMP error about one of our answers: nothing to do

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        return None


class UdpSilentServer(_UdpServer):
    kind = "udp-silent"


class UdpEchoServer(_UdpServer):
    kind = "udp-echo"

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        return data


class BedrockServer(_UdpServer):
    """RakNet's unconnected ping (0x01) and pong (0x1c), as Bedrock servers answer the server list."""

    kind = "bedrock"

    def __init__(self, host: str, port: int, *, motd: str = BEDROCK_MOTD) -> None:
        super().__init__(host, port)
        self.motd = motd

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        if len(data) < 25 or data[0] != 0x01 or data[9:25] != RAKNET_MAGIC:
            return None
        text = self.motd.encode()
        return (
            b"\x1c"
            + data[1:9]
            + struct.pack(">q", 0x5EED)
            + RAKNET_MAGIC
            + struct.pack(">H", len(text))
            + text
        )


class A2sServer(_UdpServer):
    """A2S_INFO as current Source servers answer it: first a challenge, then the info for the echoed challenge."""

    kind = "a2s"
    _REQUEST = b"\xff\xff\xff\xffTSource Engine Query\x00"

    def __init__(self, host: str, port: int, *, name: str = A2S_NAME, players: int = 5) -> None:
        super().__init__(host, port)
        self.name = name
        self.players = players
        self.challenge = struct.pack("<I", random.randint(1, 0xFFFFFFFE))

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        if not data.startswith(self._REQUEST):
            return None
        self.log.append(data[len(self._REQUEST) :])
        if data[len(self._REQUEST) :] != self.challenge:
            return b"\xff\xff\xff\xffA" + self.challenge
        return (
            b"\xff\xff\xff\xffI\x11"
            + b"\x00".join(s.encode() for s in (self.name, "de_dust2", "csgo", A2S_GAME))
            + b"\x00"
            + struct.pack("<HBBBccBB", 730, self.players, 16, 0, b"d", b"l", 0, 1)
            + b"1.40.0.0\x00"
            + b"\x80"  # extra data flag: the game port follows
            + struct.pack("<H", 27015)
        )


class DnsServer(_UdpServer):
    kind = "dns"

    def __init__(self, host: str, port: int, *, records: Mapping[str, Sequence[tuple[str, str]]]) -> None:
        super().__init__(host, port)
        self.records = {name.lower().rstrip("."): list(rows) for name, rows in records.items()}

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        response.flags |= dns.flags.AA | dns.flags.RA
        for question in query.question:
            name = question.name.to_text().lower().rstrip(".")
            rdtype = dns.rdatatype.to_text(question.rdtype)
            self.log.append((name, rdtype))
            owner = question.name
            # Like a recursive resolver: a CNAME comes back with whatever its chain ends at (a few links).
            for _ in range(8):
                rows = self._rows(name)
                if rows is None:
                    if owner == question.name and name != "":
                        response.set_rcode(dns.rcode.NXDOMAIN)
                    break
                texts = [text for kind, text in rows if kind.upper() == rdtype]
                aliases = [text for kind, text in rows if kind.upper() == "CNAME"]
                if texts or not aliases:
                    if texts:
                        response.answer.append(dns.rrset.from_text_list(owner, 60, "IN", rdtype, texts))
                    break
                response.answer.append(dns.rrset.from_text_list(owner, 60, "IN", "CNAME", aliases[:1]))
                owner = dns.name.from_text(aliases[0])
                name = owner.to_text().lower().rstrip(".")
        return response.to_wire()  # type: ignore[no-any-return]

    def _rows(self, name: str) -> list[tuple[str, str]] | None:
        """The records at ``name``, or at the closest wildcard (``*.wild.test``) above it."""
        if name in self.records:
            return self.records[name]
        labels = name.split(".")
        for i in range(1, len(labels)):
            wildcard = "*." + ".".join(labels[i:])
            if wildcard in self.records:
                return self.records[wildcard]
        return None


class NtpServer(_UdpServer):
    kind = "ntp"

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        if len(data) < 48 or data[0] & 0x07 != 3:  # mode 3: a client
            return None
        now = time.time() + _NTP_EPOCH
        stamp = struct.pack(">II", int(now), int((now % 1) * 2**32))
        header = struct.pack(">BBbb", (4 << 3) | 4, 2, 6, -20)  # LI 0, version 4, mode 4 (server); stratum 2
        return (
            header + struct.pack(">II", 0, 0) + bytes([192, 0, 2, 123]) + stamp + data[40:48] + stamp + stamp
        )


class StunServer(_UdpServer):
    kind = "stun"

    def answer(self, data: bytes, addr: tuple[Any, ...]) -> bytes | None:
        if len(data) < 20:
            return None
        kind, _length, cookie = struct.unpack(">HHI", data[:8])
        if kind != 0x0001 or cookie != STUN_COOKIE:
            return None
        transaction = data[8:20]
        ip = ipaddress.ip_address(addr[0])
        xport = addr[1] ^ (STUN_COOKIE >> 16)
        mask = struct.pack(">I", STUN_COOKIE) + (transaction if ip.version == 6 else b"")
        xaddr = bytes(a ^ b for a, b in zip(ip.packed, mask, strict=True))
        mapped = struct.pack(">BBH", 0, 1 if ip.version == 4 else 2, xport) + xaddr
        software = STUN_SOFTWARE.encode()
        software += b"\x00" * (-len(software) % 4)
        attributes = struct.pack(">HH", 0x0020, len(mapped)) + mapped
        attributes += struct.pack(">HH", 0x8022, len(STUN_SOFTWARE)) + software
        return struct.pack(">HHI", 0x0101, len(attributes), STUN_COOKIE) + transaction + attributes


# --- building and running ---------------------------------------------------------------------------------

KINDS: dict[str, Callable[..., FakeServer]] = {
    cls.kind: cls
    for cls in (
        TcpOpenServer,
        TcpSilentServer,
        BacklogServer,
        HttpServer,
        TlsServer,
        SshServer,
        BannerServer,
        MinecraftServer,
        BedrockServer,
        A2sServer,
        DnsServer,
        NtpServer,
        StunServer,
        UdpSilentServer,
        UdpEchoServer,
    )
}


@contextlib.asynccontextmanager
async def serve(kind: str, host: str = "127.0.0.1", port: int = 0, **options: Any) -> AsyncIterator[Any]:
    """Run one fake server for the duration of the block; options are the kind's keyword arguments."""
    server = KINDS[kind](host, port, **options)
    await server.start()
    try:
        yield server
    finally:
        await server.close()


def _options_from_argv(kind: str, extra: Sequence[str], workdir: Path) -> dict[str, Any]:
    if kind == "dns":
        records: dict[str, list[tuple[str, str]]] = {}
        for item in extra:
            name, _, value = item.partition("=")
            try:
                row = ("AAAA" if ipaddress.ip_address(value).version == 6 else "A", value)
            except ValueError:
                rdtype, _, rdata = value.partition(":")
                row = (rdtype.upper(), rdata)
            records.setdefault(name, []).append(row)
        return {"records": records}
    if kind == "tls":
        return {"cert": make_certificate(workdir, list(extra) or ["portbot.test"])}
    if kind == "banner" and extra:
        return {"text": extra[0]}
    return {}


async def _main(kind: str, host: str, port: int, extra: Sequence[str]) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    with tempfile.TemporaryDirectory(prefix="portbot-fake-") as workdir:
        async with serve(kind, host, port, **_options_from_argv(kind, extra, Path(workdir))):
            print("ready", flush=True)
            await stop.wait()


def main(argv: Sequence[str] | None = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) < 3 or args[0] not in KINDS:
        print(
            f"usage: python -m tests.probes.servers {{{','.join(KINDS)}}} HOST PORT [EXTRA ...]",
            file=sys.stderr,
        )
        raise SystemExit(2)
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    asyncio.run(_main(args[0], args[1], int(args[2]), args[3:]))


if __name__ == "__main__":
    main()
