"""The saved-server store: one host per user and one default per Discord server, in SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.discord.saved_servers import SavedServerStore, saveable


def test_a_users_server_wins_over_the_guild_default(tmp_path: Path) -> None:
    """The modal starts with the member's own server, else the Discord server's default, else nothing."""
    store = SavedServerStore(tmp_path / "discord.sqlite3")
    try:
        assert store.default_for(1, 10) is None
        store.save_guild(10, "mc.example.com")
        assert store.default_for(1, 10) == "mc.example.com"
        assert store.default_for(1, None) is None  # a DM has no server default
        store.save_user(1, "home.example.net")
        assert store.default_for(1, 10) == "home.example.net"
        assert store.default_for(2, 10) == "mc.example.com"
    finally:
        store.close()


def test_forgetting_removes_only_that_entry(tmp_path: Path) -> None:
    """Saving None forgets a user's server or a guild's default, and nothing else."""
    store = SavedServerStore(tmp_path / "discord.sqlite3")
    try:
        store.save_user(1, "a.example.com")
        store.save_user(2, "b.example.com")
        store.save_guild(10, "c.example.com")
        store.save_user(1, None)
        store.save_guild(10, None)
        assert (store.user(1), store.user(2), store.guild(10)) == (None, "b.example.com", None)
    finally:
        store.close()


def test_saved_servers_survive_a_restart_next_to_the_guild_settings(tmp_path: Path) -> None:
    """A fresh store on the same file (the one guild settings use) reads what the last one saved."""
    from bot.discord.guild_settings import GuildSettingsStore

    path = tmp_path / "nested" / "discord.sqlite3"
    settings = GuildSettingsStore(path)
    first = SavedServerStore(path)
    first.save_user("1", "home.example.net")
    settings.update(10, knowledge_private=True)
    first.close()
    settings.close()
    second = SavedServerStore(path)
    try:
        assert second.user(1) == "home.example.net"
    finally:
        second.close()


def test_without_a_path_the_store_lives_in_memory() -> None:
    """A Responder built without a store (tests, tools) still works; nothing is written to disk."""
    store = SavedServerStore(None)
    try:
        store.save_user(1, "home.example.net")
        assert store.user(1) == "home.example.net"
    finally:
        store.close()


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
