"""What one signed request costs the worker's HTTP path, in CPU instructions: steady on a busy machine.

Wall-clock benches (``bench/worker_bench.py``) swing by 2x when other jobs share the CPUs; instruction counts
don't. This runs a worker in-process (``probes.worker.start``, a static prober: no engine, no audit, rate
limits off, so what is left is HTTP, signing, the replay guard and the handler) with one keep-alive client
on loopback, under ``valgrind --tool=callgrind``, at two request counts; the difference divided by the extra
requests is the cost of one request, client included, start-up cancelled out.

    .venv/bin/python bench/worker_instructions.py [--tree PATH]   # PATH: another checkout, to compare

Needs valgrind. Takes a few minutes (callgrind runs Python ~50x slower). Prints one line.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]


async def serve_requests(count: int) -> None:
    from probes.auth import sign
    from probes.policy import SafetyPolicy
    from probes.ratelimit import RateLimits
    from probes.worker import WorkerConfig, start
    from tests.probes._probers import StaticProber

    config = WorkerConfig(
        secret="s",
        port=0,
        audit=False,
        policy=SafetyPolicy.from_strings(allow=["198.51.100.0/24"]),
        rate_limits=RateLimits("", "", ""),
    )
    worker = await start(config, StaticProber())
    port = int(worker.url.rsplit(":", 1)[1])
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    for i in range(count):
        body = json.dumps({"target": "198.51.100.7", "ports": [80], "request_id": str(i)}).encode()
        headers = sign("s", body)
        writer.write(
            b"POST /v1/probe HTTP/1.1\r\nHost: worker\r\n"
            + "".join(f"{k}: {v}\r\n" for k, v in headers.items()).encode()
            + b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
        )
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200 "):
            raise RuntimeError(head.decode("latin-1"))
        length = re.search(rb"Content-Length: (\d+)", head, re.IGNORECASE)
        assert length is not None
        await reader.readexactly(int(length.group(1)))
    writer.close()
    await worker.stop()


def instructions(tree: Path, count: int) -> int:
    valgrind = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    result = subprocess.run(
        [*valgrind, sys.executable, __file__, "--serve", str(count)],
        cwd=tree,
        env={**os.environ, "PYTHONPATH": str(tree)},
        capture_output=True,
        text=True,
        check=True,
    )
    found = re.search(r"Collected : (\d+)", result.stderr)
    if found is None:
        raise RuntimeError(result.stderr[-2000:])
    return int(found.group(1))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--tree", type=Path, default=REPO_ROOT, help="the checkout to measure")
    parser.add_argument("--requests", type=int, default=1000, help="the extra requests of the second run")
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        asyncio.run(serve_requests(args.serve))
        return 0
    few, many = instructions(args.tree, 300), instructions(args.tree, 300 + args.requests)
    print(f"{args.tree}: {(many - few) / args.requests / 1000:,.1f} thousand instructions per signed request")
    return 0


if __name__ == "__main__":
    sys.exit(main())
