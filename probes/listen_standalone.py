"""``portbot listen``: prove a port forward reaches this machine, before any server exists.

Standard library only, on purpose: the same file runs as ``portbot listen`` and as a single script the link
page offers (``python listen.py 25565 --link URL``) on Windows, macOS and Linux with nothing but Python.

What a run does:

1. binds exactly the ports asked (TCP, or UDP with ``--udp``); a port already in use is reported with the
   program holding it when this OS lets us see it, and is still tested (whatever answers there answers);
2. asks the router for its WAN address (NAT-PMP and PCP at once, then UPnP IGD), best effort, a second or two at
   most;
3. opens the link itself, as the visitor, with a fresh per-run secret ``listener=<secret>`` (and ``wan=``);
   the worker knocks on each port at our public address, and only this run can answer: the answer is an
   HMAC of the worker's challenge keyed with the secret, which travelled only over the HTTPS visit;
4. prints per port whether the knock reached this listener, and stops (or after ``--timeout`` seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import hashlib
import hmac
import ipaddress
import json
import os
import re
import secrets
import selectors
import socket
import struct
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal
from xml.etree import ElementTree

KNOCK = "PORTBOT-KNOCK"
ANSWER = "PORTBOT-HERE"
MAX_LINE = 256  # a knock line is ~50 bytes; anything longer is not a knock
LISTENER_SECRET_RE = re.compile(r"[0-9a-f]{32,128}")
_CHALLENGE_RE = re.compile(rb"[0-9A-Za-z_-]{8,128}")
DEFAULT_TIMEOUT = 300.0


def answer_for(secret: str, challenge: str) -> str:
    """The answer a listener holding ``secret`` gives to ``challenge``: hex HMAC-SHA256."""
    return hmac.new(secret.encode(), challenge.encode(), hashlib.sha256).hexdigest()


def _reply(secret: str, data: bytes) -> bytes | None:
    """Our answer to one knock line, or None when ``data`` is not a knock."""
    parts = data.strip().split(b" ")
    if len(parts) != 2 or parts[0] != KNOCK.encode() or not _CHALLENGE_RE.fullmatch(parts[1]):
        return None
    return f"{ANSWER} {answer_for(secret, parts[1].decode())}\n".encode()


# --------------------------------------------------------------------------------------------------------
# The diagnosis: the public address the worker saw against the router's WAN address
# --------------------------------------------------------------------------------------------------------

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
    if wan is None or wan.version != 4 or (wan != public and (wan.is_unspecified or wan.is_link_local)):
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


# --------------------------------------------------------------------------------------------------------
# The listener
# --------------------------------------------------------------------------------------------------------


@dataclass
class PortStatus:
    """One port of the run: bound by us, or busy (held by ``owner`` when known), and who knocked."""

    port: int
    protocol: str
    bound: bool
    problem: str | None = None  # "in-use", "denied" (privileged port, or held exclusively), or the OS's words
    owner: str | None = None
    knocked_from: list[str] = field(default_factory=list)


class Listener:
    """Answers knocks on the given ports from a background thread until :meth:`close`."""

    def __init__(self, ports: Sequence[int], protocol: str, secret: str, host: str = "") -> None:
        self.secret = secret
        self.protocol = protocol
        self.status: dict[int, PortStatus] = {}
        self.knocked = threading.Event()
        self._selector = selectors.DefaultSelector()
        self._sockets: list[socket.socket] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        for port in ports:
            status = self._bind(port, host)
            self.status[status.port] = status
        self._thread = threading.Thread(target=self._serve, name="portbot-listen", daemon=True)
        self._thread.start()

    def _bind(self, port: int, host: str) -> PortStatus:
        kind = socket.SOCK_DGRAM if self.protocol == "udp" else socket.SOCK_STREAM
        families = [(socket.AF_INET, host or "0.0.0.0")]  # noqa: S104 (a forward arrives on any interface)
        if socket.has_ipv6 and not host:
            families.append((socket.AF_INET6, "::"))
        for family, address in families:
            sock = socket.socket(family, kind)
            try:
                if family == socket.AF_INET6:
                    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
                if os.name != "nt" and kind == socket.SOCK_STREAM:
                    # Lets a second run bind right after the first; never lets two live listeners share.
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                sock.bind((address, port))
                if kind == socket.SOCK_STREAM:
                    sock.listen(16)
                sock.setblocking(False)
            except OSError as err:
                sock.close()
                if family == socket.AF_INET6:
                    continue  # IPv4 is what a forward needs; IPv6 is a bonus
                # Without IPv4 this port is not ours: say why, and let the check test whatever holds it.
                if err.errno in (errno.EADDRINUSE, getattr(errno, "WSAEADDRINUSE", -1)):
                    return PortStatus(port, self.protocol, False, "in-use", port_owner(port, self.protocol))
                if err.errno in (errno.EACCES, errno.EPERM):
                    return PortStatus(port, self.protocol, False, "denied", port_owner(port, self.protocol))
                return PortStatus(port, self.protocol, False, err.strerror or str(err))
            port = sock.getsockname()[1]  # port 0 (tests): the other family takes the same number
            self._sockets.append(sock)
            self._selector.register(
                sock, selectors.EVENT_READ, ("accept" if kind == socket.SOCK_STREAM else "udp", port)
            )
        return PortStatus(port, self.protocol, bound=True)

    def _serve(self) -> None:
        buffers: dict[socket.socket, tuple[int, str, bytes, float]] = {}
        while not self._stop.is_set():
            for key, _ in self._selector.select(timeout=0.2):
                sock = key.fileobj
                assert isinstance(sock, socket.socket)
                role, port = key.data
                try:
                    if role == "accept":
                        conn, peer = sock.accept()
                        conn.setblocking(False)
                        buffers[conn] = (port, peer[0], b"", time.monotonic())
                        self._selector.register(conn, selectors.EVENT_READ, ("conn", port))
                    elif role == "udp":
                        data, peer = sock.recvfrom(MAX_LINE + 1)
                        answer = _reply(self.secret, data[:MAX_LINE])
                        if answer is not None:
                            sock.sendto(answer, peer)
                            self._record(port, peer[0])
                    else:
                        port, peer_address, buffered, started = buffers[sock]
                        chunk = sock.recv(MAX_LINE)
                        buffered += chunk
                        if b"\n" in buffered or not chunk or len(buffered) > MAX_LINE:
                            answer = _reply(self.secret, buffered.split(b"\n", 1)[0][:MAX_LINE])
                            if answer is not None:
                                sock.setblocking(True)
                                sock.settimeout(2)
                                sock.sendall(answer)
                                self._record(port, peer_address)
                            self._drop(sock, buffers)
                        else:
                            buffers[sock] = (port, peer_address, buffered, started)
                except OSError:
                    if role == "conn":
                        self._drop(sock, buffers)
            now = time.monotonic()
            for conn, (_, _, _, started) in list(buffers.items()):
                if now - started > 10:  # a silent connection: not a knock; don't let it pile up
                    self._drop(conn, buffers)
        for conn in list(buffers):
            self._drop(conn, buffers)

    def _drop(self, conn: socket.socket, buffers: dict[socket.socket, Any]) -> None:
        buffers.pop(conn, None)
        with contextlib.suppress(KeyError, ValueError):
            self._selector.unregister(conn)
        conn.close()

    def _record(self, port: int, peer: str) -> None:
        with self._lock:
            self.status[port].knocked_from.append(_plain(peer))
        self.knocked.set()

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        for sock in self._sockets:
            with contextlib.suppress(KeyError, ValueError):
                self._selector.unregister(sock)
            sock.close()
        self._selector.close()


def _plain(address: str) -> str:
    if address.startswith("::ffff:"):
        return address[7:]
    return address


def port_owner(port: int, protocol: str) -> str | None:
    """The program holding a local port ("java (pid 4321)"), where this OS lets us see it; else None."""
    if not sys.platform.startswith("linux"):
        return None  # netstat -ano / lsof would tell; we only name what needs no extra tool or privilege
    inodes: set[str] = set()
    for table in (f"/proc/net/{protocol}", f"/proc/net/{protocol}6"):
        try:
            with open(table, encoding="ascii") as f:
                next(f)
                for line in f:
                    cols = line.split()
                    local_port = int(cols[1].rsplit(":", 1)[1], 16)
                    # TCP: only listeners (state 0A); UDP sockets have no listen state.
                    if local_port == port and (protocol == "udp" or cols[3] == "0A"):
                        inodes.add(cols[9])
        except (OSError, ValueError, IndexError, StopIteration):
            continue
    if not inodes:
        return None
    targets = {f"socket:[{inode}]" for inode in inodes}
    for pid in filter(str.isdigit, _listdir("/proc")):
        for fd in _listdir(f"/proc/{pid}/fd"):
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") in targets:
                    with open(f"/proc/{pid}/comm", encoding="utf-8", errors="replace") as f:
                        return f"{f.read().strip()} (pid {pid})"
            except OSError:
                continue
    return None


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


# --------------------------------------------------------------------------------------------------------
# The router's WAN address: NAT-PMP (RFC 6886), PCP (RFC 6887) and UPnP IGD, all best effort
# --------------------------------------------------------------------------------------------------------


def default_gateway() -> str | None:
    """The IPv4 default gateway, read where it costs nothing (Linux /proc); else None."""
    try:
        with open("/proc/net/route", encoding="ascii") as f:
            next(f)
            for line in f:
                cols = line.split()
                if cols[1] == "00000000" and int(cols[3], 16) & 2:  # default route with RTF_GATEWAY
                    return socket.inet_ntoa(struct.pack("<I", int(cols[2], 16)))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return None


def natpmp_external_address(gateway: str, timeout: float = 1.0, port: int = 5351) -> str | None:
    """Ask the gateway over NAT-PMP (RFC 6886 §3.2: version 0, opcode 0); None on silence or error."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout / 3)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                sock.sendto(_NATPMP_REQUEST, (gateway, port))
                data, peer = sock.recvfrom(1100)
            except TimeoutError:
                continue
            except OSError:
                return None
            if peer[0] != gateway or len(data) < 12 or data[:2] != b"\x00\x80":
                continue
            return _natpmp_address(data)
    return None


_NATPMP_REQUEST = b"\x00\x00"  # version 0, opcode 0: the external address
_NATPMP_UNSUPPORTED_VERSION = 1


def _natpmp_address(data: bytes) -> str | None:
    """The address in a NAT-PMP answer (12 bytes, opcode 128), or None for an error result."""
    if struct.unpack("!H", data[2:4])[0] != 0:
        return None  # result code: not authorised, network failure, ...
    return socket.inet_ntoa(data[8:12])


# PCP (RFC 6887) has no "what is my address" request: a MAP response carries the external address. So we ask
# for a mapping nobody uses (UDP, from this query's own socket port, for the shortest time) and delete it at
# once: never one of the ports being checked, which would make the forward under test look as if it worked.
# An ANNOUNCE first (no side effect) makes sure the router speaks PCP before any mapping is asked for.
PCP_VERSION = 2
_PCP_ANNOUNCE, _PCP_MAP = 0, 1
_PCP_SUCCESS = 0
_PCP_UNSUPP_VERSION = 1
_PCP_LIFETIME = 120  # seconds; the RFC's suggested minimum, in case the delete below is lost
_UDP = 17


def _pcp_header(opcode: int, lifetime: int, client: str) -> bytes:
    """The 24-byte request header: version, R=0 and opcode, reserved, lifetime, client address (§7.1)."""
    mapped = ipaddress.IPv6Address("::ffff:" + client).packed
    return struct.pack("!BBHI", PCP_VERSION, opcode, 0, lifetime) + mapped


def _pcp_map(nonce: bytes, internal_port: int) -> bytes:
    """The MAP opcode's 36 bytes: nonce, protocol, reserved, internal port, any external port, any IPv4
    external address (§11.1)."""
    any_v4 = ipaddress.IPv6Address("::ffff:0.0.0.0").packed
    return nonce + struct.pack("!B3xHH", _UDP, internal_port, 0) + any_v4


def _pcp_exchange(
    sock: socket.socket, request: bytes, opcode: int, timeout: float, nonce: bytes = b""
) -> bytes | None:
    """Send ``request`` until a response to it comes (returned whole, even a failure), or None on silence,
    on a router that only speaks NAT-PMP, or on junk."""
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(min(left, timeout / 3))
        try:
            sock.send(request)
            data = sock.recv(1100)
        except TimeoutError:
            continue
        except OSError:
            return None
        if data[:1] == b"\x00":
            return None  # NAT-PMP's answer to a version it doesn't know: no PCP here
        if len(data) < 24 or data[0] != PCP_VERSION or data[1] != 0x80 | opcode:
            continue
        if opcode == _PCP_MAP and data[24:36] != nonce:
            continue  # an answer to some other request
        return data
    return None


def pcp_external_address(gateway: str, timeout: float = 1.0, port: int = 5351) -> str | None:
    """Ask the gateway over PCP (RFC 6887): ANNOUNCE, then a throwaway MAP whose response carries the external
    address, deleted at once; None on silence, a refusal or a router without PCP."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((gateway, port))  # also picks the local address the router will see us from
            client = sock.getsockname()[0]
        except OSError:
            return None
        started = time.monotonic()
        announced = _pcp_exchange(sock, _pcp_header(_PCP_ANNOUNCE, 0, client), _PCP_ANNOUNCE, timeout / 2)
        if announced is None or announced[3] != _PCP_SUCCESS:
            return None
        return _pcp_mapped_address(sock, max(0.1, timeout - (time.monotonic() - started)))


def _pcp_mapped_address(sock: socket.socket, timeout: float) -> str | None:
    """The external address from a throwaway MAP on the connected ``sock`` (see above), deleted at once."""
    client, internal_port = sock.getsockname()[:2]
    nonce = secrets.token_bytes(12)
    request = _pcp_header(_PCP_MAP, _PCP_LIFETIME, client) + _pcp_map(nonce, internal_port)
    mapped = _pcp_exchange(sock, request, _PCP_MAP, timeout, nonce)
    if mapped is None or mapped[3] != _PCP_SUCCESS or len(mapped) < 60:
        return None
    # Delete it (lifetime 0, same nonce, §15) and wait for the router to say so, briefly: should that be lost
    # too, the router drops the mapping after its lifetime anyway.
    delete = _pcp_header(_PCP_MAP, 0, client) + _pcp_map(nonce, internal_port)
    _pcp_exchange(sock, delete, _PCP_MAP, min(0.5, timeout), nonce)
    v4 = ipaddress.IPv6Address(mapped[44:60]).ipv4_mapped
    return None if v4 is None else str(v4)


def port_control_address(
    gateway: str, timeout: float = 1.0, port: int = 5351
) -> tuple[str | None, str | None]:
    """(WAN address, "nat-pmp" or "pcp") from the router's NAT-PMP/PCP port, or (None, None).

    Both protocols share the port, and a router may speak either or both, so both are asked at once: a
    NAT-PMP address request and a PCP ANNOUNCE, neither of which changes anything on the router. NAT-PMP's
    address wins; only a router that speaks PCP but gave no NAT-PMP address gets the throwaway MAP. One wait
    covers both, so a router that speaks neither costs no more than before PCP.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        try:
            sock.connect((gateway, port))
            client = sock.getsockname()[0]
        except OSError:
            return None, None
        announce = _pcp_header(_PCP_ANNOUNCE, 0, client)
        started = time.monotonic()
        deadline = started + timeout
        resend = started
        natpmp_done = False  # NAT-PMP answered without an address (or said the router speaks only PCP)
        pcp_at: float | None = None  # when PCP's ANNOUNCE succeeded
        pcp_dead = False
        while (now := time.monotonic()) < deadline:
            if pcp_at is not None and (natpmp_done or now - pcp_at >= timeout / 4):
                break  # PCP, and NAT-PMP has had its chance to answer
            if natpmp_done and (pcp_dead or now - started >= timeout / 2):
                return None, None
            if now >= resend:
                try:
                    if not natpmp_done:
                        sock.send(_NATPMP_REQUEST)
                    if pcp_at is None and not pcp_dead:
                        sock.send(announce)
                except ConnectionRefusedError:  # the ICMP port unreachable of a send before
                    return None, None
                except OSError:
                    pass  # a full buffer, a network still coming up: the next round sends again
                resend = now + timeout / 3
            sock.settimeout(max(0.001, min(deadline, resend) - now))
            try:
                data = sock.recv(1100)
            except TimeoutError:
                continue
            except OSError:
                return None, None  # e.g. ICMP port unreachable: nothing listens on the port
            if len(data) >= 4 and data[:2] == b"\x00\x80":
                if struct.unpack("!H", data[2:4])[0] == _NATPMP_UNSUPPORTED_VERSION:
                    pcp_dead = True  # only our PCP request can be "unsupported": a NAT-PMP-only router
                    continue
                address = _natpmp_address(data) if len(data) >= 12 else None
                if address is not None and address != _UNSPECIFIED:
                    return address, "nat-pmp"
                natpmp_done = True
            elif len(data) >= 24 and data[0] == PCP_VERSION and data[1] == 0x80 | _PCP_ANNOUNCE:
                if data[3] == _PCP_SUCCESS:
                    pcp_at = time.monotonic()
                elif data[3] == _PCP_UNSUPP_VERSION:
                    natpmp_done = True  # a PCP-only router's answer to the NAT-PMP request (§9)
                else:
                    pcp_dead = True
        if pcp_at is None:
            return None, None
        address = _pcp_mapped_address(sock, max(0.1, deadline - time.monotonic()))
        return (address, "pcp") if address is not None and address != _UNSPECIFIED else (None, None)


_UNSPECIFIED = "0.0.0.0"  # noqa: S104 (what an unconnected IGD reports, not a bind)
_SSDP_SEARCH = (
    'M-SEARCH * HTTP/1.1\r\nHOST: {host}:1900\r\nMAN: "ssdp:discover"\r\nMX: 1\r\n'
    "ST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\n\r\n"
)
_WAN_SERVICES = (
    "urn:schemas-upnp-org:service:WANIPConnection:2",
    "urn:schemas-upnp-org:service:WANIPConnection:1",
    "urn:schemas-upnp-org:service:WANPPPConnection:1",
)


def upnp_location(timeout: float = 1.5, target: str = "239.255.255.250", port: int = 1900) -> str | None:
    """The IGD description URL from an SSDP search, or None."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 2)
        sock.settimeout(timeout)
        try:
            sock.sendto(_SSDP_SEARCH.format(host=target).encode(), (target, port))
            while True:
                data, _ = sock.recvfrom(4096)
                for line in data.decode("latin-1").split("\r\n"):
                    name, _, value = line.partition(":")
                    if name.strip().lower() == "location":
                        return value.strip()
        except OSError:
            return None


def upnp_external_address(location: str, timeout: float = 2.0) -> str | None:
    """GetExternalIPAddress from the IGD at ``location``. A reserved answer is kept: it is the signal."""
    if not location.startswith("http://"):
        return None  # an IGD on the LAN speaks plain HTTP; anything else is not what we asked for
    try:
        with urllib.request.urlopen(location, timeout=timeout) as response:  # noqa: S310 (http:// checked above)
            # Expat >= 2.4.1 (Python 3.11 ships it) refuses entity expansion bombs; defusedxml is not stdlib.
            root = ElementTree.fromstring(response.read(1 << 20))  # noqa: S314
    except (OSError, ElementTree.ParseError, ValueError):
        return None
    for service in root.iter():
        if not service.tag.endswith("}service"):
            continue
        kind = next((c.text for c in service if c.tag.endswith("}serviceType")), None)
        control = next((c.text for c in service if c.tag.endswith("}controlURL")), None)
        if kind in _WAN_SERVICES and control:
            return _soap_external_address(urllib.parse.urljoin(location, control), kind, timeout)
    return None


def _soap_external_address(url: str, service: str, timeout: float) -> str | None:
    body = (
        '<?xml version="1.0"?><s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/" '
        's:encodingStyle="http://schemas.xmlsoap.org/soap/encoding/"><s:Body>'
        f'<u:GetExternalIPAddress xmlns:u="{service}"/></s:Body></s:Envelope>'
    ).encode()
    request = urllib.request.Request(  # noqa: S310 (the IGD control URL, from its http:// description)
        url,
        data=body,
        headers={
            "Content-Type": 'text/xml; charset="utf-8"',
            "SOAPAction": f'"{service}#GetExternalIPAddress"',
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (the IGD's own URL)
            root = ElementTree.fromstring(response.read(1 << 16))  # noqa: S314 (as above)
    except (OSError, ElementTree.ParseError, ValueError):
        return None
    for element in root.iter():
        if element.tag.endswith("NewExternalIPAddress") and element.text:
            return _valid_v4(element.text.strip())
    return None


def _valid_v4(text: str) -> str | None:
    try:
        return str(ipaddress.IPv4Address(text))
    except ValueError:
        return None


def router_wan_address(
    gateway: str | None = None,
    timeout: float = 2.0,
    upnp_query: Callable[[str], str | None] | None = None,
    port: int = 5351,
) -> tuple[str | None, str | None]:
    """(WAN address, how we learnt it: "nat-pmp", "pcp" or "upnp"), or (None, None) when the router won't say.

    ``gateway`` names the router to ask (NAT-PMP, PCP, then a unicast SSDP search); by default the default
    gateway over NAT-PMP and PCP, then a multicast SSDP search on the LAN. ``upnp_query`` replaces the stdlib
    SOAP client (``portbot listen`` passes async-upnp-client's when installed). ``port``: NAT-PMP's and PCP's.
    """
    router = gateway or default_gateway()
    if router is not None:
        address, source = port_control_address(router, timeout=timeout / 2, port=port)
        if address is not None:
            return address, source
    location = upnp_location(timeout=timeout / 2, target=gateway or "239.255.255.250")
    if location is not None:
        address = upnp_query(location) if upnp_query else upnp_external_address(location, timeout=timeout)
        if address is not None and address != _UNSPECIFIED:
            return address, "upnp"
    return None, None


# --------------------------------------------------------------------------------------------------------
# The visit and the report
# --------------------------------------------------------------------------------------------------------


def visit(link: str, secret: str, wan: str | None, timeout: float) -> dict[str, Any]:
    """Open the link as the visitor, asking for JSON; the worker knocks while it handles the request."""
    parts = urllib.parse.urlsplit(link)
    query = urllib.parse.parse_qsl(parts.query)
    query.append(("listener", secret))
    if wan is not None:
        query.append(("wan", wan))
    url = urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))
    request = urllib.request.Request(  # noqa: S310 (check_link() allows http(s) only)
        url,
        headers={
            "Accept": "application/json",
            "User-Agent": "portbot-listen/1",
            "X-Portbot-Listener": secret,
        },
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (scheme checked by caller)
        body = response.read(1 << 20)
    try:
        data = json.loads(body)
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _worker_ports(result: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """Per-port rows from the worker's answer, however it nests them (``ports``/``results``)."""
    rows: dict[int, dict[str, Any]] = {}
    for key in ("ports", "results"):
        for row in result.get(key) or ():
            if isinstance(row, dict) and isinstance(row.get("port"), int):
                rows.setdefault(row["port"], row)
    report = result.get("report")
    if isinstance(report, dict):
        rows.update({p: r for p, r in _worker_ports(report).items() if p not in rows})
    return rows


def build_report(
    listener: Listener, result: dict[str, Any], wan: str | None, wan_source: str | None
) -> dict[str, Any]:
    """The run's outcome as one JSON-friendly dict: per port ``reached_listener`` and what the worker saw."""
    worker_rows = _worker_ports(result)
    ports = []
    for port, status in sorted(listener.status.items()):
        row = worker_rows.get(port, {})
        # Our own evidence first: a valid knock arrived here. The worker's word counts too (it checked the HMAC).
        reached = bool(status.knocked_from) or row.get("reached_listener") is True
        entry: dict[str, Any] = {
            "port": port,
            "protocol": status.protocol,
            "reached_listener": reached,
            "bound": status.bound,
        }
        if not status.bound:
            entry["in_use_by"] = status.owner
        if isinstance(row.get("state"), str):
            entry["state"] = row["state"]
        ports.append(entry)
    public = result.get("address") if isinstance(result.get("address"), str) else None
    diagnosis = result.get("diagnosis") if isinstance(result.get("diagnosis"), dict) else None
    if diagnosis is None and public is not None:
        # The worker judged nothing (no WAN address reached it): judge here, with what the router told us.
        with contextlib.suppress(ValueError):
            diagnosis = diagnose(public, wan).as_dict()
    return {
        "ports": ports,
        "public_address": public,
        "wan_address": wan,
        "wan_source": wan_source,
        "diagnosis": diagnosis,
    }


def describe(report: dict[str, Any]) -> list[str]:
    """Plain sentences for people, one per port, then the diagnosis."""
    lines = []
    for entry in report["ports"]:
        name = f"{entry['port']}/{entry['protocol']}"
        if entry["reached_listener"]:
            lines.append(f"{name}: reached this machine. The forward works.")
        elif not entry["bound"]:
            state = entry.get("state")
            if state == "open":
                lines.append(
                    f"{name}: the other program on this port answered the check, not portbot listen."
                )
            else:
                lines.append(f"{name}: the check did not reach this machine ({state or 'no answer'}).")
        elif entry.get("state") == "open":
            lines.append(
                f"{name}: something else answered (the router's admin page or another device), not this machine."
            )
        else:
            lines.append(
                f"{name}: the check did not reach this machine ({entry.get('state') or 'no answer'})."
            )
    public, wan = report.get("public_address"), report.get("wan_address")
    if public:
        seen = f"Your public address: {public}."
        if wan:
            sources = {"nat-pmp": "over NAT-PMP", "pcp": "over PCP", "upnp": "over UPnP"}
            source = sources.get(str(report.get("wan_source")), "")
            seen += f" Your router's WAN address: {wan}" + (f" (it said so {source})." if source else ".")
        lines.append(seen)
    diagnosis = report.get("diagnosis")
    if diagnosis:
        lines.append(str(diagnosis.get("title", "")))
        if diagnosis.get("summary"):
            lines.append(str(diagnosis["summary"]))
        lines.extend(f"  - {step}" for step in diagnosis.get("steps", ()))
    return lines


def busy_message(status: PortStatus) -> str:
    """Why a port could not be bound, in one sentence, and that the check still runs."""
    name = f"{status.port}/{status.protocol}"
    after = " portbot listen can't listen there, so the check tests that program instead."
    if status.problem == "in-use":
        who = f" by {status.owner}" if status.owner else " by another program"
        return f"Port {name} is already in use{who}.{after}"
    if status.problem == "denied":
        held = f" It is held by {status.owner}." if status.owner else ""
        return (
            f"portbot listen isn't allowed to listen on port {name}: ports below 1024 need administrator "
            f"rights, and on Windows another program may hold it.{held} The check still tests the port."
        )
    return (
        f"portbot listen couldn't listen on port {name} ({status.problem}). The check still tests the port."
    )


def run(
    ports: Sequence[int],
    protocol: str,
    link: str,
    *,
    timeout: float = DEFAULT_TIMEOUT,
    as_json: bool = False,
    wan_lookup: Callable[[], tuple[str | None, str | None]] = router_wan_address,
    out: Any = None,
    err: Any = None,
) -> int:
    """One check: bind, ask the router, visit, report. Exit 0 when the check ran, 1 when it could not."""
    out = out or sys.stdout
    err = err or sys.stderr
    secret = secrets.token_hex(32)
    listener = Listener(ports, protocol, secret)
    started = time.monotonic()
    try:
        for status in listener.status.values():
            if not status.bound:
                print(busy_message(status), file=err)
        wan, wan_source = wan_lookup()
        try:
            result = visit(link, secret, wan, timeout=max(1.0, timeout - (time.monotonic() - started)))
        except urllib.error.HTTPError as exc:
            print(f"portbot listen: {_http_error_text(exc)}", file=err)
            return 1
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            print(f"portbot listen: could not open the link ({reason}).", file=err)
            return 1
        report = build_report(listener, result, wan, wan_source)
    finally:
        listener.close()
    if as_json:
        print(json.dumps(report), file=out, flush=True)
    else:
        for line in describe(report):
            print(line, file=out, flush=True)
    return 0


_LINK_ERRORS = {
    404: "the worker doesn't know this link; copy the whole link and try again.",
    410: "this link was already used or has expired; ask Portbot for a new one.",
    422: "the worker can't check the address this machine reaches it from (a private or reserved one): "
    "run this on the server's own network, not over a VPN or mobile data.",
    429: "too many checks for now; wait a few minutes, then ask Portbot for a new link.",
}


def _http_error_text(exc: urllib.error.HTTPError) -> str:
    if exc.code in _LINK_ERRORS:
        return _LINK_ERRORS[exc.code]
    return (
        f"the link answered {exc.code} ({exc.reason}); try again in a minute or ask Portbot for a new link."
    )


def parse_ports(values: Sequence[str]) -> list[int]:
    """Port numbers from the command line; ValueError with a sentence for anything else."""
    ports: list[int] = []
    for value in values:
        if not value.isdigit() or not 1 <= int(value) <= 65535:
            raise ValueError(f"{value!r} is not a port number (1 to 65535).")
        if int(value) not in ports:
            ports.append(int(value))
    if not 1 <= len(ports) <= 5:
        raise ValueError("Give between 1 and 5 ports.")
    return ports


def check_link(link: str) -> str:
    """The link if it is an http(s) URL; ValueError with a sentence otherwise."""
    parts = urllib.parse.urlsplit(link)
    if parts.scheme not in ("https", "http") or not parts.netloc:
        raise ValueError("The link must be the https:// address Portbot gave you.")
    return link


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="listen.py", description="Check that a port forward reaches this machine (Portbot)."
    )
    add_options(parser)
    parser.add_argument("--link", required=True, help="the one-time link Portbot gave you")
    args = parser.parse_args(argv)
    try:
        ports = parse_ports(args.ports)
        link = check_link(args.link)
    except ValueError as exc:
        print(f"listen: {exc}", file=sys.stderr)
        return 2
    return run_args(args, ports, link)


def add_options(parser: argparse.ArgumentParser) -> None:
    """The options ``portbot listen`` and the single-file script share (``--link`` is added by each)."""
    parser.add_argument("ports", nargs="+", help="up to 5 port numbers")
    parser.add_argument("--udp", action="store_true", help="listen on UDP instead of TCP")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="stop after this many seconds (default 300)"
    )
    router = parser.add_mutually_exclusive_group()
    router.add_argument(
        "--router", default=None, help="the router to ask for its WAN address (default: gateway)"
    )
    router.add_argument("--no-router", action="store_true", help="don't ask the router for its WAN address")


def run_args(
    args: argparse.Namespace,
    ports: Sequence[int],
    link: str,
    upnp_query: Callable[[str], str | None] | None = None,
) -> int:
    """Run with parsed options; ``portbot listen`` and the script both end here."""

    def lookup() -> tuple[str | None, str | None]:
        if args.no_router:
            return None, None
        return router_wan_address(args.router, upnp_query=upnp_query)

    try:
        return run(
            ports,
            "udp" if args.udp else "tcp",
            link,
            timeout=args.timeout,
            as_json=args.json,
            wan_lookup=lookup,
        )
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
