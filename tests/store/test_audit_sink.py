"""The audit log in the store: every bot and worker process writes one log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.store import Store, database_url_for, open_store
from bot.store.audit import SWEEP_EVERY, StoreAuditSink
from probes.audit import REFUSED, AuditEntry, AuditLog
from probes.models import PortResult, ProbeReport, State
from tests.probes.test_audit import entry


async def test_entries_round_trip(state_db: Store) -> None:
    """A recorded entry comes back field for field from the store."""
    log = AuditLog(sink=StoreAuditSink(state_db))
    report = ProbeReport(
        target="mc.example.org",
        host="mc.example.org",
        vantage="Frankfurt",
        results=(PortResult("198.51.100.7", 25565, "tcp", State.OPEN, "syn-ack", 12.0),),
    )
    written = entry(addresses=("198.51.100.7",), verdicts=AuditEntry.verdicts_of(report))
    refused = entry(outcome=REFUSED, category="loopback", detail="127.0.0.1 is a loopback address")
    await log.record(written)
    await log.record(refused)
    await log.flush()
    assert await log.recent() == [refused, written]
    await log.close()


async def test_two_processes_write_one_log(database_url: str, tmp_path: Path) -> None:
    """A bot and a worker (two stores on one database) each audit; either reads both rows, newest first."""
    url = database_url_for(database_url, tmp_path)
    bot_db, worker_db = await open_store(url), await open_store(url)
    try:
        bot_log = AuditLog(sink=StoreAuditSink(bot_db))
        worker_log = AuditLog(sink=StoreAuditSink(worker_db))
        for i in range(50):
            await (bot_log if i % 2 else worker_log).record(entry(user_id=str(i)))
            await (bot_log if i % 2 else worker_log).flush()
        await bot_log.close()
        await worker_log.close()
        rows = await AuditLog(sink=StoreAuditSink(bot_db)).recent(limit=100)
        assert [r.user_id for r in rows] == [str(i) for i in reversed(range(50))]
    finally:
        await bot_db.close()
        await worker_db.close()


async def test_a_worker_audits_into_the_store(state_db: Store) -> None:
    """A signed probe request to a real worker built with the store's sink (as `portbot worker` wires it)
    leaves its row in audit_log once the worker stops."""
    from aiohttp import web

    from probes.client import WorkerClient
    from probes.models import ProbeRequest, Requester
    from probes.policy import SafetyPolicy
    from probes.worker import WorkerConfig, create_app
    from tests.probes._probers import StaticProber

    config = WorkerConfig(
        secret="s" * 40,
        region="Frankfurt",
        policy=SafetyPolicy.from_strings(allow=["198.51.100.0/24"]),
        audit_sink=StoreAuditSink(state_db),
    )
    runner = web.AppRunner(create_app(config, StaticProber()))
    await runner.setup()
    try:
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        client = WorkerClient([f"http://127.0.0.1:{runner.addresses[0][1]}"], "s" * 40)
        try:
            await client.probe(
                ProbeRequest(target="198.51.100.7", ports=(25565,)),
                requester=Requester("slack", "U1", "T1", "C1"),
            )
        finally:
            await client.aclose()
    finally:
        await runner.cleanup()  # flushes the audit log
    rows = await StoreAuditSink(state_db).read(10)
    assert [(r.platform, r.user_id, r.target, r.outcome, r.vantage) for r in rows] == [
        ("slack", "U1", "198.51.100.7", "probed", "Frankfurt")
    ]


async def test_a_bots_probe_backend_audits_into_the_store(
    state_db: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The bots' probe backend (bot/app.py, given the process's store) writes its rows to audit_log, not to the
    audit file."""
    import socket

    from bot.app import build_probe_backend
    from bot.settings import Settings
    from probes.models import ProbeRequest, Requester

    monkeypatch.setenv("PORTBOT_ALLOW_NETWORKS", "127.0.0.0/8")
    settings = Settings.load(env_file=None)
    backend = build_probe_backend(settings, database=state_db)
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        try:
            await backend.probe(
                ProbeRequest("127.0.0.1", (port,), "tcp"), Requester("discord", "7", "g", "c")
            )
        finally:
            await backend.aclose()  # flushes the audit log
    [row] = await StoreAuditSink(state_db).read(10)
    assert (row.platform, row.user_id, row.target, row.outcome) == ("discord", "7", "127.0.0.1", "probed")
    assert not settings.portbot.audit_path.exists()


async def test_rows_past_their_keep_days_are_deleted_as_the_log_writes(state_db: Store) -> None:
    """With 30 days kept, the first batch deletes rows written 31 days ago and keeps those of 29 days ago; the
    next batch within the hour sweeps nothing, the first after it does."""
    today = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
    now, clock = [today], [0.0]
    sink = StoreAuditSink(state_db, keep_days=30, now=lambda: now[0], clock=lambda: clock[0])
    forever = StoreAuditSink(state_db)  # keep_days None: writes without sweeping
    await forever.write([entry(time=today - timedelta(days=31), target="old.example.com")])
    await forever.write([entry(time=today - timedelta(days=29), target="recent.example.com")])
    await sink.write([entry(time=today, target="today.example.com")])
    assert {e.target for e in await sink.read(10)} == {"recent.example.com", "today.example.com"}
    now[0] += timedelta(
        days=2
    )  # "recent" is 31 days old now, but the hour since the last sweep hasn't passed
    await sink.write([entry(time=now[0], target="later.example.com")])
    assert "recent.example.com" in {e.target for e in await sink.read(10)}
    clock[0] += SWEEP_EVERY
    await sink.write([entry(time=now[0], target="an.hour.later.example.com")])
    assert "recent.example.com" not in {e.target for e in await sink.read(10)}


async def test_keep_days_none_keeps_every_row(state_db: Store) -> None:
    """PORTBOT_AUDIT_KEEP_DAYS=0 (None here) never deletes, however old the rows."""
    sink = StoreAuditSink(state_db)
    await sink.write([entry(time=datetime(2020, 1, 1, tzinfo=UTC), target="ancient.example.com")])
    await sink.write([entry(time=datetime.now(UTC) - timedelta(days=1), target="new.example.com")])
    assert {e.target for e in await sink.read(10)} == {"ancient.example.com", "new.example.com"}
