"""The scheduler's statements: claim due watches under a lease, record a result fenced by that lease, and the
alert outbox (written with the change, delivered afterwards under a lease of its own).

No queue of our own: the ``watches`` row is the job. A claim is one ``UPDATE … WHERE id IN (SELECT … FOR UPDATE
SKIP LOCKED) RETURNING``: on PostgreSQL concurrent schedulers skip each other's rows instead of waiting; on
SQLite the same statement without the lock clause runs under ``BEGIN IMMEDIATE`` (bot/store/_engine.py), which
serialises writers. A claim bumps ``lease_token``; a result is recorded only while the token is still the one
claimed, so a scheduler presumed dead (its lease expired and another took the watch) can never write late.

A lease outlives the longest a check may take (the scheduler cancels a check that runs over), so a live
scheduler never loses a lease it is still using.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import math
from collections.abc import AsyncIterator, Collection
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import and_, case, func, insert, or_, select, update

from bot.store import Store
from bot.store.tables import watch_alerts, watches
from bot.watch import confirm
from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import Change, CheckSummary
from bot.watch.repository import from_row


@dataclass(frozen=True, slots=True)
class Claim:
    """A watch this scheduler holds: ``slot`` is the due time it is checked for, ``token`` fences the result."""

    watch: Watch
    slot: float
    token: int


@dataclass(frozen=True, slots=True)
class Recorded:
    """What recording one result did: the change it confirmed (with its outbox ``seq``), if any."""

    watch: Watch  # before this result
    after: Watch  # with this result applied
    summary: CheckSummary
    change: Change | None
    first: bool


@dataclass(frozen=True, slots=True)
class PendingAlert:
    """Outbox rows of one watch claimed for delivery, oldest first; ``lease`` fences marking them delivered."""

    watch_id: int
    ids: tuple[int, ...]
    payloads: tuple[dict[str, Any], ...]
    lease: float
    attempts: int


def next_slot(slot: float, every: float, now: float) -> float:
    """The due time after ``slot``: one interval on; or, when that has passed already (a scheduler was down,
    a lease ran out), one interval from now: the check just made stands for the ones missed, so a late watch
    is not checked twice in a row."""
    following = slot + every
    return following if following > now else now + every


class Leases:
    """The lease statements of one scheduler, ``owner``, on ``store``."""

    def __init__(
        self,
        store: Store,
        owner: str,
        *,
        lease: float,
        platforms: Collection[Platform],
        min_every: float = 0.0,
    ) -> None:
        self.store = store
        self.min_every = min_every
        self.owner = owner
        self.lease = lease
        self._platforms = sorted(str(p) for p in platforms)
        # SQLite has one writer at a time: this process's own writers take turns here, on the event loop, rather
        # than in SQLite's busy handler, which sleeps in growing steps (before this, with 32 checks in flight, a
        # record waited up to 3.7 s; bench/watch_bench.py). PostgreSQL needs no turns.
        self._turn = asyncio.Lock() if not store.is_postgresql else None
        self._conn: Any = None  # SQLite: one connection kept for this scheduler's statements

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        """A write transaction. On SQLite, on a connection kept open: opening one per statement (the store's
        default) costs a thread and four PRAGMAs each time, most of a check's CPU in the bench."""
        if self._turn is None:
            async with self.store.begin() as conn:
                yield conn
            return
        async with self._turn:
            if self._conn is None:
                self._conn = await self.store.engine.connect()
            try:
                async with self._conn.begin():
                    yield self._conn
            except BaseException:
                await self._drop()
                raise

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()

    async def close(self) -> None:
        """Close the kept connection (SQLite)."""
        if self._turn is None:
            return
        async with self._turn:
            await self._drop()

    async def claim(self, now: float, limit: int) -> list[Claim]:
        """Take up to ``limit`` due watches that nobody holds (or whose holder's lease ran out)."""
        free = or_(watches.c.lease_until.is_(None), watches.c.lease_until <= now)
        mine = and_(watches.c.next_due <= now, free, watches.c.platform.in_(self._platforms))
        due = select(watches.c.id).where(mine).order_by(watches.c.next_due, watches.c.id).limit(limit)
        if self.store.is_postgresql:
            due = due.with_for_update(skip_locked=True)
        statement = (
            update(watches)
            # The outer conditions again: a row another scheduler claimed meanwhile is re-checked against them
            # (PostgreSQL re-reads a row it waited for) and left alone.
            .where(watches.c.id.in_(due.scalar_subquery()), mine)
            .values(
                lease_owner=self.owner,
                lease_until=now + self.lease,
                lease_token=watches.c.lease_token + 1,
            )
            .returning(*watches.c)
        )
        async with self._transaction() as conn:
            rows = (await conn.execute(statement)).mappings().all()
        claims = [Claim(from_row(row), float(row["next_due"]), int(row["lease_token"])) for row in rows]
        return sorted(claims, key=lambda c: (c.slot, c.watch.id))

    async def next_due(self, now: float) -> float | None:
        """When the earliest watch this scheduler could claim falls due (None: there are none). A held watch
        counts from when its lease runs out, in case its holder died."""
        held = watches.c.lease_until > now
        when = case((held, func.max(watches.c.next_due, watches.c.lease_until)), else_=watches.c.next_due)
        if self.store.is_postgresql:
            when = case(
                (held, func.greatest(watches.c.next_due, watches.c.lease_until)), else_=watches.c.next_due
            )
        query = select(func.min(when)).where(watches.c.platform.in_(self._platforms))
        async with self._transaction() as conn:
            value = await conn.scalar(query)
        return None if value is None else float(value)

    async def record(self, claim: Claim, summary: CheckSummary, *, alert_gap: float) -> Recorded | None:
        """Store ``summary`` as the result of ``claim`` and release the lease, in one transaction with the
        alert of the change it confirms. None when the lease was lost (taken over, or the watch removed)."""
        watch = claim.watch
        now = summary.checked_at
        result = confirm.step(
            confirm.Tally(watch.state, watch.candidate, watch.candidate_count), summary.health
        )
        tally = result.tally
        values: dict[str, Any] = {
            "lease_owner": None,
            "lease_until": None,
            "next_due": next_slot(claim.slot, max(watch.every, self.min_every), now),
            "state": None if tally.state is None else str(tally.state),
            "candidate": None if tally.candidate is None else str(tally.candidate),
            "candidate_count": tally.count,
            "last_checked": now,
            "last_result": json.dumps(_summary_dict(summary)),
        }
        if result.first or result.changed:
            values["state_since"] = now
        if result.changed:
            values["changes"] = watches.c.changes + 1
        fenced = update(watches).where(
            watches.c.id == watch.id,
            watches.c.lease_token == claim.token,
            watches.c.lease_owner == self.owner,
        )
        async with self._transaction() as conn:
            row = (await conn.execute(fenced.values(**values).returning(watches.c.changes))).first()
            if row is None:
                return None
            change = None
            if result.changed:
                assert result.before is not None and tally.state is not None
                change = Change(watch, int(row[0]), result.before, tally.state, summary, now)
                await conn.execute(
                    insert(watch_alerts).values(
                        watch_id=watch.id,
                        seq=change.seq,
                        created_at=now,
                        payload=json.dumps(_change_dict(change)),
                        lease_until=await self._not_before(conn, watch.id, now, alert_gap),
                    )
                )
        after = dataclasses.replace(
            watch,
            next_due=values["next_due"],
            state=tally.state,
            state_since=values.get("state_since", watch.state_since),
            candidate=tally.candidate,
            candidate_count=tally.count,
            last_checked=now,
            last_result=values["last_result"],
        )
        return Recorded(watch, after, summary, change, result.first)

    async def release_all(self) -> None:
        """Give back every watch this scheduler holds (on a clean stop), due as they were."""
        async with self._transaction() as conn:
            await conn.execute(
                update(watches)
                .where(watches.c.lease_owner == self.owner)
                .values(lease_owner=None, lease_until=None)
            )

    async def _not_before(self, conn: Any, watch_id: int, now: float, gap: float) -> float | None:
        """When a new alert of ``watch_id`` may go out: with the ones still waiting, or ``gap`` after the last
        one sent. (An undelivered row's ``lease_until`` is its not-before time, or its delivery lease.)"""
        waiting = await conn.scalar(
            select(func.max(func.coalesce(watch_alerts.c.lease_until, now))).where(
                watch_alerts.c.watch_id == watch_id, watch_alerts.c.delivered_at.is_(None)
            )
        )
        if waiting is not None:
            return max(float(waiting), now)
        last = await conn.scalar(
            select(func.max(watch_alerts.c.delivered_at)).where(watch_alerts.c.watch_id == watch_id)
        )
        if last is not None and float(last) + gap > now:
            return float(last) + gap
        return None

    async def claim_alerts(self, now: float, limit: int, *, lease: float) -> list[PendingAlert]:
        """Take the undelivered alerts of up to ``limit`` watches whose alerts are all ready (none held back by
        the rate limit, none being delivered elsewhere), to send as one message per watch."""
        ready_at = func.coalesce(watch_alerts.c.lease_until, 0.0)
        ready = (
            select(watch_alerts.c.watch_id)
            .join(watches, watches.c.id == watch_alerts.c.watch_id)
            .where(watch_alerts.c.delivered_at.is_(None), watches.c.platform.in_(self._platforms))
            .group_by(watch_alerts.c.watch_id)
            .having(func.max(ready_at) <= now)
            .limit(limit)
        )
        statement = (
            update(watch_alerts)
            .where(
                watch_alerts.c.watch_id.in_(ready.scalar_subquery()),
                watch_alerts.c.delivered_at.is_(None),
                ready_at <= now,  # re-checked on a row another scheduler claimed meanwhile
            )
            .values(lease_until=now + lease, attempts=watch_alerts.c.attempts + 1)
            .returning(
                watch_alerts.c.id, watch_alerts.c.watch_id, watch_alerts.c.payload, watch_alerts.c.attempts
            )
        )
        async with self._transaction() as conn:
            rows = (await conn.execute(statement)).all()
        grouped: dict[int, list[Any]] = {}
        for row in sorted(rows, key=lambda r: int(r[0])):
            grouped.setdefault(int(row[1]), []).append(row)
        return [
            PendingAlert(
                watch_id=watch_id,
                ids=tuple(int(r[0]) for r in group),
                payloads=tuple(json.loads(r[2]) for r in group),
                lease=now + lease,
                attempts=max(int(r[3]) for r in group),
            )
            for watch_id, group in grouped.items()
        ]

    async def delivered(self, pending: PendingAlert, now: float) -> bool:
        """Mark ``pending`` delivered; False if its lease ran out and another scheduler took it."""
        return await self._settle(pending, delivered_at=now, lease_until=None)

    async def retry_later(self, pending: PendingAlert, at: float) -> bool:
        """Put ``pending`` back, to be tried again at ``at``."""
        return await self._settle(pending, delivered_at=None, lease_until=at)

    async def _settle(
        self, pending: PendingAlert, *, delivered_at: float | None, lease_until: float | None
    ) -> bool:
        statement = (
            update(watch_alerts)
            .where(watch_alerts.c.id.in_(pending.ids), watch_alerts.c.lease_until == pending.lease)
            .values(delivered_at=delivered_at, lease_until=lease_until)
        )
        async with self._transaction() as conn:
            result = await conn.execute(statement)
        return bool(result.rowcount == len(pending.ids))


def retry_delay(attempts: int) -> float:
    """Seconds before delivery attempt ``attempts + 1``: 5 s, doubling, at most an hour."""
    return float(min(3600.0, 5.0 * math.pow(2, max(0, attempts - 1))))


def change_from(watch: Watch, payload: dict[str, Any]) -> Change:
    """The :class:`Change` an outbox row's payload describes; ``watch`` as it is now, with the state it left
    (and since when) as it was then."""
    summary = payload["summary"]
    players = summary.get("players")
    before = dataclasses.replace(
        watch, state=Health(payload["before"]), state_since=payload.get("before_since")
    )
    return Change(
        watch=before,
        seq=int(payload["seq"]),
        before=Health(payload["before"]),
        after=Health(payload["after"]),
        summary=CheckSummary(
            health=Health(summary["health"]),
            state=str(summary["state"]),
            reason=summary.get("reason"),
            checked_at=float(summary["checked_at"]),
            latency_ms=summary.get("latency_ms"),
            players=None if players is None else (int(players[0]), int(players[1])),
            version=summary.get("version"),
        ),
        at=float(payload["at"]),
    )


def summary_from(text: str | None) -> CheckSummary | None:
    """A watch's ``last_result`` column read back."""
    if not text:
        return None
    data = json.loads(text)
    players = data.get("players")
    return CheckSummary(
        health=Health(data["health"]),
        state=str(data["state"]),
        reason=data.get("reason"),
        checked_at=float(data["checked_at"]),
        latency_ms=data.get("latency_ms"),
        players=None if players is None else (int(players[0]), int(players[1])),
        version=data.get("version"),
    )


def _summary_dict(summary: CheckSummary) -> dict[str, Any]:
    data = asdict(summary)
    data["health"] = str(summary.health)
    return data


def _change_dict(change: Change) -> dict[str, Any]:
    return {
        "seq": change.seq,
        "before": str(change.before),
        "after": str(change.after),
        "at": change.at,
        "before_since": change.watch.state_since,
        "summary": _summary_dict(change.summary),
    }
