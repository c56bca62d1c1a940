"""``portbot probe``'s quick path: an address literal and TCP ports, checked with blocking-free connects and
``poll()``, in a process that never imports asyncio (about 95 ms on the reference machine, 1.5× a whole
``nmap -sT`` run).

It is the engine's path with the waiting left out, not a second engine. Everything a request passes through is
shared with probes/service.py and probes/engine.py: the same input checks and safety policy, the same
persistent rate limits (charged through the synchronous side of probes/ratelimit.py, in the same order: the
requester, then the target's key), the same verdicts (probes/_connect.py reads a finished connect for both
paths), the same protocol choice per port (probes/_ports.py) and the same audit row (probes/_audit_file.py).

Only answers are taken here: a SYN-ACK (open), a reset (closed) or an ICMP error (its verdict), all for every
port within :data:`WINDOW`. If any port is still silent then, the engine must judge it (a filtered verdict
needs its RTT learning, echoes and retries), so :meth:`QuickProbe.run` hands the whole request back unprobed,
with its limits already charged (``ProbeService.run_all(..., charged=True)`` charges none again) and no audit
row written (the engine path writes the only one). Open ports are then identified with probes/identify.py as
the engine does; that alone imports asyncio.
"""

from __future__ import annotations

import dataclasses
import errno
import math
import os
import select
import socket
import time
from typing import TYPE_CHECKING, NamedTuple

from probes import _ports
from probes._audit_file import AuditEntry, AuditFile
from probes._connect import new_socket, tcp_verdict
from probes._icmp import enable_error_queue
from probes.errors import InputError
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State
from probes.ratelimit import ProbeRateLimiter
from probes.service import LOCAL_VANTAGE, check_input, error_entry, report_entry, requester_keys
from probes.targets import Target, parse_target

if TYPE_CHECKING:
    from probes.policy import IPAddress, SafetyPolicy

#: How long every port gets to answer before the engine takes over: the engine asks for an ICMP echo after the
#: same 50 ms of silence (probes/tcp.py ``ECHO_DELAY``, held equal by a test), so a silent port loses no time
#: on its RTT learning beyond this window and the engine's start.
WINDOW = 0.05
#: The engine's identification time box (probes/engine.py ``EngineConfig.identify_timeout``, held equal by a
#: test; the engine module itself imports asyncio).
IDENTIFY_TIMEOUT = 2.0


class QuickResult(NamedTuple):
    """``report`` when the quick path answered; None when the engine must probe, then ``charged`` says
    whether the rate limits were already charged for this request."""

    report: ProbeReport | None
    charged: bool = False


class QuickProbe:
    """Probes a request synchronously when it can: an address literal, TCP for every port, counters that need
    no event loop (memory or SQLite, not Redis). The caller runs the engine when :meth:`run` says so."""

    def __init__(
        self,
        policy: SafetyPolicy,
        limiter: ProbeRateLimiter | None,
        audit: AuditFile | None,
        *,
        vantage: str = LOCAL_VANTAGE,
        window: float = WINDOW,
        identify: bool = True,
        identify_timeout: float = IDENTIFY_TIMEOUT,
    ) -> None:
        if limiter is not None and not limiter.synchronous:
            raise TypeError("the quick path needs counters it can charge without an event loop")
        self._policy = policy
        self._limiter = limiter
        self._audit = audit
        self.vantage = vantage
        self.window = window
        self.identify = identify
        self.identify_timeout = identify_timeout

    def run(self, request: ProbeRequest, requester: Requester) -> QuickResult:
        """Check, charge, probe and audit ``request``, or hand it over (see :class:`QuickResult`). Raises what
        the engine path would: InputError, RefusedTarget, RateLimited, StoreUnavailable, ProbeError (each
        audited, as ProbeService does)."""
        plan = self._plan(request)
        if plan is None:
            return QuickResult(None)  # not ours: nothing checked, charged or written
        target, ports = plan
        address = target.address
        assert address is not None
        try:
            check_input(self._policy, request)  # ProbeService's checks, then its charge of the requester ...
            if self._limiter is not None:
                self._limiter.hit_now(requester_keys(requester), platform=requester.platform)
            self._policy.check_address(address)  # ... then the engine's check of what it probes, and admit()
            if self._limiter is not None:
                self._limiter.admit_now([address])
            results = connect_all(address, ports, self.window)
            if results is None:
                return QuickResult(None, charged=True)
            if self.identify and any(r.state is State.OPEN for r in results):
                results = identified(
                    results, host=target.host, hint=target.scheme, time_box=self.identify_timeout
                )
        except Exception as err:
            self._record(error_entry(request, requester, err, self.vantage))
            raise
        report = ProbeReport(
            target=request.target, host=target.host, vantage=self.vantage, results=results, local=True
        )
        self._record(report_entry(request, requester, report))
        return QuickResult(report)

    def close(self) -> None:
        """Close the counter and audit files."""
        if self._limiter is not None:
            self._limiter.close_now()
        if self._audit is not None:
            self._audit.close()

    def _plan(self, request: ProbeRequest) -> tuple[Target, tuple[int, ...]] | None:
        """The address and ports when the request is one for this path, else None (the engine path then says
        what is wrong with it, if anything, and audits that)."""
        if request.service_hint is not None or request.protocol not in ("auto", "tcp"):
            return None
        try:
            target = parse_target(request.target)
            # As the engine reads them: the ports asked for, else the one in the target ("host:port", a URL).
            ports = tuple(dict.fromkeys(request.ports)) or ((target.port,) if target.port is not None else ())
            self._policy.check_ports(ports)
        except InputError:
            return None
        if target.address is None or not ports:
            return None
        if any(_ports.protocols_for(request.protocol, p, target.scheme) != ("tcp",) for p in ports):
            return None
        return target, ports

    def _record(self, entry: AuditEntry) -> None:
        if self._audit is not None:
            self._audit.write([entry])


def connect_all(address: IPAddress, ports: tuple[int, ...], window: float) -> tuple[PortResult, ...] | None:
    """Connect to every port at once and wait up to ``window`` seconds for all the answers; the verdicts in
    port order, or None if any port is still silent (every socket is closed either way)."""
    pending: dict[int, tuple[int, socket.socket, float]] = {}  # fd -> (index, socket, start)
    results: list[PortResult | None] = [None] * len(ports)
    poller = select.poll()
    try:
        for index, port in enumerate(ports):
            sock = new_socket(address, socket.SOCK_STREAM)
            try:
                sock.setblocking(False)
                enable_error_queue(sock)  # before connecting: an ICMP error is then read as in the engine
                started = time.monotonic()
                code = sock.connect_ex((str(address), port))
            except BaseException:
                sock.close()
                raise
            if code in (0, *_IN_PROGRESS):
                pending[sock.fileno()] = (index, sock, started)
                poller.register(sock, select.POLLOUT)
            else:  # refused at once, by our own stack or a local rule: the engine's verdict for that errno
                try:
                    results[index] = tcp_verdict(_error(code), sock, address, port, _ms(started))
                finally:
                    sock.close()
        deadline = time.monotonic() + window
        while pending:
            # Polled at least once even past the deadline: answers that came while this process waited for a
            # busy CPU still count.
            events = poller.poll(max(0, math.ceil((deadline - time.monotonic()) * 1000)))
            if not events and time.monotonic() >= deadline:
                return None
            for fd, _event in events:
                index, sock, started = pending.pop(fd)
                poller.unregister(fd)
                rtt_ms = _ms(started)
                try:
                    code = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
                    error = _error(code) if code else None
                    results[index] = tcp_verdict(error, sock, address, ports[index], rtt_ms)
                finally:
                    sock.close()
        return tuple(r for r in results if r is not None)
    finally:
        for _, sock, _ in pending.values():
            sock.close()


def identified(
    results: tuple[PortResult, ...], *, host: str, hint: str | None, time_box: float
) -> tuple[PortResult, ...]:
    """``results`` with the open ports identified (probes/identify.py, side by side, as the engine does); this
    is the quick path's only use of asyncio, loaded for an open port only."""
    import asyncio

    from probes.identify import identify_tcp
    from probes.policy import parse_ip_literal

    async def one(result: PortResult) -> PortResult:
        address = parse_ip_literal(result.address)
        if result.state is not State.OPEN or address is None:
            return result
        service = await identify_tcp(address, result.port, host=host, hint=hint, time_box=time_box)
        return result if service is None else dataclasses.replace(result, service=service)

    async def every() -> tuple[PortResult, ...]:
        return tuple(await asyncio.gather(*(one(r) for r in results)))

    return asyncio.run(every())


_IN_PROGRESS = (errno.EINPROGRESS, errno.EWOULDBLOCK)  # the handshake is under way


def _error(code: int) -> OSError:
    return OSError(code, os.strerror(code))


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 3)
