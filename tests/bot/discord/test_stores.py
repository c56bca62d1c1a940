"""The per-server settings store and the short-lived share cache."""

from __future__ import annotations

from pathlib import Path

from bot.core.reply import Reply
from bot.discord.guild_settings import DEFAULTS, GuildSettings, GuildSettingsStore
from bot.discord.shares import ShareCache


def test_unknown_servers_and_dms_get_the_defaults(tmp_path: Path) -> None:
    """Probes private and knowledge public unless a server changed them; DMs always get the defaults."""
    store = GuildSettingsStore(tmp_path / "discord.sqlite3")
    try:
        assert store.get(123) == DEFAULTS == GuildSettings(probes_private=True, knowledge_private=False)
        assert store.get(None) == DEFAULTS
    finally:
        store.close()


def test_a_change_survives_a_restart(tmp_path: Path) -> None:
    """Settings written by one store are read back by a fresh one on the same file."""
    path = tmp_path / "nested" / "discord.sqlite3"
    first = GuildSettingsStore(path)
    first.update(123, probes_private=False)
    first.update(123, knowledge_private=True)
    first.close()
    second = GuildSettingsStore(path)
    try:
        assert second.get("123") == GuildSettings(probes_private=False, knowledge_private=True)
        assert second.get(456) == DEFAULTS
    finally:
        second.close()


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_share_belongs_to_its_owner_until_it_expires() -> None:
    """Only the owner gets the reply back, and only within the time to live."""
    clock = Clock()
    cache = ShareCache(ttl=60, clock=clock)
    reply = Reply("t", "s", private=True)
    key = cache.put(reply, user_id=1)
    assert cache.get(key, user_id=2) is None
    assert cache.get(key, user_id=1) is reply
    clock.now = 61
    assert cache.get(key, user_id=1) is None
    assert len(cache) == 0


def test_the_share_cache_is_bounded() -> None:
    """The oldest entries go first once the cache is full."""
    cache = ShareCache(max_entries=3)
    keys = [cache.put(Reply(str(i), "s"), user_id=1) for i in range(5)]
    assert len(cache) == 3
    assert cache.get(keys[0], 1) is None and cache.get(keys[4], 1) is not None
