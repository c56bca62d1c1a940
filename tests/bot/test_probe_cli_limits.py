"""`portbot probe` keeps its rate limits across runs: in PORTBOT_DATA_DIR, or in Redis when PORTBOT_REDIS_URL is
set. Each run here is a real `python -m bot probe` process, as a shell loop would start them."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.probes._windows import start_inside_one_window
from tests.probes.test_ratelimit import redis_url  # noqa: F401  (the fixture: a redis-server of our own)

ROOT = Path(__file__).resolve().parents[2]
LIMITED = re.compile(
    r"^portbot: That address has been checked a lot in an hour; try again in \d+ (s|min)\.\n$"
)


def portbot(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    full_env.update({"PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"], "PYTHONUNBUFFERED": "1", **env})
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "probe", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=full_env,
    )


def run(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = portbot(*args, env=env)
    _, stderr = proc.communicate(timeout=60)
    return proc.returncode, stderr


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A port nothing listens on (the probe gets a reset at once: no waiting, no identification); the test
    starts with at least two minutes of the hour's window ahead (see tests/probes/_windows.py)."""
    start_inside_one_window(3600, needed=120)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    yield port


LOCAL = {
    "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8",
    "PORTBOT_LIMIT_USER": "",
    "PORTBOT_LIMIT_TARGET": "2/hour",
}
# Three spellings of one address: the third run is refused whichever way it is written.
SPELLINGS = ("127.0.0.1", "2130706433", "127.1")


def test_a_shell_loop_of_probes_keeps_the_target_limit(closed_port: int) -> None:
    """With a limit of 2 an hour, two runs probe and the third is refused: exit 2 and the one-line reason."""
    outcomes = [run(target, str(closed_port), env=LOCAL) for target in SPELLINGS]
    assert [code for code, _ in outcomes] == [0, 0, 2], outcomes
    assert LIMITED.match(outcomes[2][1]), outcomes[2][1]
    assert (Path(os.environ["PORTBOT_DATA_DIR"]) / "ratelimits.sqlite3").is_file()


def test_a_shell_loop_keeps_the_user_limit(closed_port: int) -> None:
    """The user's own limit carries over too: the third run, to another address, is refused."""
    env = {**LOCAL, "PORTBOT_LIMIT_USER": "2/hour", "PORTBOT_LIMIT_TARGET": ""}
    outcomes = [run(f"127.0.0.{n}", str(closed_port), env=env) for n in (1, 2, 3)]
    assert [code for code, _ in outcomes] == [0, 0, 2], outcomes
    assert re.match(
        r"^portbot: You've run a lot of checks in an hour; try again in \d+ (s|min)\.\n$", outcomes[2][1]
    )


def test_probes_started_at_once_share_the_limit(closed_port: int) -> None:
    """Five `portbot probe` processes at the same moment: exactly two probe, three are refused."""
    procs = [portbot("127.0.0.1", str(closed_port), env=LOCAL) for _ in range(5)]
    codes = sorted(proc.wait(timeout=60) for proc in procs)
    for proc in procs:
        proc.communicate()
    assert codes == [0, 0, 2, 2, 2]


def test_a_shell_loop_keeps_the_limit_in_redis(closed_port: int, redis_url: str) -> None:  # noqa: F811
    """With PORTBOT_REDIS_URL set the counters live in Redis: the third run is refused, and no file is used."""
    env = {**LOCAL, "PORTBOT_REDIS_URL": redis_url}
    outcomes = [run(target, str(closed_port), env=env) for target in SPELLINGS]
    assert [code for code, _ in outcomes] == [0, 0, 2], outcomes
    assert LIMITED.match(outcomes[2][1]), outcomes[2][1]
    assert not (Path(os.environ["PORTBOT_DATA_DIR"]) / "ratelimits.sqlite3").exists()
