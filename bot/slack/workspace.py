"""What Portbot remembers per Slack workspace, in the store (bot/store): the workspace admins' privacy choice,
and which members have had the welcome message.

Reads happen on every answer, so each process trusts a setting it read for a few seconds
(:data:`bot.store.CACHE_TTL`); a change made through another process shows within that bound. The welcome
record is written once per member and is never cached: the database decides who was first.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.store import CACHE_TTL, Database, ReadCache, upsert
from bot.store.tables import slack_welcomed, slack_workspaces

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
    """Workspace settings and welcome records, in the store. Unknown workspaces get :data:`DEFAULTS`."""

    def __init__(
        self, database: Database, *, cache_ttl: float = CACHE_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = database
        self._cache: ReadCache[str, WorkspaceSettings] = ReadCache(cache_ttl, clock)

    async def get(self, team_id: str | None) -> WorkspaceSettings:
        """The settings for ``team_id`` (the defaults when it has none)."""
        key = team_id or _NO_TEAM
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        async with self._db.connect() as conn:
            value = await conn.scalar(
                select(slack_workspaces.c.knowledge_private).where(slack_workspaces.c.team_id == key)
            )
        found = DEFAULTS if value is None else WorkspaceSettings(knowledge_private=bool(value))
        self._cache.put(key, found)
        return found

    async def update(self, team_id: str | None, *, knowledge_private: bool) -> WorkspaceSettings:
        """Change one workspace's settings and return them."""
        key = team_id or _NO_TEAM
        changed = WorkspaceSettings(knowledge_private=knowledge_private)
        async with self._db.begin() as conn:
            await conn.execute(
                upsert(self._db, slack_workspaces)
                .values(team_id=key, knowledge_private=knowledge_private)
                .on_conflict_do_update(
                    index_elements=["team_id"], set_={"knowledge_private": knowledge_private}
                )
            )
        self._cache.put(key, changed)
        return changed

    async def first_welcome(self, team_id: str | None, user_id: str) -> bool:
        """True exactly once per member of a workspace, ever, across processes: the time to welcome them."""
        async with self._db.begin() as conn:
            result = await conn.execute(
                upsert(self._db, slack_welcomed)
                .values(team_id=team_id or _NO_TEAM, user_id=user_id)
                .on_conflict_do_nothing(index_elements=["team_id", "user_id"])
            )
        return bool(result.rowcount == 1)
