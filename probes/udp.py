"""One UDP port, one address: a request the service understands, then an answer, an ICMP error or silence.

* An answer (any datagram back from that address and port) means ``open``; it's decoded for details.
* ICMP "port unreachable" means ``closed``: the host is there and nothing listens. Linux reports it on the
  connected socket as ECONNREFUSED; the queued ICMP message (probes/_icmp.py) tells it apart from
  "administratively prohibited" (a firewall: ``filtered``) and "host unreachable".
* Silence means ``open|filtered``: UDP services often ignore packets they don't understand, and firewalls
  drop them without a word, so nobody can tell the two apart from outside. We say so rather than guess.

UDP has no retransmission of its own, so the request is sent three times over the wait (at 0, ⅓ and ⅔).
"""

from __future__ import annotations

import asyncio
import socket

from probes import _protocols
from probes._connect import error_verdict
from probes._icmp import enable_error_queue
from probes.models import PortResult, State
from probes.policy import IPAddress
from probes.tcp import new_socket

SENDS = 3


async def probe_udp(address: IPAddress, port: int, *, kind: str, max_wait: float) -> PortResult:
    """Send the ``kind`` request (see probes/_protocols/) to ``address``:``port`` and say what came back."""
    loop = asyncio.get_running_loop()
    sock = new_socket(address, socket.SOCK_DGRAM)
    receive: asyncio.Future[bytes] | None = None
    try:
        sock.setblocking(False)
        enable_error_queue(sock)
        payload = _protocols.REGISTRY.request(kind)
        start = loop.time()
        sent_at = start
        try:
            # connect() fixes the peer: the kernel then drops datagrams from anyone else and reports ICMP errors.
            sock.connect((str(address), port))
            receive = asyncio.ensure_future(loop.sock_recv(sock, 65535))
            for n in range(SENDS):
                sent_at = loop.time()
                sock.send(payload)
                next_send = start + max_wait * (n + 1) / SENDS
                done, _ = await asyncio.wait([receive], timeout=max(0.0, next_send - loop.time()))
                if done:
                    break
            else:
                return PortResult(str(address), port, "udp", State.OPEN_FILTERED, "no-reply")
            data = receive.result()
        except OSError as err:
            return error_verdict(err, sock, address, port, "udp", round((loop.time() - sent_at) * 1000, 3))
        rtt_ms = round((loop.time() - sent_at) * 1000, 3)
        service = _protocols.REGISTRY.parse(kind, data, rtt_ms)
        return PortResult(str(address), port, "udp", State.OPEN, "udp-response", rtt_ms, service)
    finally:
        try:
            if receive is not None:
                # Let asyncio unregister the socket before it's closed (see probes/tcp.py, _close).
                receive.cancel()
                await asyncio.gather(receive, return_exceptions=True)
        finally:
            sock.close()
