"""A throwaway PostgreSQL cluster on a loopback port, for tests of what several processes share through it.

The cluster is made with Debian's ``initdb`` in a temporary directory and started with ``pg_ctl``; it listens on
127.0.0.1 and a socket in that directory only, and is removed afterwards. PostgreSQL refuses to run as root, so as
root the cluster belongs to the ``postgres`` user the Debian package creates. Without the package (or as another
user who cannot switch to ``postgres``) the tests that need it skip and say why.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[-3]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).parent if initdb else None


def skip_reason() -> str | None:
    """Why PostgreSQL tests cannot run here, or None when they can."""
    if _bindir() is None:
        return "PostgreSQL is not installed (scripts/install-system-deps.sh installs the postgresql package as root)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root without a postgres user to own the test cluster"
    return None


class PostgresUnavailable(RuntimeError):
    """PostgreSQL cannot run here; the message says why."""


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a fresh cluster; yield a ``postgresql://`` URL of an empty database ``portbot``; stop and remove it.
    Skips the calling test when PostgreSQL cannot run here."""
    try:
        with start_postgres() as url:
            yield url
    except PostgresUnavailable as err:
        pytest.skip(str(err))


@contextmanager
def start_postgres(max_connections: int = 200) -> Iterator[str]:
    """:func:`postgres_server` for code outside pytest (the soak bench): raises :class:`PostgresUnavailable`."""
    reason = skip_reason()
    if reason:
        raise PostgresUnavailable(reason)
    bindir = _bindir()
    assert bindir is not None
    root = Path(tempfile.mkdtemp(prefix="portbot-pg-"))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        for path in (root, sockets):
            os.chown(path, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port = _free_port()

    def run(*args: str) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True, timeout=120, check=False)
        if done.returncode != 0:
            raise PostgresUnavailable(
                f"{Path(args[0]).name} failed: {done.stderr.strip() or done.stdout.strip()}"
            )

    try:
        run(
            str(bindir / "initdb"), "-D", str(data), "-U", "portbot", "-A", "trust", "-E", "UTF8", "--no-sync"
        )
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} "
            f"-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections={max_connections}"
        )
        run(str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(root / "log"), "-w", "start")
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "portbot", "portbot")
        yield f"postgresql://portbot@127.0.0.1:{port}/portbot"
    finally:
        subprocess.run(
            [*as_user, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
            check=False,
        )
        shutil.rmtree(root, ignore_errors=True)


def create_database(url: str, name: str) -> str:
    """A new empty database on the cluster behind ``url``; returns its URL (one per test keeps tests apart)."""
    import asyncio

    import asyncpg

    async def make() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(make())
    return url.rsplit("/", 1)[0] + f"/{name}"
