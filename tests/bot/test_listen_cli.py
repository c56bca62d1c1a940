"""``portbot listen`` as a real process against the real worker's link routes on loopback.

The worker sees the visit come from 127.0.0.1, probes that address on the link's ports and knocks there with
the secret the listener sent (``probes.selfcheck.knock``); the listener answers from its own process.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from bot.cli import _parser
from probes import listen_standalone
from probes.auth import sign
from probes.engine import EngineConfig, ProbeEngine
from probes.policy import SafetyPolicy
from probes.worker import WorkerConfig, start

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "probes" / "listen_standalone.py"


SECRET = "s3cret-for-listen-tests"
# Loopback plays the member's public address here, allowed through the policy as in the worker's own tests.
LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])
FAST = EngineConfig(timeout=1.0, identify=False, icmp_rtt=False, ttl_rtt=False, rtt_memory=False)


@dataclass
class Worker:
    url: str
    http: httpx.AsyncClient

    async def link(self, *ports: int, protocol: str = "tcp") -> str:
        """A one-time link for ``ports``, made through the signed API as the bot makes it."""
        body = {
            "ports": list(ports),
            "protocol": protocol,
            "requester": {"platform": "discord", "user_id": "111", "guild_id": "9"},
            "request_id": uuid.uuid4().hex,
        }
        content = json.dumps(body).encode()
        response = await self.http.post(
            f"{self.url}/v1/links", content=content, headers=sign(SECRET, content)
        )
        assert response.status_code == 200, response.text
        return str(response.json()["url"])


@pytest.fixture
async def worker() -> AsyncIterator[Worker]:
    """The real probe worker on loopback, with the real engine."""
    config = WorkerConfig(
        secret=SECRET, host="127.0.0.1", port=0, region="Frankfurt", audit=False, engine=FAST, policy=LOOPBACK
    )
    running = await start(config, ProbeEngine(config.policy, FAST))
    async with httpx.AsyncClient(timeout=10) as http:
        yield Worker(running.url, http)
    await running.stop()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(
    *args: str, python: tuple[str, ...] = (sys.executable, "-m", "bot"), **settings: str
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(settings)
    process = await asyncio.create_subprocess_exec(
        *python,
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=ROOT,
        env=env,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


@pytest.fixture
def held_port() -> Iterator[int]:
    """A TCP port another program (this test process) already listens on."""
    sock = socket.socket()
    sock.bind(("0.0.0.0", 0))  # listen binds all interfaces
    sock.listen(4)
    yield int(sock.getsockname()[1])
    sock.close()


async def test_tcp_forward_reaches_the_listener(worker: Worker) -> None:
    """The worker's knock on the TCP port reaches this listener: reached_listener is true, exit 0."""
    port = free_port()
    code, out, err = await run(
        "listen", str(port), "--link", await worker.link(port), "--json", "--no-router"
    )
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["ports"] == [
        {"port": port, "protocol": "tcp", "reached_listener": True, "bound": True, "state": "open"}
    ]
    assert report["public_address"] == "127.0.0.1"


async def test_udp_forward_reaches_the_listener(worker: Worker) -> None:
    """With --udp the listener answers the knock datagram."""
    port = free_port(socket.SOCK_DGRAM)
    link = await worker.link(port, protocol="udp")
    code, out, _ = await run("listen", str(port), "--udp", "--link", link, "--json", "--no-router")
    assert code == 0
    assert json.loads(out)["ports"][0]["reached_listener"] is True


async def test_plain_output_says_the_forward_works(worker: Worker) -> None:
    """Without --json each port gets one plain sentence."""
    port = free_port()
    code, out, _ = await run("listen", str(port), "--link", await worker.link(port), "--no-router")
    assert code == 0
    assert out.splitlines()[0] == f"{port}/tcp: reached this machine. The forward works."


async def test_port_in_use_is_named_and_still_tested(worker: Worker, held_port: int) -> None:
    """A busy port is said clearly, with the program holding it, and the check tests that program instead."""
    code, out, err = await run(
        "listen", str(held_port), "--link", await worker.link(held_port), "--no-router"
    )
    assert code == 0
    assert re.fullmatch(
        rf"Port {held_port}/tcp is already in use by \S+ \(pid {os.getpid()}\)\. "
        r"portbot listen can't listen there, so the check tests that program instead\.\n",
        err,
    )
    assert out.splitlines()[0] == (
        f"{held_port}/tcp: the other program on this port answered the check, not portbot listen."
    )


async def test_port_in_use_json_says_not_reached(worker: Worker, held_port: int) -> None:
    """In JSON a busy port is reached_listener false, bound false, and open (the other program answered)."""
    _, out, _ = await run(
        "listen", str(held_port), "--link", await worker.link(held_port), "--json", "--no-router"
    )
    (entry,) = json.loads(out)["ports"]
    assert (entry["reached_listener"], entry["bound"], entry["state"]) == (False, False, "open")
    assert entry["in_use_by"].endswith(f"(pid {os.getpid()})")


async def test_a_used_link_is_one_clear_line(worker: Worker) -> None:
    """A link already used gives one friendly line and exit 1, no traceback (the browser's visit and then
    `portbot listen`'s own are each once: the page offers listen.py for the link it was opened with)."""
    port = free_port()
    link = await worker.link(port)
    assert (await worker.http.get(link)).status_code == 200
    first, _, _ = await run("listen", str(port), "--link", link, "--no-router")
    assert first == 0
    code, out, err = await run("listen", str(port), "--link", link, "--no-router")
    assert (code, out) == (1, "")
    assert err == ("portbot listen: this link was already used or has expired; ask Portbot for a new one.\n")


async def test_an_unknown_link_is_one_clear_line(worker: Worker) -> None:
    """A link the worker doesn't know (mistyped) gives one friendly line and exit 1."""
    port = free_port()
    link = await worker.link(port)
    code, out, err = await run("listen", str(port), "--link", link[:-4] + "AAAA", "--no-router")
    assert (code, out) == (1, "")
    assert err == "portbot listen: the worker doesn't know this link; copy the whole link and try again.\n"


async def test_the_listener_stops_by_itself_at_the_timeout() -> None:
    """A link that never answers: listen gives up at --timeout and says so."""
    hang = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await hang.wait()
        writer.close()
        await writer.wait_closed()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    base = server.sockets[0].getsockname()[1]
    async with server:
        port = free_port()
        link = f"http://127.0.0.1:{base}/l/x"
        code, _, err = await run("listen", str(port), "--link", link, "--timeout", "1", "--no-router")
        hang.set()
    assert code == 1
    assert err == "portbot listen: could not open the link (timed out).\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("99999", "--link", "https://x.example/l/t"),
            "portbot listen: '99999' is not a port number (1 to 65535).\n",
        ),
        (
            ("1", "2", "3", "4", "5", "6", "--link", "https://x.example/l/t"),
            "portbot listen: Give between 1 and 5 ports.\n",
        ),
        (
            ("25565", "--link", "ftp://x.example/"),
            "portbot listen: The link must be the https:// address Portbot gave you.\n",
        ),
        (("25565",), ""),
    ],
)
async def test_bad_input_exits_2_with_one_line(args: tuple[str, ...], message: str) -> None:
    """Bad ports, a bad link or no link: one friendly line, exit 2."""
    from bot.listen_cli import NO_LINK

    code, out, err = await run("listen", *args, "--no-router")
    assert (code, out) == (2, "")
    assert err == (message or NO_LINK + "\n")


async def test_single_file_script_needs_only_the_standard_library(worker: Worker, tmp_path: Path) -> None:
    """The module copied alone as listen.py runs under an isolated Python with no site-packages."""
    script = tmp_path / "listen.py"
    shutil.copy(STANDALONE, script)
    port = free_port()
    python = (sys.executable, "-I", "-S", str(script))
    code, out, err = await run(
        str(port), "--link", await worker.link(port), "--json", "--no-router", python=python
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["ports"][0]["reached_listener"] is True


def test_portbot_listen_and_the_script_take_the_same_options() -> None:
    """``portbot listen`` and ``listen.py`` accept the same options (kept in two places for import weight)."""
    import argparse

    sub = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    portbot_listen = sub.choices["listen"]
    script = argparse.ArgumentParser()
    listen_standalone.add_options(script)
    script.add_argument("--link")

    def options(parser: argparse.ArgumentParser) -> set[tuple[str, ...]]:
        return {tuple(a.option_strings) for a in parser._actions if a.option_strings}

    assert options(portbot_listen) == options(script)


@pytest.mark.parametrize(
    ("wan", "verdict"),
    [("127.0.0.1", "forward-or-firewall"), ("100.64.1.1", "cgnat"), ("192.168.1.2", "double-nat")],
)
async def test_the_worker_judges_the_wan_address_sent_with_the_visit(
    worker: Worker, wan: str, verdict: str
) -> None:
    """A listener's visit with wan= gets the diagnosis of that WAN address against the address seen, as JSON."""
    port = free_port()
    link = await worker.link(port)
    secret = "ab" * 32
    response = await worker.http.get(
        link, params={"listener": secret, "wan": wan}, headers={"Accept": "application/json"}
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["address"], body["diagnosis"]["verdict"]) == ("127.0.0.1", verdict)
    assert body["ports"] == [{"port": port, "protocol": "tcp", "state": "closed", "reached_listener": False}]


async def test_a_visit_without_a_listener_still_gets_the_page(worker: Worker) -> None:
    """Asking for JSON without a listener secret changes nothing: the member's browser gets the HTML page."""
    port = free_port()
    response = await worker.http.get(await worker.link(port), headers={"Accept": "application/json"})
    assert response.headers["Content-Type"].startswith("text/html")


async def test_without_a_link_listen_asks_the_worker_itself(worker: Worker, tmp_path: Path) -> None:
    """With PORTBOT_WORKERS set and no --link, listen gets a link from the worker and checks through it."""
    port = free_port()
    code, out, err = await run(
        "listen",
        str(port),
        "--json",
        "--no-router",
        PORTBOT_WORKERS=f"Lab={worker.url}",
        PORTBOT_WORKER_SECRET=SECRET,
        PORTBOT_DATA_DIR=str(tmp_path),
    )
    assert (code, err) == (0, "")
    assert json.loads(out)["ports"][0]["reached_listener"] is True


async def test_the_worker_serves_the_single_file_script(worker: Worker, tmp_path: Path) -> None:
    """GET /listen.py is the standalone module as a download, and that download runs on its own."""
    response = await worker.http.get(f"{worker.url}/listen.py")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == 'attachment; filename="listen.py"'
    assert response.content == STANDALONE.read_bytes()
    script = tmp_path / "listen.py"
    script.write_bytes(response.content)
    port = free_port()
    python = (sys.executable, "-I", "-S", str(script))
    code, out, _ = await run(
        str(port), "--link", await worker.link(port), "--json", "--no-router", python=python
    )
    assert code == 0
    assert json.loads(out)["ports"][0]["reached_listener"] is True
