"""Opening the database: URL handling, engine options per dialect, and the in-place upgrade."""

from __future__ import annotations

import asyncio
import logging
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from sqlalchemy import event, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import AsyncAdaptedQueuePool

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

log = logging.getLogger("portbot.store")
# Alembic's own INFO lines ("setup plugin …" as it loads, "Context impl …", "Running upgrade …") would open every
# bot's and worker's log on each start; upgrade() says what changed in one line of ours instead.
logging.getLogger("alembic").setLevel(logging.WARNING)

# Any fixed number works; it names "the schema upgrade" among PostgreSQL advisory locks taken by this database's
# users. (The bytes of "portbot" read as an integer.)
_MIGRATION_LOCK = 0x706F7274626F74
_SQLITE_BUSY_MS = 30_000
# Execution option that marks Store.connect()'s connections as readers (SQLite begins them DEFERRED).
_READ_ONLY = "portbot_read_only"


def database_url_for(setting: str | None, data_dir: Path) -> str:
    """The SQLAlchemy URL for ``PORTBOT_DATABASE_URL`` (already validated by bot.settings), or the default file.

    ``postgresql://`` and ``postgres://`` get the asyncpg driver and ``sqlite:///`` gets aiosqlite, so operators
    write the URLs their hosting gives them.
    """
    if not setting:
        return f"sqlite+aiosqlite:///{data_dir / 'portbot.sqlite3'}"
    scheme, rest = setting.split("://", 1)
    scheme = scheme.lower()
    if scheme in ("postgresql", "postgres"):
        return f"postgresql+asyncpg://{rest}"
    if scheme == "sqlite":
        return f"sqlite+aiosqlite://{rest}"
    return setting


def redacted(url: str) -> str:
    """``url`` without its password, for logs and ``portbot doctor``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


@dataclass(eq=False)
class Store:
    """One open database. Repositories (watches, guild settings, …) take it and run their statements on it."""

    engine: AsyncEngine
    url: str

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``: the few statements that differ (leases, upserts) branch on it."""
        return self.engine.dialect.name

    @property
    def is_postgresql(self) -> bool:
        return self.dialect == "postgresql"

    def begin(self) -> Any:
        """A transaction: ``async with store.begin() as conn: ...`` (committed on leaving, rolled back on error)."""
        return self.engine.begin()

    def connect(self) -> Any:
        """A connection for reads: ``async with store.connect() as conn: ...``.

        On SQLite its transactions don't take the write lock (see :func:`_sqlite_begin`); write through
        :meth:`begin`."""
        return self.engine.execution_options(**{_READ_ONLY: True}).connect()

    async def close(self) -> None:
        await self.engine.dispose()


async def open_store(url: str, *, migrate: bool = True, pool_size: int = 5) -> Store:
    """Open the database at ``url`` (see :func:`database_url_for`) and upgrade its schema to this version's."""
    engine = _engine(url, pool_size=pool_size)
    store = Store(engine=engine, url=url)
    if migrate:
        try:
            await upgrade(store)
        except BaseException:
            await engine.dispose()
            raise
    return store


def _engine(url: str, *, pool_size: int) -> AsyncEngine:
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[1] if ":///" in url else ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # A few pooled connections, as for PostgreSQL. Opening one per use (a new aiosqlite thread, the file
        # opened and four PRAGMAs each time) cost 5-10 ms a statement and put that thread churn on every
        # interaction's path. A pooled connection holds no lock between uses: the pool rolls back whatever is
        # left when it is returned, and every transaction is an explicit BEGIN (below). busy_timeout makes a
        # second process wait for the writer instead of failing with "database is locked".
        engine = create_async_engine(
            url,
            poolclass=AsyncAdaptedQueuePool,
            pool_size=pool_size,
            max_overflow=pool_size,
            connect_args={"timeout": _SQLITE_BUSY_MS / 1000},
        )
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling starts transactions late (and never for SELECT); BEGIN IMMEDIATE
        # takes the write lock up front, so a read-then-write (a lease claim) cannot interleave with another
        # process's. Reads (Store.connect) begin DEFERRED: in WAL mode they never wait for a writer.
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    return create_async_engine(url, pool_size=pool_size, max_overflow=pool_size, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we issue BEGIN ourselves (_sqlite_begin)
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    reading = connection.get_execution_options().get(_READ_ONLY, False)
    connection.exec_driver_sql("BEGIN" if reading else "BEGIN IMMEDIATE")


# Alembic runs env.py and each revision as module code inside SQLAlchemy's greenlet; two upgrades interleaved on
# one event loop would share that module state, so in one process they take turns. Across processes, the
# PostgreSQL advisory lock and SQLite's write lock (BEGIN IMMEDIATE) keep them apart.
_upgrading: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = weakref.WeakKeyDictionary()


async def upgrade(store: Store, revision: str = "head") -> None:
    """Bring the schema to ``revision`` in place, once even when several processes start together."""
    turn = _upgrading.setdefault(asyncio.get_running_loop(), asyncio.Lock())
    async with turn, store.engine.connect() as conn:
        if store.is_postgresql:
            await conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": _MIGRATION_LOCK})
            await conn.commit()
        try:
            before = await conn.run_sync(_current)
            await conn.run_sync(_run_alembic, "upgrade", revision)
            await conn.commit()
            after = await conn.run_sync(_current)
            if before is not None and before != after:
                # One line for an operator (Alembic's own are silenced below); a new database is no news.
                log.info("upgraded the database schema in place from revision %s to %s", before, after)
        finally:
            if store.is_postgresql:
                await conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": _MIGRATION_LOCK})
                await conn.commit()


async def current_revision(store: Store) -> str | None:
    """The schema revision the database is at (None: empty database)."""
    async with store.engine.connect() as conn:
        return await conn.run_sync(_current)


async def downgrade(store: Store, revision: str) -> None:
    """Only for tests that build an older schema and then upgrade it."""
    async with store.engine.connect() as conn:
        await conn.run_sync(_run_alembic, "downgrade", revision)
        await conn.commit()


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    assert head is not None
    return head


def _current(sync_conn: Connection) -> str | None:
    from alembic.migration import MigrationContext

    return MigrationContext.configure(sync_conn).get_current_revision()


def _alembic_config() -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).with_name("migrations")))
    return config


def _run_alembic(sync_conn: Connection, action: str, revision: str) -> None:
    from alembic import command

    config = _alembic_config()
    config.attributes["connection"] = sync_conn
    getattr(command, action)(config, revision)
