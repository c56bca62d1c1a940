"""The real ``portbot slack --http`` serving from two processes on one port (PORTBOT_SLACK_PROCESSES=2): both
answer signed requests, they share one rate limit, and none outlives the first."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from bot.slack import EVENTS_PATH, PROCESS_HEADER
from tests.bot.slack import payloads
from tests.bot.slack.fake_slack import FakeSlack
from tests.bot.slack.test_process import free_port, wait_until_up

REQUESTS_TO_MEET_BOTH = 60  # SO_REUSEPORT hashes each connection: 60 new ones all on one of two is 2^-59


class Served:
    def __init__(self, port: int, process: asyncio.subprocess.Process) -> None:
        self.port = port
        self.process = process
        self.sent = 0

    async def post(self, text: str, fake_slack: FakeSlack) -> tuple[str, str]:
        """Send ``/port text`` over a connection of its own; the process that acked it and the response hook."""
        self.sent += 1
        hook = f"r{self.sent}"
        body = payloads.command(text, fake_slack.response_url(hook))
        # A new client each time: a new connection, which the kernel may give to either process.
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{self.port}") as client:
            response = await client.post(EVENTS_PATH, content=body, headers=payloads.signature_headers(body))
        assert response.status_code == 200
        return response.headers[PROCESS_HEADER], hook


def children_of(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except (FileNotFoundError, ProcessLookupError):
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@pytest.fixture
async def two_processes(fake_slack: FakeSlack, tmp_path: Path, listening: int) -> AsyncIterator[Served]:
    port = free_port()
    env = payloads.http_app_env(
        fake_slack.api_url,
        port,
        str(tmp_path / "data"),
        PORTBOT_SLACK_PROCESSES="2",
        PORTBOT_ALLOW_NETWORKS="127.0.0.0/8",
        PORTBOT_LIMIT_USER="3/minute",
        PORTBOT_LOG_LEVEL="WARNING",
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "slack", "--http",
        env=env, cwd=tmp_path,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        start_new_session=True,  # a process group of its own, for Ctrl-C as a terminal sends it
    )  # fmt: skip
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            await wait_until_up(client, process)
        yield Served(port, process)
    finally:
        if process.returncode is None:
            process.kill()
        # communicate() reads stdout and stderr to their end, which the children hold too: it returns once
        # every process is gone.
        async with asyncio.timeout(30):
            await process.communicate()


async def meet_both(served: Served, fake_slack: FakeSlack) -> None:
    """Send /port 25565 over new connections until both processes have answered one (the second starts later)."""
    seen: set[str] = set()
    async with asyncio.timeout(60):
        while len(seen) < 2:
            for _ in range(REQUESTS_TO_MEET_BOTH):
                answered_by, hook = await served.post("25565", fake_slack)
                posted = await fake_slack.wait_for_post(hook, timeout=30)
                assert "25565" in posted.body["blocks"][0]["text"]["text"]
                seen.add(answered_by)
                if len(seen) == 2:
                    break
    assert seen == {"0", "1"}


async def port_closed(port: int) -> bool:
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
    except OSError:
        return True
    writer.close()
    return False


async def test_both_processes_answer_signed_commands(two_processes: Served, fake_slack: FakeSlack) -> None:
    """Signed /port commands on separate connections are acked and answered by process 0 and process 1."""
    await meet_both(two_processes, fake_slack)


async def test_the_processes_share_one_rate_limit(
    two_processes: Served, fake_slack: FakeSlack, listening: int
) -> None:
    """PORTBOT_LIMIT_USER=3/minute over two processes: three checks in all are probed, the rest refused."""
    await meet_both(two_processes, fake_slack)
    by: list[str] = []
    titles: list[str] = []
    while len(by) < 4 or len(set(by)) < 2:  # both processes take checks (else nothing is shown shared)
        assert len(by) < REQUESTS_TO_MEET_BOTH
        answered_by, hook = await two_processes.post(f"check 127.0.0.1 {listening}", fake_slack)
        posted = await fake_slack.wait_for_post(hook, timeout=30)
        by.append(answered_by)
        titles.append(posted.body["text"])
    probed = [t for t in titles if t.startswith("Port check: 127.0.0.1")]
    refused = [t for t in titles if t.startswith("Too many checks")]
    assert (len(probed), len(refused)) == (3, len(titles) - 3)


async def test_sigterm_stops_every_process(two_processes: Served, fake_slack: FakeSlack) -> None:
    """SIGTERM on the first process stops both, cleanly: exit status 0 and the port no longer answers."""
    await meet_both(two_processes, fake_slack)
    two_processes.process.send_signal(signal.SIGTERM)
    async with asyncio.timeout(30):
        _, err = await two_processes.process.communicate()
    assert two_processes.process.returncode == 0
    assert b"Traceback" not in err
    assert await port_closed(two_processes.port)


async def test_a_killed_first_process_leaves_no_orphan(two_processes: Served, fake_slack: FakeSlack) -> None:
    """SIGKILL on the first process: the second notices its pipe close and stops, freeing the port."""
    await meet_both(two_processes, fake_slack)
    two_processes.process.kill()
    async with asyncio.timeout(30):
        await two_processes.process.communicate()  # the output pipes close only when the child is gone too
        while not await port_closed(two_processes.port):
            await asyncio.sleep(0.05)


async def test_ctrl_c_in_a_terminal_stops_every_process_quietly(
    two_processes: Served, fake_slack: FakeSlack
) -> None:
    """SIGINT to the whole process group (Ctrl-C): exit status 130, no child started again, no traceback."""
    await meet_both(two_processes, fake_slack)
    os.killpg(two_processes.process.pid, signal.SIGINT)
    async with asyncio.timeout(30):
        _, err = await two_processes.process.communicate()
    assert two_processes.process.returncode == 130
    assert b"starting it again" not in err
    assert b"Traceback" not in err
    assert await port_closed(two_processes.port)


async def test_a_child_that_dies_is_started_again(two_processes: Served, fake_slack: FakeSlack) -> None:
    """SIGKILL on the second process: the first starts a new one, which answers on the same port."""
    await meet_both(two_processes, fake_slack)
    (child,) = children_of(two_processes.process.pid)
    os.kill(child, signal.SIGKILL)
    async with asyncio.timeout(60):
        while children_of(two_processes.process.pid) in ([], [child]):
            await asyncio.sleep(0.05)
    await meet_both(two_processes, fake_slack)
    assert children_of(two_processes.process.pid) != [child]
