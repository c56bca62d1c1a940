"""Per-server choices made by a server's admins with ``/portbot settings``, kept in a small SQLite file.

Reads happen on every interaction, so they come from an in-memory copy; the file is only touched when an admin
changes something (and once per server on first read).
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, replace
from pathlib import Path

_SCHEMA = """
CREATE TABLE IF NOT EXISTS guild_settings (
    guild_id TEXT PRIMARY KEY,
    probes_private INTEGER NOT NULL,
    knowledge_private INTEGER NOT NULL
)
"""


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """Who sees Portbot's answers in one server. The defaults protect members' home addresses."""

    # Probe results are shown only to the person who asked, whatever this says (bot.core.visibility); the column
    # stays so older rows still load.
    probes_private: bool = True
    knowledge_private: bool = False  # port/service answers posted in the channel


DEFAULTS = GuildSettings()


class GuildSettingsStore:
    """SQLite-backed settings per Discord server. DMs and unknown servers get :data:`DEFAULTS`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._cache: dict[str, GuildSettings] = {}
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(_SCHEMA)

    def get(self, guild_id: int | str | None) -> GuildSettings:
        """The settings for ``guild_id`` (the defaults outside servers)."""
        if guild_id is None:
            return DEFAULTS
        key = str(guild_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            row = self._db.execute(
                "SELECT probes_private, knowledge_private FROM guild_settings WHERE guild_id = ?", (key,)
            ).fetchone()
        found = DEFAULTS if row is None else GuildSettings(bool(row[0]), bool(row[1]))
        self._cache[key] = found
        return found

    def update(
        self,
        guild_id: int | str,
        *,
        probes_private: bool | None = None,
        knowledge_private: bool | None = None,
    ) -> GuildSettings:
        """Change some settings for one server and return the result. ``None`` leaves a setting as it is."""
        key = str(guild_id)
        current = self.get(key)
        changed = replace(
            current,
            probes_private=current.probes_private if probes_private is None else probes_private,
            knowledge_private=current.knowledge_private if knowledge_private is None else knowledge_private,
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO guild_settings (guild_id, probes_private, knowledge_private) VALUES (?, ?, ?) "
                "ON CONFLICT(guild_id) DO UPDATE SET probes_private = excluded.probes_private, "
                "knowledge_private = excluded.knowledge_private",
                (key, int(changed.probes_private), int(changed.knowledge_private)),
            )
        self._cache[key] = changed
        return changed

    def close(self) -> None:
        with self._lock:
            self._db.close()
