"""The probe service: the one gate every probe passes through, in the bot and in each worker.

Order of checks for one request: the ports (at most five, no ranges), the target if it is an address literal
(the safety policy, before anything is counted), the user's and the server's or workspace's rate limits, then
the probe itself. The engine resolves a name, refuses unsafe resolved addresses, picks what it will probe, and
only then calls back :meth:`ProbeService.admit`, which charges the per-target limit once for each address key
it is about to probe (probes/ratelimit.py ``target_key``: the IPv4 /32 or the IPv6 /64), before any packet is
sent. So the target limit counts what is actually probed, whatever the spelling, exactly once per probe. Then
the audit log. Refusals, rate-limit hits and bad input are audited too.

With a report source that fans out to workers (probes/client.py) nothing here resolves names, so the
per-target limit is left to each worker, which runs this same service around its own engine.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any, Protocol

# The synchronous core of the audit log: probes/quick.py runs this module's checks in a process without asyncio.
from probes._audit_file import FAILED, INVALID, PROBED, RATE_LIMITED, REFUSED, AuditEntry
from probes.errors import InputError, RateLimited, RefusedTarget
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.policy import IPAddress, SafetyPolicy, parse_ip_literal
from probes.ratelimit import GUILD, USER, ProbeRateLimiter

if TYPE_CHECKING:
    from probes.audit import AuditLog

LOCAL_VANTAGE = "this bot's own network"

ANONYMOUS = Requester(platform="api", user_id="anonymous")

#: Called by a prober with the addresses it is about to probe, after resolving and checking them and before
#: sending anything; raises :class:`~probes.errors.RateLimited` to stop the probe.
Admit = Callable[[Sequence[IPAddress]], Awaitable[None]]


class Prober(Protocol):
    """Probes one request from one vantage point (the engine)."""

    async def probe(
        self,
        request: ProbeRequest,
        *,
        vantage: str = LOCAL_VANTAGE,
        local: bool = True,
        admit: Admit | None = None,
    ) -> ProbeReport: ...


class ReportSource(Protocol):
    """Probes one request from every vantage point it knows (worker client, local prober)."""

    async def probe(
        self, request: ProbeRequest, *, requester: Requester | None = None
    ) -> list[ProbeReport]: ...


class ProbeService:
    """Validates, rate-limits, probes and audits. Give it either an engine (``prober``, probing from
    ``vantage``) or a :class:`ReportSource` (``source``, e.g. the worker client fanning out)."""

    def __init__(
        self,
        prober: Prober | None = None,
        limiter: ProbeRateLimiter | None = None,
        audit: AuditLog | None = None,
        *,
        source: ReportSource | None = None,
        policy: SafetyPolicy | None = None,
        vantage: str | None = None,
        local: bool = True,
    ) -> None:
        if (prober is None) == (source is None):
            raise TypeError("ProbeService needs exactly one of prober or source")
        self._prober = prober
        self._source = source
        self._limiter = limiter
        self._audit = audit
        self._policy = policy or SafetyPolicy()
        # Only audit rows of requests that never reached a vantage point use this name.
        self.vantage = vantage or (LOCAL_VANTAGE if prober is not None else "workers")
        self.local = local

    async def run(
        self,
        request: ProbeRequest,
        requester: Requester,
        *,
        charged: bool = False,
        requester_charged: bool = False,
    ) -> ProbeReport:
        """Probe ``request`` from this service's own vantage point (needs an engine); ``charged`` as in
        :meth:`run_all`. ``requester_charged``: the caller (a bot's service, see probes/client.py) already
        charged the requester's own limits, so only the target's is charged here."""
        prober = self._prober
        if prober is None:
            raise TypeError("run() needs a prober; use run_all() with a source")

        admit = self.admit if self._limiter is not None and not charged else None

        async def call() -> list[ProbeReport]:
            return [await prober.probe(request, vantage=self.vantage, local=self.local, admit=admit)]

        skip_requester = charged or requester_charged
        return (await self._guarded(request, requester, call, charged=skip_requester))[0]

    async def run_all(
        self, request: ProbeRequest, requester: Requester, *, charged: bool = False
    ) -> list[ProbeReport]:
        """Probe ``request`` from every vantage point: the source's, or this service's own. ``charged``: the
        rate limits were already charged for this request (probes/quick.py handed it over), so none is again."""
        source = self._source
        if source is None:
            return [await self.run(request, requester, charged=charged)]

        async def call() -> list[ProbeReport]:
            return await source.probe(request, requester=requester)

        return await self._guarded(request, requester, call, charged=charged)

    async def admit(self, addresses: Sequence[IPAddress]) -> None:
        """Charge the per-target limit for a probe about to be sent to ``addresses`` (the engine calls this
        after resolving and checking them). Raises :class:`RateLimited`."""
        if self._limiter is not None:
            await self._limiter.admit(addresses)

    async def _guarded(
        self,
        request: ProbeRequest,
        requester: Requester,
        call: Callable[[], Awaitable[list[ProbeReport]]],
        *,
        charged: bool = False,
    ) -> list[ProbeReport]:
        try:
            check_input(self._policy, request)
            if not charged:
                await self._rate_limit(requester)
            reports = await call()
        except Exception as err:
            await self._audit_error(request, requester, err)
            raise
        await self._after(request, requester, reports)
        return reports

    async def _rate_limit(self, requester: Requester) -> None:
        """The requester's own limits, charged up front (the target's is charged by :meth:`admit`)."""
        if self._limiter is None:
            return
        await self._limiter.hit(requester_keys(requester), platform=requester.platform)

    async def _after(self, request: ProbeRequest, requester: Requester, reports: list[ProbeReport]) -> None:
        if self._audit is None:
            return
        for report in reports:
            await self._audit.record(report_entry(request, requester, report))

    async def _audit_error(self, request: ProbeRequest, requester: Requester, err: Exception) -> None:
        if self._audit is not None:
            await self._audit.record(error_entry(request, requester, err, self.vantage))


# The checks and audit rows of one request, as plain functions: ProbeService runs them around the engine or the
# workers, and probes/quick.py around its synchronous connects, so the two paths can't drift apart.


def check_input(policy: SafetyPolicy, request: ProbeRequest) -> None:
    """Refuse a request before anything is counted: no target, an unknown protocol, bad ports, or an address
    literal the policy refuses (InputError, RefusedTarget)."""
    if not request.target.strip():
        raise InputError("Tell me which address or host name to check, e.g. `check example.com 25565`.")
    if request.protocol not in ("auto", "tcp", "udp"):
        raise InputError(f"{request.protocol!r} is not a protocol I check: use tcp or udp.")
    policy.check_ports(request.ports)
    address = parse_ip_literal(request.target)
    if address is not None:
        policy.check_address(address)


def requester_keys(requester: Requester) -> list[tuple[str, str]]:
    """The requester's own rate-limit counters, user first (the target's is charged by ``admit``)."""
    keys = [(USER, f"{requester.platform}:{requester.user_id}")]
    if requester.guild_id:
        keys.append((GUILD, f"{requester.platform}:{requester.guild_id}"))
    return keys


def report_entry(request: ProbeRequest, requester: Requester, report: ProbeReport) -> AuditEntry:
    """The audit row of one vantage point's report."""
    return _entry(
        request,
        requester,
        outcome=PROBED if report.error is None else FAILED,
        vantage=report.vantage,
        addresses=tuple(dict.fromkeys(r.address for r in report.results)),
        verdicts=AuditEntry.verdicts_of(report),
        detail=report.error,
    )


def error_entry(request: ProbeRequest, requester: Requester, err: Exception, vantage: str) -> AuditEntry:
    """The audit row of a request that stopped with ``err`` (refused, rate-limited, invalid or failed)."""
    category: str | None = None
    addresses: tuple[str, ...] = ()
    if isinstance(err, RefusedTarget):
        outcome, category = REFUSED, err.category
        addresses = (err.address,) if err.address else ()
    elif isinstance(err, RateLimited):
        outcome, category = RATE_LIMITED, err.scope
    elif isinstance(err, InputError):
        outcome = INVALID
    else:
        outcome, category = FAILED, type(err).__name__
    return _entry(
        request,
        requester,
        outcome=outcome,
        vantage=vantage,
        addresses=addresses,
        category=category,
        detail=str(err),
    )


def _entry(
    request: ProbeRequest,
    requester: Requester,
    *,
    outcome: str,
    vantage: str,
    addresses: tuple[str, ...] = (),
    verdicts: tuple[dict[str, Any], ...] = (),
    category: str | None = None,
    detail: str | None = None,
) -> AuditEntry:
    return AuditEntry(
        platform=requester.platform,
        user_id=requester.user_id,
        guild_id=requester.guild_id,
        channel_id=requester.channel_id,
        target=request.target,
        ports=tuple(request.ports),
        protocol=request.protocol,
        outcome=outcome,
        vantage=vantage,
        addresses=addresses,
        verdicts=verdicts,
        category=category,
        detail=detail,
    )
