"""The real ``portbot slack --http`` process, its Web API aimed at the fake Slack, answering a signed /port."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar
from urllib.parse import parse_qsl

import httpx
import pytest

from bot.slack import EVENTS_PATH, HEALTH_PATH
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack

T = TypeVar("T")

STARTUP_TIMEOUT = 60.0  # the knowledge base loads first; a loaded CI machine can be slow


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def portbot_http(
    fake_slack: FakeSlack, tmp_path: Path
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncio.subprocess.Process]]:
    port = free_port()
    env = payloads.http_app_env(fake_slack.api_url, port, str(tmp_path / "data"), PORTBOT_LOG_LEVEL="WARNING")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack", "--http",
        env=env, cwd=tmp_path,  # no stray .env from the repository
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_up(client, process)
            yield client, process
    finally:
        if process.returncode is None:
            process.kill()
        await process.communicate()


async def wait_until_up(client: httpx.AsyncClient, process: asyncio.subprocess.Process) -> None:
    """Poll the health endpoint until it answers; fail at once if the process dies."""
    async with asyncio.timeout(STARTUP_TIMEOUT):
        while True:
            if process.returncode is not None:
                _, err = await process.communicate()
                pytest.fail(f"portbot slack --http exited {process.returncode}: {err.decode()[-2000:]}")
            try:
                if (await client.get(HEALTH_PATH)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.05)


async def test_portbot_slack_http_answers_a_signed_command_and_stops_on_interrupt(
    portbot_http: tuple[httpx.AsyncClient, asyncio.subprocess.Process], fake_slack: FakeSlack
) -> None:
    """/port 25565 posted to the process is acked and answered at the fake response_url; Ctrl-C stops it."""
    client, process = portbot_http
    body = payloads.command("25565", fake_slack.response_url("cmd"))
    response = await client.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
    assert response.status_code == 200
    posted = await fake_slack.wait_for_post("cmd", timeout=30)
    assert posted.body["response_type"] == "in_channel"
    assert "25565" in posted.body["blocks"][0]["text"]["text"]
    assert [c.token for c in fake_slack.calls_to("auth.test")] == [payloads.BOT_TOKEN]

    process.send_signal(signal.SIGINT)
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    assert process.returncode == 130
    assert b"Traceback" not in err


async def test_portbot_slack_http_stops_cleanly_on_sigterm(
    portbot_http: tuple[httpx.AsyncClient, asyncio.subprocess.Process],
) -> None:
    """SIGTERM (a platform stopping the process) shuts down cleanly with exit status 0."""
    _, process = portbot_http
    process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, err = await process.communicate()
    assert process.returncode == 0
    assert b"Traceback" not in err


async def while_alive(process: asyncio.subprocess.Process, waiting: Awaitable[T]) -> T:
    """Await ``waiting``, failing at once (with the process's stderr) if the process exits first."""
    task = asyncio.ensure_future(waiting)
    exited = asyncio.ensure_future(process.wait())
    await asyncio.wait({task, exited}, return_when=asyncio.FIRST_COMPLETED)
    if not task.done():
        task.cancel()
        _, err = await process.communicate()
        pytest.fail(f"portbot slack exited {process.returncode}: {err.decode()[-2000:]}")
    exited.cancel()
    return task.result()


async def test_portbot_slack_socket_mode_answers_over_the_websocket(
    fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """`portbot slack` connects out through apps.connections.open, acks on the socket, answers, stops on Ctrl-C."""
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": payloads.BOT_TOKEN,
        "SLACK_APP_TOKEN": payloads.APP_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
        "PORTBOT_DATA_DIR": str(tmp_path / "data"),
        "PORTBOT_LOG_LEVEL": "WARNING",
    }
    command = dict(parse_qsl(payloads.command("25565", fake_slack.response_url("cmd"))))
    fake_slack.send_envelope(
        {
            "envelope_id": "env-1",
            "type": "slash_commands",
            "accepts_response_payload": True,
            "payload": command,
        }
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack",
        env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    try:
        ack = await while_alive(process, fake_slack.wait_for_socket_ack("env-1", timeout=STARTUP_TIMEOUT))
        posted = await while_alive(process, fake_slack.wait_for_post("cmd", timeout=30))
        assert ack["payload"] == {"text": "", "response_type": "in_channel"}
        assert posted.body["response_type"] == "in_channel"
        assert "25565" in posted.body["blocks"][0]["text"]["text"]
        assert [c.token for c in fake_slack.calls_to("apps.connections.open")] == [payloads.APP_TOKEN]

        process.send_signal(signal.SIGINT)
        async with asyncio.timeout(30):
            _, err = await process.communicate()
        assert process.returncode == 130
        assert b"Traceback" not in err
    finally:
        if process.returncode is None:
            process.kill()
            await process.communicate()
