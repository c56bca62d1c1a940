"""The worker in a process of its own under a small open-file limit: a flood of slow connections, and
running out of descriptors."""

from __future__ import annotations

import asyncio
import json
import os
import re
import resource
import signal
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECRET = "s3cret-for-fd-tests"


class Child:
    """A worker subprocess (tests/probes/_worker_child.py) and what it printed."""

    def __init__(self, proc: asyncio.subprocess.Process, url: str) -> None:
        self.proc = proc
        self.url = url
        parts = urlsplit(url)
        self.host, self.port = str(parts.hostname), int(parts.port or 0)

    async def line(self) -> str:
        assert self.proc.stdout is not None
        return (await asyncio.wait_for(self.proc.stdout.readline(), timeout=30)).decode().strip()

    async def stop(self) -> str:
        """SIGTERM, wait, and return everything it logged."""
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(self.proc.wait(), timeout=30)
        except TimeoutError:
            self.proc.kill()
            await self.proc.wait()
        assert self.proc.stderr is not None
        return (await self.proc.stderr.read()).decode()


StartChild = Callable[..., Awaitable[Child]]


def _nofile(limit: int) -> Callable[[], None]:
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))

    return apply


@pytest.fixture
async def start_child() -> AsyncIterator[StartChild]:
    """Starts worker subprocesses under an open-file limit; stops them after the test."""
    children: list[Child] = []

    async def _start(nofile: int, **options: Any) -> Child:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.probes._worker_child",
            json.dumps({"secret": SECRET, **options}),
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            preexec_fn=_nofile(nofile),
        )
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        if not line.startswith("listening on "):
            proc.kill()
            pytest.fail(f"worker did not start: {line!r}")
        child = Child(proc, line.removeprefix("listening on ").strip())
        children.append(child)
        return child

    yield _start
    for child in children:
        await child.stop()


async def get(host: str, port: int, path: str, source: str = "127.0.0.1") -> tuple[int, bytes]:
    """One GET over a fresh connection: status and body."""
    reader, writer = await asyncio.open_connection(host, port, local_addr=(source, 0))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: worker\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        raw = await reader.read()
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


def metric(text: bytes, name: str) -> float:
    match = re.search(rf"^{re.escape(name)} (\S+)$", text.decode(), re.MULTILINE)
    assert match, name
    return float(match.group(1))


def _raise_own_limit(wanted: int) -> None:
    """This test process opens the flood itself, so it needs more descriptors than the worker has."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < wanted:
        if hard != resource.RLIM_INFINITY and hard < wanted:
            pytest.skip(f"needs an open-file limit of {wanted} for the test client (hard limit is {hard})")
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


class Flood:
    """``count`` connections from several loopback sources, each sending its request headers one byte at a
    time; a connection the worker closes is opened again."""

    def __init__(self, host: str, port: int, count: int, sources: list[str]) -> None:
        self.host, self.port = host, port
        self.count, self.sources = count, sources
        self.writers: list[asyncio.StreamWriter | None] = [None] * count
        self.opened = 0
        self.refused = 0
        self._request = b"GET /healthz HTTP/1.1\r\nHost: worker\r\nX-Slow: " + b"a" * 4000

    async def _open(self, i: int) -> None:
        try:
            _, writer = await asyncio.open_connection(
                self.host, self.port, local_addr=(self.sources[i % len(self.sources)], 0)
            )
        except OSError:
            self.refused += 1
            return
        self.opened += 1
        self.writers[i] = writer

    async def run(self, seconds: float, interval: float = 0.5) -> None:
        await asyncio.gather(*(self._open(i) for i in range(self.count)))
        end = time.monotonic() + seconds
        step = 0
        while time.monotonic() < end:
            reopen = []
            for i, writer in enumerate(self.writers):
                if writer is None or writer.is_closing() or writer.transport.get_extra_info("socket") is None:
                    reopen.append(i)
                    continue
                writer.write(self._request[step % len(self._request) : step % len(self._request) + 1])
            for i in reopen:
                old = self.writers[i]
                if old is not None:
                    old.close()
                self.writers[i] = None
            await asyncio.gather(*(self._open(i) for i in reopen))
            step += 1
            await asyncio.sleep(interval)

    def close(self) -> None:
        for writer in self.writers:
            if writer is not None:
                writer.close()


@pytest.mark.slow
async def test_healthz_answers_within_3s_while_1100_connections_trickle_under_ulimit_1024(
    start_child: StartChild,
) -> None:
    """Under `ulimit -n 1024`, 1,100 connections trickling header bytes from 11 addresses don't stop
    /healthz answering a new client within 3 s, and the worker never runs out of descriptors."""
    _raise_own_limit(4096)
    child = await start_child(1024)
    flood = Flood(child.host, child.port, 1100, [f"127.0.0.{n}" for n in range(1, 12)])
    flooding = asyncio.create_task(flood.run(seconds=8))
    latencies = []
    try:
        while flood.opened < 1100 and not flooding.done():
            await asyncio.sleep(0.05)
        for _ in range(6):
            began = time.monotonic()
            status, content = await asyncio.wait_for(
                get(child.host, child.port, "/healthz", "127.0.0.200"), 10
            )
            latencies.append(time.monotonic() - began)
            assert (status, json.loads(content)["status"]) == (200, "ok")
            await asyncio.sleep(1)
        await flooding
    finally:
        flooding.cancel()
        flood.close()
    _, text = await get(child.host, child.port, "/metrics", "127.0.0.200")
    log = await child.stop()
    assert max(latencies) < 3.0, latencies
    assert metric(text, 'portbot_worker_connections_total{outcome="accept_error"}') == 0
    assert metric(text, 'portbot_worker_connections_total{outcome="evicted"}') > 0
    assert "serving at most 224" in log  # 1,024 descriptors less room for 64 probes in flight
    assert "Traceback" not in log


async def test_running_out_of_descriptors_sheds_with_503_and_logs_once_per_interval(
    start_child: StartChild,
) -> None:
    """With no descriptor left, each new client is answered 503 at once (not left in the backlog), every
    failed accept() is counted, the log gets one line for all of them, and service resumes once
    descriptors are free."""
    child = await start_child(256, log_interval=30.0, fill_fds=True)
    assert await child.line() == "full"
    began = time.monotonic()
    statuses = [(await asyncio.wait_for(get(child.host, child.port, "/healthz"), 5))[0] for _ in range(20)]
    elapsed = time.monotonic() - began
    child.proc.send_signal(signal.SIGUSR1)
    assert await child.line() == "released"
    status, _ = await get(child.host, child.port, "/healthz")
    _, text = await get(child.host, child.port, "/metrics")
    log = await child.stop()
    assert statuses == [503] * 20
    assert elapsed < 10.0  # waiting in the backlog for asyncio's once-a-second retry would take 20 s
    assert status == 200
    assert metric(text, 'portbot_worker_connections_total{outcome="accept_error"}') == 20
    lines = [line for line in log.splitlines() if "cannot accept connections" in line]
    assert lines == [
        "ERROR portbot.worker: cannot accept connections: Too many open files (EMFILE). Raise the open-file "
        "limit (ulimit -n) or lower PORTBOT_WORKER_MAX_CONNECTIONS."
    ]
    assert "Traceback" not in log


RAISE_SCRIPT = """
import resource
from probes._http import raise_fd_limit
print(raise_fd_limit(2000), *resource.getrlimit(resource.RLIMIT_NOFILE))
"""


@pytest.mark.parametrize(("hard", "expected"), [(4096, "2000 2000 4096"), (1024, "1024 1024 1024")])
async def test_worker_raises_its_open_file_limit_up_to_the_hard_limit(hard: int, expected: str) -> None:
    """A soft limit of 256 is raised to what the caps need, but never past the hard limit."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))

    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        RAISE_SCRIPT,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=limit,
    )
    out, _ = await proc.communicate()
    assert out.decode().strip() == expected


def test_connection_budget_leaves_room_for_the_probes() -> None:
    """Under `ulimit -n 1024`, 64 probes in flight leave room for 224 client connections."""
    from probes._http import fd_budget

    assert fd_budget(64, 1024) == 224
    assert fd_budget(8, 1024) == 896
