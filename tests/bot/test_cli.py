"""The ``portbot`` command, run as a real process the way people run it."""

from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.cli import _parser, _plain_ask
from knowledge._cache import CACHE_FILE
from probes.policy import SafetyPolicy
from probes.worker import WorkerConfig, start
from tests.bot.settings_cases import BAD, BAD_IDS

ROOT = Path(__file__).resolve().parents[2]
CSV = ROOT / "knowledge" / "data" / "iana-service-names-port-numbers.csv"


def portbot(
    *args: str, stdin: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    full_env.update({"PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"], "PYTHONUNBUFFERED": "1"})
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=full_env,
        timeout=60,
        check=False,
    )


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 (the kernel completes handshakes; we never accept)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_ask_answers_a_port() -> None:
    """`portbot ask 25565` names Minecraft and its port, in plain text when piped."""
    result = portbot("ask", "25565")
    assert result.returncode == 0, result.stderr
    assert "Minecraft: Java Edition: 25565/tcp — game (forward this)" in result.stdout
    assert "\x1b[" not in result.stdout


def test_ask_json_is_machine_readable() -> None:
    """--json prints the reply as JSON, typos and all."""
    result = portbot("ask", "--json", "minecarft")
    data = json.loads(result.stdout)
    assert data["title"] == "Minecraft: Java Edition"
    assert data["kind"] == "knowledge"


@pytest.mark.parametrize(
    "text", ["99999", "-1", "\x01\x1b[2J", "check", "check 203.0.113.5 1-65535", "' OR 1=1 --"]
)
def test_ask_never_shows_a_traceback(text: str) -> None:
    """Bad input gets a friendly answer and exit 0, never a traceback."""
    result = portbot("ask", text)
    assert result.returncode == 0
    assert "Traceback" not in result.stdout + result.stderr
    assert result.stdout.strip()


ARG = st.sampled_from(
    ["25565", "what", "is", "cgnat", "", "a b", "--json", "--js", "--", "-h", "-1", "-x", "ask"]
)


@given(st.lists(ARG, max_size=6))
def test_the_quick_ask_reading_agrees_with_argparse(rest: list[str]) -> None:
    """Whatever `portbot ask ...` the quick path accepts, the full parser reads the same text and --json."""
    quick = _plain_ask(["ask", *rest])
    if quick is None:
        return
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        args = _parser().parse_args(["ask", *rest])
    assert (args.command, " ".join(args.text), args.json) == ("ask", *quick)


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["ask", "25565"], ("25565", False)),
        (["ask", "--json", "what", "is", "cgnat"], ("what is cgnat", True)),
        (["ask", "443", "--json"], ("443", True)),
        (["ask", "25", "--json", "443"], None),  # argparse refuses this; its message must be the one shown
        (["ask", "--js", "443"], None),
        (["ask", "-h"], None),
        (["ask"], None),
        (["chat"], None),
    ],
)
def test_the_quick_ask_path_takes_only_plain_questions(
    argv: list[str], expected: tuple[str, bool] | None
) -> None:
    """Plain questions skip argparse; help, option typos and anything argparse would refuse do not."""
    assert _plain_ask(argv) == expected


#: What answering a plain question needs none of: the chat and HTTP stacks, and the pieces that only other
#: commands, failures or --json use (each costs milliseconds of a start that should take well under 100).
NOT_FOR_A_PLAIN_ASK = (
    "discord",
    "slack_bolt",
    "httpx",
    "aiohttp",
    "pydantic",
    "rich",
    "rapidfuzz",
    "argparse",
    "logging",
    "json",
    "asyncio",
    "probes.models",
    "knowledge._toml",
    "sqlalchemy",
    "alembic",
    "bot.store",
    "bot.watch",
)


def test_a_plain_ask_loads_only_what_the_answer_needs() -> None:
    """With the index compiled, `portbot ask 25565` imports no chat library, argparse, logging, json or asyncio."""
    assert portbot("ask", "25565").returncode == 0  # compiles the index if this data directory has none yet
    code = (
        "import sys\nfrom bot.cli import main\nmain(['ask', '25565'])\n"
        f"print('LOADED:', ','.join(m for m in {NOT_FOR_A_PLAIN_ASK!r} if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env["PORTBOT_DATA_DIR"] = os.environ["PORTBOT_DATA_DIR"]
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    assert "Port 25565" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "LOADED:"


def test_piped_chat_answers_each_line_and_exits_at_end_of_input() -> None:
    """With stdin not a terminal, `portbot` reads lines, answers each, and stops at EOF."""
    result = portbot(stdin="/port 22\n\n/port what is cgnat\n")
    assert result.returncode == 0, result.stderr
    assert "SSH (secure shell)" in result.stdout
    assert "CGNAT (carrier-grade NAT)" in result.stdout


def test_probe_reports_open_and_closed_as_json(listener: socket.socket) -> None:
    """`portbot probe --json` gives per-address state, RTT, reason and the vantage point."""
    open_port = listener.getsockname()[1]
    closed_port = free_port()
    result = portbot(
        "probe",
        "127.0.0.1",
        str(open_port),
        str(closed_port),
        "--json",
        env={"PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8"},
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["target"] == "127.0.0.1"
    (report,) = data["reports"]
    assert report["vantage"] == "this bot's own network" and report["local"] is True
    states = {r["port"]: (r["state"], r["reason"]) for r in report["results"]}
    assert states == {open_port: ("open", "syn-ack"), closed_port: ("closed", "rst")}
    assert all(isinstance(r["rtt_ms"], float) for r in report["results"])


def test_probe_refuses_loopback_by_default_without_connecting(listener: socket.socket) -> None:
    """A refused target exits 2 with one line, and the listener never sees a connection."""
    port = listener.getsockname()[1]
    result = portbot("probe", "127.0.0.1", str(port))
    assert result.returncode == 2
    assert result.stderr.startswith("portbot: 127.0.0.1 is a loopback address")
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(BlockingIOError):
        listener.accept()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("203.0.113.5", "70000"), "portbot: 70000 is not a port I can check: ports go from 1 to 65535."),
        (("203.0.113.5", "1-100"), "portbot: I check one host and a few ports at a time, never ranges"),
        (("203.0.113.5",), "portbot: Which port should I check?"),
    ],
)
def test_probe_invalid_input_exits_2(args: tuple[str, ...], message: str) -> None:
    """Invalid requests exit 2 with a one-line reason."""
    result = portbot("probe", *args)
    assert result.returncode == 2
    assert result.stderr.startswith(message)


def test_probe_through_an_unreachable_worker_is_an_internal_failure() -> None:
    """When no worker answers, the probe could not run: exit 1 with the reason."""
    result = portbot(
        "probe",
        "203.0.113.5",
        "443",
        "--via",
        "workers",
        env={
            "PORTBOT_WORKERS": f"http://127.0.0.1:{free_port()}",
            "PORTBOT_WORKER_SECRET": "s" * 32,
            "PORTBOT_ALLOW_NETWORKS": "203.0.113.0/24",
        },
    )
    assert result.returncode == 1, result.stderr
    assert result.stderr.startswith("portbot: ")
    assert "Traceback" not in result.stderr


def test_a_bad_setting_is_one_line_naming_the_variable() -> None:
    """Settings problems stop the command with the variable's name."""
    result = portbot("probe", "203.0.113.5", "443", env={"PORTBOT_ALLOW_NETWORKS": "nonsense"})
    assert result.returncode == 2
    assert result.stderr == (
        "portbot: PORTBOT_ALLOW_NETWORKS: 'nonsense' is not a network; "
        "use comma-separated CIDRs such as 203.0.113.0/24 or 2001:db8::/32 (set in the environment)\n"
    )


ONE_SHOT = {"ask": ("ask", "25565"), "probe": ("probe", "203.0.113.5", "443"), "doctor": ("doctor",)}


@pytest.mark.parametrize("command", ONE_SHOT)
@pytest.mark.parametrize(("variable", "value", "message"), BAD, ids=BAD_IDS)
def test_a_bad_setting_stops_ask_probe_and_doctor(
    command: str, variable: str, value: str, message: str
) -> None:
    """ask and probe print the one line and exit 2; doctor shows it with where to fix it and exits 1."""
    result = portbot(*ONE_SHOT[command], env={variable: value})
    line = f"{variable}: {message} (set in the environment)"
    assert "Traceback" not in result.stdout + result.stderr
    if command == "doctor":
        assert result.returncode == 1
        assert result.stdout.splitlines()[:2] == [
            f"✘ {line}",
            f"    → Change or unset {variable} where the environment is set (shell, service file, platform).",
        ]
    else:
        assert (result.returncode, result.stdout, result.stderr) == (2, "", f"portbot: {line}\n")


def test_doctor_names_every_bad_variable_at_once() -> None:
    """The four values from the issue give four ✘ lines, one per variable, and a non-zero exit."""
    bad = {
        "PORTBOT_LIMIT_USER": "lots",
        "PORTBOT_DNS_SERVERS": "bad",
        "PORTBOT_REDIS_URL": "notaurl",
        "PORTBOT_LOG_LEVEL": "verbose",
    }
    result = portbot("doctor", env=bad)
    assert result.returncode == 1
    flagged = [
        line.split(":")[0].removeprefix("✘ ") for line in result.stdout.splitlines() if line.startswith("✘")
    ]
    assert sorted(flagged) == sorted(bad)
    assert "All good" not in result.stdout
    assert "4 problems found." in result.stdout


def test_workers_without_a_secret_stop_a_check_before_it_starts() -> None:
    """A check through workers with no shared secret is a setting error (exit 2), not "something went wrong"."""
    result = portbot("ask", "check", "203.0.113.5", "443", env={"PORTBOT_WORKERS": "http://127.0.0.1:9"})
    assert (result.returncode, result.stdout) == (2, "")
    assert result.stderr.startswith("portbot: PORTBOT_WORKER_SECRET: not set, but PORTBOT_WORKERS is")


def test_doctor_names_a_misspelt_variable() -> None:
    """A PORTBOT_ variable that is no setting is named by doctor (ask still answers)."""
    result = portbot("doctor", env={"PORTBOT_LIMITS_USER": "5/minute"})
    assert result.returncode == 1
    assert "✘ PORTBOT_LIMITS_USER is not a Portbot setting, so it changes nothing" in result.stdout
    assert portbot("ask", "25565", env={"PORTBOT_LIMITS_USER": "5/minute"}).returncode == 0


def test_the_chat_refuses_to_start_on_a_bad_setting() -> None:
    """The terminal chat (and, through the same path, the bots and the worker) stop with the same line."""
    for command in ((), ("chat",), ("worker",), ("discord",), ("slack",)):
        result = portbot(*command, stdin="/port 22\n", env={"PORTBOT_LOG_LEVEL": "verbose"})
        assert (result.returncode, result.stdout) == (2, ""), command
        assert result.stderr == (
            "portbot: PORTBOT_LOG_LEVEL: 'verbose' is not a log level; use one of DEBUG, INFO, WARNING, ERROR "
            "(set in the environment)\n"
        )


def test_worker_without_a_secret_says_which_variable() -> None:
    """`portbot worker` refuses to start unsigned."""
    result = portbot("worker", "--port", "0")
    assert result.returncode == 2
    assert "PORTBOT_WORKER_SECRET is not set" in result.stdout + result.stderr


def test_knowledge_update_from_a_file(tmp_path: Path) -> None:
    """`portbot knowledge update --from FILE` installs a valid registry and rebuilds the index."""
    source = tmp_path / "iana.csv"
    shutil.copy(CSV, source)
    result = portbot("knowledge", "update", "--from", str(source))
    assert result.returncode == 0, result.stderr
    assert "14,512" in result.stdout


def test_knowledge_update_refuses_a_bad_file(tmp_path: Path) -> None:
    """A file that is not the IANA registry is refused with exit 2 and a reason."""
    source = tmp_path / "bad.csv"
    source.write_text("name,port\nssh,22\n")
    result = portbot("knowledge", "update", "--from", str(source))
    assert result.returncode == 2
    assert result.stderr.startswith("portbot: ")


async def test_doctor_checks_worker_signatures() -> None:
    """doctor says a worker accepts our signature, and spots a secret mismatch."""
    worker = await start(
        WorkerConfig(
            secret="right-secret-" * 3, port=0, region="Testland", policy=SafetyPolicy(), audit=False
        )
    )
    try:
        import asyncio

        good = await asyncio.to_thread(
            portbot,
            "doctor",
            env={"PORTBOT_WORKERS": worker.url, "PORTBOT_WORKER_SECRET": "right-secret-" * 3},
        )
        bad = await asyncio.to_thread(
            portbot,
            "doctor",
            env={"PORTBOT_WORKERS": worker.url, "PORTBOT_WORKER_SECRET": "wrong-secret-" * 3},
        )
    finally:
        await worker.stop()
    assert good.returncode == 0, good.stdout
    assert "✔ Worker Testland: reachable, signatures accepted" in good.stdout
    assert bad.returncode == 1
    assert "✘ Worker Testland: rejects our signature" in bad.stdout


def portbot_in(cwd: Path, *args: str, home: Path) -> subprocess.CompletedProcess[str]:
    """`portbot ARGS` run from ``cwd`` with no Portbot, Discord or Slack variable at all, and ``home`` as HOME."""
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_", "PORT"))
    }
    env.update({"HOME": str(home), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=60,
        check=False,
    )


def test_a_dotenv_in_the_working_directory_is_honoured_by_every_part(
    tmp_path: Path, listener: socket.socket
) -> None:
    """With only a .env: the knowledge cache and the audit log land in its data dir, its allowlist lets the
    probe through, and nothing is written under the home directory."""
    state, home = tmp_path / "state", tmp_path / "home"
    (tmp_path / ".env").write_text(f"PORTBOT_DATA_DIR={state}\nexport PORTBOT_ALLOW_NETWORKS='127.0.0.0/8'\n")
    port = listener.getsockname()[1]

    asked = portbot_in(tmp_path, "ask", "25565", home=home)
    probed = portbot_in(tmp_path, "probe", "127.0.0.1", str(port), "--json", home=home)

    assert asked.returncode == 0, asked.stderr
    assert (state / "cache" / CACHE_FILE).is_file()
    assert probed.returncode == 0, probed.stderr
    assert json.loads(probed.stdout)["reports"][0]["results"][0]["state"] == "open"
    with sqlite3.connect(state / "audit.sqlite3") as db:
        assert db.execute("SELECT target, outcome FROM probes").fetchall() == [("127.0.0.1", "probed")]
    assert not (home / ".local").exists()


def test_a_bad_value_in_dotenv_names_the_file(tmp_path: Path) -> None:
    """A bad value from .env stops `portbot ask` with the variable and `(set in .env)`."""
    (tmp_path / ".env").write_text("PORTBOT_LIMIT_USER=lots\n")
    result = portbot_in(tmp_path, "ask", "25565", home=tmp_path)
    assert result.returncode == 2
    assert result.stderr == (
        "portbot: PORTBOT_LIMIT_USER: 'lots' is not a rate; use a count per period such as 10/minute or "
        "100 per hour, or nothing to turn the limit off (set in .env)\n"
    )


def test_the_worker_takes_port_and_log_format_from_dotenv(tmp_path: Path) -> None:
    """`portbot worker` with no --port serves on .env's PORT and logs one JSON object per line."""
    port = free_port()
    (tmp_path / ".env").write_text(
        f"PORT={port}\nPORTBOT_WORKER_SECRET={'s' * 32}\nPORTBOT_LOG_FORMAT=json\n"
        f"PORTBOT_DATA_DIR={tmp_path / 'state'}\nPORTBOT_WORKER_REGION=Testland\n"
    )
    env = {
        k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_", "PORT"))
    }
    env.update({"HOME": str(tmp_path), "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1"})
    with subprocess.Popen(
        [sys.executable, "-m", "bot", "worker"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    ) as worker:
        try:
            assert worker.stderr is not None
            first = json.loads(worker.stderr.readline())  # waits for the start-up line
        finally:
            worker.terminate()
            worker.wait(timeout=30)
    assert first["level"] == "INFO" and first["logger"] == "portbot.worker"
    assert first["message"] == f"probe worker 'Testland' listening on http://127.0.0.1:{port}"


#: What a one-shot probe of an address needs none of: the chat stacks, the worker client's HTTP stack (no
#: workers set), the settings libraries it used to load (~330 ms), a resolver and IDNA (nothing to look up), and
#: what only an identified game needs.
NOT_FOR_A_LOCAL_PROBE = (
    "sqlalchemy",  # a one-shot probe audits to its file; the store is for the long-running commands
    "alembic",
    "bot.store",
    "pydantic",
    "pydantic_settings",
    "dotenv",
    "dns",
    "idna",
    "discord",
    "slack_bolt",
    "httpx",
    "aiohttp",
    "rich",
    "rapidfuzz",
    "mcstatus",
    "a2s",
    # The rate limits count in a SQLite file with their own arithmetic: limits (and the deprecated, wrapt and
    # importlib.metadata it pulls in, about a third of the process) is for the Redis path only.
    "limits",
    "deprecated",
    "wrapt",
    "importlib.metadata",
    # State (watches, the store) is for the commands that keep it: the parser's `watch` command loads none.
    "sqlalchemy",
    "alembic",
    "bot.store",
    "bot.watch",
)
#: What a closed port needs none of, besides: identification (TLS, banners, certificates) runs on open ports only.
NOT_FOR_A_CLOSED_PORT = (*NOT_FOR_A_LOCAL_PROBE, "probes.identify", "probes._x509")


@pytest.mark.parametrize("state", ["open", "closed"])
def test_a_probe_loads_no_settings_library(listener: socket.socket, state: str) -> None:
    """`portbot probe 127.0.0.1 PORT` imports no settings or limits library, resolver, chat or HTTP stack, and
    no identification for a closed port."""
    port = listener.getsockname()[1] if state == "open" else free_port()
    unwanted = NOT_FOR_A_LOCAL_PROBE if state == "open" else NOT_FOR_A_CLOSED_PORT
    code = (
        "import sys\nfrom bot.cli import main\n"
        f"status = main(['probe', '127.0.0.1', '{port}', '--json'])\n"
        f"print('EXIT', status, 'LOADED:', ','.join(m for m in {unwanted!r} if m in sys.modules))"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update({"PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"], "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8"})
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=True,
    )
    assert f'"state": "{state}"' in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "EXIT 0 LOADED:"


def test_doctor_names_the_worker_limits() -> None:
    """On a worker machine (secret set), doctor states the connection caps and deadlines and their variables."""
    result = portbot(
        "doctor",
        env={
            "PORTBOT_WORKER_SECRET": "s" * 40,
            "PORTBOT_WORKER_MAX_PER_SOURCE": "0",
            "PORTBOT_WORKER_IDLE_TIMEOUT": "30",
        },
    )
    assert (
        "✔ Worker limits: 1,024 connections, no per-address cap; headers within 10 s, bodies within 10 s, "
        "idle connections closed after 30 s"
    ) in result.stdout
    assert "PORTBOT_WORKER_MAX_CONNECTIONS" in result.stdout


def test_doctor_names_the_watch_limits() -> None:
    """Doctor states the watch quota and the shortest interval, as set."""
    result = portbot("doctor", env={"PORTBOT_WATCH_QUOTA": "25", "PORTBOT_WATCH_MIN_INTERVAL": "300"})
    assert (
        "✔ Watches: up to 25 per Discord server, Slack workspace and the command line, each checked at most "
        "every 5 min"
    ) in result.stdout


@pytest.mark.parametrize(
    ("days", "said"),
    [
        ("", "keeps rows for 90 days, then deletes them"),
        ("7", "keeps rows for 7 days, then deletes them"),
        ("0", "keeps every row (PORTBOT_AUDIT_KEEP_DAYS=0)"),
    ],
)
def test_doctor_says_how_long_the_audit_log_keeps_rows(days: str, said: str) -> None:
    """Doctor states PORTBOT_AUDIT_KEEP_DAYS as set (empty: the 90-day default; 0: forever)."""
    env = {"PORTBOT_AUDIT_KEEP_DAYS": days} if days else {}
    result = portbot("doctor", env=env)
    assert f"✔ Audit log in the database: {said}" in result.stdout


def test_doctor_names_the_slack_processes_and_where_they_share_limits() -> None:
    """With PORTBOT_SLACK_PROCESSES=2 and no Redis, doctor names the port, the count and the counter file."""
    result = portbot("doctor", env={"PORTBOT_SLACK_PROCESSES": "2", "SLACK_PORT": "3100"})
    counters = Path(os.environ["PORTBOT_DATA_DIR"]) / "ratelimits.sqlite3"
    assert (
        "✔ Slack HTTP: `portbot slack --http` serves port 3100 from 2 processes, sharing rate limits in "
        f"{counters}; the first runs the watch scheduler"
    ) in result.stdout


def test_doctor_says_when_the_open_file_limit_is_too_low_for_the_worker() -> None:
    """With a hard limit of 1,024 descriptors, doctor says the worker's connection cap won't fit."""
    import resource

    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update({"PORTBOT_DATA_DIR": os.environ["PORTBOT_DATA_DIR"], "PORTBOT_WORKER_SECRET": "s" * 40})
    result = subprocess.run(
        [sys.executable, "-m", "bot", "doctor"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
        check=False,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
    )
    assert (
        "→ The open-file limit here is 1,024; PORTBOT_WORKER_MAX_CONNECTIONS needs 1,824. "
        "Raise it (ulimit -n, or LimitNOFILE= in a systemd unit) or lower the cap."
    ) in result.stdout


def test_doctor_names_where_links_point_and_whom_it_believes() -> None:
    """On a worker machine, doctor shows the link base URL, lifetime and trusted proxies, and flags plain http."""
    result = portbot(
        "doctor",
        env={
            "PORTBOT_WORKER_SECRET": "s" * 40,
            "PORTBOT_LINK_BASE_URL": "http://check.example.net",
            "PORTBOT_TRUSTED_PROXIES": "10.0.0.0/8",
        },
    )
    assert (
        "✔ One-time links: http://check.example.net/l/…; last 10 minutes; X-Forwarded-For believed only from "
        "10.0.0.0/8"
    ) in result.stdout
    assert (
        "✘ PORTBOT_LINK_BASE_URL is plain http://: a link's token crosses the network readable"
        in result.stdout
    )
