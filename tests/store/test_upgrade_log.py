"""The one log line an operator sees when a start upgrades the schema (Alembic's own chatter is silenced)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bot.store import database_url_for, open_store
from bot.store._engine import head_revision, upgrade


async def test_an_upgrade_is_one_line_and_a_new_database_none(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """From 0001 to head: one portbot.store line naming both revisions, nothing from Alembic at INFO; creating
    a new database says nothing."""
    store = await open_store(database_url_for(database_url, tmp_path), migrate=False)
    try:
        with caplog.at_level(logging.INFO):
            await upgrade(store, "0001")
            assert not [r for r in caplog.records if r.levelno >= logging.INFO]
            await upgrade(store)
    finally:
        await store.close()
    lines = [(r.name, r.getMessage()) for r in caplog.records if r.levelno >= logging.INFO]
    assert lines == [
        ("portbot.store", f"upgraded the database schema in place from revision 0001 to {head_revision()}")
    ]
