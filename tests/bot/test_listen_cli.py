"""``portbot listen`` as a real process against a stand-in for the worker's link endpoint on loopback.

The stand-in does what the worker's link visit does for a listener: on ``GET /l/<token>?listener=…`` it
knocks (``probes.selfcheck.knock``) on each port at the visitor's address and answers JSON.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import socket
import sys
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web

from bot.cli import _parser
from probes import listen_standalone
from probes.selfcheck import diagnose, knock

ROOT = Path(__file__).resolve().parents[2]
STANDALONE = ROOT / "probes" / "listen_standalone.py"


@dataclass
class StandIn:
    base: str
    visits: list[dict[str, str]] = field(default_factory=list)

    def link(self, *ports: int, protocol: str = "tcp", status: int = 200) -> str:
        query = f"ports={','.join(map(str, ports))}&protocol={protocol}&status={status}"
        return f"{self.base}/l/tok3n?{query}"


async def _state(address: str, port: int, protocol: str, reached: bool) -> str:
    if protocol == "udp":
        return "open" if reached else "open|filtered"
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(address, port), 1.0)
    except (OSError, TimeoutError):
        return "closed"
    writer.close()
    return "open"


@pytest.fixture
async def stand_in() -> AsyncIterator[StandIn]:
    visits: list[dict[str, str]] = []

    async def visit(request: web.Request) -> web.Response:
        visits.append(dict(request.query))
        status = int(request.query["status"])
        if status != 200:
            return web.json_response(
                {"error": "used", "message": "This link was already used."}, status=status
            )
        address = request.remote or ""
        protocol = request.query["protocol"]
        rows = []
        for port in map(int, request.query["ports"].split(",")):
            reached = await knock(address, port, protocol, request.query.get("listener", ""), 1.0)
            state = await _state(address, port, protocol, reached)
            rows.append({"port": port, "protocol": protocol, "state": state, "reached_listener": reached})
        wan = request.query.get("wan")
        body = {"address": address, "ports": rows, "diagnosis": diagnose(address, wan).as_dict()}
        return web.json_response(body)

    app = web.Application()
    app.router.add_get("/l/{token}", visit)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield StandIn(f"http://{host}:{port}", visits)
    await runner.cleanup()


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def run(*args: str, python: tuple[str, ...] = (sys.executable, "-m", "bot")) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
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


async def test_tcp_forward_reaches_the_listener(stand_in: StandIn) -> None:
    """The worker's knock on the TCP port reaches this listener: reached_listener is true, exit 0."""
    port = free_port()
    code, out, err = await run("listen", str(port), "--link", stand_in.link(port), "--json", "--no-router")
    assert (code, err) == (0, "")
    report = json.loads(out)
    assert report["ports"] == [
        {"port": port, "protocol": "tcp", "reached_listener": True, "bound": True, "state": "open"}
    ]
    assert report["public_address"] == "127.0.0.1"
    assert re.fullmatch(r"[0-9a-f]{64}", stand_in.visits[0]["listener"])


async def test_udp_forward_reaches_the_listener(stand_in: StandIn) -> None:
    """With --udp the listener answers the knock datagram."""
    port = free_port(socket.SOCK_DGRAM)
    link = stand_in.link(port, protocol="udp")
    code, out, _ = await run("listen", str(port), "--udp", "--link", link, "--json", "--no-router")
    assert code == 0
    assert json.loads(out)["ports"][0]["reached_listener"] is True


async def test_plain_output_says_the_forward_works(stand_in: StandIn) -> None:
    """Without --json each port gets one plain sentence."""
    port = free_port()
    code, out, _ = await run("listen", str(port), "--link", stand_in.link(port), "--no-router")
    assert code == 0
    assert out.splitlines()[0] == f"{port}/tcp: reached this machine. The forward works."


async def test_port_in_use_is_named_and_still_tested(stand_in: StandIn, held_port: int) -> None:
    """A busy port is said clearly, with the program holding it, and the check tests that program instead."""
    code, out, err = await run("listen", str(held_port), "--link", stand_in.link(held_port), "--no-router")
    assert code == 0
    assert re.fullmatch(
        rf"Port {held_port}/tcp is already in use by \S+ \(pid {os.getpid()}\)\. "
        r"portbot listen can't listen there, so the check tests that program instead\.\n",
        err,
    )
    assert out.splitlines()[0] == (
        f"{held_port}/tcp: the other program on this port answered the check, not portbot listen."
    )


async def test_port_in_use_json_says_not_reached(stand_in: StandIn, held_port: int) -> None:
    """In JSON a busy port is reached_listener false, bound false, and open (the other program answered)."""
    _, out, _ = await run(
        "listen", str(held_port), "--link", stand_in.link(held_port), "--json", "--no-router"
    )
    (entry,) = json.loads(out)["ports"]
    assert (entry["reached_listener"], entry["bound"], entry["state"]) == (False, False, "open")
    assert entry["in_use_by"].endswith(f"(pid {os.getpid()})")


async def test_a_used_link_is_one_clear_line(stand_in: StandIn) -> None:
    """A link the worker refuses (already used) gives its message and exit 1, no traceback."""
    port = free_port()
    code, out, err = await run("listen", str(port), "--link", stand_in.link(port, status=410), "--no-router")
    assert (code, out) == (1, "")
    assert err == "portbot listen: the link answered 410: This link was already used.\n"


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


async def test_single_file_script_needs_only_the_standard_library(stand_in: StandIn, tmp_path: Path) -> None:
    """The module copied alone as listen.py runs under an isolated Python with no site-packages."""
    script = tmp_path / "listen.py"
    shutil.copy(STANDALONE, script)
    port = free_port()
    python = (sys.executable, "-I", "-S", str(script))
    code, out, err = await run(
        str(port), "--link", stand_in.link(port), "--json", "--no-router", python=python
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
