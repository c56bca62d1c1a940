"""The watch scheduler: ``portbot watch run``, and a task inside ``portbot discord`` / ``portbot slack``.

Every scheduler, in any number of processes, loops over the same table:

1. claim due watches under a lease (bot/watch/leases.py: ``FOR UPDATE SKIP LOCKED`` on PostgreSQL);
2. check each through the probe backend (bot/watch/checker.py), under a time box shorter than the lease;
3. record the result fenced by the lease token, with the alert of a confirmed change written in the same
   transaction (the outbox), then update the watch's status message;
4. deliver the outbox's alerts under a lease of their own, retrying later when a platform or webhook fails.

A scheduler that dies (even SIGKILL) loses nothing: its watches' leases run out and another scheduler checks
them, and anything it had checked but not recorded is checked again, while a result it records late is refused
by the fence. So each due check is recorded exactly once, and each confirmed change is alerted exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import secrets
import socket
import time
from collections.abc import Callable, Collection, Coroutine
from dataclasses import dataclass
from typing import Any

from bot.store import Store
from bot.watch.checker import Checker, ProbeBackend, ServiceLookup
from bot.watch.leases import Claim, Leases, PendingAlert, change_from, retry_delay
from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import CheckSummary, Notifiers
from bot.watch.repository import WatchRepository

log = logging.getLogger("portbot.watch")


@dataclass(frozen=True, slots=True)
class SchedulerConfig:
    """How a scheduler paces itself. Times in seconds.

    ``lease`` must outlast a check: a check still running ``lease - margin`` after its claim is stopped and
    recorded as UNKNOWN, so its lease never runs out under a live scheduler."""

    lease: float = 60.0
    concurrency: int = 32  # checks in flight at once in this process
    batch: int = 32  # watches claimed per statement
    poll: float = 1.0  # longest sleep between looks at the table (watches added elsewhere show up by then)
    alert_gap: float = (
        300.0  # at most one alert message per watch this often; changes meanwhile are coalesced
    )
    alert_lease: float = 60.0  # how long one delivery attempt may take before another scheduler may retry
    # PORTBOT_WATCH_MIN_INTERVAL: also applies to watches added before it was raised.
    min_every: float = 0.0

    @property
    def check_timeout(self) -> float:
        return max(0.5, self.lease - min(5.0, self.lease / 4))


def owner_name() -> str:
    """This scheduler's name in ``lease_owner``: host, pid and a random tag (a pid can be reused)."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(3)}"


async def run_scheduler(
    store: Store,
    prober: ProbeBackend,
    notifiers: Notifiers,
    *,
    stop: asyncio.Event,
    config: SchedulerConfig = SchedulerConfig(),
    platforms: Collection[Platform] | None = None,
    services: ServiceLookup | None = None,
    owner: str | None = None,
    clock: Callable[[], float] = time.time,
) -> None:
    """Check the watches of ``platforms`` (default: those with a notifier) until ``stop`` is set.

    ``prober`` is the probe backend (``bot.app.build_probe_backend``: policy, rate limits, audit, workers);
    ``services`` looks up a curated entry by id, for game watches (the knowledge base's ``service``)."""
    scheduler = Scheduler(
        store,
        Checker(prober, services=services, clock=clock),
        notifiers,
        config=config,
        platforms=set(notifiers) if platforms is None else set(platforms),
        owner=owner or owner_name(),
        clock=clock,
    )
    await scheduler.run(stop)


class Scheduler:
    """One scheduler's loop; :func:`run_scheduler` is the way in."""

    def __init__(
        self,
        store: Store,
        checker: Checker,
        notifiers: Notifiers,
        *,
        config: SchedulerConfig,
        platforms: Collection[Platform],
        owner: str,
        clock: Callable[[], float],
    ) -> None:
        self.config = config
        self.owner = owner
        self.leases = Leases(
            store, owner, lease=config.lease, platforms=platforms, min_every=config.min_every
        )
        self.repository = WatchRepository(store, clock=clock)
        self._checker = checker
        self._notifiers = notifiers
        self._clock = clock
        self._checks: set[asyncio.Task[None]] = set()
        self._deliveries: set[asyncio.Task[None]] = set()
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        log.info("watch scheduler %s started (lease %.0f s)", self.owner, self.config.lease)
        failures = 0
        try:
            while not stop.is_set():
                self._wake.clear()  # before the round: a check ending during it still wakes the next wait
                try:
                    busy = await self._tick()
                    failures = 0
                except Exception:  # the database went away: keep trying, slower each time
                    failures += 1
                    log.exception("watch scheduler: a round failed (%d in a row)", failures)
                    busy = False
                    await _wait(stop, None, min(30.0, self.config.poll * 2**failures))
                    continue
                if busy:
                    continue
                if len(self._checks) >= self.config.concurrency:
                    # Full: nothing can be claimed until a check ends (it sets _wake), however overdue.
                    await _wait(stop, self._wake, self.config.poll)
                else:
                    await _wait(stop, self._wake, await self._idle_time())
        finally:
            await self._shutdown()

    async def run_once(self) -> None:
        """Check every watch due now and deliver every alert ready now, then return (``watch run --once``,
        and tests with a fake clock)."""
        try:
            while True:
                busy = await self._tick()
                await asyncio.gather(*self._checks)
                await asyncio.gather(*self._deliveries)
                if not busy:
                    break
            # Alerts confirmed by the checks just run.
            await self._tick_alerts()
            await asyncio.gather(*self._deliveries)
        finally:
            await self._shutdown()

    async def _tick(self) -> bool:
        """Claim and start what is due, and deliver what is ready; True when there may be more right away."""
        now = self._clock()
        room = self.config.concurrency - len(self._checks)
        claimed: list[Claim] = []
        if room > 0:
            claimed = await self.leases.claim(now, min(room, self.config.batch))
            for claim in claimed:
                self._start(self._checks, self._check(claim))
        await self._tick_alerts()
        return len(claimed) == min(room, self.config.batch) and room > 0

    async def _tick_alerts(self) -> None:
        now = self._clock()
        pending = await self.leases.claim_alerts(now, self.config.batch, lease=self.config.alert_lease)
        for alert in pending:
            self._start(self._deliveries, self._deliver(alert))

    async def _idle_time(self) -> float:
        due = await self.leases.next_due(self._clock())
        if due is None:
            return self.config.poll
        return min(self.config.poll, max(0.0, due - self._clock()))

    def _start(self, tasks: set[asyncio.Task[None]], job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(job)
        tasks.add(task)

        def done(finished: asyncio.Task[None]) -> None:
            tasks.discard(finished)
            self._wake.set()  # room for another claim

        task.add_done_callback(done)

    async def _check(self, claim: Claim) -> None:
        watch = claim.watch
        log.debug(
            "claimed watch %d slot %.6f token %d late %.3f",
            watch.id,
            claim.slot,
            claim.token,
            self._clock() - claim.slot,
        )
        try:
            async with asyncio.timeout(self.config.check_timeout):
                summary = await self._checker.check(watch)
        except TimeoutError:
            summary = CheckSummary(Health.UNKNOWN, "error", "The check took too long.", self._clock())
        except Exception:
            log.exception("watch %d: the check failed", watch.id)
            summary = CheckSummary(Health.UNKNOWN, "error", "The check couldn't run.", self._clock())
        try:
            recorded = await self.leases.record(claim, summary, alert_gap=self.config.alert_gap)
        except Exception:
            log.exception("watch %d: could not record the check", watch.id)
            return
        if recorded is None:
            log.warning(
                "watch %d slot %.6f token %d: result dropped (the lease was taken over, or the watch removed)",
                watch.id,
                claim.slot,
                claim.token,
            )
            return
        log.debug(
            "recorded watch %d slot %.6f token %d: %s%s",
            watch.id,
            claim.slot,
            claim.token,
            summary.health,
            f", confirmed change {recorded.change.seq} to {recorded.change.after}" if recorded.change else "",
        )
        if recorded.change is not None:
            log.info(
                "watch %d: %s → %s, alert %d queued",
                watch.id,
                recorded.change.before,
                recorded.change.after,
                recorded.change.seq,
            )
            self._wake.set()  # deliver it now, not at the next poll
        await self._show_status(recorded.after, summary)

    async def _show_status(self, watch: Watch, summary: CheckSummary) -> None:
        notifier = self._notifiers.get(watch.platform)
        if notifier is None:
            return
        try:
            message_id = await notifier.show_status(watch, summary)
            if message_id is not None and message_id != watch.status_message_id:
                await self.repository.set_status_message(watch.id, message_id)
        except Exception:
            log.exception("watch %d: the status message could not be updated", watch.id)

    async def _deliver(self, pending: PendingAlert) -> None:
        watch = await self.repository.get(pending.watch_id)
        if watch is None:  # removed since: its outbox rows went with it
            return
        notifier = self._notifiers.get(watch.platform)
        changes = [change_from(watch, payload) for payload in pending.payloads]
        change = dataclasses.replace(changes[-1], earlier=tuple(changes[:-1]))
        try:
            if notifier is None:
                raise LookupError(f"no notifier for {watch.platform}")
            async with asyncio.timeout(max(1.0, self.config.alert_lease - 5)):
                await notifier.alert(change)
        except Exception as err:
            delay = retry_delay(pending.attempts)
            log.warning(
                "watch %d: alert %d not delivered (%s); next try in %.0f s", watch.id, change.seq, err, delay
            )
            await self.leases.retry_later(pending, self._clock() + delay)
            return
        if await self.leases.delivered(pending, self._clock()):
            log.info("delivered watch %d alerts %s", watch.id, ",".join(str(c.seq) for c in changes))
        else:
            log.warning("watch %d: alert %d was delivered after its lease ran out", watch.id, change.seq)

    async def _shutdown(self) -> None:
        """Stop the checks in flight and give their watches back at once, so another scheduler need not wait
        for the leases to run out; deliveries in flight get a moment to finish."""
        for task in list(self._checks):
            task.cancel()
        await asyncio.gather(*self._checks, return_exceptions=True)
        with contextlib.suppress(Exception):
            await self.leases.release_all()
        if self._deliveries:
            await asyncio.wait(list(self._deliveries), timeout=5)
        await self.leases.close()
        log.info("watch scheduler %s stopped", self.owner)


async def _wait(stop: asyncio.Event, wake: asyncio.Event | None, seconds: float) -> None:
    """Sleep up to ``seconds``, or until ``stop`` (or ``wake``) is set."""
    waiters = [asyncio.ensure_future(stop.wait())]
    if wake is not None:
        waiters.append(asyncio.ensure_future(wake.wait()))
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
