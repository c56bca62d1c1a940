"""The per-server settings store (the share store, shared with Slack, is tested in tests/bot/test_shares.py)."""

from __future__ import annotations

from pathlib import Path

from bot.discord.guild_settings import DEFAULTS, GuildSettings, GuildSettingsStore


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
