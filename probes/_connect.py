"""One TCP connect's verdict, without an event loop: the synchronous core shared by probes/tcp.py (asyncio) and
probes/quick.py (``portbot probe``'s quick path, which never imports asyncio)."""

from __future__ import annotations

import socket

from probes._icmp import classify
from probes.errors import ProbeError
from probes.models import PortResult, Protocol, State
from probes.policy import IPAddress

# Answers that come from the target itself, so their time is a round trip to it.
FROM_TARGET = frozenset({"syn-ack", "rst"})


def new_socket(address: IPAddress, kind: socket.SocketKind) -> socket.socket:
    """A socket for ``address``'s family; running out of them is this machine's problem, said plainly."""
    try:
        return socket.socket(socket.AF_INET6 if address.version == 6 else socket.AF_INET, kind)
    except OSError as err:
        raise ProbeError(f"This bot couldn't open a network socket ({err.strerror or err}).") from err


def tcp_verdict(
    err: BaseException | None, sock: socket.socket, address: IPAddress, port: int, rtt_ms: float
) -> PortResult:
    """The verdict of a finished connect on ``sock``: ``err`` None is a completed handshake; an OSError is read
    with the ICMP message queued on the socket, if any (probes/_icmp.py). Anything else is re-raised, and an
    error that says nothing about the target is this machine's failure (:class:`ProbeError`)."""
    if err is None:
        return PortResult(str(address), port, "tcp", State.OPEN, "syn-ack", rtt_ms)
    if not isinstance(err, OSError):
        raise err
    return error_verdict(err, sock, address, port, "tcp", rtt_ms)


def error_verdict(
    err: OSError, sock: socket.socket, address: IPAddress, port: int, protocol: Protocol, rtt_ms: float
) -> PortResult:
    """A failed connect's, send's or receive's verdict on ``sock`` (TCP here, UDP in probes/udp.py): what the
    ICMP message or errno says about the target, else this machine's failure (:class:`ProbeError`)."""
    verdict = classify(err, sock, protocol)
    if verdict is None:
        which = "UDP port" if protocol == "udp" else "port"
        raise ProbeError(
            f"The check of {which} {port} failed on this bot's side ({err.strerror or err})."
        ) from err
    state, reason = verdict
    # An error our own machine raised straight away (no route here) has no round trip to report.
    local = reason in ("no-route", "local-firewall")
    return PortResult(str(address), port, protocol, state, reason, None if local else rtt_ms)
