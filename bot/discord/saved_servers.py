"""Saved servers: the host a member checks most (theirs) and a server's default, kept in a small SQLite file.

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
import sqlite3
import threading
from pathlib import Path

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS user_servers (user_id TEXT PRIMARY KEY, host TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS guild_servers (guild_id TEXT PRIMARY KEY, host TEXT NOT NULL)",
)


class SavedServerStore:
    """One saved host per Discord user and one default per Discord server."""

    def __init__(self, path: Path | None) -> None:
        """Keep the servers in the SQLite file at ``path`` (None: in memory, for a bot without a data dir)."""
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._lock = threading.Lock()
        self._db = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path is not None:
            self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def user(self, user_id: int | str) -> str | None:
        return self._get("user_servers", "user_id", user_id)

    def guild(self, guild_id: int | str | None) -> str | None:
        return None if guild_id is None else self._get("guild_servers", "guild_id", guild_id)

    def default_for(self, user_id: int | str, guild_id: int | str | None) -> str | None:
        """What the Check modal starts with: the member's own server, else their Discord server's default."""
        return self.user(user_id) or self.guild(guild_id)

    def save_user(self, user_id: int | str, host: str | None) -> None:
        """Save (or with None, forget) a member's server."""
        self._put("user_servers", "user_id", user_id, host)

    def save_guild(self, guild_id: int | str, host: str | None) -> None:
        """Save (or with None, forget) a Discord server's default."""
        self._put("guild_servers", "guild_id", guild_id, host)

    def _get(self, table: str, column: str, key: int | str) -> str | None:
        with self._lock:
            row = self._db.execute(f"SELECT host FROM {table} WHERE {column} = ?", (str(key),)).fetchone()  # noqa: S608 - table and column are ours
        return None if row is None else str(row[0])

    def _put(self, table: str, column: str, key: int | str, host: str | None) -> None:
        with self._lock:
            if host is None:
                self._db.execute(f"DELETE FROM {table} WHERE {column} = ?", (str(key),))  # noqa: S608 - ours
            else:
                self._db.execute(
                    f"INSERT INTO {table} ({column}, host) VALUES (?, ?) "  # noqa: S608 - table and column are ours
                    f"ON CONFLICT({column}) DO UPDATE SET host = excluded.host",
                    (str(key), host),
                )

    def close(self) -> None:
        with self._lock:
            self._db.close()


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
