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
import secrets
import socket
from typing import Any

# The diagnosis lives in the standalone module so the single-file listen.py can judge on its own too.
from probes.listen_standalone import (
    ANSWER,
    KNOCK,
    LISTENER_SECRET_RE,
    MAX_LINE,
    Diagnosis,
    Verdict,
    answer_for,
    diagnose,
)

__all__ = ["Diagnosis", "Verdict", "diagnose", "knock", "valid_listener_secret"]


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
