"""Per-server choices made by a server's admins with ``/portbot settings``, kept in the store (bot/store).

Reads happen on every interaction, so each process trusts what it read for a few seconds
(:data:`bot.store.CACHE_TTL`): a change made through another bot process shows here within that bound, and a
change made through this one shows at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select

from bot.store import CACHE_TTL, Database, ReadCache, upsert
from bot.store.tables import guild_settings


@dataclass(frozen=True, slots=True)
class GuildSettings:
    """Who sees Portbot's answers in one server. The defaults protect members' home addresses."""

    # Probe results are shown only to the person who asked, whatever this says (bot.core.visibility); the column
    # stays so older rows still load.
    probes_private: bool = True
    knowledge_private: bool = False  # port/service answers posted in the channel


DEFAULTS = GuildSettings()


class GuildSettingsStore:
    """Settings per Discord server, in the store. DMs and unknown servers get :data:`DEFAULTS`."""

    def __init__(
        self, database: Database, *, cache_ttl: float = CACHE_TTL, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._db = database
        self._cache: ReadCache[str, GuildSettings] = ReadCache(cache_ttl, clock)

    async def get(self, guild_id: int | str | None) -> GuildSettings:
        """The settings for ``guild_id`` (the defaults outside servers)."""
        if guild_id is None:
            return DEFAULTS
        key = str(guild_id)
        cached = self._cache.get(key)
        if cached is not None:
            return cached
        async with self._db.connect() as conn:
            row = (
                await conn.execute(
                    select(guild_settings.c.probes_private, guild_settings.c.knowledge_private).where(
                        guild_settings.c.guild_id == key
                    )
                )
            ).first()
        found = DEFAULTS if row is None else GuildSettings(bool(row[0]), bool(row[1]))
        self._cache.put(key, found)
        return found

    async def update(
        self,
        guild_id: int | str,
        *,
        probes_private: bool | None = None,
        knowledge_private: bool | None = None,
    ) -> GuildSettings:
        """Change some settings for one server and return the result. ``None`` leaves a setting as it is."""
        key = str(guild_id)
        changes: dict[str, bool] = {}
        if probes_private is not None:
            changes["probes_private"] = probes_private
        if knowledge_private is not None:
            changes["knowledge_private"] = knowledge_private
        # One statement, so two admins changing different settings at once (through two bot processes) each
        # keep their change: only the columns given are overwritten.
        fresh = {
            "guild_id": key,
            "probes_private": changes.get("probes_private", DEFAULTS.probes_private),
            "knowledge_private": changes.get("knowledge_private", DEFAULTS.knowledge_private),
        }
        statement = upsert(self._db, guild_settings).values(**fresh)
        if changes:
            statement = statement.on_conflict_do_update(index_elements=["guild_id"], set_=changes)
        else:
            statement = statement.on_conflict_do_nothing(index_elements=["guild_id"])
        async with self._db.begin() as conn:
            await conn.execute(statement)
            row = (
                await conn.execute(
                    select(guild_settings.c.probes_private, guild_settings.c.knowledge_private).where(
                        guild_settings.c.guild_id == key
                    )
                )
            ).one()
        changed = GuildSettings(bool(row[0]), bool(row[1]))
        self._cache.put(key, changed)
        return changed
