"""The stdlib listener's router queries and report sentences, against fakes on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import struct
import threading
from collections.abc import AsyncIterator, Iterator

import pytest
from aiohttp import web

from probes.listen_standalone import (
    Listener,
    PortStatus,
    busy_message,
    describe,
    natpmp_external_address,
    parse_ports,
    port_owner,
    upnp_external_address,
    upnp_location,
)

LOOPBACK = "127.0.0.1"


def udp_responder(answer: bytes | None) -> Iterator[int]:
    """A one-socket UDP server on loopback that answers every datagram with ``answer`` (None: silence)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(0.1)
    stop = threading.Event()
    seen: list[bytes] = []

    def serve() -> None:
        while not stop.is_set():
            try:
                data, peer = sock.recvfrom(1500)
            except TimeoutError:
                continue
            seen.append(data)
            if answer is not None:
                sock.sendto(answer, peer)

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield sock.getsockname()[1]
    stop.set()
    thread.join()
    sock.close()


def natpmp_answer(result: int, address: str) -> bytes:
    return struct.pack("!BBHI", 0, 128, result, 1234) + socket.inet_aton(address)


@pytest.mark.parametrize("address", ["203.0.113.20", "100.64.7.1", "192.168.1.2"])
def test_natpmp_reads_the_external_address(address: str) -> None:
    """A NAT-PMP answer (RFC 6886 opcode 128, result 0) gives the router's external address, reserved or not."""
    for port in udp_responder(natpmp_answer(0, address)):
        assert natpmp_external_address(LOOPBACK, timeout=1.0, port=port) == address


def test_natpmp_error_result_is_none() -> None:
    """A NAT-PMP error result (3: network failure, as miniupnpd sends without a public address) gives None."""
    for port in udp_responder(natpmp_answer(3, "0.0.0.0")):
        assert natpmp_external_address(LOOPBACK, timeout=1.0, port=port) is None


@pytest.mark.parametrize("answer", [None, b"\x00", b"HTTP/1.1 200 OK\r\n\r\n" + b"x" * 20])
def test_natpmp_silence_or_junk_is_none(answer: bytes | None) -> None:
    """Silence, a short datagram or something else answering gives None within the timeout."""
    for port in udp_responder(answer):
        assert natpmp_external_address(LOOPBACK, timeout=0.3, port=port) is None


ROOT_DESC = """<?xml version="1.0"?>
<root xmlns="urn:schemas-upnp-org:device-1-0"><device>
<deviceType>urn:schemas-upnp-org:device:InternetGatewayDevice:1</deviceType>
<deviceList><device><deviceList><device>
<serviceList><service>
<serviceType>urn:schemas-upnp-org:service:WANIPConnection:1</serviceType>
<controlURL>/ctl/IPConn</controlURL>
</service></serviceList>
</device></deviceList></device></deviceList>
</device></root>"""

SOAP_ANSWER = """<?xml version="1.0"?>
<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body>
<u:GetExternalIPAddressResponse xmlns:u="urn:schemas-upnp-org:service:WANIPConnection:1">
<NewExternalIPAddress>{address}</NewExternalIPAddress></u:GetExternalIPAddressResponse></s:Body></s:Envelope>"""


@pytest.fixture
async def igd() -> AsyncIterator[tuple[str, dict[str, str]]]:
    """A fake IGD: a description and a WANIPConnection control URL; ``state["address"]`` is what it reports."""
    state = {"address": "100.64.3.4", "action": ""}

    async def description(request: web.Request) -> web.Response:
        return web.Response(text=ROOT_DESC, content_type="text/xml")

    async def control(request: web.Request) -> web.Response:
        state["action"] = request.headers.get("SOAPAction", "")
        return web.Response(text=SOAP_ANSWER.format(address=state["address"]), content_type="text/xml")

    app = web.Application()
    app.router.add_get("/rootDesc.xml", description)
    app.router.add_post("/ctl/IPConn", control)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, LOOPBACK, 0).start()
    yield f"http://{LOOPBACK}:{runner.addresses[0][1]}/rootDesc.xml", state
    await runner.cleanup()


@pytest.mark.parametrize("address", ["100.64.3.4", "10.0.0.2", "203.0.113.20"])
async def test_upnp_reads_the_external_address(igd: tuple[str, dict[str, str]], address: str) -> None:
    """GetExternalIPAddress over SOAP gives the address, a CGNAT or private one included (that is the signal)."""
    location, state = igd
    state["address"] = address
    assert await asyncio.to_thread(upnp_external_address, location) == address
    assert state["action"] == '"urn:schemas-upnp-org:service:WANIPConnection:1#GetExternalIPAddress"'


@pytest.mark.parametrize("address", ["", "not-an-address"])
async def test_upnp_empty_or_bad_address_is_none(igd: tuple[str, dict[str, str]], address: str) -> None:
    """An empty answer (miniupnpd without a usable WAN address) or junk gives None."""
    location, state = igd
    state["address"] = address
    assert await asyncio.to_thread(upnp_external_address, location) is None


def test_upnp_refuses_a_non_http_location() -> None:
    """Only an http:// description on the LAN is fetched; anything else gives None without I/O."""
    assert upnp_external_address("file:///etc/passwd") is None


def test_ssdp_reads_the_location_header() -> None:
    """A unicast SSDP search returns the LOCATION of the answering IGD."""
    answer = b"HTTP/1.1 200 OK\r\nST: x\r\nLocation: http://192.168.77.1:5000/rootDesc.xml\r\n\r\n"
    for port in udp_responder(answer):
        assert (
            upnp_location(timeout=1.0, target=LOOPBACK, port=port) == "http://192.168.77.1:5000/rootDesc.xml"
        )


def test_port_owner_names_the_program() -> None:
    """The program holding a listening port is named with its pid (Linux /proc)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        sock.listen(1)
        owner = port_owner(sock.getsockname()[1], "tcp")
    assert owner is not None and owner.endswith(f"(pid {os.getpid()})")


@pytest.mark.parametrize(
    ("values", "ports"),
    [(["25565"], [25565]), (["80", "443", "80"], [80, 443]), (["1", "65535"], [1, 65535])],
)
def test_parse_ports(values: list[str], ports: list[int]) -> None:
    """Port numbers are read in order, duplicates dropped."""
    assert parse_ports(values) == ports


@pytest.mark.parametrize(
    ("values", "message"),
    [
        (["0"], r"^'0' is not a port number \(1 to 65535\)\.$"),
        (["x"], r"^'x' is not a port number \(1 to 65535\)\.$"),
        (["-1"], r"^'-1' is not a port number \(1 to 65535\)\.$"),
        ([str(p) for p in range(1, 7)], r"^Give between 1 and 5 ports\.$"),
    ],
)
def test_parse_ports_refuses(values: list[str], message: str) -> None:
    """Anything but 1 to 5 port numbers is one plain sentence."""
    with pytest.raises(ValueError, match=message):
        parse_ports(values)


@pytest.mark.parametrize(
    ("entry", "sentence"),
    [
        (
            {"port": 25565, "protocol": "tcp", "reached_listener": True, "bound": True, "state": "open"},
            "25565/tcp: reached this machine. The forward works.",
        ),
        (
            {"port": 8080, "protocol": "tcp", "reached_listener": False, "bound": True, "state": "open"},
            "8080/tcp: something else answered (the router's admin page or another device), not this machine.",
        ),
        (
            {"port": 25565, "protocol": "tcp", "reached_listener": False, "bound": True, "state": "filtered"},
            "25565/tcp: the check did not reach this machine (filtered).",
        ),
        (
            {"port": 25565, "protocol": "tcp", "reached_listener": False, "bound": False, "state": "open"},
            "25565/tcp: the other program on this port answered the check, not portbot listen.",
        ),
        (
            {"port": 19132, "protocol": "udp", "reached_listener": False, "bound": True},
            "19132/udp: the check did not reach this machine (no answer).",
        ),
    ],
)
def test_describe_one_sentence_per_port(entry: dict[str, object], sentence: str) -> None:
    """Each port outcome reads as one plain sentence, and 'something else answered' is told apart."""
    assert describe({"ports": [entry], "diagnosis": None}) == [sentence]


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (
            PortStatus(25565, "tcp", False, "in-use", "java (pid 4321)"),
            "Port 25565/tcp is already in use by java (pid 4321). "
            "portbot listen can't listen there, so the check tests that program instead.",
        ),
        (
            PortStatus(25565, "tcp", False, "in-use"),
            "Port 25565/tcp is already in use by another program. "
            "portbot listen can't listen there, so the check tests that program instead.",
        ),
        (
            PortStatus(80, "tcp", False, "denied"),
            "portbot listen isn't allowed to listen on port 80/tcp: ports below 1024 need administrator rights, "
            "and on Windows another program may hold it. The check still tests the port.",
        ),
        (
            PortStatus(7777, "udp", False, "Cannot assign requested address"),
            "portbot listen couldn't listen on port 7777/udp (Cannot assign requested address). "
            "The check still tests the port.",
        ),
    ],
)
def test_busy_message(status: PortStatus, message: str) -> None:
    """A port that can't be bound is one plain sentence saying why, and that the check still runs."""
    assert busy_message(status) == message


def test_a_held_udp_port_is_reported_in_use() -> None:
    """Binding a UDP port another socket holds reports in-use with the holder, not a crash."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("0.0.0.0", 0))  # listen binds all interfaces
        port = holder.getsockname()[1]
        listener = Listener([port], "udp", "ab" * 32)
        try:
            status = listener.status[port]
        finally:
            listener.close()
    assert (status.bound, status.problem) == (False, "in-use")
    assert status.owner is not None and status.owner.endswith(f"(pid {os.getpid()})")
