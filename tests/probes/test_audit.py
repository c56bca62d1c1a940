"""The audit log writes every request to SQLite, off the event loop, and reads it back."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest

from probes.audit import PROBED, REFUSED, AuditEntry, AuditLog, default_audit_path
from probes.models import PortResult, ProbeReport, State


def entry(**changes: object) -> AuditEntry:
    base: dict[str, object] = {
        "platform": "discord",
        "user_id": "42",
        "guild_id": "g1",
        "channel_id": "c1",
        "target": "mc.example.org",
        "ports": (25565,),
        "protocol": "auto",
        "outcome": PROBED,
        "vantage": "Frankfurt",
    }
    base.update(changes)
    return AuditEntry(**base)  # type: ignore[arg-type]


async def test_entries_round_trip(tmp_path: Path) -> None:
    """A recorded entry comes back field for field."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    report = ProbeReport(
        target="mc.example.org",
        host="mc.example.org",
        vantage="Frankfurt",
        results=(PortResult("198.51.100.7", 25565, "tcp", State.OPEN, "syn-ack", 12.0),),
    )
    written = entry(addresses=("198.51.100.7",), verdicts=AuditEntry.verdicts_of(report))
    await log.record(written)
    await log.flush()
    assert await log.recent() == [written]
    await log.close()


async def test_refusals_are_stored_with_their_category(tmp_path: Path) -> None:
    """A refusal row keeps the category and the message."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    await log.record(entry(outcome=REFUSED, category="loopback", detail="127.0.0.1 is a loopback address"))
    await log.close()
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    try:
        rows = db.execute("SELECT outcome, category, detail, verdicts FROM probes").fetchall()
    finally:
        db.close()
    assert rows == [("refused", "loopback", "127.0.0.1 is a loopback address", "[]")]


async def test_many_entries_are_written_in_order(tmp_path: Path) -> None:
    """A burst of entries all lands, newest first when read."""
    log = AuditLog(tmp_path / "audit.sqlite3")
    for i in range(200):
        await log.record(entry(user_id=str(i)))
    await log.flush()
    rows = await log.recent(limit=500)
    assert [r.user_id for r in rows] == [str(i) for i in reversed(range(200))]
    await log.close()


async def test_closing_writes_at_once_without_sitting_out_the_linger(tmp_path: Path) -> None:
    """close() writes a row that is still waiting for company now, not when the linger is over."""
    log = AuditLog(tmp_path / "audit.sqlite3", linger=30.0)
    await log.record(entry(user_id="early"))
    async with asyncio.timeout(10):  # no task of its own: close() runs before the writer has even started
        await log.close()
    db = sqlite3.connect(tmp_path / "audit.sqlite3")
    try:
        rows = db.execute("SELECT user_id FROM probes").fetchall()
    finally:
        db.close()
    assert rows == [("early",)]


def test_default_path_ignores_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Given no path, the log lives under ~/.local/share/portbot: PORTBOT_DATA_DIR is the settings' to read."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path / "ignored"))
    expected = tmp_path / "home" / ".local" / "share" / "portbot" / "audit.sqlite3"
    assert default_audit_path() == expected
    assert AuditLog().path == expected


async def test_log_creates_missing_directories(tmp_path: Path) -> None:
    """The data directory is created on first write."""
    log = AuditLog(tmp_path / "a" / "b" / "audit.sqlite3")
    await log.record(entry())
    await log.close()
    assert (tmp_path / "a" / "b" / "audit.sqlite3").exists()
