"""``portbot db upgrade`` / ``portbot db status``, and the database line of ``portbot doctor``, run as processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.store._engine import head_revision
from tests.store.test_legacy import old_files

ROOT = Path(__file__).resolve().parents[2]


def portbot(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=120,
        check=False,
    )


def closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def shown(url: str, tmp_path: Path) -> str:
    """The URL as the commands print it (asyncio driver named, password hidden)."""
    from bot.store import database_url_for, redacted

    return redacted(database_url_for(url, tmp_path))


def test_upgrade_migrates_imports_the_old_files_once_and_says_so(database_url: str, tmp_path: Path) -> None:
    """`portbot db upgrade` on an old deployment: at head, the old files imported with their row counts; run
    again, it imports nothing and says they were imported before."""
    data = tmp_path / "data"
    old_files(data)
    env = {"PORTBOT_DATA_DIR": str(data), "PORTBOT_DATABASE_URL": database_url}
    first = portbot("db", "upgrade", env=env)
    assert first.returncode == 0, first.stderr
    assert first.stdout.splitlines() == [
        f"Database {shown(database_url, data)} is at revision {head_revision()} (up to date).",
        "Imported the old SQLite files: discord.sqlite3 (4 rows), slack.sqlite3 (3 rows), audit.sqlite3 (3 rows), "
        "slack-installations.sqlite3 (2 rows). The old files are kept as they were.",
    ]
    again = portbot("db", "upgrade", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.splitlines()[1] == (
        "Old SQLite files were imported before: audit.sqlite3, discord.sqlite3, slack-installations.sqlite3, "
        "slack.sqlite3."
    )


def test_status_shows_the_revision_before_and_after_an_upgrade(tmp_path: Path) -> None:
    """`portbot db status` changes nothing: an empty database says so, an upgraded one is up to date."""
    env = {"PORTBOT_DATA_DIR": str(tmp_path)}
    before = portbot("db", "status", env=env)
    assert before.returncode == 0, before.stderr
    assert before.stdout.splitlines()[1] == (
        f"Revision: none yet (empty database); this version needs {head_revision()}. Run `portbot db upgrade`."
    )
    assert portbot("db", "upgrade", env=env).returncode == 0
    after = portbot("db", "status", env=env)
    assert after.stdout.splitlines() == [
        f"Database: {shown('', tmp_path)}",
        f"Revision: {head_revision()} (up to date)",
    ]


def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: Path) -> None:
    """Nothing listening at the URL: exit 1, one line naming the (redacted) database and why; no traceback."""
    url = f"postgresql://portbot:hunter2@127.0.0.1:{closed_port()}/portbot"
    result = portbot("db", "status", env={"PORTBOT_DATA_DIR": str(tmp_path), "PORTBOT_DATABASE_URL": url})
    assert result.returncode == 1
    assert result.stdout == ""
    [line] = result.stderr.splitlines()
    assert line.startswith(f"portbot: cannot reach the database {shown(url, tmp_path)}: ")
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr


def test_doctor_reports_the_database(postgres_url: str, tmp_path: Path) -> None:
    """doctor: a reachable PostgreSQL with its revision and a redacted URL, then an unreachable one as a problem
    with what to check."""
    env = {"PORTBOT_DATA_DIR": str(tmp_path), "PORTBOT_DATABASE_URL": postgres_url}
    assert portbot("db", "upgrade", env=env).returncode == 0
    good = portbot("doctor", env=env)
    assert (
        f"✔ Database {shown(postgres_url, tmp_path)}: reachable, at revision {head_revision()} (up to date)"
        in (good.stdout.splitlines())
    )
    down = f"postgresql://portbot:hunter2@127.0.0.1:{closed_port()}/portbot"
    bad = portbot("doctor", env={**env, "PORTBOT_DATABASE_URL": down})
    assert bad.returncode == 1
    lines = bad.stdout.splitlines()
    [at] = [
        i
        for i, line in enumerate(lines)
        if line.startswith(f"✘ Database {shown(down, tmp_path)}: not reachable (")
    ]
    assert lines[at + 1] == (
        "    → Check PORTBOT_DATABASE_URL (host, port, user, password, database name) and that the server is up."
    )
    assert "hunter2" not in bad.stdout


def test_doctor_names_a_bad_database_url(tmp_path: Path) -> None:
    """A URL that is no database URL is named by its variable before anything connects."""
    result = portbot(
        "doctor", env={"PORTBOT_DATA_DIR": str(tmp_path), "PORTBOT_DATABASE_URL": "mysql://db/x"}
    )
    assert result.returncode == 1
    assert result.stdout.splitlines()[0].startswith(
        "✘ PORTBOT_DATABASE_URL: 'mysql://db/x' is not a database URL"
    )


@pytest.mark.parametrize(
    ("command", "needs"),
    [
        (("worker", "--port", "0"), {"PORTBOT_WORKER_SECRET": "s" * 40}),
        (("discord",), {"DISCORD_TOKEN": "fake-token", "DISCORD_API_BASE": "http://127.0.0.1:9"}),
        (("slack",), {"SLACK_BOT_TOKEN": "xoxb-fake", "SLACK_APP_TOKEN": "xapp-fake"}),
    ],
    ids=["worker", "discord", "slack"],
)
def test_a_process_that_cannot_open_the_database_says_so_and_stops(
    tmp_path: Path, command: tuple[str, ...], needs: dict[str, str]
) -> None:
    """A worker or bot with a database nobody answers at: exit 1 and one sentence naming it (no password) and
    what to check, before it serves or connects to anything; no traceback."""
    url = f"postgresql://portbot:hunter2@127.0.0.1:{closed_port()}/portbot"
    env = {"PORTBOT_DATA_DIR": str(tmp_path), "PORTBOT_DATABASE_URL": url, **needs}
    result = portbot(*command, env=env)
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith(
        f"portbot: Cannot open the database {shown(url, tmp_path)} (ConnectionRefusedError: "
    )
    assert result.stderr.rstrip().endswith(
        "Check PORTBOT_DATABASE_URL and that the database is up; `portbot doctor` checks it."
    )
    assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
