"""What the repositories of kept state (settings, saved servers, shares, the audit log, …) share.

A repository takes a :class:`Database`: an open :class:`~bot.store.Store`, or a :class:`LazyStore` that opens
(and upgrades, and imports the old SQLite files into) the database on first use, so code that is built
synchronously (the Slack app, a Responder) can hold one before the event loop runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite

from bot.store._engine import Store, open_store, redacted
from probes.errors import OperatorError

if TYPE_CHECKING:
    from bot.settings import Settings

log = logging.getLogger("portbot.store")

#: How long a process may go on using a setting another process has since changed (the bound the tests hold
#: two stores on one database to). Reads of settings happen on every interaction; a round trip each time would
#: put the database on every answer's path.
CACHE_TTL = 5.0

K = TypeVar("K")
V = TypeVar("V")


class DatabaseUnavailable(OperatorError):
    """The database can't be opened or upgraded (unreachable, wrong password, no such database)."""


def reason(err: BaseException) -> str:
    """One line for why ``err`` happened: the driver's own first line (SQLAlchemy wraps it and appends a link
    and the statement). asyncpg's and sqlite3's messages name a host, a user or a file, not the URL itself."""
    if isinstance(err, TimeoutError):
        return "no answer in time"
    original = getattr(err, "orig", None) or err
    text = str(original).strip()
    first = text.splitlines()[0] if text else ""
    return f"{type(original).__name__}: {first}" if first else type(original).__name__


class Database(Protocol):
    """What repositories need of a store: transactions, read connections and the dialect."""

    @property
    def dialect(self) -> str: ...

    def begin(self) -> Any: ...

    def connect(self) -> Any: ...


class LazyStore:
    """A store opened on first use (then upgraded in place, and given the old files' rows once)."""

    def __init__(self, url: str, *, legacy_dir: Path | None = None, audit_path: Path | None = None) -> None:
        self.url = url
        self._legacy_dir = legacy_dir
        self._audit_path = audit_path
        self._store: Store | None = None
        self._opening: asyncio.Lock | None = None

    @property
    def dialect(self) -> str:
        return "postgresql" if self.url.startswith("postgresql") else "sqlite"

    async def get(self) -> Store:
        """The open store (opened, upgraded and given the old files' rows by the first caller)."""
        if self._store is not None:
            return self._store
        if self._opening is None:
            self._opening = asyncio.Lock()
        async with self._opening:
            if self._store is None:
                try:
                    self._store = await self._open()
                except Exception as err:  # any driver's "no": one sentence for the operator, no traceback
                    raise DatabaseUnavailable(
                        f"Cannot open the database {redacted(self.url)} ({reason(err)}). Check "
                        "PORTBOT_DATABASE_URL and that the database is up; `portbot doctor` checks it."
                    ) from err
        return self._store

    async def _open(self) -> Store:
        store = await open_store(self.url)
        if self._legacy_dir is not None:
            from bot.store.legacy import import_legacy

            try:
                await import_legacy(store, self._legacy_dir, audit_path=self._audit_path)
            except BaseException:
                await store.close()
                raise
        return store

    @contextlib.asynccontextmanager
    async def begin(self) -> AsyncIterator[Any]:
        store = await self.get()
        async with store.begin() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def connect(self) -> AsyncIterator[Any]:
        store = await self.get()
        async with store.connect() as conn:
            yield conn

    async def close(self) -> None:
        if self._store is not None:
            await self._store.close()
            self._store = None


def upsert(database: Database, table: Table) -> Any:
    """``INSERT … ON CONFLICT`` for the database's dialect (both spell ``on_conflict_do_update`` alike)."""
    return (postgresql.insert if database.dialect == "postgresql" else sqlite.insert)(table)


class ReadCache(Generic[K, V]):
    """Recently read values, each trusted for ``ttl`` seconds (see :data:`CACHE_TTL`)."""

    def __init__(self, ttl: float = CACHE_TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._values: dict[K, tuple[V, float]] = {}

    def get(self, key: K) -> V | None:
        found = self._values.get(key)
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def put(self, key: K, value: V) -> None:
        if len(self._values) > 10_000:  # settings of servers that went quiet: drop them all, cheaply
            self._values.clear()
        self._values[key] = (value, self._clock() + self._ttl)


def store_for(settings: Settings) -> LazyStore:
    """The process's store, as the settings say: opened on first use, with the old files' rows imported."""
    from bot.store._engine import database_url_for

    portbot = settings.portbot
    return LazyStore(
        database_url_for(portbot.database_url, portbot.data_dir),
        legacy_dir=portbot.data_dir,
        audit_path=portbot.audit_path,
    )
