"""Load benchmark for the probe worker: signed probe requests against a real worker on loopback.

Three processes: a TCP target that accepts and closes connections on 127.0.0.1 (an "open port"), a real probe
worker (aiohttp app, HMAC check, replay guard, safety policy, rate limiter, probe engine, audit log, metrics)
on 127.0.0.1, and this load generator (aiohttp client, every request freshly signed). Each request asks the
worker to TCP-probe the target's port once. Service identification is switched off in the worker's engine
config (a bench of the worker, not of banner grabbing); rate limits are raised so the limiter runs but never
refuses. Bounded in requests and in time.

    .venv/bin/python bench/worker_bench.py [--requests 20000] [--concurrency 16] [--seconds 60]

Prints a table and writes bench/results/worker.md. Targets: >= 2,000 signed probes/s, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

RESULTS = REPO_ROOT / "bench" / "results" / "worker.md"
SECRET = "bench-secret-" + uuid.uuid4().hex
TARGET_THROUGHPUT = 2000.0
TARGET_P99_MS = 50.0
BENCH_LIMIT = "1000000/minute"


# --- the target: accepts and closes, in its own process ------------------------------------------------


def run_target() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(4096)
        print(server.getsockname()[1], flush=True)
        while True:
            conn, _ = server.accept()
            conn.close()


# --- the worker, in its own process ---------------------------------------------------------------------


def run_worker(data_dir: str) -> None:
    from probes.engine import EngineConfig
    from probes.policy import SafetyPolicy
    from probes.ratelimit import RateLimits
    from probes.worker import WorkerConfig, start

    config = WorkerConfig(
        secret=os.environ["BENCH_SECRET"],
        host="127.0.0.1",
        port=0,
        region="bench",
        policy=SafetyPolicy.from_strings(allow=["127.0.0.0/8"]),
        engine=EngineConfig(timeout=2.0, identify=False),
        max_concurrency=256,
        request_deadline=10.0,
        rate_limits=RateLimits(per_user=BENCH_LIMIT, per_guild=BENCH_LIMIT, per_target=BENCH_LIMIT),
        audit_path=Path(data_dir) / "audit.sqlite3",
        shutdown_grace=5.0,
    )

    async def main() -> None:
        worker = await start(config)
        print(worker.url, flush=True)
        stop = asyncio.Event()
        asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
        await stop.wait()
        await worker.stop()

    asyncio.run(main())


# --- the load generator ---------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    not_open: int = 0
    seconds: float = 0.0
    worker_cpu: float = 0.0  # CPU seconds the worker process used during the measured run
    client_cpu: float = 0.0


def process_cpu(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def load(url: str, port: int, requests: int, concurrency: int, seconds: float) -> Run:
    import aiohttp

    from probes.auth import sign

    run = Run()
    issued = 0
    deadline = time.perf_counter() + seconds
    prefix = json.dumps({"target": "127.0.0.1", "ports": [port], "protocol": "tcp"})[:-1]
    requester = json.dumps({"platform": "bench", "user_id": "load", "guild_id": "bench", "channel_id": None})

    async def one_client(session: aiohttp.ClientSession) -> None:
        nonlocal issued
        while issued < requests and time.perf_counter() < deadline:
            issued += 1
            body = f'{prefix}, "requester": {requester}, "request_id": "{uuid.uuid4().hex}"}}'.encode()
            headers = {**sign(SECRET, body), "Content-Type": "application/json"}
            started = time.perf_counter()
            async with session.post(f"{url}/v1/probe", data=body, headers=headers) as response:
                payload = await response.read()
            run.latencies.append(time.perf_counter() - started)
            run.statuses[response.status] = run.statuses.get(response.status, 0) + 1
            if response.status == 200 and json.loads(payload)["results"][0]["state"] != "open":
                run.not_open += 1

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        began = time.perf_counter()
        await asyncio.gather(*(one_client(session) for _ in range(concurrency)))
        run.seconds = time.perf_counter() - began
    return run


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def worker_metrics(url: str) -> dict[str, float]:
    import aiohttp

    async with aiohttp.ClientSession() as session, session.get(f"{url}/metrics") as response:
        text = await response.text()
    found = {}
    for name, pattern in {
        "ok": r'^portbot_worker_requests_total\{outcome="ok"\} (\S+)$',
        "open verdicts": r'^portbot_worker_verdicts_total\{protocol="tcp",state="open"\} (\S+)$',
    }.items():
        match = re.search(pattern, text, re.M)
        found[name] = float(match.group(1)) if match else 0.0
    return found


def load_average() -> str:
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "n/a"


def machine() -> str:
    cpus = os.cpu_count()
    return f"{platform.system()} {platform.release()}, {cpus} CPUs, Python {platform.python_version()}"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop issuing after this long")
    parser.add_argument("--warmup", type=int, default=1_000)
    parser.add_argument("--no-write", action="store_true", help="print only, don't update bench/results")
    parser.add_argument("--role", choices=["target", "worker"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "target":
        run_target()
        return 0
    if args.role == "worker":
        run_worker(args.data_dir)
        return 0

    with tempfile.TemporaryDirectory(prefix="portbot-bench-") as data_dir:
        env = {
            **os.environ,
            "BENCH_SECRET": SECRET,
            "PORTBOT_DATA_DIR": data_dir,
            "PYTHONPATH": str(REPO_ROOT),
        }
        me = [sys.executable, str(Path(__file__).resolve())]
        target = subprocess.Popen([*me, "--role", "target"], stdout=subprocess.PIPE, text=True, env=env)
        worker = subprocess.Popen(
            [*me, "--role", "worker", "--data-dir", data_dir], stdout=subprocess.PIPE, text=True, env=env
        )
        try:
            assert target.stdout is not None and worker.stdout is not None
            port = int(target.stdout.readline())
            url = worker.stdout.readline().strip()
            if not url.startswith("http"):
                print("the worker did not start", file=sys.stderr)
                return 1
            asyncio.run(load(url, port, args.warmup, args.concurrency, args.seconds))
            cpu_before = process_cpu(worker.pid), process_cpu(os.getpid())
            run = asyncio.run(load(url, port, args.requests, args.concurrency, args.seconds))
            run.worker_cpu = process_cpu(worker.pid) - cpu_before[0]
            run.client_cpu = process_cpu(os.getpid()) - cpu_before[1]
            metrics = asyncio.run(worker_metrics(url))
        finally:
            worker.send_signal(signal.SIGTERM)
            worker.wait(timeout=30)
            target.kill()
            target.wait()
            for proc in (target, worker):
                if proc.stdout is not None:
                    proc.stdout.close()
        db = sqlite3.connect(Path(data_dir) / "audit.sqlite3")
        try:
            audited = db.execute("SELECT COUNT(*) FROM probes WHERE outcome = 'probed'").fetchone()[0]
        finally:
            db.close()

    report = render(run, args, metrics, audited)
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report)
        print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    ok = run.statuses.get(200, 0)
    throughput = ok / run.seconds if run.seconds else 0.0
    p99 = percentile(run.latencies, 0.99) * 1000 if run.latencies else float("inf")
    return 0 if throughput >= TARGET_THROUGHPUT and p99 <= TARGET_P99_MS and ok == len(run.latencies) else 1


def render(run: Run, args: argparse.Namespace, metrics: dict[str, float], audited: int) -> str:
    ok = run.statuses.get(200, 0)
    throughput = ok / run.seconds if run.seconds else 0.0
    ms = [x * 1000 for x in run.latencies] or [0.0]
    p50, p90, p99 = (percentile(ms, q) for q in (0.5, 0.9, 0.99))
    count = max(1, len(run.latencies))
    per_probe = run.worker_cpu / count * 1e6
    ceiling = 1e6 / per_probe if per_probe else 0.0
    client_per_probe = run.client_cpu / count * 1e6
    rows = [
        ("requests sent (after warm-up)", f"{len(run.latencies):,}"),
        ("answered 200, port open", f"{ok - run.not_open:,}"),
        (
            "other answers",
            ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items()) if s != 200) or "none",
        ),
        ("wall time", f"{run.seconds:.2f} s"),
        ("throughput", f"{throughput:,.0f} signed probes/s (target >= {TARGET_THROUGHPUT:,.0f})"),
        (
            "latency p50 / p90 / p99",
            f"{p50:.1f} / {p90:.1f} / {p99:.1f} ms (p99 target <= {TARGET_P99_MS:.0f} ms)",
        ),
        ("latency mean / max", f"{statistics.fmean(ms):.1f} / {max(ms):.1f} ms"),
        ("worker CPU per probe", f"{per_probe:.0f} µs (one core's ceiling: {ceiling:,.0f} probes/s)"),
        ("load generator CPU per probe", f"{client_per_probe:.0f} µs"),
        ("machine load average after the run", load_average()),
        ("worker counted ok (incl. warm-up)", f"{metrics['ok']:,.0f}"),
        ("worker open verdicts (incl. warm-up)", f"{metrics['open verdicts']:,.0f}"),
        ("audit rows written (incl. warm-up)", f"{audited:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)
    return (
        "# Worker benchmark\n\n"
        "Written by `bench/worker_bench.py`; rerun it to refresh.\n\n"
        f"Machine: {machine()}. Load: {args.concurrency} concurrent connections, {args.warmup:,} warm-up requests "
        "not counted.\n\n"
        "What one request is: an HMAC-SHA256-signed POST /v1/probe over HTTP/1.1 keep-alive on loopback; the worker "
        "verifies the signature and timestamp, checks the replay guard, parses the JSON, applies the safety policy "
        "(127.0.0.0/8 allowed for the bench), counts the request against the per-user, per-server and per-target "
        "limits (in-memory sliding-window counters, limits raised so none refuses), TCP-connects to a loopback port that "
        "accepts and closes (service identification off), queues an audit row (SQLite, batched), updates metrics "
        "and answers with the JSON report. The load generator, the worker and the target are three processes on "
        "the same machine, so they share its CPUs (and with anything else running: see the load average). "
        "Worker CPU per probe is the steadier figure: it is what one worker core spends on one signed probe.\n\n"
        f"| {'measure'.ljust(width)} | value |\n| {'-' * width} | ----- |\n{table}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
