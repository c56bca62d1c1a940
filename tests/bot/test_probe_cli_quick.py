"""`portbot probe ADDRESS PORT` on its quick path (probes/quick.py), run as real processes: no asyncio for a
closed port, identification kept for an open one, a silent port handed to the engine with one charge and one
audit row, and the command line read without argparse only where argparse would read it the same way."""

from __future__ import annotations

import contextlib
import io
import json
import os
import socket
import sqlite3
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.cli import _parser, _plain_probe
from bot.probe_cli import ProbeArgs
from tests.probes._windows import start_inside_one_window

ROOT = Path(__file__).resolve().parents[2]
LOOPBACKS = {"127.0.0.1": "127.0.0.0/8", "::1": "::1/128"}

#: What the quick path of a closed port loads none of: the event loop (about 95 ms, 1.5× a whole nmap run on
#: the reference machine), the engine, the HTTP, DNS, settings, database and chat stacks, argparse and logging.
NOT_FOR_A_QUICK_PROBE = (
    "asyncio",
    "ssl",
    "probes.engine",
    "probes.identify",
    "probes.audit",
    "httpx",
    "dns",
    "pydantic",
    "pydantic_settings",
    "limits",
    "sqlalchemy",
    "alembic",
    "discord",
    "slack_bolt",
    "aiohttp",
    "argparse",
    "logging",
)
#: An open port loads asyncio for identification (probes/identify.py), and still none of the rest.
NOT_FOR_AN_OPEN_PORT = tuple(
    m for m in NOT_FOR_A_QUICK_PROBE if m not in ("asyncio", "ssl", "probes.identify", "logging")
)


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update({"PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"], "PYTHONUNBUFFERED": "1", **extra})
    return env


def loaded_by(argv: list[str], unwanted: tuple[str, ...], **env: str) -> tuple[str, str]:
    """Run ``main(argv)`` in a fresh interpreter: its output, and which of ``unwanted`` it imported."""
    code = (
        "import sys\nfrom bot.cli import main\n"
        f"status = main({argv!r})\n"
        f"print('EXIT', status, 'LOADED:', ','.join(m for m in {unwanted!r} if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(**env),
        timeout=60,
        check=True,
    )
    *output, last = result.stdout.strip().splitlines()
    return "\n".join(output), last


def portbot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "probe", *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(**env),
        timeout=60,
        check=False,
    )


def free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def audit_outcomes() -> list[str]:
    path = Path(os.environ["PORTBOT_DATA_DIR"]) / "audit.sqlite3"
    with contextlib.closing(sqlite3.connect(path)) as db:
        return [row[0] for row in db.execute("SELECT outcome FROM probes ORDER BY id")]


@pytest.fixture
def ssh_server() -> Iterator[int]:
    """A server that speaks first (an SSH identification line) on an unknown port: identified at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    stop = threading.Event()

    def serve() -> None:
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                break
            conn.sendall(b"SSH-2.0-OpenSSH_9.6 PortbotTest\r\n")
            held.append(conn)
        for conn in held:
            conn.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield int(listener.getsockname()[1])
    stop.set()
    listener.shutdown(socket.SHUT_RDWR)
    listener.close()
    thread.join(5)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A listener whose accept queue is full: new handshakes go unanswered, as behind a dropping firewall."""
    with socket.socket() as listener, socket.socket() as filler:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)  # Linux queues backlog + 1 = one connection, which the filler takes
        filler.connect(listener.getsockname())
        yield int(listener.getsockname()[1])


@pytest.mark.parametrize("host", list(LOOPBACKS))
@pytest.mark.parametrize("as_json", [False, True], ids=["text", "json"])
def test_a_closed_port_loads_no_event_loop(host: str, as_json: bool) -> None:
    """`portbot probe 127.0.0.1 PORT` (and ::1) for a closed port imports no asyncio, engine, HTTP, DNS,
    settings library, database, chat library, argparse or logging, and still says closed."""
    argv = ["probe", host, str(free_port(host)), *(["--json"] if as_json else [])]
    output, loaded = loaded_by(argv, NOT_FOR_A_QUICK_PROBE, PORTBOT_ALLOW_NETWORKS=LOOPBACKS[host])
    assert loaded == "EXIT 0 LOADED:"
    assert ('"state": "closed"' if as_json else "closed: nothing is listening") in output


def test_a_refusal_loads_no_event_loop_either() -> None:
    """A refused address is refused on the quick path, in the engine's words, without asyncio."""
    _, loaded = loaded_by(["probe", "127.0.0.1", "80"], NOT_FOR_A_QUICK_PROBE)
    assert loaded == "EXIT 2 LOADED:"
    result = portbot("127.0.0.1", "80")
    assert result.returncode == 2
    assert result.stderr.startswith("portbot: 127.0.0.1 is a loopback address: that's the bot's own machine")
    assert audit_outcomes() == ["refused", "refused"]


def test_an_open_port_is_still_identified(ssh_server: int) -> None:
    """An open port keeps today's identification (asyncio loads for it, nothing heavier does)."""
    output, loaded = loaded_by(
        ["probe", "127.0.0.1", str(ssh_server), "--json"],
        NOT_FOR_AN_OPEN_PORT,
        PORTBOT_ALLOW_NETWORKS="127.0.0.0/8",
    )
    assert loaded == "EXIT 0 LOADED:"
    (result,) = json.loads(output)["reports"][0]["results"]
    assert (result["state"], result["reason"], result["service"]["kind"]) == ("open", "syn-ack", "ssh")


def test_a_silent_port_goes_to_the_engine_charged_once_and_audited_once(silent_port: int) -> None:
    """A port that never answers: filtered by the engine, one audit row, and the limit of one probe an hour
    counted once (the next run is refused)."""
    start_inside_one_window(3600, needed=60)
    env = {
        "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8",
        "PORTBOT_LIMIT_USER": "1/hour",
        "PORTBOT_LIMIT_TARGET": "1/hour",
    }
    result = portbot("127.0.0.1", str(silent_port), "--json", **env)
    assert result.returncode == 0, result.stderr
    (found,) = json.loads(result.stdout)["reports"][0]["results"]
    assert (found["state"], found["reason"]) == ("filtered", "timeout")
    assert audit_outcomes() == ["probed"]
    again = portbot("127.0.0.1", str(free_port("127.0.0.1")), **env)
    assert again.returncode == 2
    assert again.stderr.startswith("portbot: You've run a lot of checks in an hour")


ARG = st.sampled_from(
    [
        "127.0.0.1",
        "80",
        "443",
        "[::1]:80",
        "--json",
        "--tcp",
        "--udp",
        "--via",
        "local",
        "workers",
        "-h",
        "-1",
    ]
)


@settings(max_examples=500)
@given(st.lists(ARG, max_size=7))
def test_the_quick_probe_reading_agrees_with_argparse(rest: list[str]) -> None:
    """Whatever `portbot probe ...` the quick reading accepts, the full parser reads the same way."""
    quick = _plain_probe(["probe", *rest])
    if quick is None:
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        args = _parser().parse_args(["probe", *rest])
    assert ProbeArgs(args.host, args.ports, args.udp, args.tcp, args.json, args.via) == quick


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["probe", "127.0.0.1", "80"], ProbeArgs("127.0.0.1", ["80"])),
        (
            ["probe", "--json", "::1", "80", "443", "--tcp"],
            ProbeArgs("::1", ["80", "443"], tcp=True, json=True),
        ),
        (["probe", "203.0.113.5", "80", "--via", "local"], ProbeArgs("203.0.113.5", ["80"], via="local")),
        (["probe", "203.0.113.5", "--via", "elsewhere"], None),
        (
            ["probe", "80", "--via", "local", "443"],
            None,
        ),  # argparse refuses this split too  # argparse's message, not ours
        (["probe", "203.0.113.5", "80", "--udp"], None),
        (["probe", "203.0.113.5", "--json", "80"], None),  # argparse refuses this split
        (["probe", "-h"], None),
        (["probe"], None),
        (["ask", "80"], None),
    ],
)
def test_the_quick_probe_reading_takes_only_plain_commands(
    argv: list[str], expected: ProbeArgs | None
) -> None:
    """Plain probes skip argparse; help, --udp, bad values and anything argparse would refuse do not."""
    assert _plain_probe(argv) == expected
