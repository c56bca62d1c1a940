"""Checking a member's own server: the diagnosis from both ends, and the worker's side of the knock.

``diagnose`` compares the public address the worker saw with the router's WAN address (from UPnP IGD,
NAT-PMP, or typed into the link page) and says which layer stops the traffic. ``knock`` is what the worker
does when ``portbot listen`` opened the link: it proves that a connection to the visitor's public address and
port reached that very listener, not the router's admin page or another PC that happens to answer.

The handshake (the listener side lives in :mod:`probes.listen_standalone`, stdlib only)::

    listen  ── HTTPS GET /l/<token>?listener=<secret> ──▶ worker     the secret only ever travels over HTTPS
    worker  ── TCP connect, "PORTBOT-KNOCK <challenge>\\n" ──▶ public address:port
    listen  ◀─ answers "PORTBOT-HERE <hex hmac-sha256(secret, challenge)>\\n"
    (UDP: the same two lines, one datagram each way)

The challenge is fresh per knock, so a recorded answer is worthless; the secret is fresh per run and never
crosses the LAN or the forwarded port, so nothing but this run's listener can compute the answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import ipaddress
import secrets
import socket
from dataclasses import asdict, dataclass
from typing import Any, Literal

from probes.listen_standalone import (
    ANSWER,
    KNOCK,
    LISTENER_SECRET_RE,
    MAX_LINE,
    answer_for,
)

__all__ = ["Diagnosis", "Verdict", "diagnose", "knock", "valid_listener_secret"]

Verdict = Literal["forward-or-firewall", "cgnat", "double-nat", "ipv6-firewall", "other-nat", "unknown"]

CGNAT = ipaddress.ip_network("100.64.0.0/10")  # RFC 6598 shared address space
RFC1918 = tuple(ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16"))


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """Which layer most likely stops inbound traffic, and what to do. ``topics`` are knowledge topic ids."""

    verdict: Verdict
    title: str
    summary: str
    steps: tuple[str, ...]
    topics: tuple[str, ...]
    public_address: str
    wan_address: str | None

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["steps"] = list(self.steps)
        data["topics"] = list(self.topics)
        return data


_FORWARD_STEPS = (
    "Give the server a fixed LAN address (a DHCP reservation in the router), so the forward keeps pointing at it.",
    "In the router, add a port forward: the outside port, the same inside port, TCP or UDP as the game needs, "
    "to the server's LAN address.",
    "Allow the port inbound in the server's own firewall (Windows Defender Firewall, ufw, firewalld).",
    "Make sure the server program is running and listening on that port, then check again from outside.",
)
_CGNAT_STEPS = (
    "Ask your provider for a public IPv4 address; some give one on request, others sell it as a static IP.",
    "Host over IPv6 if your provider gives you IPv6 and your players have it too.",
    "Or host through a tunnel or relay: a small rented server, a mesh VPN, or a game-server tunnel service.",
    "A forward on your own router cannot help: the provider's NAT drops the traffic before it reaches you.",
)
_DOUBLE_NAT_STEPS = (
    "Find the box in front of your router (usually your provider's modem-router).",
    "Best: put that box in bridge or modem mode, so only your router does NAT and gets the public address.",
    "Or forward twice: on the front box, forward the port to your router's WAN address (or make your router "
    "its DMZ host); on your router, forward it to the server.",
    "If there is no second box at home, your provider does the NAT: that is CGNAT; ask them for a public IPv4.",
)
_IPV6_STEPS = (
    "There is nothing to forward with IPv6: your server has its own public address.",
    "Allow the port for the server in the router's IPv6 firewall (it may be called pinholes, port sharing or "
    "exposed host).",
    "Allow it in the server's own firewall for IPv6 too, and make sure the server listens on IPv6.",
)
_OTHER_NAT_STEPS = (
    "Something between your router and the internet translates again: a VPN on this machine or the router, "
    "or your provider's NAT.",
    "Switch off the VPN for the test, or use one that offers port forwarding.",
    "If no VPN is involved, ask your provider whether your line has its own public IPv4 address.",
)
_UNKNOWN_STEPS = (
    "Open your router's status page and note its WAN (internet) address.",
    "Enter it on the check page: if it equals your public address, the forward or a firewall is the problem; "
    "100.64.x.x to 100.127.x.x means CGNAT; 10.x, 172.16-31.x or 192.168.x means a second router in front.",
)


def _address(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    if text is None:
        return None
    try:
        address = ipaddress.ip_address(text.strip().split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def diagnose(public_address: str, wan_address: str | None) -> Diagnosis:
    """Judge the public address the worker saw against the router's WAN address (None: not known)."""
    public = _address(public_address)
    wan = _address(wan_address)
    shown_wan = str(wan) if wan is not None else None
    if public is None:
        raise ValueError(f"not an IP address: {public_address!r}")

    def verdict(kind: Verdict, title: str, summary: str, steps: tuple[str, ...], *topics: str) -> Diagnosis:
        return Diagnosis(kind, title, summary, steps, topics, str(public), shown_wan)

    if public.version == 6:
        # No NAT on IPv6: the advice is a firewall rule, never a forward, whatever the router reported.
        return verdict(
            "ipv6-firewall",
            "IPv6: allow the port in the firewall",
            "You reached the check over IPv6, where your server has its own public address. "
            "If the port isn't reachable, a firewall (usually the router's) is blocking it.",
            _IPV6_STEPS,
            "ipv6-and-ports",
            "firewalls",
        )
    if wan is None or wan.version != 4 or wan.is_unspecified or wan.is_loopback or wan.is_link_local:
        return verdict(
            "unknown",
            "Your router's WAN address is not known",
            "Without the router's WAN address Portbot can't tell a missing forward from CGNAT or double NAT.",
            _UNKNOWN_STEPS,
            "private-wan-address",
            "port-forwarding",
        )
    if wan == public:
        return verdict(
            "forward-or-firewall",
            "Your router has your public address: check the forward and the firewall",
            "Your router's WAN address is your public address, so nothing in front of it translates. If the port "
            "isn't reachable, the port forward or a firewall is the problem, and both are yours to fix.",
            _FORWARD_STEPS,
            "port-forwarding",
            "firewalls",
            "listening",
        )
    if wan in CGNAT:
        return verdict(
            "cgnat",
            "CGNAT: your provider shares your public address",
            "Your router's WAN address is in 100.64.0.0/10: your provider puts many customers behind one public "
            "address, so a forward on your router can't be reached from the internet.",
            _CGNAT_STEPS,
            "cgnat",
            "private-wan-address",
            "ipv6-and-ports",
        )
    if any(wan in net for net in RFC1918):
        return verdict(
            "double-nat",
            "Double NAT: another router sits in front of yours",
            "Your router's WAN address is private, so another router translates again before the internet. A "
            "forward on your router alone can't be reached.",
            _DOUBLE_NAT_STEPS,
            "double-nat",
            "private-wan-address",
            "cgnat",
        )
    return verdict(
        "other-nat",
        "Your public address differs from your router's",
        "Your router reports a different address than the one the internet sees, so something after your router "
        "translates again.",
        _OTHER_NAT_STEPS,
        "vpns-and-ports",
        "cgnat",
        "private-wan-address",
    )


def valid_listener_secret(value: str | None) -> bool:
    """Whether a ``listener=`` value has the shape ``portbot listen`` sends (hex, 32 to 128 digits)."""
    return value is not None and LISTENER_SECRET_RE.fullmatch(value) is not None


async def knock(address: str, port: int, protocol: str, nonce: str, timeout: float) -> bool:  # noqa: ASYNC109 (agreed interface)
    """True when ``address:port`` answered the knock as the ``portbot listen`` run holding ``nonce`` would.

    ``nonce`` is the ``listener=`` value that run sent with its visit (its per-run secret); each knock adds a
    fresh challenge of its own. Anything else that answers (a router's admin page, another program or PC)
    gives False, as do silence, a refusal and a bad ``nonce``.
    """
    if not valid_listener_secret(nonce):
        return False
    challenge = secrets.token_hex(16)
    expected = answer_for(nonce, challenge)
    try:
        async with asyncio.timeout(timeout):
            if protocol == "udp":
                line = await _udp_exchange(address, port, f"{KNOCK} {challenge}\n".encode())
            else:
                line = await _tcp_exchange(address, port, f"{KNOCK} {challenge}\n".encode())
    except (TimeoutError, OSError):
        return False
    return _matches(line, expected)


def _matches(line: bytes, expected: str) -> bool:
    parts = line.strip().split(b" ")
    if len(parts) != 2 or parts[0] != ANSWER.encode():
        return False
    return hmac.compare_digest(parts[1], expected.encode())


async def _tcp_exchange(address: str, port: int, payload: bytes) -> bytes:
    reader, writer = await asyncio.open_connection(address, port, limit=MAX_LINE)
    try:
        writer.write(payload)
        await writer.drain()
        # readline() raises when the line overruns the limit: something chatty (an HTTP server) answered.
        try:
            return await reader.readline()
        except ValueError:
            return b""
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


async def _udp_exchange(address: str, port: int, payload: bytes) -> bytes:
    loop = asyncio.get_running_loop()
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    received: asyncio.Future[bytes] = loop.create_future()

    class Client(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: Any) -> None:
            if not received.done():
                received.set_result(data[:MAX_LINE])

        def error_received(self, exc: Exception) -> None:
            if not received.done():
                received.set_exception(exc)

    transport, _ = await loop.create_datagram_endpoint(Client, remote_addr=(address, port), family=family)
    try:
        # A datagram can be lost: send again every half second until the answer or the caller's timeout.
        while True:
            transport.sendto(payload)
            done, _ = await asyncio.wait({received}, timeout=0.5)
            if done:
                return received.result()
    finally:
        transport.close()
