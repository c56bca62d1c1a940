"""Shared fixtures. Every test starts with no Portbot, Discord or Slack settings in its environment."""

from __future__ import annotations

import itertools
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from hypothesis import settings

if TYPE_CHECKING:
    from bot.store import Store

# On CI the property tests draw the same examples each run, so a red build always reproduces; on developers'
# machines they keep exploring new ones (and remember failures in .hypothesis/).
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")

_PREFIXES = ("PORTBOT_", "DISCORD_", "SLACK_")


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """Strip chat and Portbot settings so no test depends on the developer's shell or a stray .env."""
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name, raising=False)
    # Keep state (audit log, settings DB, index cache) out of the user's home directory: in PORTBOT_DATA_DIR for
    # whatever reads the settings, and in a scratch home for domain objects given no path (their default is
    # under ~/.local/share/portbot).
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path_factory.mktemp("portbot-data")))
    monkeypatch.setenv("HOME", str(tmp_path_factory.mktemp("home")))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[str]:
    """One real PostgreSQL cluster for the whole run (tests/_postgres.py); skips where it cannot run."""
    from tests._postgres import postgres_server

    with postgres_server() as url:
        yield url


_databases = itertools.count(1)


@pytest.fixture
def postgres_url(postgres_cluster: str) -> str:
    """A fresh, empty database on the shared cluster, as a ``postgresql://`` URL (one per test)."""
    from tests._postgres import create_database

    return create_database(postgres_cluster, f"t{os.getpid()}_{next(_databases)}")


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A ``PORTBOT_DATABASE_URL`` for each engine the store supports: a new SQLite file, then a new PostgreSQL
    database (skipped where PostgreSQL cannot run)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'portbot.sqlite3'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
async def state_db(database_url: str, tmp_path: Path) -> AsyncIterator[Store]:
    """An open store at head on each engine (SQLite file, then PostgreSQL), closed after the test."""
    from bot.store import database_url_for, open_store

    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        yield store
    finally:
        await store.close()
