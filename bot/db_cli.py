"""``portbot db upgrade`` and ``portbot db status``: the store's schema and the import of the old files.

``upgrade`` does what every bot and worker process does when it starts (bring the schema to this version's
revision in place, then import the old per-file SQLite databases once), so an operator can do it ahead of a
deploy and see the result. ``status`` changes nothing. ``portbot doctor`` uses :func:`check` for its line.
"""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from bot.settings import Settings

#: Long enough for a database across a region, short enough that a wrong host does not hang the command.
CONNECT_TIMEOUT = 10.0


@dataclass(frozen=True, slots=True)
class Status:
    """Where the database stands: ``error`` is set (and the rest unknown) when it could not be reached."""

    url: str  # redacted
    revision: str | None = None
    head: str = ""
    imported: tuple[str, ...] = ()
    error: str | None = None

    @property
    def current(self) -> bool:
        return self.error is None and self.revision == self.head


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    db = sub.add_parser("db", help="upgrade the database in place, or show where it stands")
    actions = db.add_subparsers(dest="action", metavar="ACTION", required=True)
    actions.add_parser("upgrade", help="bring the schema to this version and import the old SQLite files")
    actions.add_parser("status", help="show the database, its revision and what was imported")


def run(settings: Settings, action: str) -> int:
    if action == "upgrade":
        return _upgrade(settings)
    status = asyncio.run(check(settings))
    _print_status(status)
    return 0 if status.error is None else 1


async def check(settings: Settings) -> Status:
    """The database's state, without changing anything."""
    from sqlalchemy import select

    from bot.store import database_url_for, open_store, redacted
    from bot.store._engine import current_revision, head_revision
    from bot.store.tables import legacy_imports

    url = database_url_for(settings.portbot.database_url, settings.portbot.data_dir)
    head = head_revision()
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT):
            store = await open_store(url, migrate=False)
            try:
                revision = await current_revision(store)
                imported: tuple[str, ...] = ()
                if revision is not None and revision >= "0003":
                    async with store.connect() as conn:
                        sources = (await conn.scalars(select(legacy_imports.c.source))).all()
                        # "audit.sqlite3:<mark>" per machine's audit log: shown by file name.
                        imported = tuple(sorted({source.split(":")[0] for source in sources}))
            finally:
                await store.close()
    except Exception as err:  # any driver's way of saying "no": shown as one line, never a traceback
        return Status(redacted(url), head=head, error=_reason(err))
    return Status(redacted(url), revision, head, imported)


def _upgrade(settings: Settings) -> int:
    from bot.store import database_url_for, open_store, redacted
    from bot.store.legacy import import_legacy

    url = database_url_for(settings.portbot.database_url, settings.portbot.data_dir)

    async def upgrade() -> dict[str, int]:
        # What a bot or worker does when it starts: migrate in place, then import the old files once.
        async with asyncio.timeout(CONNECT_TIMEOUT):
            store = await open_store(url, migrate=False)
        try:
            from bot.store._engine import upgrade as migrate

            await migrate(store)
            return await import_legacy(
                store, settings.portbot.data_dir, audit_path=settings.portbot.audit_path
            )
        finally:
            await store.close()

    try:
        imported = asyncio.run(upgrade())
        status = asyncio.run(check(settings))
    except Exception as err:  # any driver's way of saying "no": one line, never a traceback
        print(f"portbot: could not upgrade the database {redacted(url)}: {_reason(err)}", file=sys.stderr)
        return 1
    if status.error is not None:
        print(f"portbot: could not upgrade the database {status.url}: {status.error}", file=sys.stderr)
        return 1
    print(f"Database {status.url} is at revision {status.revision} (up to date).")
    if imported:
        rows = ", ".join(f"{name} ({count} rows)" for name, count in imported.items())
        print(f"Imported the old SQLite files: {rows}. The old files are kept as they were.")
    elif status.imported:
        print(f"Old SQLite files were imported before: {', '.join(status.imported)}.")
    else:
        print("No old SQLite files to import.")
    return 0


def _print_status(status: Status) -> None:
    if status.error is not None:
        print(f"portbot: cannot reach the database {status.url}: {status.error}", file=sys.stderr)
        return
    print(f"Database: {status.url}")
    if status.revision is None:
        print(
            f"Revision: none yet (empty database); this version needs {status.head}. Run `portbot db upgrade`."
        )
    elif status.current:
        print(f"Revision: {status.revision} (up to date)")
    else:
        print(f"Revision: {status.revision}; this version needs {status.head}. Run `portbot db upgrade`.")
    if status.imported:
        print(f"Old SQLite files imported: {', '.join(status.imported)}")


def _reason(err: BaseException) -> str:
    if isinstance(err, TimeoutError):
        return f"no answer within {CONNECT_TIMEOUT:.0f} seconds"
    from bot.store._shared import reason

    return reason(err)
