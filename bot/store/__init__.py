"""Everything Portbot keeps, behind one interface: SQLite by default, PostgreSQL with ``PORTBOT_DATABASE_URL``.

Tables are declared once in :mod:`bot.store.tables`. Their shape changes only through the Alembic revisions in
``bot/store/migrations/versions``, which :func:`open_store` applies in place before anything reads or writes, so a
database made by an older Portbot is upgraded rather than replaced. Several processes may open one PostgreSQL
database at once: the upgrade runs under an advisory lock, so exactly one of them migrates.

SQLAlchemy, Alembic and the drivers are imported here only, and this module is imported only by the commands that
keep state (the bots, the worker, ``portbot watch``, ``portbot db``), never on the ``ask``/``probe`` path.
"""

from __future__ import annotations

from bot.store._batch import GroupCommit
from bot.store._engine import Store, database_url_for, open_store, redacted
from bot.store._shared import (
    CACHE_TTL,
    Database,
    DatabaseUnavailable,
    LazyStore,
    ReadCache,
    store_for,
    upsert,
)

__all__ = [
    "CACHE_TTL",
    "Database",
    "DatabaseUnavailable",
    "GroupCommit",
    "LazyStore",
    "ReadCache",
    "Store",
    "database_url_for",
    "open_store",
    "redacted",
    "store_for",
    "upsert",
]
