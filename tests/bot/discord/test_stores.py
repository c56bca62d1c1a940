"""The per-server settings store (the share store, shared with Slack, is tested in tests/bot/test_shares.py)."""

from __future__ import annotations

from pathlib import Path

from bot.discord.guild_settings import DEFAULTS, GuildSettings, GuildSettingsStore
from bot.store import Store, database_url_for, open_store


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_unknown_servers_and_dms_get_the_defaults(state_db: Store) -> None:
    """Probes private and knowledge public unless a server changed them; DMs always get the defaults."""
    store = GuildSettingsStore(state_db)
    assert await store.get(123) == DEFAULTS == GuildSettings(probes_private=True, knowledge_private=False)
    assert await store.get(None) == DEFAULTS


async def test_a_change_survives_a_restart(state_db: Store) -> None:
    """Settings written by one store are read back by a fresh one on the same database."""
    first = GuildSettingsStore(state_db)
    await first.update(123, probes_private=False)
    await first.update(123, knowledge_private=True)
    second = GuildSettingsStore(state_db)
    assert await second.get("123") == GuildSettings(probes_private=False, knowledge_private=True)
    assert await second.get(456) == DEFAULTS


async def test_a_change_in_one_process_shows_in_another_within_the_cache_bound(
    database_url: str, tmp_path: Path
) -> None:
    """Two bot processes on one database: B sees A's change once its cached copy is CACHE_TTL old, not before."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    clock = Clock()
    try:
        a = GuildSettingsStore(a_db, cache_ttl=5.0, clock=clock)
        b = GuildSettingsStore(b_db, cache_ttl=5.0, clock=clock)
        assert (await b.get(7)).knowledge_private is False  # B has read, and keeps, the default
        assert (await a.update(7, knowledge_private=True)).knowledge_private is True
        assert (await a.get(7)).knowledge_private is True  # the writer sees its change at once
        clock.now += 4.9
        assert (await b.get(7)).knowledge_private is False  # within the bound, B may still show the old value
        clock.now += 0.2
        assert (await b.get(7)).knowledge_private is True  # past it, B has read the new one
    finally:
        await a_db.close()
        await b_db.close()


async def test_admins_changing_different_settings_at_once_keep_both(state_db: Store) -> None:
    """An update writes only the settings it names, so two processes' changes don't undo each other."""
    a, b = GuildSettingsStore(state_db), GuildSettingsStore(state_db)
    await a.get(9)
    await b.get(9)
    await a.update(9, knowledge_private=True)
    assert await b.update(9, probes_private=True) == GuildSettings(
        probes_private=True, knowledge_private=True
    )


async def test_a_change_made_by_another_os_process_is_seen_here(postgres_url: str, tmp_path: Path) -> None:
    """A second Python process changes a server's setting on the shared PostgreSQL database; this process,
    which had read (and cached) the old value, reads the new one once its copy is older than the bound."""
    import subprocess
    import sys

    clock = Clock()
    url = database_url_for(postgres_url, tmp_path)
    here = await open_store(url)
    try:
        store = GuildSettingsStore(here, cache_ttl=5.0, clock=clock)
        assert (await store.get(5)).knowledge_private is False
        code = (
            "import asyncio\n"
            "from bot.discord.guild_settings import GuildSettingsStore\n"
            "from bot.store import open_store\n"
            "async def main():\n"
            f"    store = await open_store({url!r})\n"
            "    await GuildSettingsStore(store).update(5, knowledge_private=True)\n"
            "    await store.close()\n"
            "asyncio.run(main())\n"
        )
        other = subprocess.run(
            [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert other.returncode == 0, other.stderr
        assert (await store.get(5)).knowledge_private is False  # still within the bound
        clock.now += 5.0
        assert (await store.get(5)).knowledge_private is True
    finally:
        await here.close()
