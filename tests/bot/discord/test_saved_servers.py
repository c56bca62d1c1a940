"""The saved-server store: one host per user and one default per Discord server, in the store."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord.saved_servers import SavedServerStore, saveable
from bot.store import Store, database_url_for, open_store


async def test_a_users_server_wins_over_the_guild_default(state_db: Store) -> None:
    """The modal starts with the member's own server, else the Discord server's default, else nothing."""
    store = SavedServerStore(state_db)
    assert await store.default_for(1, 10) is None
    await store.save_guild(10, "mc.example.com")
    assert await store.default_for(1, 10) == "mc.example.com"
    assert await store.default_for(1, None) is None  # a DM has no server default
    await store.save_user(1, "home.example.net")
    assert await store.default_for(1, 10) == "home.example.net"
    assert await store.default_for(2, 10) == "mc.example.com"


async def test_forgetting_removes_only_that_entry(state_db: Store) -> None:
    """Saving None forgets a user's server or a guild's default, and nothing else."""
    store = SavedServerStore(state_db)
    await store.save_user(1, "a.example.com")
    await store.save_user(2, "b.example.com")
    await store.save_guild(10, "c.example.com")
    await store.save_user(1, None)
    await store.save_guild(10, None)
    assert (await store.user(1), await store.user(2), await store.guild(10)) == (None, "b.example.com", None)


async def test_a_save_in_one_process_is_read_by_another(database_url: str, tmp_path: Path) -> None:
    """Two bot processes on one database: what one saves, the other reads at once (saved servers are not
    cached), and a re-save replaces rather than duplicates."""
    url = database_url_for(database_url, tmp_path)
    a_db, b_db = await open_store(url), await open_store(url)
    try:
        await SavedServerStore(a_db).save_user("1", "home.example.net")
        await SavedServerStore(b_db).save_user("1", "mc.example.net")
        assert await SavedServerStore(a_db).user(1) == "mc.example.net"
    finally:
        await a_db.close()
        await b_db.close()


async def test_without_a_database_the_store_lives_in_memory() -> None:
    """A Responder built without a store (tests, tools) still works; nothing is written to disk."""
    store = SavedServerStore(None)
    await store.save_user(1, "home.example.net")
    assert await store.user(1) == "home.example.net"
    await store.save_user(1, None)
    assert await store.user(1) is None


@pytest.mark.parametrize(
    ("typed", "saved"),
    [
        ("MC.Example.COM", "mc.example.com"),
        ("mc.example.com:25565", "mc.example.com"),
        ("https://u:pw@cloud.example.org/x", "cloud.example.org"),
        ("[2001:db8::7]:25565", "2001:db8::7"),
        ("203.0.113.7", "203.0.113.7"),
        ("not a host", None),
        ("192.168.1.20", None),
        ("10.0.0.5:25565", None),
        ("100.64.1.1", None),
        ("127.0.0.1", None),
        ("[fe80::1]", None),
        ("fd00::7", None),
        ("", None),
        ("minecraft://x", None),
    ],
)
def test_what_is_saved_is_the_bare_host(typed: str, saved: str | None) -> None:
    """Ports, URL parts and credentials are never saved; text that is no host, or a home-network address that no
    check can reach, is not saved at all."""
    assert saveable(typed) == saved
