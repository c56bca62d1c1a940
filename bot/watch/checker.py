"""One check of a watch: the probe through the usual gate (safety policy, rate limits, audit), read as a Health.

The probe goes through the same backend as ``portbot probe`` and the chat commands (``bot.app.ServiceBackend``:
the in-process engine, or the workers of ``PORTBOT_WORKERS``), so a watch obeys exactly their rules. A watch
with a game (``minecraft``, ``valheim``) is checked as ``check HOST PORT GAME`` is in chat (bot/core/checks.py):
the entry's protocols and its Steam query port, with the hint that makes the engine speak the game's protocol,
so the answer carries the player count.

Verdicts become a :class:`~bot.watch.models.Health`:

=================================  =======  ==================================================================
what the probe found               health   why
=================================  =======  ==================================================================
open (from any vantage point)      UP       someone got through
closed, filtered, unreachable      DOWN     with the probe's own plain-language cause (probes/explain.py)
UDP silence (open|filtered)        UP       only if the game's query port answered; else UNKNOWN: can't tell
refused, rate-limited, any error   UNKNOWN  the check didn't say anything about the server: never alerted on
=================================  =======  ==================================================================
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Protocol

from bot.watch.models import Health, Watch
from bot.watch.notify import CheckSummary
from probes.errors import OperatorError, PortbotError, RateLimited
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State

if TYPE_CHECKING:
    from knowledge._curated import Service

log = logging.getLogger("portbot.watch")

_DOWN = frozenset({State.CLOSED, State.FILTERED, State.UNREACHABLE})
NOT_CHECKED = "The check couldn't run this time, so this says nothing about the server."


class ProbeBackend(Protocol):
    """What the checker needs of ``bot.app.ServiceBackend``: one request in, one report per vantage point."""

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]: ...


ServiceLookup = Callable[[str], "Service | None"]


def requester_for(watch: Watch) -> Requester:
    """Who a watch's checks are charged to: the watch itself (one per-user bucket each), inside its server or
    workspace, so watches share the server's limit with its members' own checks."""
    scope = None if watch.scope_id == "cli" else watch.scope_id
    return Requester(
        platform=str(watch.platform),
        user_id=f"watch-{watch.id}",
        guild_id=scope,
        channel_id=watch.channel_id,
    )


class Checker:
    """Runs one watch's check and sums it up. ``services`` finds a curated entry by id (the knowledge base)."""

    def __init__(
        self,
        backend: ProbeBackend,
        *,
        services: ServiceLookup | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._backend = backend
        self._services = services
        self._clock = clock

    async def check(self, watch: Watch) -> CheckSummary:
        """Probe ``watch`` once. Never raises a PortbotError: a check that can't run is UNKNOWN with the reason."""
        requests = self._requests(watch)
        requester = requester_for(watch)
        try:
            found = await asyncio.gather(*(self._backend.probe(r, requester) for r in requests))
        except RateLimited as err:
            return self._unknown("limited", f"Too many checks right now ({err}); the next one will tell.")
        except OperatorError as err:
            log.warning("watch %s: the check could not run: %s", watch.id, err)
            return self._unknown("error", NOT_CHECKED)
        except PortbotError as err:  # refused, bad input, the name doesn't resolve
            return self._unknown("refused", err.message)
        reports = [report for part in found for report in part]
        return summarise(watch, reports, checked_at=self._clock())

    def _requests(self, watch: Watch) -> list[ProbeRequest]:
        service = self._service(watch.game)
        if service is None:
            return [ProbeRequest(target=watch.host, ports=(watch.port,), protocol=watch.protocol)]
        from bot.core.checks import plan

        chosen = plan((watch.port,), watch.protocol, service)
        return [
            ProbeRequest(
                target=watch.host, ports=part.ports, protocol=part.protocol, service_hint=chosen.hint
            )
            for part in chosen.parts
        ]

    def _service(self, game: str | None) -> Service | None:
        if game is None or self._services is None:
            return None
        try:
            return self._services(game)
        except Exception:  # the check still runs as a plain port check
            log.exception("knowledge base unavailable for watch game %r", game)
            return None

    def _unknown(self, state: str, reason: str) -> CheckSummary:
        return CheckSummary(health=Health.UNKNOWN, state=state, reason=reason, checked_at=self._clock())


def summarise(watch: Watch, reports: Sequence[ProbeReport], *, checked_at: float) -> CheckSummary:
    """The health of ``watch`` from its probe reports (see the table at the top)."""
    from probes.explain import verdict_lines

    answered = [r for r in reports if r.error is None]
    mine = [
        res
        for r in answered
        for res in r.results
        if res.port == watch.port and (res.protocol == watch.protocol or watch.game is not None)
    ]
    others = [res for r in answered for res in r.results if res not in mine]
    players, version = _players([*mine, *others])
    latency = min((res.rtt_ms for res in mine if res.rtt_ms is not None), default=None)
    local = bool(answered) and all(r.local for r in answered)
    states = {res.state for res in mine}
    if State.OPEN in states:
        return CheckSummary(Health.UP, "open", None, checked_at, latency, players, version)
    if State.OPEN_FILTERED in states and any(res.state is State.OPEN for res in others):
        # A UDP game port that ignores strangers, while the same server's query port answered.
        return CheckSummary(Health.UP, "open", None, checked_at, latency, players, version)
    bad = [res for res in mine if res.state in _DOWN]
    if bad:
        worst = _worst(bad)
        return CheckSummary(
            Health.DOWN, str(worst.state), " ".join(verdict_lines(worst, local=local)), checked_at, latency
        )
    if states:
        return CheckSummary(
            Health.UNKNOWN,
            str(State.OPEN_FILTERED),
            " ".join(verdict_lines(mine[0], local=local)),
            checked_at,
        )
    return CheckSummary(Health.UNKNOWN, "error", NOT_CHECKED, checked_at)


def _worst(results: Sequence[PortResult]) -> PortResult:
    # The cause shown is the most telling one: unreachable says more than filtered, filtered more than closed.
    order = {State.UNREACHABLE: 0, State.FILTERED: 1, State.CLOSED: 2}
    return min(results, key=lambda r: order.get(r.state, 3))


def _players(results: Sequence[PortResult]) -> tuple[tuple[int, int] | None, str | None]:
    for res in results:
        details = res.service.details if res.service is not None else {}
        online, most = details.get("players_online"), details.get("players_max")
        if isinstance(online, int) and isinstance(most, int):
            version = details.get("version")
            return (online, most), str(version) if version else None
    return None, None
