"""The machine-readable reasons a :class:`~probes.models.PortResult` carries, in plain words.

Renderers can show :func:`describe` as the "why" under a verdict, and use :func:`is_rejection` to tell an
active refusal by a firewall (an answer) from plain silence: both are ``filtered``, but the advice differs.
"""

from __future__ import annotations

from probes.models import Protocol

_REASONS: dict[str, str] = {
    "syn-ack": "The server accepted the connection (it completed the TCP handshake).",
    "rst": "The machine answered but refused the connection: nothing is listening on this port.",
    "timeout": "No answer at all: something on the way (usually a router or firewall) drops the traffic silently.",
    "udp-response": "The service answered.",
    "no-reply": (
        "No reply: UDP services often stay silent when they get a message they don't understand, so the port "
        "could be open or blocked."
    ),
    "icmp-port-unreachable": (
        "A firewall rejected the connection: it answered “port unreachable”, which firewalls send for TCP "
        "(a server's own system would refuse with a reset instead)."
    ),
    "icmp-admin-prohibited": "A firewall actively rejected the connection (“administratively prohibited”).",
    "icmp-host-prohibited": "A firewall actively rejected the connection (“host prohibited”).",
    "icmp-net-prohibited": "A firewall actively rejected the connection (“network prohibited”).",
    "icmp-proto-unreachable": "The machine or a firewall rejected this protocol altogether.",
    "icmp-policy-failed": "A router's address policy rejected the connection.",
    "icmp-reject-route": "A router has a rule that rejects traffic to this address.",
    "icmp-host-unreachable": "A router said the machine can't be reached: it may be off, or the address is wrong.",
    "icmp-net-unreachable": "A router said there's no way to reach that network.",
    "icmp-no-route": "A router said it has no route to that address.",
    "icmp-beyond-scope": "The address can't be reached from here (it is only valid on its own network).",
    "icmp-source-route-failed": "A router couldn't deliver the packets along the required path.",
    "icmp-ttl-exceeded": "The packets went round in circles (a routing loop) and never arrived.",
    "no-route": "This vantage point has no route to that address (for example, it has no IPv6 connectivity).",
    "host-unreachable": "The machine didn't answer at the network level: it may be off, or the address may be wrong.",
    "local-firewall": "This vantage point's own firewall stopped the probe; the target was never contacted.",
}
_UDP_PORT_UNREACHABLE = "The machine answered that nothing is listening on this UDP port."

_REJECTIONS = frozenset(
    {
        "icmp-port-unreachable",
        "icmp-admin-prohibited",
        "icmp-host-prohibited",
        "icmp-net-prohibited",
        "icmp-proto-unreachable",
        "icmp-policy-failed",
        "icmp-reject-route",
    }
)

#: Every reason the engine can report.
REASONS = frozenset(_REASONS)


def describe(reason: str, protocol: Protocol = "tcp") -> str:
    """One plain sentence for ``reason`` (an unknown reason is returned as it is)."""
    if reason == "icmp-port-unreachable" and protocol == "udp":
        return _UDP_PORT_UNREACHABLE
    return _REASONS.get(reason, reason)


def is_rejection(reason: str, protocol: Protocol = "tcp") -> bool:
    """Whether a ``filtered`` verdict was an active refusal (an ICMP answer) rather than silence."""
    if reason == "icmp-port-unreachable" and protocol == "udp":
        return False  # for UDP that's the normal "closed"
    return reason in _REJECTIONS
