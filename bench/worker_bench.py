"""Load benchmark for the probe worker: signed probe requests against a real worker on loopback.

Three processes: a TCP target that accepts and closes connections on 127.0.0.1 (an "open port"), a real probe
worker started through ``probes.worker.serve`` like ``portbot worker`` (aiohttp app, HMAC check, replay guard,
safety policy, rate limiter, probe engine, audit log, metrics) on 127.0.0.1, and this load generator. Each
request asks the worker to TCP-probe the target's port once. Service identification is switched off in the
worker's engine config (``EngineConfig(identify=False)``: a bench of the worker, not of banner grabbing); rate
limits are raised so the limiter runs but never refuses. Bounded in requests and in time.

The load generator shares the machine's CPUs with the worker, so it is kept lean: plain asyncio protocols
speaking HTTP/1.1 keep-alive, one request in flight per connection, every request with a fresh request id,
timestamp and HMAC signature (``probes.auth.sign``), every answer's status and verdict checked.

    .venv/bin/python bench/worker_bench.py [--requests 20000] [--rounds 3] [--concurrency 16] [--seconds 60]

Several rounds against the same processes show how much a shared machine moves the figures; the table pools
them.

Prints a table and writes bench/results/worker.md. Targets: >= 2,000 signed probes/s, p99 <= 50 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from _common import load_average, machine, percentile

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from probes.auth import SIGNATURE_HEADER, TIMESTAMP_HEADER, sign  # noqa: E402 (after the path fix above)

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
    from probes.worker import WorkerConfig, serve

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
    asyncio.run(serve(config))  # announces "... listening on <url>"; stops on SIGTERM


# --- the load generator ---------------------------------------------------------------------------------


@dataclass
class Run:
    latencies: list[float] = field(default_factory=list)
    statuses: dict[int, int] = field(default_factory=dict)
    not_open: int = 0
    failures: list[str] = field(default_factory=list)  # connections lost or answers we could not read
    seconds: float = 0.0
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)  # process -> (user, system) CPU seconds


def process_cpu(pid: int, thread: int | None = None) -> tuple[float, float]:
    """User and system CPU seconds so far of a process, all its threads included, or of one of its threads
    (Linux /proc)."""
    stat = Path(f"/proc/{pid}/stat") if thread is None else Path(f"/proc/{pid}/task/{thread}/stat")
    try:
        fields = stat.read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0, 0.0
    tick = os.sysconf("SC_CLK_TCK")
    return int(fields[11]) / tick, int(fields[12]) / tick


class _Load:
    """Shared by the connections of one run: how many requests to issue, until when, and what came back."""

    def __init__(self, port: int, requests: int, seconds: float, run: Run) -> None:
        self.requests = requests
        self.deadline = time.perf_counter() + seconds
        self.issued = 0
        self.run = run
        requester = {"platform": "bench", "user_id": "load", "guild_id": "bench", "channel_id": None}
        self.body_prefix = json.dumps(
            {"target": "127.0.0.1", "ports": [port], "protocol": "tcp", "requester": requester}
        )[:-1].encode()

    def next_request(self) -> bytes | None:
        if self.issued >= self.requests or time.perf_counter() >= self.deadline:
            return None
        self.issued += 1
        body = self.body_prefix + b', "request_id": "' + os.urandom(16).hex().encode() + b'"}'
        headers = sign(SECRET, body)
        return b"".join(
            (
                b"POST /v1/probe HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n",
                f"{TIMESTAMP_HEADER}: {headers[TIMESTAMP_HEADER]}\r\n".encode(),
                f"{SIGNATURE_HEADER}: {headers[SIGNATURE_HEADER]}\r\n".encode(),
                b"Content-Length: %d\r\n\r\n" % len(body),
                body,
            )
        )


class _Connection(asyncio.Protocol):
    """One keep-alive connection: send a request, read the whole answer, check it, send the next."""

    def __init__(self, load: _Load) -> None:
        self.load = load
        self.buffer = bytearray()
        self.finished = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None
        self.sent_at = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self._send()

    def _send(self) -> None:
        assert self.transport is not None
        request = self.load.next_request()
        if request is None:
            self._finish()
            return
        self.sent_at = time.perf_counter()
        self.transport.write(request)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        head_end = self.buffer.find(b"\r\n\r\n")
        if head_end < 0:
            return
        head = bytes(self.buffer[:head_end]).decode("latin-1").split("\r\n")
        fields = dict(line.split(":", 1) for line in head[1:])
        length = next((int(v) for k, v in fields.items() if k.lower() == "content-length"), None)
        if length is None:
            self._fail(f"an answer without Content-Length: {head[0]}")
            return
        if len(self.buffer) < head_end + 4 + length:
            return
        run = self.load.run
        run.latencies.append(time.perf_counter() - self.sent_at)
        status = int(head[0].split(" ", 2)[1])
        run.statuses[status] = run.statuses.get(status, 0) + 1
        payload = bytes(self.buffer[head_end + 4 : head_end + 4 + length])
        del self.buffer[: head_end + 4 + length]
        if status == 200 and json.loads(payload)["results"][0]["state"] != "open":
            run.not_open += 1
        self._send()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.finished.done():
            self._fail(f"connection lost ({exc or 'closed by the worker'})")

    def _fail(self, why: str) -> None:
        self.load.run.failures.append(why)
        self._finish()

    def _finish(self) -> None:
        if self.transport is not None:
            self.transport.close()
        if not self.finished.done():
            self.finished.set_result(None)


async def load(
    host: str, worker_port: int, port: int, requests: int, concurrency: int, seconds: float
) -> Run:
    run = Run()
    shared = _Load(port, requests, seconds, run)
    loop = asyncio.get_running_loop()
    began = time.perf_counter()
    connections = [
        (await loop.create_connection(lambda: _Connection(shared), host, worker_port))[1]
        for _ in range(concurrency)
    ]
    await asyncio.gather(*(c.finished for c in connections))
    run.seconds = time.perf_counter() - began
    return run


def worker_metrics(url: str) -> dict[str, float]:
    with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
        text = response.read().decode()
    found = {}
    for name, pattern in {
        "ok": r'^portbot_worker_requests_total\{outcome="ok"\} (\S+)$',
        "open verdicts": r'^portbot_worker_verdicts_total\{protocol="tcp",state="open"\} (\S+)$',
    }.items():
        match = re.search(pattern, text, re.M)
        found[name] = float(match.group(1)) if match else 0.0
    return found


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=20_000, help="per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60.0, help="stop issuing after this long")
    parser.add_argument("--warmup", type=int, default=2_000)
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

    load_before = load_average()  # before our own processes start: what else the machine is doing
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
            announced = worker.stdout.readline().strip()  # "portbot worker 'bench' listening on <url>"
            url = announced.rsplit(" ", 1)[-1]
            if not url.startswith("http://"):
                print(f"the worker did not start: {announced!r}", file=sys.stderr)
                return 1
            parts = urllib.parse.urlsplit(url)
            assert parts.hostname is not None and parts.port is not None
            address = (parts.hostname, parts.port)
            asyncio.run(load(*address, port, args.warmup, args.concurrency, args.seconds))
            # (process, thread): the worker's main thread runs its event loop; the audit log writes from others.
            measured = {
                "worker": (worker.pid, None),
                "worker loop": (worker.pid, worker.pid),
                "target": (target.pid, None),
                "load generator": (os.getpid(), None),
            }
            rounds = []
            for _ in range(args.rounds):
                before = {name: process_cpu(*ids) for name, ids in measured.items()}
                run = asyncio.run(load(*address, port, args.requests, args.concurrency, args.seconds))
                for name, ids in measured.items():
                    user, system = process_cpu(*ids)
                    run.cpu[name] = (user - before[name][0], system - before[name][1])
                rounds.append(run)
            load_after = load_average()
            metrics = worker_metrics(url)
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

    run = pooled(rounds)
    report = render(run, rounds, args, metrics, audited, (load_before, load_after))
    print(report)
    if not args.no_write:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(report)
        print(f"written to {RESULTS.relative_to(REPO_ROOT)}")
    ok = run.statuses.get(200, 0)
    throughput = ok / run.seconds if run.seconds else 0.0
    p99 = percentile(run.latencies, 0.99) * 1000 if run.latencies else float("inf")
    passed = throughput >= TARGET_THROUGHPUT and p99 <= TARGET_P99_MS
    return 0 if passed and ok == len(run.latencies) and not run.failures else 1


def pooled(rounds: list[Run]) -> Run:
    """All rounds as one run: latencies and answers together, times and CPU added up."""
    total = Run()
    for run in rounds:
        total.latencies += run.latencies
        for status, n in run.statuses.items():
            total.statuses[status] = total.statuses.get(status, 0) + n
        total.not_open += run.not_open
        total.failures += run.failures
        total.seconds += run.seconds
        for name, (user, system) in run.cpu.items():
            old = total.cpu.get(name, (0.0, 0.0))
            total.cpu[name] = (old[0] + user, old[1] + system)
    return total


def round_summary(run: Run) -> str:
    throughput = run.statuses.get(200, 0) / run.seconds if run.seconds else 0.0
    p99 = percentile(run.latencies, 0.99) * 1000 if run.latencies else 0.0
    loop = sum(run.cpu["worker loop"]) / max(1, len(run.latencies)) * 1e6
    return f"{throughput:,.0f}/s, p99 {p99:.1f} ms, {loop:.0f} µs"


def render(
    run: Run,
    rounds: list[Run],
    args: argparse.Namespace,
    metrics: dict[str, float],
    audited: int,
    load: tuple[str, str],
) -> str:
    ok = run.statuses.get(200, 0)
    throughput = ok / run.seconds if run.seconds else 0.0
    ms = [x * 1000 for x in run.latencies] or [0.0]
    p50, p90, p99 = (percentile(ms, q) for q in (0.5, 0.9, 0.99))
    count = max(1, len(run.latencies))

    def per_probe(name: str) -> str:
        user, system = run.cpu[name]
        return f"{(user + system) / count * 1e6:.0f} µs ({user / count * 1e6:.0f} user + {system / count * 1e6:.0f} system)"

    loop_us = sum(run.cpu["worker loop"]) / count * 1e6
    all_us = sum(sum(run.cpu[name]) for name in ("worker", "target", "load generator")) / count * 1e6
    cpus = os.cpu_count() or 1
    rows = [
        ("requests sent (after warm-up)", f"{len(run.latencies):,} in {len(rounds)} rounds"),
        ("answered 200, port open", f"{ok - run.not_open:,}"),
        (
            "other answers",
            ", ".join(f"{s}: {n}" for s, n in sorted(run.statuses.items()) if s != 200) or "none",
        ),
        ("connection failures", "; ".join(run.failures) or "none"),
        ("wall time", f"{run.seconds:.2f} s"),
        ("throughput", f"{throughput:,.0f} signed probes/s (target >= {TARGET_THROUGHPUT:,.0f})"),
        (
            "latency p50 / p90 / p99",
            f"{p50:.1f} / {p90:.1f} / {p99:.1f} ms (p99 target <= {TARGET_P99_MS:.0f} ms)",
        ),
        ("latency mean / max", f"{statistics.fmean(ms):.1f} / {max(ms):.1f} ms"),
        ("worker CPU per probe, all threads", per_probe("worker")),
        (
            "  of which the event-loop thread",
            f"{per_probe('worker loop')}; one core's ceiling: {1e6 / loop_us:,.0f} probes/s"
            if loop_us
            else "n/a",
        ),
        ("target CPU per probe", per_probe("target")),
        ("load generator CPU per probe", per_probe("load generator")),
        (
            "all three per probe",
            f"{all_us:.0f} µs ({cpus} CPUs' ceiling: {cpus * 1e6 / all_us:,.0f} probes/s)"
            if all_us
            else "n/a",
        ),
        ("each round: throughput, p99, loop CPU/probe", "; ".join(round_summary(r) for r in rounds)),
        ("machine load average before the run", load[0]),
        ("machine load average after the run", load[1]),
        ("worker counted ok (incl. warm-up)", f"{metrics['ok']:,.0f}"),
        ("worker open verdicts (incl. warm-up)", f"{metrics['open verdicts']:,.0f}"),
        ("audit rows written (incl. warm-up)", f"{audited:,}"),
    ]
    width = max(len(k) for k, _ in rows)
    table = "\n".join(f"| {k.ljust(width)} | {v} |" for k, v in rows)
    return (
        "# Worker benchmark\n\n"
        "Written by `bench/worker_bench.py`; rerun it to refresh.\n\n"
        f"Machine: {machine()}. Load: {args.concurrency} keep-alive connections, one request in flight on each; "
        f"{args.warmup:,} warm-up requests not counted.\n\n"
        "What one request is: an HMAC-SHA256-signed POST /v1/probe over HTTP/1.1 keep-alive on loopback, with a "
        "fresh request id, timestamp and signature; the worker (started through `probes.worker.serve`, as "
        "`portbot worker` runs it) verifies the signature and timestamp, checks the replay guard, parses the JSON, "
        "applies the safety policy (127.0.0.0/8 allowed for the bench), counts the request against the per-user, "
        "per-server and per-target limits (in-memory sliding-window counters, limits raised so none refuses), "
        "TCP-connects to a loopback port that accepts and closes (service identification off in the worker's "
        "engine config, `EngineConfig(identify=False)`, a worker-wide setting that `portbot worker` does not "
        "expose; every other engine setting at its default), queues an audit row (SQLite, batched), updates metrics and answers with the JSON report, "
        "whose verdict the load generator checks.\n\n"
        "The load generator (plain asyncio, HTTP/1.1 written by hand), the worker and the target are three "
        "processes sharing the machine's CPUs, with anything else running (see the load average before the run; "
        "the one after includes the bench itself). CPU per probe is each process's user + system time over the "
        "measured run divided by the requests: the steadier figure when the machine is shared. The worker's "
        "event loop runs on one thread (one core at most); its audit log writes SQLite from another.\n\n"
        f"| {'measure'.ljust(width)} | value |\n| {'-' * width} | ----- |\n{table}\n"
    )


if __name__ == "__main__":
    sys.exit(main())
