"""Upgrading in place: the per-file SQLite databases of older Portbots are imported into the store once.

The old files are made here with the old code's own schema (copied from bot/discord/guild_settings.py,
bot/discord/saved_servers.py, bot/slack/workspace.py and probes/audit.py as they were before the store), and
with slack_sdk's SQLite3InstallationStore, which the old Slack app used.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from pathlib import Path

import pytest
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

import tests.bot.discord  # noqa: F401 - first: it quiets discord.py's audioop warning on import
from bot.discord.guild_settings import GuildSettings, GuildSettingsStore
from bot.discord.saved_servers import SavedServerStore
from bot.slack.workspace import WorkspaceStore
from bot.store import LazyStore, Store, database_url_for, open_store
from bot.store.audit import StoreAuditSink
from bot.store.legacy import import_legacy

CLIENT_ID = "1234567890.0987654321"

OLD_DISCORD = """
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id TEXT PRIMARY KEY,
    probes_private INTEGER NOT NULL,
    knowledge_private INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS user_servers (user_id TEXT PRIMARY KEY, host TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS guild_servers (guild_id TEXT PRIMARY KEY, host TEXT NOT NULL);
INSERT INTO guild_settings VALUES ('111', 1, 1), ('222', 1, 0);
INSERT INTO user_servers VALUES ('7', 'home.example.net');
INSERT INTO guild_servers VALUES ('111', 'mc.example.com');
"""
OLD_SLACK = """
CREATE TABLE IF NOT EXISTS workspace_settings (team_id TEXT PRIMARY KEY, knowledge_private INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS welcomed (team_id TEXT NOT NULL, user_id TEXT NOT NULL, PRIMARY KEY (team_id, user_id));
INSERT INTO workspace_settings VALUES ('T1', 1);
INSERT INTO welcomed VALUES ('T1', 'U1'), ('-', 'U2');
"""
OLD_AUDIT = """
CREATE TABLE IF NOT EXISTS probes (
    id          INTEGER PRIMARY KEY,
    time        TEXT NOT NULL,
    platform    TEXT NOT NULL,
    user_id     TEXT NOT NULL,
    guild_id    TEXT,
    channel_id  TEXT,
    target      TEXT NOT NULL,
    addresses   TEXT NOT NULL,
    ports       TEXT NOT NULL,
    protocol    TEXT NOT NULL,
    outcome     TEXT NOT NULL,
    category    TEXT,
    verdicts    TEXT NOT NULL,
    vantage     TEXT NOT NULL,
    detail      TEXT
);
CREATE INDEX IF NOT EXISTS probes_time ON probes (time);
CREATE INDEX IF NOT EXISTS probes_user ON probes (platform, user_id);
"""


def old_files(data_dir: Path, audit_rows: int = 3) -> dict[Path, str]:
    """The four files an older Portbot left in its data dir; returns each file's digest, to show they are kept."""
    data_dir.mkdir(parents=True, exist_ok=True)
    for name, script in (
        ("discord.sqlite3", OLD_DISCORD),
        ("slack.sqlite3", OLD_SLACK),
        ("audit.sqlite3", OLD_AUDIT),
    ):
        with sqlite3.connect(data_dir / name) as db:
            db.executescript(script)
    with sqlite3.connect(data_dir / "audit.sqlite3") as db:
        db.executemany(
            "INSERT INTO probes (time, platform, user_id, guild_id, channel_id, target, addresses, ports, "
            "protocol, outcome, category, verdicts, vantage, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            [
                (
                    f"2026-11-0{1 + i % 9}T10:00:00+00:00",
                    "discord",
                    str(i),
                    "g1",
                    "c1",
                    "mc.example.org",
                    '["198.51.100.7"]',
                    "[25565]",
                    "auto",
                    "probed",
                    None,
                    "[]",
                    "Frankfurt",
                    None,
                )
                for i in range(audit_rows)
            ],
        )
    old = SQLite3InstallationStore(
        database=str(data_dir / "slack-installations.sqlite3"), client_id=CLIENT_ID
    )
    old.save(
        Installation(
            app_id="A1",
            enterprise_id=None,
            team_id="T1",
            team_name="Example",
            user_id="U1",
            bot_token="xoxb-old-token",
            bot_id="B1",
            bot_user_id="UB1",
            bot_scopes="commands,chat:write",
            installed_at=time.time() - 86_400,
        )
    )
    return {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in data_dir.glob("*.sqlite3")}


async def test_an_old_deployment_keeps_everything(database_url: str, tmp_path: Path) -> None:
    """Settings, saved servers, workspaces, welcomes, audit rows and the Slack install all read back through
    the new stores after the import, and the old files are untouched."""
    data = tmp_path / "data"
    digests = old_files(data)
    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        imported = await import_legacy(store, data)
        assert imported == {
            "discord.sqlite3": 4,
            "slack.sqlite3": 3,
            "audit.sqlite3": 3,
            "slack-installations.sqlite3": 2,
        }
        assert await GuildSettingsStore(store).get(111) == GuildSettings(True, True)
        saved = SavedServerStore(store)
        assert (await saved.user(7), await saved.guild(111)) == ("home.example.net", "mc.example.com")
        workspace = WorkspaceStore(store)
        assert (await workspace.get("T1")).knowledge_private is True
        assert await workspace.first_welcome("T1", "U1") is False
        assert await workspace.first_welcome(None, "U2") is False
        rows = await StoreAuditSink(store).read(10)
        assert sorted(r.user_id for r in rows) == ["0", "1", "2"]
        installations = AsyncSQLAlchemyInstallationStore(client_id=CLIENT_ID, engine=store.engine)
        found = await installations.async_find_installation(enterprise_id=None, team_id="T1")
        assert found is not None and found.bot_token == "xoxb-old-token"
        bot = await installations.async_find_bot(enterprise_id=None, team_id="T1")
        assert bot is not None and bot.bot_token == "xoxb-old-token"
    finally:
        await store.close()
    assert {path: hashlib.sha256(path.read_bytes()).hexdigest() for path in data.glob("*.sqlite3")} == digests


async def test_the_import_runs_once(database_url: str, tmp_path: Path) -> None:
    """A second start imports nothing, and a setting changed since the import is not put back."""
    data = tmp_path / "data"
    old_files(data)
    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        await import_legacy(store, data)
        await GuildSettingsStore(store).update(111, knowledge_private=False)
        assert await import_legacy(store, data) == {}
        assert (await GuildSettingsStore(store).get(111)).knowledge_private is False
        assert len(await StoreAuditSink(store).read(100)) == 3
    finally:
        await store.close()


async def test_processes_starting_together_import_once(database_url: str, tmp_path: Path) -> None:
    """Four processes' worth of stores opening the upgraded version at once: each old row lands once."""
    data = tmp_path / "data"
    old_files(data, audit_rows=500)
    url = database_url_for(database_url, tmp_path)
    stores = [LazyStore(url, legacy_dir=data) for _ in range(4)]
    try:
        await asyncio.gather(*(store.get() for store in stores))
        rows = await StoreAuditSink(stores[0]).read(10_000)
        assert len(rows) == 500
    finally:
        for store in stores:
            await store.close()


async def test_the_import_says_so_in_one_line(
    state_db: Store, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """One INFO line names the files and row counts, and that the old files are kept; a password never shows."""
    data = tmp_path / "data"
    old_files(data)
    with caplog.at_level(logging.INFO, logger="portbot.store"):
        await import_legacy(state_db, data)
        await import_legacy(state_db, data)
    lines = [
        r.getMessage() for r in caplog.records if r.name == "portbot.store" and "imported" in r.getMessage()
    ]
    assert len(lines) == 1
    assert "discord.sqlite3: 4 rows" in lines[0] and "audit.sqlite3: 3 rows" in lines[0]
    assert lines[0].endswith("the old files are kept")


async def test_a_data_dir_without_old_files_imports_nothing(state_db: Store, tmp_path: Path) -> None:
    """A new deployment has nothing to import and records nothing."""
    assert await import_legacy(state_db, tmp_path / "empty") == {}


async def test_an_audit_file_set_by_portbot_audit_db_is_found(state_db: Store, tmp_path: Path) -> None:
    """PORTBOT_AUDIT_DB pointed the old log elsewhere: that file is the one imported."""
    elsewhere = tmp_path / "logs" / "probes.sqlite3"
    elsewhere.parent.mkdir()
    with sqlite3.connect(elsewhere) as db:
        db.executescript(OLD_AUDIT)
        db.execute(
            "INSERT INTO probes (time, platform, user_id, target, addresses, ports, protocol, outcome, "
            "verdicts, vantage) VALUES ('2026-11-01T10:00:00+00:00', 'slack', 'U9', 'a.example', '[]', '[22]', "
            "'tcp', 'refused', '[]', 'here')"
        )
    assert await import_legacy(state_db, tmp_path / "data", audit_path=elsewhere) == {"audit.sqlite3": 1}
    [row] = await StoreAuditSink(state_db).read(10)
    assert (row.user_id, row.outcome) == ("U9", "refused")


async def test_each_machines_old_audit_log_is_imported_once(state_db: Store, tmp_path: Path) -> None:
    """Two workers' data dirs each had an audit.sqlite3: both logs land, and each only once."""
    first, second = tmp_path / "fra", tmp_path / "nyc"
    for data, user in ((first, "a"), (second, "b")):
        data.mkdir()
        with sqlite3.connect(data / "audit.sqlite3") as db:
            db.executescript(OLD_AUDIT)
            db.execute(
                "INSERT INTO probes (time, platform, user_id, target, addresses, ports, protocol, outcome, "
                "verdicts, vantage) VALUES ('2026-11-01T10:00:00+00:00', 'discord', ?, 'a.example', '[]', '[22]', "
                "'tcp', 'probed', '[]', ?)",
                (user, data.name),
            )
    for data in (first, second, first, second):
        await import_legacy(state_db, data)
    rows = await StoreAuditSink(state_db).read(10)
    assert sorted((r.user_id, r.vantage) for r in rows) == [("a", "fra"), ("b", "nyc")]
