"""Latency benchmark for the Slack adapter: a signed HTTP request in → Bolt's ack out → the answer at the
response_url.

The real app runs in a child process exactly as ``portbot slack --http`` runs it (``bot.slack.run``, the real
command core and knowledge base, HTTP on 127.0.0.1), its Web API and response_urls aimed at the fake Slack
from the tests, which runs in this process with the load generator (aiohttp), as Slack would be elsewhere.
For each request:

- **ack**: from just before httpx sends the signed POST to /slack/events until its HTTP 200 arrives (Slack
  gives up after 3 s);
- **answer**: from the same start until the fake response_url has received the answer.

Scenarios:

- ``/port 25565``: the knowledge answer, one at a time (service time) and N at once (the whole burst in flight
  together);
- ``/port check example.com 443``: N at once with a probe backend that waits 1 s (no network: this benches
  the adapter), showing the acks stay quick while N probes are in flight in lazy listeners.

    .venv/bin/python bench/slack_bench.py [--concurrency 200] [--sequential 200] [--processes N]

``--processes N`` serves from N processes on one port, as ``PORTBOT_SLACK_PROCESSES=N`` does (the first starts
the others; each has the 1-second backend). **app CPU** is the CPU time (user + system, every thread) of all
the app's processes over a scenario, per request, read from /proc.

(``--serve`` is the child's mode: it reads its settings from the environment the parent sets.)

Prints a table and writes bench/results/slack.md. Target: ack p99 ≤ 300 ms, a tenth of Slack's 3 s window.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from _common import machine, percentile

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

import aiohttp  # noqa: E402

from bot import runtime  # noqa: E402
from bot.core.commands import Portbot  # noqa: E402
from bot.settings import Settings  # noqa: E402
from bot.slack import EVENTS_PATH, HEALTH_PATH, run  # noqa: E402
from knowledge import KnowledgeBase  # noqa: E402
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State  # noqa: E402
from tests.bot.slack import payloads  # noqa: E402
from tests.bot.slack.fake_slack import FakeSlack  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "slack.md"
TARGET_ACK_P99_MS = 300.0  # a tenth of Slack's 3-second window, leaving the rest for the network
PROBE_SECONDS = 1.0


class SlowBackend:
    """Answers "open" after PROBE_SECONDS, like a worker round trip, without touching the network."""

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        await asyncio.sleep(PROBE_SECONDS)
        results = tuple(
            PortResult("203.0.113.7", p, "tcp", State.OPEN, "syn-ack", 20.0) for p in request.ports
        )
        return [ProbeReport(request.target, request.target, "Frankfurt", results)]


@dataclass(frozen=True)
class Row:
    scenario: str
    n: int
    ack_ms: list[float]
    answer_ms: list[float]
    cpu_ms: float = float("nan")  # the app processes' CPU per request


def tree_cpu(pid: int) -> float:
    """CPU seconds (user + system, all threads) used so far by ``pid`` and its descendants (Linux /proc)."""
    ticks = os.sysconf("SC_CLK_TCK")
    used: dict[int, float] = {}
    parent: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        parent[int(entry.name)] = int(fields[1])
        used[int(entry.name)] = (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
    tree = {pid}
    grew = True
    while grew:
        found = {p for p, pp in parent.items() if pp in tree} - tree
        tree |= found
        grew = bool(found)
    return sum(used.get(p, 0.0) for p in tree)


async def one(
    client: aiohttp.ClientSession, url: str, fake: FakeSlack, text: str, hook: str
) -> tuple[float, float]:
    body = payloads.command(text, fake.response_url(hook))
    headers = payloads.signature_headers(body)
    start = time.perf_counter()
    async with client.post(url, data=body.encode(), headers=headers) as response:
        await response.read()
        acked = time.perf_counter()
        response.raise_for_status()
    posted = await fake.wait_for_post(hook, timeout=60)
    return (acked - start) * 1000, (posted.at - start) * 1000


async def scenario(
    client: aiohttp.ClientSession,
    url: str,
    fake: FakeSlack,
    name: str,
    text: str,
    n: int,
    *,
    burst: bool,
    app_pid: int | None = None,
) -> Row:
    prefix = f"s{len(fake.posted)}"  # unique response_url names per scenario
    cpu = tree_cpu(app_pid) if app_pid is not None else 0.0
    if burst:
        timings = await asyncio.gather(*(one(client, url, fake, text, f"{prefix}-{i}") for i in range(n)))
    else:
        timings = [await one(client, url, fake, text, f"{prefix}-{i}") for i in range(n)]
    cpu_ms = (tree_cpu(app_pid) - cpu) * 1000 / n if app_pid is not None else float("nan")
    return Row(name, n, [a for a, _ in timings], [b for _, b in timings], cpu_ms)


async def ab_burst(url: str, fake: FakeSlack, name: str, text: str, n: int, app_pid: int) -> Row:
    """``n`` identical signed requests at once from ApacheBench (C, one thread), so the load generator's own
    Python doesn't queue them: ack times are ab's (its percentiles), answers are the fake's arrival times."""
    hook = f"ab{len(fake.posted)}"
    body = payloads.command(text, fake.response_url(hook))
    headers = payloads.signature_headers(body)  # one timestamp: Slack accepts a signature for 5 minutes
    with tempfile.NamedTemporaryFile("w", suffix=".form", delete=False) as file:
        file.write(body)
    cpu = tree_cpu(app_pid)
    start = time.perf_counter()
    ab = await asyncio.create_subprocess_exec(
        "ab", "-q", "-n", str(n), "-c", str(n), "-p", file.name, "-T", headers["content-type"],
        "-H", f"X-Slack-Request-Timestamp: {headers['x-slack-request-timestamp']}",
        "-H", f"X-Slack-Signature: {headers['x-slack-signature']}",
        url,
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await ab.communicate()
    await fake.wait_for_post(hook, count=n, timeout=60)
    cpu_ms = (tree_cpu(app_pid) - cpu) * 1000 / n
    os.unlink(file.name)
    text_out = out.decode()
    if "Non-2xx responses" in text_out or "Failed requests:        0" not in text_out:
        sys.exit(f"ab saw failures:\n{text_out}")
    # ab prints "  50%    123" … "  99%    456" "100%    789 (longest request)": whole milliseconds.
    shares = {
        int(line.split("%")[0]): float(line.split()[1])
        for line in text_out.splitlines()
        if line.strip()[:1].isdigit() and "%" in line
    }
    acks = [shares[50]] * (n // 2) + [shares[99]] * (n - n // 2 - 1) + [shares[100]]
    answers = [(p.at - start) * 1000 for p in fake.posted_to(hook)]
    return Row(name + " (ab)", n, acks, answers, cpu_ms)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_until_up(client: aiohttp.ClientSession, base: str, child: asyncio.subprocess.Process) -> None:
    async with asyncio.timeout(60):
        while True:
            if child.returncode is not None:
                sys.exit(f"the Slack app exited with {child.returncode}")
            try:
                async with client.get(base + HEALTH_PATH) as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.05)


async def all_up(client: aiohttp.ClientSession, url: str, fake: FakeSlack, processes: int) -> None:
    """Send /port 25565 on new connections until every process has answered one (the later ones start later)."""
    seen: set[str] = set()
    async with asyncio.timeout(120):
        while len(seen) < processes:
            async with aiohttp.ClientSession() as fresh:  # a new connection each time
                body = payloads.command("25565", fake.response_url(f"up{len(fake.posted)}"))
                async with fresh.post(url, data=body.encode(), headers=payloads.signature_headers(body)) as r:
                    seen.add(r.headers.get("X-Portbot-Process", "0"))


async def main(concurrency: int, sequential: int, processes: int = 1, ab: bool = False) -> list[Row]:
    fake = await FakeSlack().start()
    port = free_port()
    env = payloads.http_app_env(fake.api_url, port, tempfile.mkdtemp(prefix="portbot-bench-"))
    if processes > 1:
        env["PORTBOT_SLACK_PROCESSES"] = str(processes)
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", "--processes", str(processes), env=env
    )
    base = f"http://127.0.0.1:{port}"
    url = base + EVENTS_PATH
    rows: list[Row] = []
    connector = aiohttp.TCPConnector(limit=concurrency)
    try:
        async with aiohttp.ClientSession(connector=connector) as client:
            await wait_until_up(client, base, child)
            if processes > 1:
                await all_up(client, url, fake, processes)
            await scenario(client, url, fake, "warm-up", "25565", 20, burst=False)
            rows.append(
                await scenario(
                    client, url, fake, "/port 25565, one at a time", "25565", sequential, burst=False
                )
            )
            rows.append(
                await scenario(
                    client,
                    url,
                    fake,
                    f"/port 25565, {concurrency} at once",
                    "25565",
                    concurrency,
                    burst=True,
                    app_pid=child.pid,
                )
            )
            if ab:
                rows.append(
                    await ab_burst(
                        url, fake, f"/port 25565, {concurrency} at once", "25565", concurrency, child.pid
                    )
                )
            rows.append(
                await scenario(
                    client,
                    url,
                    fake,
                    f"/port check (1 s probe), {concurrency} at once",
                    "check example.com 443",
                    concurrency,
                    burst=True,
                    app_pid=child.pid,
                )
            )
    finally:
        if child.returncode is None:
            child.send_signal(signal.SIGINT)
            try:
                async with asyncio.timeout(15):
                    await child.wait()
            except TimeoutError:
                child.kill()
                await child.wait()
        await fake.close()
    return rows


def serve(process_index: int, processes: int) -> None:
    """The child: the Slack app as ``portbot slack --http`` runs it, with the 1-second probe backend."""
    runtime.long_running()  # as `portbot slack` declares: the collector is tuned once the app has started
    portbot = Portbot(knowledge=KnowledgeBase.load(), probes=SlowBackend())
    settings = Settings.load(env_file=None)
    if processes > 1:  # the others run this file too, so they get the same backend
        running = run(
            settings,
            portbot,
            http=True,
            process_index=process_index,
            child_argv=lambda i: [
                sys.executable,
                __file__,
                "--serve",
                "--processes",
                str(processes),
                "--process-index",
                str(i),
            ],
        )
    else:
        running = run(settings, portbot, http=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(running)


def table(rows: list[Row]) -> str:
    lines = [
        "| scenario | n | ack p50 | ack p99 | ack max | answer p50 | answer p99 | answer max | app CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.scenario} | {r.n} | {statistics.median(r.ack_ms):.1f} | {percentile(r.ack_ms, 0.99):.1f} | "
            f"{max(r.ack_ms):.1f} | {statistics.median(r.answer_ms):.1f} | {percentile(r.answer_ms, 0.99):.1f} | "
            f"{max(r.answer_ms):.1f} | {'' if r.cpu_ms != r.cpu_ms else f'{r.cpu_ms:.2f}'} |"
        )
    return "\n".join(lines)


def report(rows: list[Row], processes: int = 1) -> str:
    worst_ack = max(percentile(r.ack_ms, 0.99) for r in rows)
    verdict = "meets" if worst_ack <= TARGET_ACK_P99_MS else "MISSES"
    return (
        "# Slack adapter latency\n\n"
        "Written by `bench/slack_bench.py`; rerun it to refresh. Times in milliseconds, measured from just before "
        "the signed POST is sent. **ack** is Bolt's HTTP 200 (Slack's limit: 3000 ms); **answer** is the reply "
        "arriving at the fake response_url; **app CPU** is the app processes' CPU time per request (ms). The "
        f"app runs in {'its own process' if processes == 1 else f'{processes} processes on one port'} as "
        "`portbot slack --http` runs it; "
        "the fake Slack and the load generator run in another. Probe scenario: a scripted backend that takes "
        f"{PROBE_SECONDS:.0f} s, no network.\n\n"
        f"{table(rows)}\n\n"
        f"Worst ack p99: {worst_ack:.1f} ms, which {verdict} the {TARGET_ACK_P99_MS:.0f} ms target.\n\n"
        f"Machine: {machine()}; "
        f"slack-bolt {_version('slack_bolt')}, aiohttp {_version('aiohttp')}.\n"
    )


def _version(package: str) -> str:
    from importlib.metadata import version

    return version(package.replace("_", "-"))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument(
        "--concurrency", type=int, default=200, help="requests in flight at once (default 200)"
    )
    parser.add_argument("--sequential", type=int, default=200, help="one-at-a-time requests (default 200)")
    parser.add_argument("--processes", type=int, default=1, help="app processes on the port (default 1)")
    parser.add_argument("--no-write", action="store_true", help="print the table only (paired runs)")
    parser.add_argument(
        "--ab",
        action="store_true",
        help="also send the /port 25565 burst with ApacheBench (apt install apache2-utils)",
    )
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--process-index", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.process_index, args.processes)
        sys.exit(0)
    results = asyncio.run(main(args.concurrency, args.sequential, args.processes, args.ab))
    text = report(results, args.processes)
    print(text)
    if args.no_write:
        sys.exit(0)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text)
    print(f"wrote {RESULTS.relative_to(REPO_ROOT)}")
