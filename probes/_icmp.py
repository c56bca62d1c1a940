"""What an ICMP error or a socket errno says about a port: the verdict and its machine-readable reason.

Why read the ICMP message itself: Linux folds different answers into one errno. A TCP connect fails with
EHOSTUNREACH both when the host is down ("host unreachable", code 1) and when a firewall says "administratively
prohibited" (code 13, iptables ``--reject-with icmp-admin-prohibited``); ECONNREFUSED means a TCP reset *or*
ICMP "port unreachable" (iptables' default REJECT). With ``IP_RECVERR`` / ``IPV6_RECVERR`` set on the socket
before connecting, the kernel also queues the ICMP message (type, code, sender) on the socket's error queue,
where ``recvmsg(MSG_ERRQUEUE)`` reads it after the failure. Checked against iptables/ip6tables REJECT rules in
network namespaces (kernel 6.x):

    iptables --reject-with      TCP connect errno      queued ICMP        our verdict
    tcp-reset                   ECONNREFUSED           (none)             closed, rst
    icmp-port-unreachable       ECONNREFUSED           type 3 code 3      filtered, icmp-port-unreachable
    icmp-host-unreachable       EHOSTUNREACH           type 3 code 1      unreachable, icmp-host-unreachable
    icmp-net-unreachable        ENETUNREACH            type 3 code 0      unreachable, icmp-net-unreachable
    icmp-proto-unreachable      ENOPROTOOPT            type 3 code 2      filtered, icmp-proto-unreachable
    icmp-net-prohibited         ENETUNREACH            type 3 code 9      filtered, icmp-net-prohibited
    icmp-host-prohibited        EHOSTUNREACH           type 3 code 10     filtered, icmp-host-prohibited
    icmp-admin-prohibited       EHOSTUNREACH           type 3 code 13     filtered, icmp-admin-prohibited
    ip6tables icmp6-adm-prohibited   EACCES            type 1 code 1      filtered, icmp-admin-prohibited
    ip6tables icmp6-addr-unreachable EHOSTUNREACH      type 1 code 3      unreachable, icmp-host-unreachable
    ip6tables icmp6-port-unreachable ECONNREFUSED      type 1 code 4      filtered, icmp-port-unreachable
    ip6tables icmp6-no-route    ENETUNREACH            type 1 code 0      unreachable, icmp-no-route
    (no route in our own table) ENETUNREACH            (none)             unreachable, no-route
    (neighbour never answers ARP) EHOSTUNREACH after ~3 s, type 3 code 1 from our own address

For UDP the same table applies, except that "port unreachable" is what a host's own stack answers when
nothing listens, so it means ``closed``. Without the error queue (not Linux) the errno alone decides, with
the ambiguities above resolved towards the common case.
"""

from __future__ import annotations

import errno
import socket
import struct
from dataclasses import dataclass

from probes.models import Protocol, State

# Linux values; Python 3.11 doesn't export the names.
IP_RECVERR = getattr(socket, "IP_RECVERR", 11)
IPV6_RECVERR = getattr(socket, "IPV6_RECVERR", 25)
_MSG_ERRQUEUE = getattr(socket, "MSG_ERRQUEUE", 0x2000)
_ORIGIN_ICMP = 2
_ORIGIN_ICMP6 = 3
_EE = struct.Struct("=IBBBBII")  # struct sock_extended_err


@dataclass(frozen=True, slots=True)
class IcmpError:
    """One ICMP error the kernel queued for a socket."""

    version: int  # 4 for ICMP, 6 for ICMPv6
    type: int
    code: int
    sender: str | None  # who sent it: the target itself, or a router on the way


def enable_error_queue(sock: socket.socket) -> bool:
    """Ask the kernel to queue ICMP errors for ``sock``. Must be set before connecting; False if unsupported."""
    try:
        if sock.family == socket.AF_INET6:
            sock.setsockopt(socket.IPPROTO_IPV6, IPV6_RECVERR, 1)
        else:
            sock.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
    except OSError:
        return False
    return True


def read_error_queue(sock: socket.socket) -> IcmpError | None:
    """The first queued ICMP error of ``sock``, or None (nothing queued, or no error queue here)."""
    try:
        _data, ancillary, _flags, _addr = sock.recvmsg(512, 512, _MSG_ERRQUEUE)
    except (OSError, ValueError):
        return None
    for _level, _type, data in ancillary:
        if len(data) < _EE.size:
            continue
        _errno, origin, icmp_type, code, _pad, _info, _data2 = _EE.unpack_from(data)
        if origin not in (_ORIGIN_ICMP, _ORIGIN_ICMP6):
            continue
        return IcmpError(4 if origin == _ORIGIN_ICMP else 6, icmp_type, code, _sender(data[_EE.size :]))
    return None


def _sender(sockaddr: bytes) -> str | None:
    if len(sockaddr) < 2:
        return None
    (family,) = struct.unpack_from("=H", sockaddr)
    if family == socket.AF_INET and len(sockaddr) >= 8:
        return socket.inet_ntop(socket.AF_INET, sockaddr[4:8])
    if family == socket.AF_INET6 and len(sockaddr) >= 24:
        return socket.inet_ntop(socket.AF_INET6, sockaddr[8:24])
    return None


_PORT_UNREACHABLE = "icmp-port-unreachable"

# (state, reason) per ICMP destination-unreachable code. "port unreachable" is decided per protocol.
_ICMP4_UNREACH: dict[int, tuple[State, str]] = {
    0: (State.UNREACHABLE, "icmp-net-unreachable"),
    1: (State.UNREACHABLE, "icmp-host-unreachable"),
    2: (State.FILTERED, "icmp-proto-unreachable"),
    5: (State.UNREACHABLE, "icmp-source-route-failed"),
    6: (State.UNREACHABLE, "icmp-net-unreachable"),
    7: (State.UNREACHABLE, "icmp-host-unreachable"),
    8: (State.UNREACHABLE, "icmp-host-unreachable"),
    9: (State.FILTERED, "icmp-net-prohibited"),
    10: (State.FILTERED, "icmp-host-prohibited"),
    11: (State.UNREACHABLE, "icmp-net-unreachable"),
    12: (State.UNREACHABLE, "icmp-host-unreachable"),
    13: (State.FILTERED, "icmp-admin-prohibited"),
    14: (State.FILTERED, "icmp-admin-prohibited"),
    15: (State.FILTERED, "icmp-admin-prohibited"),
}
_ICMP6_UNREACH: dict[int, tuple[State, str]] = {
    0: (State.UNREACHABLE, "icmp-no-route"),
    1: (State.FILTERED, "icmp-admin-prohibited"),
    2: (State.UNREACHABLE, "icmp-beyond-scope"),
    3: (State.UNREACHABLE, "icmp-host-unreachable"),
    5: (State.FILTERED, "icmp-policy-failed"),
    6: (State.FILTERED, "icmp-reject-route"),
}
_ICMP_TIME_EXCEEDED = {4: 11, 6: 3}
_ICMP_UNREACH = {4: 3, 6: 1}
_PORT_CODE = {4: 3, 6: 4}

# When no ICMP message was queued, the error was ours (local routing, local firewall) or a TCP reset.
_ERRNO: dict[int, tuple[State, str]] = {
    errno.ECONNREFUSED: (State.CLOSED, "rst"),
    errno.ENETUNREACH: (State.UNREACHABLE, "no-route"),
    errno.EHOSTUNREACH: (State.UNREACHABLE, "host-unreachable"),
    errno.EHOSTDOWN: (State.UNREACHABLE, "host-unreachable"),
    errno.ENETDOWN: (State.UNREACHABLE, "no-route"),
    errno.EADDRNOTAVAIL: (State.UNREACHABLE, "no-route"),
    errno.EACCES: (State.FILTERED, "local-firewall"),
    errno.EPERM: (State.FILTERED, "local-firewall"),
    errno.ETIMEDOUT: (State.FILTERED, "timeout"),
    errno.ENOPROTOOPT: (State.FILTERED, "icmp-proto-unreachable"),
}


def classify_icmp(icmp: IcmpError, protocol: Protocol) -> tuple[State, str] | None:
    """The verdict an ICMP error gives, or None when it says nothing about reachability (e.g. "too big")."""
    if icmp.type == _ICMP_TIME_EXCEEDED[icmp.version]:
        return State.UNREACHABLE, "icmp-ttl-exceeded"
    if icmp.type != _ICMP_UNREACH[icmp.version]:
        return None
    if icmp.code == _PORT_CODE[icmp.version]:
        # A TCP stack answers a closed port with a reset; an ICMP "port unreachable" for TCP comes from
        # a firewall rule (iptables' default REJECT). For UDP it's the normal "nothing listens here".
        return (State.CLOSED if protocol == "udp" else State.FILTERED), _PORT_UNREACHABLE
    table = _ICMP4_UNREACH if icmp.version == 4 else _ICMP6_UNREACH
    return table.get(icmp.code)


def classify_errno(code: int | None, protocol: Protocol) -> tuple[State, str] | None:
    """The verdict a bare socket errno gives, or None for errors that say nothing about the target."""
    if code is None:
        return None
    if code == errno.ECONNREFUSED and protocol == "udp":
        return State.CLOSED, _PORT_UNREACHABLE
    return _ERRNO.get(code)


def classify(err: OSError, sock: socket.socket, protocol: Protocol) -> tuple[State, str] | None:
    """The verdict for a failed connect/send/recv on ``sock``: the queued ICMP message if any, else the errno."""
    icmp = read_error_queue(sock)
    if icmp is not None:
        verdict = classify_icmp(icmp, protocol)
        if verdict is not None:
            return verdict
    return classify_errno(err.errno, protocol)
