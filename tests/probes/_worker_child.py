"""A probe worker in a process of its own, for tests that limit its open files or watch its log.

    python -m tests.probes._worker_child '{"secret": "...", "limits": {...}, "fill_fds": true}'

Prints ``listening on <url>`` once serving. With ``fill_fds`` it then opens /dev/null until the process runs
out of descriptors and prints ``full``; SIGUSR1 closes them again. SIGTERM stops it. Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import sys

from probes._http import ConnectionLimits
from probes.policy import SafetyPolicy
from probes.worker import WorkerConfig, start
from tests.probes._probers import StaticProber


async def main(options: dict[str, object]) -> None:
    config = WorkerConfig(
        secret=str(options["secret"]),
        port=0,
        region="Child",
        audit=False,
        policy=SafetyPolicy.from_strings(allow=["198.51.100.0/24"]),
        limits=ConnectionLimits(**options.get("limits", {})),  # type: ignore[arg-type]
        log_interval=float(options.get("log_interval", 10.0)),  # type: ignore[arg-type]
    )
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    release = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGUSR1, release.set)
    worker = await start(config, StaticProber())
    print(f"listening on {worker.url}", flush=True)
    held: list[int] = []
    if options.get("fill_fds"):
        try:
            while True:
                held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError:
            pass
        print("full", flush=True)
        await release.wait()
        for fd in held:
            os.close(fd)
        print("released", flush=True)
    await stop.wait()
    await worker.stop()


if __name__ == "__main__":
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    asyncio.run(main(json.loads(sys.argv[1])))
