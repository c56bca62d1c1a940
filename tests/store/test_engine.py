"""Opening the store: the default file, PostgreSQL, and the in-place upgrade every process runs on start."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import insert, inspect, select

from bot.store import database_url_for, open_store, redacted
from bot.store._engine import current_revision, downgrade, head_revision, upgrade
from bot.store.tables import guild_settings


def test_default_database_is_a_file_in_the_data_dir(tmp_path: Path) -> None:
    """With no PORTBOT_DATABASE_URL the store is SQLite in the data dir, through aiosqlite."""
    assert database_url_for(None, tmp_path) == f"sqlite+aiosqlite:///{tmp_path / 'portbot.sqlite3'}"


@pytest.mark.parametrize(
    ("setting", "expected"),
    [
        ("postgresql://u@db:5432/pb", "postgresql+asyncpg://u@db:5432/pb"),
        ("postgres://u:pw@db/pb", "postgresql+asyncpg://u:pw@db/pb"),
        ("sqlite:////srv/portbot.sqlite3", "sqlite+aiosqlite:////srv/portbot.sqlite3"),
    ],
)
def test_hosting_urls_get_the_asyncio_driver(setting: str, expected: str, tmp_path: Path) -> None:
    """The URLs hosting providers hand out work as given."""
    assert database_url_for(setting, tmp_path) == expected


def test_password_is_redacted() -> None:
    """Logs and doctor never print a database password."""
    assert redacted("postgresql+asyncpg://u:hunter2@db/pb") == "postgresql+asyncpg://u:***@db/pb"


async def test_open_creates_the_schema_at_head(database_url: str, tmp_path: Path) -> None:
    """A new database is brought to this version's schema on first open."""
    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        assert await current_revision(store) == head_revision()
        async with store.connect() as conn:
            names = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert {"guild_settings", "saved_servers", "audit_log", "shares"} <= names
    finally:
        await store.close()


async def test_processes_starting_together_migrate_once(database_url: str, tmp_path: Path) -> None:
    """Five processes' worth of stores opening one new database at once all end at head, none failing."""
    url = database_url_for(database_url, tmp_path)
    stores = await asyncio.gather(*(open_store(url) for _ in range(5)))
    try:
        assert {await current_revision(s) for s in stores} == {head_revision()}
    finally:
        for store in stores:
            await store.close()


async def test_upgrade_keeps_existing_rows(database_url: str, tmp_path: Path) -> None:
    """Rows written under the first schema survive an upgrade to head."""
    store = await open_store(database_url_for(database_url, tmp_path), migrate=False)
    try:
        await upgrade(store, "0001")
        async with store.begin() as conn:
            await conn.execute(
                insert(guild_settings).values(guild_id="42", probes_private=True, knowledge_private=True)
            )
        await upgrade(store)
        async with store.connect() as conn:
            row = (await conn.execute(select(guild_settings))).one()
        assert (row.guild_id, row.knowledge_private) == ("42", True)
        assert await current_revision(store) == head_revision()
    finally:
        await store.close()


async def test_downgrade_then_upgrade_round_trips(database_url: str, tmp_path: Path) -> None:
    """Every revision's downgrade undoes its upgrade, so a rollback leaves a database the old code can open."""
    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        await downgrade(store, "base")
        assert await current_revision(store) is None
        await upgrade(store)
        assert await current_revision(store) == head_revision()
    finally:
        await store.close()
