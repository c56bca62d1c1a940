"""``portbot slack --http`` from several processes on one port (``PORTBOT_SLACK_PROCESSES``).

A burst of Slack requests queues in one event loop: each costs a few milliseconds of Bolt's and aiohttp's CPU, so
the 200th ack of a burst waits for the 199 before it. With N processes every one binds the same port with
SO_REUSEPORT and the kernel spreads incoming connections over them, so a burst uses the machine's cores.

The first process (the one the operator started) opens and upgrades the store, binds, then starts the others as
``python -m bot slack --http --process-index I``. They share everything through the store (shares, "Check again",
settings, installations, OAuth state, the audit log) and their rate-limit counters through Redis or the SQLite
counter file (bot.app.run_platforms). Only the first runs the watch scheduler: one poller is enough for the
checks a bot takes on, and the leases would keep several apart anyway.

Each child holds a pipe from the first process as its stdin: when the first process goes, even by SIGKILL, the
pipe closes and the child stops, so none is left behind. SIGTERM and Ctrl-C on the first process stop them all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Names the process that answered a request (0 is the first), so an operator or a test can see the spread.
PROCESS_HEADER = "X-Portbot-Process"
RESTART_DELAY = 1.0  # seconds before a child that exited on its own is started again


def child_command(index: int) -> list[str]:
    """How the first process starts process ``index``: the same command, told which one it is."""
    return [sys.executable, "-m", "bot", "slack", "--http", "--process-index", str(index)]


class Children:
    """The processes after the first: started, restarted when one exits on its own, stopped together."""

    def __init__(self, count: int, argv: Callable[[int], list[str]] = child_command) -> None:
        self._count = count
        self._argv = argv
        self._processes: dict[int, asyncio.subprocess.Process] = {}
        self._keeping: list[asyncio.Task[None]] = []
        self._stopping = False

    async def start(self) -> None:
        for index in range(1, self._count):
            self._keeping.append(asyncio.create_task(self._keep(index)))

    async def _keep(self, index: int) -> None:
        while not self._stopping:
            # A session of its own: Ctrl-C in a terminal reaches the first process only, which stops the rest
            # itself (else a child hit by the same SIGINT would exit first and be started again).
            process = await asyncio.create_subprocess_exec(
                *self._argv(index), stdin=asyncio.subprocess.PIPE, start_new_session=True
            )
            self._processes[index] = process
            status = await process.wait()
            if self._stopping:
                return
            log.error("Slack process %d exited with status %s; starting it again", index, status)
            await asyncio.sleep(RESTART_DELAY)

    async def stop(self, grace: float) -> None:
        """SIGTERM each child (it lets its answers in flight finish), then wait ``grace`` seconds; kill the rest."""
        self._stopping = True
        running = [p for p in self._processes.values() if p.returncode is None]
        for process in running:
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(grace):
                await asyncio.gather(*(p.wait() for p in running))
        except TimeoutError:
            for process in running:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
            await asyncio.gather(*(p.wait() for p in running))
        for task in self._keeping:
            task.cancel()
        await asyncio.gather(*self._keeping, return_exceptions=True)
        for process in self._processes.values():
            if process.stdin is not None:
                process.stdin.close()


async def parent_gone() -> None:
    """Return when the first process is gone: the pipe it holds as our stdin reaches its end."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    transport, _ = await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    try:
        while await reader.read(4096):
            pass
    finally:
        transport.close()
