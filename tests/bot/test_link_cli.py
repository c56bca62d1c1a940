"""`portbot link` as a user runs it: real processes for the CLI and the worker, a real visit on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

SECRET = "s3cret-for-link-cli-tests"
ROOT = Path(__file__).resolve().parents[2]


def _environment(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(
        {
            "PORTBOT_WORKER_SECRET": SECRET,
            "PORTBOT_DATA_DIR": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
            **extra,
        }
    )
    return env


@pytest.fixture
async def worker_url(tmp_path: Path) -> AsyncIterator[str]:
    """`portbot worker` in its own process on loopback, allowed to probe loopback."""
    env = _environment(
        tmp_path,
        PORTBOT_WORKER_REGION="Lab",
        PORTBOT_ALLOW_NETWORKS="127.0.0.0/8,::1/128",
        PORTBOT_PROBE_TIMEOUT="1",
        PORTBOT_PROBE_ICMP_RTT="false",
        PORTBOT_PROBE_TTL_RTT="false",
    )
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        "--port",
        "0",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=20)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    """The member's browser, on 127.0.0.1."""
    async with httpx.AsyncClient(timeout=10) as client:
        yield client


@pytest.fixture
async def listener() -> AsyncIterator[int]:
    """A TCP server on 127.0.0.1; yields its port."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()


async def link_command(tmp_path: Path, worker_url: str, *args: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "link",
        *args,
        cwd=ROOT,
        env=_environment(tmp_path / "cli", PORTBOT_WORKERS=f"Lab={worker_url}"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def test_the_first_line_is_the_link_and_the_visit_gives_json_states(
    tmp_path: Path, worker_url: str, listener: int, http: httpx.AsyncClient
) -> None:
    """The URL comes alone on line one; visiting it from 127.0.0.1 prints `portbot probe --json`'s states, exit 0."""
    proc = await link_command(tmp_path, worker_url, str(listener), "--tcp", "--json")
    assert proc.stdout is not None
    first = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
    assert first.startswith(f"{worker_url}/l/") and first.endswith("\n") and " " not in first.strip()
    page = await http.get(first.strip())
    assert page.status_code == 200
    rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0
    data = json.loads(rest)
    assert [(r["address"], r["port"], r["state"]) for r in data["reports"][0]["results"]] == [
        ("127.0.0.1", listener, "open")
    ]
    assert data["reports"][0]["vantage"] == "Lab"
    assert data["link"]["address_kind"] == "v4"


async def test_a_closed_port_is_explained_in_words(
    tmp_path: Path, worker_url: str, http: httpx.AsyncClient
) -> None:
    """Without --json the verdict is the chat's explanation, and the exit status is 0."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = await link_command(tmp_path, worker_url, str(port), "--tcp")
    assert proc.stdout is not None
    url = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode().strip()
    await http.get(url)
    rest, _ = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 0
    assert f"Closed: 127.0.0.1:{port} refused the connection." in rest.decode()


async def test_an_unused_link_exits_3(tmp_path: Path, worker_url: str) -> None:
    """When nobody opens the link before --wait runs out, it says so on stderr and exits 3."""
    proc = await link_command(tmp_path, worker_url, "25565", "--wait", "1")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 3
    assert out.decode().count("\n") == 1
    assert (
        err.decode() == "portbot: Nobody opened the link within 1 seconds; it still works until it expires.\n"
    )


async def test_without_workers_it_says_what_to_set(tmp_path: Path) -> None:
    """Without PORTBOT_WORKERS the command refuses in one line and exits 2."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "link",
        "25565",
        cwd=ROOT,
        env=_environment(tmp_path),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert proc.returncode == 2
    assert out == b""
    assert err.decode() == (
        "portbot: `portbot link` needs a worker that your server can reach: set PORTBOT_WORKERS (and "
        "PORTBOT_WORKER_SECRET) to a `portbot worker` on the internet.\n"
    )


async def test_a_bad_port_is_refused(tmp_path: Path, worker_url: str) -> None:
    """A word that is not a port is refused in one line, exit 2, with no link made."""
    proc = await link_command(tmp_path, worker_url, "minecraft")
    out, err = await asyncio.wait_for(proc.communicate(), timeout=30)
    assert (proc.returncode, out) == (2, b"")
    assert err.decode() == "portbot: I couldn't read `minecraft` as a port number (1 to 65535).\n"
