"""What Portbot remembers per Slack workspace, in a small SQLite file in PORTBOT_DATA_DIR: the workspace admins'
privacy choice, and which members have had the welcome message.

Reads happen on every answer, so settings come from an in-memory copy; the file is touched when an admin changes
something, once per workspace on first read, and once per member for the welcome.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path

FILENAME = "slack.sqlite3"

_SCHEMA = (
    """
    CREATE TABLE IF NOT EXISTS workspace_settings (
        team_id TEXT PRIMARY KEY,
        knowledge_private INTEGER NOT NULL
    )
    """,
    """
    CREATE TABLE IF NOT EXISTS welcomed (
        team_id TEXT NOT NULL,
        user_id TEXT NOT NULL,
        PRIMARY KEY (team_id, user_id)
    )
    """,
)
# Slack's DMs and Enterprise Grid installs can come without a team; they share one row rather than none.
_NO_TEAM = "-"


@dataclass(frozen=True, slots=True)
class WorkspaceSettings:
    """Who sees Portbot's answers in one workspace. Satisfies :class:`bot.core.visibility.Preferences`.

    Probe results and errors are private whatever this says (:func:`bot.core.visibility.decide`); a setting
    here can only make more answers private.
    """

    knowledge_private: bool = False  # port/service answers posted in the channel by default


DEFAULTS = WorkspaceSettings()


class WorkspaceStore:
    """SQLite-backed workspace settings and welcome records. Unknown workspaces get :data:`DEFAULTS`."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._cache: dict[str, WorkspaceSettings] = {}
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def get(self, team_id: str | None) -> WorkspaceSettings:
        """The settings for ``team_id`` (the defaults when it has none)."""
        key = team_id or _NO_TEAM
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        with self._lock:
            row = self._db.execute(
                "SELECT knowledge_private FROM workspace_settings WHERE team_id = ?", (key,)
            ).fetchone()
        found = DEFAULTS if row is None else WorkspaceSettings(knowledge_private=bool(row[0]))
        self._cache[key] = found
        return found

    def update(self, team_id: str | None, *, knowledge_private: bool) -> WorkspaceSettings:
        """Change one workspace's settings and return them."""
        key = team_id or _NO_TEAM
        changed = WorkspaceSettings(knowledge_private=knowledge_private)
        with self._lock:
            self._db.execute(
                "INSERT INTO workspace_settings (team_id, knowledge_private) VALUES (?, ?) "
                "ON CONFLICT(team_id) DO UPDATE SET knowledge_private = excluded.knowledge_private",
                (key, int(changed.knowledge_private)),
            )
        self._cache[key] = changed
        return changed

    def first_welcome(self, team_id: str | None, user_id: str) -> bool:
        """True exactly once per member of a workspace, ever: the time to welcome them."""
        with self._lock:
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO welcomed (team_id, user_id) VALUES (?, ?)",
                (team_id or _NO_TEAM, user_id),
            )
        return cursor.rowcount == 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
