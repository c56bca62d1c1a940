"""Hostile-client benchmark for the probe worker: slow connections and compressed bodies, on loopback.

A real worker (``probes.worker.serve``, as ``portbot worker`` runs it, default limits) in its own process
under ``ulimit -n 1024``, and this client, which:

1. times ``GET /healthz`` on fresh connections with nothing else going on (the baseline);
2. opens 1,100 connections from 11 loopback addresses (100 each, under the per-address cap) that send their
   request headers one byte every half second, reopening any the worker closes, and times ``/healthz`` from
   a 12th address every quarter second meanwhile;
3. sends 50 signed gzip bombs (256 MiB of zeros each, 256 KiB compressed) at once and times the 415s,
   reading the worker's peak memory (VmHWM) before and after.

    .venv/bin/python bench/worker_hostile_bench.py [--seconds 12]

Prints a table and writes bench/results/worker_hostile.md. Targets: /healthz within 3 s under the flood;
the bombs refused within 2 s with no growth in the worker's memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import resource
import subprocess
import sys
import time
import uuid
import zlib
from pathlib import Path

from _common import load_average, machine

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from probes.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign  # noqa: E402 (after the path fix above)

RESULTS = REPO_ROOT / "bench" / "results" / "worker_hostile.md"
SECRET = "bench-secret-" + uuid.uuid4().hex
FLOOD = 1100
SOURCES = [f"127.0.0.{n}" for n in range(1, 12)]
PROBE_SOURCE = "127.0.0.200"


def run_worker() -> None:
    from probes.policy import SafetyPolicy
    from probes.worker import WorkerConfig, serve

    config = WorkerConfig(
        secret=os.environ["BENCH_SECRET"],
        port=0,
        region="bench",
        policy=SafetyPolicy.from_strings(allow=["127.0.0.0/8"]),
        audit=False,
    )
    asyncio.run(serve(config))


async def get(port: int, path: str, source: str) -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(source, 0))
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: worker\r\nConnection: close\r\n\r\n".encode())
        raw = await reader.read()
    finally:
        writer.close()
    head, _, content = raw.partition(b"\r\n\r\n")
    return int(head.split()[1]), content


async def timed_healthz(port: int) -> float:
    began = time.perf_counter()
    status, _ = await asyncio.wait_for(get(port, "/healthz", PROBE_SOURCE), 30)
    if status != 200:
        raise RuntimeError(f"/healthz answered {status}")
    return time.perf_counter() - began


async def flood(port: int, seconds: float, stats: dict[str, int]) -> None:
    request = b"GET /healthz HTTP/1.1\r\nHost: worker\r\nX-Slow: " + b"a" * 4000
    writers: list[asyncio.StreamWriter | None] = [None] * FLOOD

    async def open_one(i: int) -> None:
        try:
            _, writer = await asyncio.open_connection(
                "127.0.0.1", port, local_addr=(SOURCES[i % len(SOURCES)], 0)
            )
        except OSError:
            stats["connect failed"] += 1
            return
        stats["connections opened"] += 1
        writers[i] = writer

    await asyncio.gather(*(open_one(i) for i in range(FLOOD)))
    end = time.monotonic() + seconds
    step = 0
    while time.monotonic() < end:
        reopen = []
        for i, writer in enumerate(writers):
            if writer is None or writer.is_closing() or writer.transport.get_extra_info("socket") is None:
                reopen.append(i)
            else:
                writer.write(request[step : step + 1])
        for i in reopen:
            old = writers[i]
            if old is not None:
                old.close()
            writers[i] = None
        await asyncio.gather(*(open_one(i) for i in reopen))
        step += 1
        await asyncio.sleep(0.5)
    for writer in writers:
        if writer is not None:
            writer.close()


def bomb(size: int = 256 * 1024 * 1024) -> bytes:
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1024 * 1024)
    return b"".join([*(packer.compress(chunk) for _ in range(size // len(chunk))), packer.flush()])


async def gzip_bombs(port: int, count: int = 50) -> tuple[float, list[int]]:
    content = bomb()
    headers = sign(SECRET, content)
    request = (
        b"POST /v1/probe HTTP/1.1\r\nHost: worker\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        + f"{TIMESTAMP_HEADER}: {headers[TIMESTAMP_HEADER]}\r\n{SIGNATURE_HEADER}: {headers[SIGNATURE_HEADER]}\r\n".encode()
        + b"Content-Length: %d\r\n\r\n" % len(content)
        + content
    )
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(count)]
    began = time.perf_counter()

    async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> int:
        writer.write(request)
        head = await reader.readuntil(b"\r\n\r\n")
        writer.close()
        return int(head.split()[1])

    statuses = await asyncio.gather(*(one(r, w) for r, w in connections))
    return time.perf_counter() - began, statuses


def memory_kib(pid: int, field: str) -> int:
    match = re.search(rf"^{field}:\s+(\d+) kB", Path(f"/proc/{pid}/status").read_text(), re.MULTILINE)
    return int(match.group(1)) if match else 0


def metrics(port: int) -> dict[str, float]:
    _, text = asyncio.run(get(port, "/metrics", PROBE_SOURCE))
    found = re.findall(
        r'^portbot_worker_connections_total\{outcome="(\w+)"\} (\S+)$', text.decode(), re.MULTILINE
    )
    return {k: float(v) for k, v in found}


def ms(values: list[float], q: float) -> str:
    ordered = sorted(values)
    return f"{ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000:.1f}"


async def measure(port: int, seconds: float) -> dict[str, object]:
    baseline = [await timed_healthz(port) for _ in range(20)]
    stats = {"connections opened": 0, "connect failed": 0}
    flooding = asyncio.create_task(flood(port, seconds, stats))
    while stats["connections opened"] < FLOOD and not flooding.done():
        await asyncio.sleep(0.05)
    under_flood = []
    while not flooding.done():
        under_flood.append(await timed_healthz(port))
        await asyncio.sleep(0.25)
    await flooding
    return {"baseline": baseline, "under_flood": under_flood, "flood": stats}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        run_worker()
        return 0
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4096:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard), hard))
    proc = subprocess.Popen(
        [sys.executable, __file__, "--worker"],
        env={**os.environ, "BENCH_SECRET": SECRET, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024)),
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        port = int(line.rsplit(":", 1)[1])
        flood_run = asyncio.run(measure(port, args.seconds))
        after_flood = metrics(port)
        hwm_before = memory_kib(proc.pid, "VmHWM")
        bomb_seconds, statuses = asyncio.run(gzip_bombs(port))
        hwm_after = memory_kib(proc.pid, "VmHWM")
        rss_after = memory_kib(proc.pid, "VmRSS")
    finally:
        proc.terminate()
        _, log = proc.communicate(timeout=30)
    baseline = flood_run["baseline"]
    under = flood_run["under_flood"]
    assert isinstance(baseline, list) and isinstance(under, list)
    rows = [
        ("worker", "`probes.worker.serve`, default limits, `ulimit -n 1024` (so at most 224 connections)"),
        ("/healthz alone, p50 / max (20)", f"{ms(baseline, 0.5)} / {max(baseline) * 1000:.1f} ms"),
        (
            f"/healthz under {FLOOD:,} trickling connections, p50 / p99 / max ({len(under)})",
            f"{ms(under, 0.5)} / {ms(under, 0.99)} / {max(under) * 1000:.1f} ms (target < 3 s)",
        ),
        ("flood", ", ".join(f"{k} {v:,}" for k, v in flood_run["flood"].items())),  # type: ignore[attr-defined]
        (
            "worker's connection outcomes",
            ", ".join(f"{k} {v:,.0f}" for k, v in after_flood.items() if v),
        ),
        (
            "50 concurrent gzip bombs (256 MiB inflated each)",
            f"all {statuses[0] if len(set(statuses)) == 1 else statuses} in {bomb_seconds * 1000:.0f} ms (target < 2 s)",
        ),
        (
            "worker peak memory (VmHWM) before / after the bombs",
            f"{hwm_before / 1024:.1f} / {hwm_after / 1024:.1f} MiB (RSS after {rss_after / 1024:.1f} MiB)",
        ),
        ("tracebacks in the worker's log", str(log.count("Traceback"))),
    ]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)
    text = (
        "# Worker against hostile clients\n\n"
        "Written by `bench/worker_hostile_bench.py`; rerun it to refresh.\n\n"
        f"Machine: {machine()}; load average {load_average()} after the run. "
        "Client and worker share the machine; everything on loopback. The bombs' memory is their compressed "
        "bytes in the worker's buffers (50 × 256 KiB) until their connections close; inflated they would be "
        "12.5 GiB. The flood keeps 1,100 connections trickling by reopening those the worker drops: the "
        "outcomes count every connection the worker saw.\n\n"
        f"| {'measure'.ljust(width)} | value |\n| {'-' * width} | ----- |\n{table}\n"
    )
    print(text)
    RESULTS.write_text(text)
    return 0 if max(under) < 3 and bomb_seconds < 2 and set(statuses) == {415} else 1


if __name__ == "__main__":
    sys.exit(main())
