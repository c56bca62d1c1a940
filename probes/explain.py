"""Verdicts in plain words, for people: what happened to one port, the likely cause, the next step.

The chat replies (bot/core/probe_replies.py) and the one-time link page (probes/_link_page.py) both say it
with these sentences, so a member reads the same explanation wherever they look.
"""

from __future__ import annotations

from probes.models import PortResult, State
from probes.reasons import describe, is_rejection

__all__ = [
    "CLOSED_ADVICE",
    "FILTERED_CAUSE",
    "FILTERED_CAUSE_V6",
    "verdict_lines",
    "where",
]

CLOSED_ADVICE = (
    "Your router passed the connection on, but nothing is listening: is the server running and listening on "
    "0.0.0.0 (not 127.0.0.1), and does the forward point at the right machine's LAN address?"
)
FILTERED_CAUSE = "No answer: most likely the router has no forward for this port, or a firewall drops it."
# IPv6 has no NAT: every device has its own public address, so there is nothing to forward, only a firewall
# (the router's and the server's) to open.
FILTERED_CAUSE_V6 = (
    "No answer: most likely a firewall drops it (the router's IPv6 firewall or the server's own)."
)


def where(address: str, port: int) -> str:
    """``203.0.113.5:25565`` or ``[2001:db8::5]:25565``."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def verdict_lines(result: PortResult, *, local: bool) -> list[str]:
    """The plain-words verdict for one result: what happened, the likely cause, the next step."""
    at = where(result.address, result.port)
    proto = result.protocol.upper()
    match result.state:
        case State.OPEN:
            reached = "Reachable from this bot's network" if local else "Reachable from the internet"
            lines = [f"{reached}: {at} answered."]
            if result.service is not None:
                lines.append(f"Service: {result.service.summary}")
            return lines
        case State.CLOSED:
            if result.protocol == "udp":
                lead = f"Closed: {at} answered that nothing listens on this UDP port."
            else:
                lead = f"Closed: {at} refused the connection."
            return [lead, CLOSED_ADVICE]
        case State.FILTERED if is_rejection(result.reason, result.protocol):
            return [
                f"Rejected: a firewall is actively refusing {at}. {describe(result.reason, result.protocol)}",
                f"Open {proto} {result.port} in that firewall: on the server, on the router, or in your hosting "
                "provider's control panel.",
            ]
        case State.FILTERED if result.family == 6:
            return [
                FILTERED_CAUSE_V6,
                f"1. Allow {proto} {result.port} to the server's address in your router's IPv6 firewall "
                "(IPv6 has no NAT: there is nothing to forward).\n"
                f"2. Allow {proto} {result.port} in the server's own firewall.\n"
                "3. Make sure the server is running, then check again.",
            ]
        case State.FILTERED:
            return [
                FILTERED_CAUSE,
                f"1. In your router's port-forwarding page, forward {proto} {result.port} to the server's LAN "
                "address.\n"
                f"2. Allow {proto} {result.port} in the server's own firewall.\n"
                "3. Make sure the server is running, then check again.",
            ]
        case State.UNREACHABLE:
            return [
                f"Unreachable: {result.address} didn't answer at all. The host may be down, there may be no route "
                "to it, or the address may be wrong.",
                "Check that the machine is on and that this is its current public address (home addresses change "
                "from time to time; a dynamic DNS name keeps up with them).",
            ]
        case State.OPEN_FILTERED:
            return [
                f"No reply over UDP from {at}. With UDP, silence can mean a service that only answers its own "
                "kind of message, or a firewall dropping packets: I can't tell which from here.",
                "To find out: tell me which game or service runs there so I can send a message it understands, "
                "or ask someone outside your network to connect.",
            ]
    return [f"{at}: {result.state}"]
