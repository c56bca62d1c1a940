"""Saved servers: the host a member checks most (theirs) and a server's default, kept in the store (bot/store).

They fill in the Check modal so a member need not retype their address. A host is someone's address: it is
only ever shown back to the member who saved it (or, for a server's default, in the modal of that server's
members and to its admins), always privately.

When something is saved (what a member would expect):
- a member's own server: when they type it into the Check modal (the modal says it is kept for them), with
  ``/portcheck … remember:True``, or with ``/myserver host:…``; ``/myserver forget:True`` erases it;
- a Discord server's default: set by its admins (Manage Server) with ``/portbot server host:…``.
``/portcheck`` without ``remember`` and the "Check this server" message command never save anything: they
are as often used on a friend's server as on one's own.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.store import Database

USER = "user"
GUILD = "guild"


class SavedServerStore:
    """One saved host per Discord user and one default per Discord server."""

    def __init__(self, database: Database | None) -> None:
        """Keep the servers in the store (None: in this process's memory, for a Responder built without one)."""
        self._db = database
        self._memory: dict[tuple[str, str], str] = {}

    async def user(self, user_id: int | str) -> str | None:
        return await self._get(USER, user_id)

    async def guild(self, guild_id: int | str | None) -> str | None:
        return None if guild_id is None else await self._get(GUILD, guild_id)

    async def default_for(self, user_id: int | str, guild_id: int | str | None) -> str | None:
        """What the Check modal starts with: the member's own server, else their Discord server's default."""
        return await self.user(user_id) or await self.guild(guild_id)

    async def save_user(self, user_id: int | str, host: str | None) -> None:
        """Save (or with None, forget) a member's server."""
        await self._put(USER, user_id, host)

    async def save_guild(self, guild_id: int | str, host: str | None) -> None:
        """Save (or with None, forget) a Discord server's default."""
        await self._put(GUILD, guild_id, host)

    # Never cached: read when a member opens the Check modal or asks, not on every interaction.
    async def _get(self, scope: str, key: int | str) -> str | None:
        if self._db is None:
            return self._memory.get((scope, str(key)))
        from sqlalchemy import select

        from bot.store.tables import saved_servers

        async with self._db.connect() as conn:
            host = await conn.scalar(
                select(saved_servers.c.host).where(
                    saved_servers.c.scope == scope, saved_servers.c.owner_id == str(key)
                )
            )
        return None if host is None else str(host)

    async def _put(self, scope: str, key: int | str, host: str | None) -> None:
        if self._db is None:
            if host is None:
                self._memory.pop((scope, str(key)), None)
            else:
                self._memory[(scope, str(key))] = host
            return
        from sqlalchemy import delete

        from bot.store import upsert
        from bot.store.tables import saved_servers

        async with self._db.begin() as conn:
            if host is None:
                await conn.execute(
                    delete(saved_servers).where(
                        saved_servers.c.scope == scope, saved_servers.c.owner_id == str(key)
                    )
                )
            else:
                await conn.execute(
                    upsert(self._db, saved_servers)
                    .values(scope=scope, owner_id=str(key), host=host)
                    .on_conflict_do_update(index_elements=["scope", "owner_id"], set_={"host": host})
                )


#: Addresses that only work inside a home or on the machine itself: checks from the internet refuse them, so
#: saving one would only fill the form with something that cannot be checked.
_LOCAL_NETWORKS = tuple(
    ipaddress.ip_network(network)
    for network in (
        *("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"),
        *("0.0.0.0/8", "fc00::/7", "fe80::/10", "::1/128", "::/128"),
    )
)


def saveable(host: str) -> str | None:
    """``host`` as it is saved (a normalised name or address, no port, no URL parts), or None when it is no
    host or a home-network address."""
    from probes.errors import InputError
    from probes.targets import parse_target

    try:
        target = parse_target(host)
    except InputError:
        return None
    address = target.address
    if address is not None and any(
        address.version == network.version and address in network for network in _LOCAL_NETWORKS
    ):
        return None
    return target.host
