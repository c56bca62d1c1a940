"""The probe service: the one gate every probe passes through, in the bot and in each worker.

Order of checks for one request: the ports (at most five, no ranges), the target if it is an address literal
(the safety policy, before anything is counted), the rate limits (user, server or workspace, target), then the
probe itself (the engine resolves names and refuses unsafe resolved addresses), then the audit log. Refusals,
rate-limit hits and bad input are audited too.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from probes.audit import FAILED, INVALID, PROBED, RATE_LIMITED, REFUSED, AuditEntry, AuditLog
from probes.errors import InputError, PortbotError, RateLimited, RefusedTarget
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.policy import SafetyPolicy, parse_ip_literal
from probes.ratelimit import GUILD, TARGET, USER, ProbeRateLimiter

LOCAL_VANTAGE = "this bot's own network"

_REMEMBERED_NAMES = 4096


ANONYMOUS = Requester(platform="api", user_id="anonymous")


class Prober(Protocol):
    """Probes one request from one vantage point (the engine)."""

    async def probe(
        self, request: ProbeRequest, *, vantage: str = LOCAL_VANTAGE, local: bool = True
    ) -> ProbeReport: ...


class ReportSource(Protocol):
    """Probes one request from every vantage point it knows (worker client, local prober)."""

    async def probe(
        self, request: ProbeRequest, *, requester: Requester | None = None
    ) -> list[ProbeReport]: ...


def normalise_target(target: str) -> str:
    """The key a target is rate-limited under: the canonical address for literals, else the lower-case name."""
    address = parse_ip_literal(target)
    if address is not None:
        return str(address)
    return target.strip().strip("[]").rstrip(".").lower()


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
        self._resolved: OrderedDict[str, tuple[str, ...]] = OrderedDict()

    async def run(self, request: ProbeRequest, requester: Requester) -> ProbeReport:
        """Probe ``request`` from this service's own vantage point (needs an engine)."""
        prober = self._prober
        if prober is None:
            raise TypeError("run() needs a prober; use run_all() with a source")

        async def call() -> list[ProbeReport]:
            return [await prober.probe(request, vantage=self.vantage, local=self.local)]

        return (await self._guarded(request, requester, call))[0]

    async def run_all(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        """Probe ``request`` from every vantage point: the source's, or this service's own."""
        source = self._source
        if source is None:
            return [await self.run(request, requester)]

        async def call() -> list[ProbeReport]:
            return await source.probe(request, requester=requester)

        return await self._guarded(request, requester, call)

    async def _guarded(
        self,
        request: ProbeRequest,
        requester: Requester,
        call: Callable[[], Awaitable[list[ProbeReport]]],
    ) -> list[ProbeReport]:
        try:
            self._check_input(request)
            target = normalise_target(request.target)
            await self._rate_limit(target, requester)
            reports = await call()
        except PortbotError as err:
            await self._audit_error(request, requester, err)
            raise
        except Exception as err:
            await self._audit_error(request, requester, err)
            raise
        await self._after(request, target, requester, reports)
        return reports

    def _check_input(self, request: ProbeRequest) -> None:
        if not request.target.strip():
            raise InputError("Tell me which address or host name to check, e.g. `check example.com 25565`.")
        if request.protocol not in ("auto", "tcp", "udp"):
            raise InputError(f"{request.protocol!r} is not a protocol I check: use tcp or udp.")
        self._policy.check_ports(request.ports)
        address = parse_ip_literal(request.target)
        if address is not None:
            self._policy.check_address(address)

    async def _rate_limit(self, target: str, requester: Requester) -> None:
        if self._limiter is None:
            return
        keys = [(USER, f"{requester.platform}:{requester.user_id}")]
        if requester.guild_id:
            keys.append((GUILD, f"{requester.platform}:{requester.guild_id}"))
        keys.append((TARGET, target))
        # A name's addresses are only known after the probe; the ones it had last time are checked now, so
        # spelling one address as many names does not dodge its limit.
        keys.extend((TARGET, a) for a in self._resolved.get(target, ()) if a != target)
        await self._limiter.hit(keys, platform=requester.platform)

    async def _after(
        self, request: ProbeRequest, target: str, requester: Requester, reports: list[ProbeReport]
    ) -> None:
        addresses = tuple(dict.fromkeys(r.address for report in reports for r in report.results))
        if addresses and parse_ip_literal(request.target) is None:
            self._resolved[target] = addresses
            self._resolved.move_to_end(target)
            while len(self._resolved) > _REMEMBERED_NAMES:
                self._resolved.popitem(last=False)
        others = [(TARGET, a) for a in addresses if a != target]  # none for an address literal
        if self._limiter is not None and others:
            await self._limiter.record(others)
        if self._audit is None:
            return
        for report in reports:
            await self._audit.record(
                self._entry(
                    request,
                    requester,
                    outcome=PROBED if report.error is None else FAILED,
                    vantage=report.vantage,
                    addresses=tuple(dict.fromkeys(r.address for r in report.results)),
                    verdicts=AuditEntry.verdicts_of(report),
                    detail=report.error,
                )
            )

    async def _audit_error(self, request: ProbeRequest, requester: Requester, err: Exception) -> None:
        if self._audit is None:
            return
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
        await self._audit.record(
            self._entry(
                request,
                requester,
                outcome=outcome,
                vantage=self.vantage,
                addresses=addresses,
                category=category,
                detail=str(err),
            )
        )

    def _entry(
        self,
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
