"""Upgrade in place from the per-file SQLite databases older Portbots kept in PORTBOT_DATA_DIR.

On the first start with the store (or ``portbot db upgrade``), each old file's rows are copied in, once: a row in
``legacy_imports`` per file (per audit log, as each machine kept its own), written in the same transaction as the
rows it records, so a crash imports nothing and a second process starting at the same moment waits for the first
and then skips (PostgreSQL's unique key, or SQLite's write lock). The old files are left where they are,
untouched (opened read-only), so going back to the old version loses nothing it had. The rows of one file are
read into memory at once: fine for the sizes these files reach (bench/results/state.md: 50,000 audit rows in
about 3 s).

| old file (PORTBOT_DATA_DIR)   | old tables                               | now                            |
| ----------------------------- | ---------------------------------------- | ------------------------------ |
| discord.sqlite3               | guild_settings, user_servers, guild_servers | guild_settings, saved_servers |
| slack.sqlite3                 | workspace_settings, welcomed             | slack_workspaces, slack_welcomed |
| audit.sqlite3 (PORTBOT_AUDIT_DB) | probes                                | audit_log                      |
| slack-installations.sqlite3   | slack_installations, slack_bots (slack_sdk's SQLite3InstallationStore) | the same names |
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import Table, insert, update

from bot.store._engine import redacted
from bot.store._shared import Database, upsert
from bot.store.tables import (
    audit_log,
    guild_settings,
    legacy_imports,
    saved_servers,
    slack_bots,
    slack_installations,
    slack_welcomed,
    slack_workspaces,
)

log = logging.getLogger("portbot.store")

DISCORD_FILE = "discord.sqlite3"
SLACK_FILE = "slack.sqlite3"
AUDIT_FILE = "audit.sqlite3"
INSTALLATIONS_FILE = "slack-installations.sqlite3"

_AUDIT_COLUMNS = (
    "time, platform, user_id, guild_id, channel_id, target, addresses, ports, protocol, outcome, category, "
    "verdicts, vantage, detail"
)
_CHUNK = 1000  # audit rows per INSERT: a big old log goes in without one huge statement


@dataclass
class _Rows:
    """What one old file holds, per table of the store."""

    # (table, rows, keyed): keyed rows already in the store (changed since) are kept, not overwritten.
    tables: list[tuple[Table, list[dict[str, Any]], bool]] = field(default_factory=list)
    # Tells apart files of the same name on different machines (each worker kept its own audit.sqlite3), so
    # each is imported once; the same file seen again (a restart, a second process) has the same mark.
    mark: str = ""

    @property
    def count(self) -> int:
        return sum(len(rows) for _, rows, _ in self.tables)


async def import_legacy(
    database: Database, data_dir: Path, *, audit_path: Path | None = None
) -> dict[str, int]:
    """Copy the old files' rows in, each file once ever. Returns {file: rows} for the files imported now."""
    sources = {
        DISCORD_FILE: (data_dir / DISCORD_FILE, _discord),
        SLACK_FILE: (data_dir / SLACK_FILE, _slack),
        AUDIT_FILE: (audit_path or data_dir / AUDIT_FILE, _audit),
        INSTALLATIONS_FILE: (data_dir / INSTALLATIONS_FILE, _installations),
    }
    imported: dict[str, int] = {}
    for source, (path, read) in sources.items():
        if not path.is_file():
            continue
        rows = await asyncio.to_thread(read, path)
        if await _import(database, f"{source}:{rows.mark}" if rows.mark else source, rows):
            imported[source] = rows.count
    if imported:
        url = getattr(database, "url", "")
        log.info(
            "imported the old SQLite files into the database %s (%s); the old files are kept",
            redacted(url),
            ", ".join(f"{name}: {count} rows" for name, count in imported.items()),
        )
    return imported


async def _import(database: Database, source: str, rows: _Rows) -> bool:
    async with database.begin() as conn:
        claimed = await conn.execute(
            upsert(database, legacy_imports)
            .values(source=source, imported_at=time.time(), rows=rows.count)
            .on_conflict_do_nothing(index_elements=["source"])
        )
        if claimed.rowcount != 1:
            return False  # imported before, or by another process just now
        for table, values, keyed in rows.tables:
            for start in range(0, len(values), _CHUNK):
                chunk = values[start : start + _CHUNK]
                # Something written through the new store already (a setting changed since) wins.
                statement = upsert(database, table).on_conflict_do_nothing() if keyed else insert(table)
                await conn.execute(statement, chunk)
        await conn.execute(
            update(legacy_imports).where(legacy_imports.c.source == source).values(rows=rows.count)
        )
    return True


def _open(path: Path) -> sqlite3.Connection:
    # Read-only: the old file stays exactly as the old version left it.
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30.0)


def _has(db: sqlite3.Connection, table: str) -> bool:
    return (
        db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)).fetchone()
        is not None
    )


def _discord(path: Path) -> _Rows:
    rows = _Rows()
    db = _open(path)
    try:
        if _has(db, "guild_settings"):
            found = db.execute(
                "SELECT guild_id, probes_private, knowledge_private FROM guild_settings"
            ).fetchall()
            rows.tables.append(
                (
                    guild_settings,
                    [
                        {"guild_id": str(g), "probes_private": bool(p), "knowledge_private": bool(k)}
                        for g, p, k in found
                    ],
                    True,
                )
            )
        servers: list[dict[str, Any]] = []
        for table, scope in (("user_servers", "user"), ("guild_servers", "guild")):
            if _has(db, table):
                servers += [
                    {"scope": scope, "owner_id": str(owner), "host": host}
                    for owner, host in db.execute(f"SELECT * FROM {table}").fetchall()  # noqa: S608 - ours
                ]
        rows.tables.append((saved_servers, servers, True))
    finally:
        db.close()
    return rows


def _slack(path: Path) -> _Rows:
    rows = _Rows()
    db = _open(path)
    try:
        if _has(db, "workspace_settings"):
            found = db.execute("SELECT team_id, knowledge_private FROM workspace_settings").fetchall()
            rows.tables.append(
                (slack_workspaces, [{"team_id": t, "knowledge_private": bool(k)} for t, k in found], True)
            )
        if _has(db, "welcomed"):
            found = db.execute("SELECT team_id, user_id FROM welcomed").fetchall()
            rows.tables.append((slack_welcomed, [{"team_id": t, "user_id": u} for t, u in found], True))
    finally:
        db.close()
    return rows


def _audit(path: Path) -> _Rows:
    from probes.audit import COLUMNS

    db = _open(path)
    try:
        if not _has(db, "probes"):
            return _Rows()
        found = db.execute(f"SELECT {_AUDIT_COLUMNS} FROM probes ORDER BY id").fetchall()  # noqa: S608 - ours
    finally:
        db.close()
    # The first row identifies the log: every bot and worker machine had its own, and the rows are not keyed,
    # so only the once-per-file mark keeps a second start from copying them again.
    mark = hashlib.sha1(repr(found[:1]).encode(), usedforsecurity=False).hexdigest()
    return _Rows([(audit_log, [dict(zip(COLUMNS, row, strict=True)) for row in found], False)], mark=mark)


def _installations(path: Path) -> _Rows:
    """The latest installation per (app, org, workspace, user) and bot per (app, org, workspace), read through
    slack_sdk's own SQLite store so its conversions (empty ids, dates, token expiry) apply."""
    from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore
    from slack_sdk.oauth.sqlalchemy_utils import normalize_datetime_for_db

    db = _open(path)
    try:
        installs = (
            db.execute(
                "SELECT DISTINCT client_id, enterprise_id, team_id, user_id, is_enterprise_install "
                "FROM slack_installations"
            ).fetchall()
            if _has(db, "slack_installations")
            else []
        )
        bots = (
            db.execute(
                "SELECT DISTINCT client_id, enterprise_id, team_id, is_enterprise_install FROM slack_bots"
            ).fetchall()
            if _has(db, "slack_bots")
            else []
        )
    finally:
        db.close()
    install_rows: list[dict[str, Any]] = []
    bot_rows: list[dict[str, Any]] = []
    columns_i = set(slack_installations.c.keys()) - {"id"}
    columns_b = set(slack_bots.c.keys()) - {"id"}
    for client_id, enterprise_id, team_id, user_id, enterprise_install in installs:
        old = SQLite3InstallationStore(database=str(path), client_id=client_id)
        found = old.find_installation(
            enterprise_id=enterprise_id or None,
            team_id=team_id or None,
            user_id=user_id,
            is_enterprise_install=bool(enterprise_install),
        )
        if found is not None:
            i = found.to_dict()
            if isinstance(found.bot_scopes, str):
                # slack_sdk's SQLite store copies the bot row's scopes in as a string, which to_dict() would
                # join letter by letter.
                i["bot_scopes"] = found.bot_scopes
            i["client_id"] = client_id
            for name in ("installed_at", "bot_token_expires_at", "user_token_expires_at"):
                i[name] = normalize_datetime_for_db(i.get(name))
            install_rows.append(_no_empty_ids({k: v for k, v in i.items() if k in columns_i}))
    for client_id, enterprise_id, team_id, enterprise_install in bots:
        old = SQLite3InstallationStore(database=str(path), client_id=client_id)
        bot = old.find_bot(
            enterprise_id=enterprise_id or None,
            team_id=team_id or None,
            is_enterprise_install=bool(enterprise_install),
        )
        if bot is not None:
            b = bot.to_dict()
            b["client_id"] = client_id
            for name in ("installed_at", "bot_token_expires_at"):
                b[name] = normalize_datetime_for_db(b.get(name))
            bot_rows.append(_no_empty_ids({k: v for k, v in b.items() if k in columns_b}))
    return _Rows([(slack_installations, install_rows, False), (slack_bots, bot_rows, False)])


def _no_empty_ids(row: dict[str, Any]) -> dict[str, Any]:
    # The SQLite store writes "" for "no organisation" (and for an org-wide install's team); the SQLAlchemy store
    # writes and looks up NULL.
    for name in ("enterprise_id", "team_id"):
        if row.get(name) == "":
            row[name] = None
    return row
