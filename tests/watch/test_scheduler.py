"""The scheduler against real servers on loopback, on SQLite and PostgreSQL, with a fake clock: confirmation,
first state, flapping, one alert per change delivered to a real webhook receiver, fencing, players."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from sqlalchemy import select

from bot.store import Store
from bot.store.tables import watch_alerts
from bot.watch.models import Health, NewWatch, Platform
from bot.watch.repository import WatchRepository
from bot.watch.scheduler import SchedulerConfig
from tests.probes.servers import A2sServer, TcpOpenServer
from tests.watch.conftest import Clock, MakeScheduler, Receiver

EVERY = 60.0


async def _watch(store: Store, clock: Clock, port: int, **extra: Any) -> int:
    repo = WatchRepository(store, clock=clock)
    new = NewWatch(
        platform=Platform.CLI,
        scope_id="cli",
        created_by="t",
        host="127.0.0.1",
        port=port,
        every=EVERY,
        **extra,
    )
    return (await repo.add(new)).id


async def _alerts(store: Store) -> list[dict[str, object]]:
    async with store.connect() as conn:
        rows = (await conn.execute(select(watch_alerts).order_by(watch_alerts.c.id))).mappings().all()
    return [dict(row) for row in rows]


async def _round(make: MakeScheduler, clock: Clock, **options: object) -> None:
    await make(**options).run_once()
    clock.advance(EVERY)


async def test_first_state_is_recorded_without_an_alert(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """The first check sets the state (up) and sends nothing."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    try:
        watch_id = await _watch(store, clock, server.port, notify_url=receiver.url)
        await _round(make_scheduler, clock)
    finally:
        await server.close()
    watch = await WatchRepository(store).get(watch_id)
    assert watch is not None and watch.state is Health.UP and watch.state_since is not None
    assert await _alerts(store) == [] and receiver.bodies == []


async def test_a_change_needs_two_results_and_alerts_once(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """Up, then down twice: one alert, delivered once, after the second down; more downs send nothing."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    watch_id = await _watch(store, clock, server.port, notify_url=receiver.url, label="Survival")
    await _round(make_scheduler, clock)
    await server.close()
    await _round(make_scheduler, clock)
    assert receiver.bodies == []
    watch = await WatchRepository(store).get(watch_id)
    assert watch is not None and (watch.state, watch.candidate, watch.candidate_count) == (
        Health.UP,
        Health.DOWN,
        1,
    )
    await _round(make_scheduler, clock)
    await _round(make_scheduler, clock)
    await _round(make_scheduler, clock)
    assert len(receiver.bodies) == 1
    body = receiver.bodies[0]
    assert (body["type"], body["before"], body["after"], body["seq"]) == (
        "portbot.watch.alert",
        "up",
        "down",
        1,
    )
    assert body["title"] == "Survival went down"
    assert body["reason"].startswith("Closed: 127.0.x.x:")  # the probe's own words, address masked
    assert "127.0.0.1" not in json.dumps(body)
    [alert] = await _alerts(store)
    assert alert["delivered_at"] is not None and alert["attempts"] == 1


async def test_flapping_sends_nothing(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """Up, down, up, down, up: never two in a row, so no change and no alert."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    port = server.port
    await server.close()
    watch_id = await _watch(store, clock, port, notify_url=receiver.url)
    for up in (True, False, True, False, True):
        if up:
            server = TcpOpenServer("127.0.0.1", port)
            await server.start()
        await _round(make_scheduler, clock)
        if up:
            await server.close()
    watch = await WatchRepository(store).get(watch_id)
    assert watch is not None and watch.state is Health.UP
    assert await _alerts(store) == [] and receiver.bodies == []


async def test_back_up_is_one_more_alert(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """Down confirmed, then up confirmed: two alerts, seq 1 and 2, each delivered once."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    port = server.port
    await _watch(store, clock, port, notify_url=receiver.url)
    await _round(make_scheduler, clock)
    await server.close()
    for _ in range(3):
        await _round(make_scheduler, clock)
    server = TcpOpenServer("127.0.0.1", port)
    await server.start()
    try:
        for _ in range(3):
            await _round(make_scheduler, clock)
    finally:
        await server.close()
    assert [(b["seq"], b["after"]) for b in receiver.bodies] == [(1, "down"), (2, "up")]
    assert receiver.bodies[1]["title"] == "Watch #1 is back up"


async def _up_then_down(store: Store, clock: Clock, make: MakeScheduler, url: str, **options: object) -> int:
    """A watch seen up once, then its server stopped and checked down twice (a confirmed change)."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    watch_id = await _watch(store, clock, server.port, notify_url=url)
    await _round(make, clock, **options)
    await server.close()
    await _round(make, clock, **options)
    await _round(make, clock, **options)
    return watch_id


async def test_failed_delivery_is_retried_until_taken(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """A webhook answering 500, then 503, gets the alert again later; once it answers 204, never again."""
    receiver.statuses = [500, 503]
    await _up_then_down(store, clock, make_scheduler, receiver.url)
    for _ in range(4):
        await _round(make_scheduler, clock)  # a minute apart: past each retry delay (5 s, 10 s)
    assert [(b["seq"], b["after"]) for b in receiver.bodies] == [(1, "down")] * 3
    [alert] = await _alerts(store)
    assert alert["delivered_at"] is not None and alert["attempts"] == 3


async def test_changes_inside_the_alert_gap_are_told_together(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """With one alert per 10 minutes, down (told), up and down again within them come as one later message."""
    config = SchedulerConfig(lease=30, alert_gap=600)
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    port = server.port
    await _watch(store, clock, port, notify_url=receiver.url)
    await _round(make_scheduler, clock, config=config)
    await server.close()
    for _ in range(2):
        await _round(make_scheduler, clock, config=config)
    assert len(receiver.bodies) == 1  # down, at once: nothing was sent before
    server = TcpOpenServer("127.0.0.1", port)
    await server.start()
    for _ in range(2):
        await _round(make_scheduler, clock, config=config)
    await server.close()
    for _ in range(2):
        await _round(make_scheduler, clock, config=config)
    assert len(receiver.bodies) == 1  # up and down again: held back
    for _ in range(6):
        await _round(make_scheduler, clock, config=config)
    assert len(receiver.bodies) == 2
    body = receiver.bodies[1]
    assert (body["seq"], [e["seq"] for e in body["earlier"]]) == (3, [2])
    assert body["text"].startswith("127.0.x.x:") and "changed 2 times: up at " in body["text"]
    assert all(a["delivered_at"] is not None for a in await _alerts(store))


async def test_a_late_result_is_refused_by_the_fence(
    store: Store, clock: Clock, make_scheduler: MakeScheduler
) -> None:
    """A scheduler whose lease ran out and was taken over cannot record its result."""
    from bot.watch.notify import CheckSummary

    watch_id = await _watch(store, clock, 9)
    slow, fast = make_scheduler("slow"), make_scheduler("fast")
    [stale] = await slow.leases.claim(clock(), 10)
    assert await fast.leases.claim(clock(), 10) == []  # held
    clock.advance(31)  # past the 30 s lease
    [taken] = await fast.leases.claim(clock(), 10)
    assert (taken.watch.id, taken.slot, taken.token) == (watch_id, stale.slot, stale.token + 1)
    summary = CheckSummary(Health.UP, "open", None, clock())
    assert await slow.leases.record(stale, summary, alert_gap=0) is None
    recorded = await fast.leases.record(taken, summary, alert_gap=0)
    await slow.leases.close()
    await fast.leases.close()
    assert recorded is not None and recorded.after.state is Health.UP


async def test_game_watch_reads_the_players(
    store: Store, clock: Clock, make_scheduler: MakeScheduler
) -> None:
    """A Valheim watch speaks Steam's server query to a real UDP server and keeps its player count."""
    from knowledge._curated import load_services
    from knowledge._paths import PACKAGED, PORTS_FILE

    services = {s.id: s for s in load_services(PACKAGED / PORTS_FILE)}
    server = A2sServer("127.0.0.1", 0, players=3)
    await server.start()
    try:
        watch_id = await _watch(store, clock, server.port, protocol="udp", game="valheim")
        await _round(make_scheduler, clock, services=services.get)
    finally:
        await server.close()
    watch = await WatchRepository(store).get(watch_id)
    assert watch is not None and watch.state is Health.UP
    assert json.loads(watch.last_result or "{}")["players"] == [3, 16]


async def test_an_alert_left_by_a_dead_scheduler_is_delivered_by_another(
    store: Store, clock: Clock, make_scheduler: MakeScheduler, receiver: Receiver
) -> None:
    """The alert is in the outbox from the moment its change commits: if the scheduler that wrote it dies
    before sending it, another sends it, once."""
    from bot.watch.notify import CheckSummary

    watch_id = await _watch(store, clock, 9, notify_url=receiver.url)
    dead = make_scheduler("dead")
    for health in (Health.UP, Health.DOWN, Health.DOWN):  # recorded straight through the leases, never sent
        [claim] = await dead.leases.claim(clock(), 10)
        await dead.leases.record(claim, CheckSummary(health, "x", "Closed.", clock()), alert_gap=0)
        clock.advance(EVERY)
    await dead.leases.close()
    assert len(await _alerts(store)) == 1 and receiver.bodies == []
    await asyncio.gather(make_scheduler("b").run_once(), make_scheduler("c").run_once())
    await make_scheduler("d").run_once()
    assert [(b["watch"]["id"], b["seq"]) for b in receiver.bodies] == [(watch_id, 1)]  # type: ignore[index]


async def test_a_raised_minimum_interval_applies_to_older_watches(
    store: Store, clock: Clock, make_scheduler: MakeScheduler
) -> None:
    """A watch added at every 60 s is checked every 10 minutes once PORTBOT_WATCH_MIN_INTERVAL says 600."""
    watch_id = await _watch(store, clock, 9)
    start = clock()
    await make_scheduler(config=SchedulerConfig(lease=30, alert_gap=0, min_every=600)).run_once()
    watch = await WatchRepository(store).get(watch_id)
    assert watch is not None and watch.next_due == start + 600
