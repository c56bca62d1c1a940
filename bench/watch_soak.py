"""Soak bench for watches (issue 10): the whole deployment, on PostgreSQL and Redis, for ten minutes.

    sudo .venv/bin/python bench/watch_soak.py [--watches 1000] [--minutes 10] [--every 60]

What runs, all on this machine:

- PostgreSQL (a throwaway cluster from Debian's binaries) holds the watches, their leases and the alert outbox;
  redis-server holds the rate limits and the workers' replay guard.
- 3 ``portbot worker`` processes probe; every check goes through one of them (``PORTBOT_WORKERS``), under the
  default rate limits (per user, per server and per target).
- 2 ``portbot watch run`` schedulers and 2 bot processes (``portbot slack`` over HTTP, which run the scheduler
  too, against a small fake Slack Web API) share the due checks.
- The targets live in a network namespace this bench builds: ``--watches / 5`` hosts in 198.51.100.0/24, each
  with 5 TCP ports open, reached from the host through a veth pair. The namespace is removed at the end.
- Every watch alerts a webhook served by this bench on loopback, which records each (watch, change) it is told.

The script:

1. adds the watches, first due spread over one interval (their first state is no alert);
2. at 25 % of the run, makes 10 % of the watches' ports refuse connections (iptables in the namespace);
3. at 45 %, SIGKILLs one worker, one scheduler and one bot, and restarts each 20 s later;
4. at 65 %, opens those ports again;
5. at the end waits for the outbox to drain, stops everything, and holds what the webhook was told against the
   changes the database confirmed: each exactly once, none on a watch whose port never changed.

It reports checks/s, the p99 lateness of checks (claim time minus due time), PostgreSQL's load
(pg_stat_database: transactions, rows, and the server processes' CPU) in bench/results/watch_soak.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, machine, percentile  # noqa: E402
from _netns import require_netns  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "watch_soak.md"
CLAIMED = re.compile(r"claimed watch (\d+) slot ([\d.]+) token \d+ late ([-\d.]+)")
RECORDED = re.compile(r"recorded watch (\d+) slot ([\d.]+) token \d+")
PORTS = tuple(range(30000, 30005))  # five open ports on every target host
FIRST_HOST = 10  # targets are 198.51.100.10 and up; 198.51.100.1 is this host's end of the veth pair
SECRET = "soak-" + uuid.uuid4().hex

TARGET_SERVER = """
import asyncio, sys
async def main():
    async def bye(r, w):
        w.close()
    servers = [await asyncio.start_server(bye, "0.0.0.0", p, backlog=1024) for p in map(int, sys.argv[1:])]
    print("ready", flush=True)
    await asyncio.Event().wait()
asyncio.run(main())
"""


def run(*argv: str) -> str:
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the targets: a namespace of hosts in 198.51.100.0/24 ------------------------------------------------


@dataclass
class Targets:
    namespace: str
    hosts: list[str]
    server: subprocess.Popen[str]

    def watches(self) -> list[tuple[str, int]]:
        return [(host, port) for host in self.hosts for port in PORTS]

    def refuse(self, hosts: list[str], on: bool) -> None:
        """Make ``hosts``' ports answer RST (a closed port, so the watch goes DOWN), or stop doing so."""
        rule = [
            "INPUT", "-p", "tcp", "-m", "iprange", "--dst-range", f"{hosts[0]}-{hosts[-1]}",
            "-j", "REJECT", "--reject-with", "tcp-reset",
        ]  # fmt: skip
        run("ip", "netns", "exec", self.namespace, "iptables", "-A" if on else "-D", *rule)


def remove_stale() -> None:
    """Remove what a soak run that was killed left behind (its namespace and veth pair), if its process is gone:
    a second 198.51.100.0/24 on this host would take this run's probes."""
    for name in run("ip", "netns", "list").split():
        found = re.fullmatch(r"pb-(\d+)-soak", name)
        if found and not Path(f"/proc/{found[1]}").exists():
            subprocess.run(["ip", "link", "del", f"pbsk{found[1]}a"], capture_output=True, check=False)
            subprocess.run(["ip", "netns", "del", name], capture_output=True, check=False)


@contextmanager
def targets(count: int) -> Iterator[Targets]:
    remove_stale()
    pid = os.getpid()
    namespace, outside, inside = f"pb-{pid}-soak", f"pbsk{pid}a", f"pbsk{pid}b"
    hosts = [f"198.51.100.{FIRST_HOST + n}" for n in range(count)]
    if FIRST_HOST + count > 254:
        raise SystemExit(f"at most {254 - FIRST_HOST} target hosts fit in 198.51.100.0/24")
    run("ip", "netns", "add", namespace)
    server: subprocess.Popen[str] | None = None
    try:
        run("ip", "link", "add", outside, "type", "veth", "peer", "name", inside)
        run("ip", "link", "set", inside, "netns", namespace)
        run("ip", "addr", "add", "198.51.100.1/24", "dev", outside)
        run("ip", "link", "set", outside, "up")
        batch = "".join(f"addr add {host}/24 dev {inside}\n" for host in hosts)
        subprocess.run(["ip", "-n", namespace, "-batch", "-"], input=batch, text=True, check=True)
        run("ip", "-n", namespace, "link", "set", "lo", "up")
        run("ip", "-n", namespace, "link", "set", inside, "up")
        server = subprocess.Popen(
            ["ip", "netns", "exec", namespace, sys.executable, "-c", TARGET_SERVER, *map(str, PORTS)],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None
        if server.stdout.readline().strip() != "ready":
            raise RuntimeError("the target server did not start")
        yield Targets(namespace, hosts, server)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        subprocess.run(["ip", "link", "del", outside], capture_output=True, check=False)
        subprocess.run(["ip", "netns", "del", namespace], capture_output=True, check=False)


# --- what the bench serves on loopback: the webhook and a fake Slack Web API ---------------------------------


@dataclass
class Inbox:
    """Every alert the webhook was told: (watch id, seq) -> how often, and what it said."""

    told: Counter[tuple[int, int]] = field(default_factory=Counter)
    after: dict[tuple[int, int], str] = field(default_factory=dict)
    posts: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def take(self, body: dict[str, object]) -> None:
        watch = body["watch"]
        assert isinstance(watch, dict)
        changes = [body, *body.get("earlier", [])]  # type: ignore[list-item]
        with self.lock:
            self.posts += 1
            for change in changes:
                assert isinstance(change, dict)
                key = (int(watch["id"]), int(change["seq"]))
                self.told[key] += 1
                self.after[key] = str(change["after"])


def serve(inbox: Inbox) -> tuple[ThreadingHTTPServer, int]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path.startswith("/hook"):
                inbox.take(json.loads(body))
                answer = b"{}"
            else:  # the fake Slack Web API: every method succeeds
                answer = json.dumps(
                    {"ok": True, "ts": f"{time.time():.6f}", "channel": "C1", "team_id": "T1", "user_id": "U1",
                     "bot_id": "B1", "user": {"id": "U1", "is_admin": True}}
                ).encode()  # fmt: skip
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, int(server.server_address[1])


# --- the processes ------------------------------------------------------------------------------------------


@dataclass
class Proc:
    kind: str
    argv: list[str]
    env: dict[str, str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.argv, cwd=ROOT, env=self.env, stdout=out, stderr=out)

    def kill(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def wait_for_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing listens on 127.0.0.1:{port} after {timeout:.0f} s")


# --- the database: watches in, load out ---------------------------------------------------------------------


async def add_watches(
    url: str, data_dir: Path, pairs: list[tuple[str, int]], every: float, hook: str
) -> None:
    from bot.store import database_url_for, open_store
    from bot.watch.models import NewWatch, Platform
    from bot.watch.repository import WatchRepository

    store = await open_store(database_url_for(url, data_dir))
    repo = WatchRepository(store)
    for n, (host, port) in enumerate(pairs):
        # Spread over the first interval, as watches added over time are, so checks are not all due at once.
        await repo.add(
            NewWatch(Platform.CLI, "cli", "soak", host, port, "tcp", every=every, notify_url=hook),
            first_check_in=every * n / len(pairs),
        )
    await store.close()


async def pg_stats(url: str) -> dict[str, float]:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        row = await conn.fetchrow(
            "SELECT xact_commit, xact_rollback, tup_returned, tup_fetched, tup_inserted, tup_updated, "
            "tup_deleted, blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()"
        )
        stats = {key: float(value) for key, value in dict(row).items()}
        stats["connections"] = float(
            await conn.fetchval("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
        )
        return stats
    finally:
        await conn.close()


def postgres_cpu_seconds() -> float:
    """User + system CPU of every process named postgres (the cluster's server processes)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() != "postgres":
                continue
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError, ValueError):
            continue
    return total


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--watches", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--every", type=float, default=60.0, help="seconds between a watch's checks")
    parser.add_argument("--keep", type=Path, help="copy every process's log into this directory")
    parser.add_argument(
        "--settle",
        type=float,
        help="longest wait for the last alerts after the run (default 300 s + 3 intervals)",
    )
    args = parser.parse_args()
    require_netns()
    # SIGTERM (a timeout, a kill) unwinds like Ctrl-C, so the namespace, the cluster and the processes go too.
    signal.signal(signal.SIGTERM, _interrupted)
    from tests._postgres import create_database, start_postgres

    hosts = max(1, args.watches // len(PORTS))
    run_for = args.minutes * 60
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="portbot-soak-")))
        net = stack.enter_context(targets(hosts))
        cluster = stack.enter_context(start_postgres(max_connections=400))
        url = create_database(cluster, "soak")
        redis_url = stack.enter_context(start_redis(tmp))
        inbox = Inbox()
        http, http_port = serve(inbox)
        stack.callback(http.shutdown)
        hook = f"http://127.0.0.1:{http_port}/hook"
        asyncio.run(add_watches(url, tmp, net.watches(), args.every, hook))

        base = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
        base.update(
            PYTHONUNBUFFERED="1",
            PORTBOT_WORKER_SECRET=SECRET,
            PORTBOT_REDIS_URL=redis_url,
            PORTBOT_ALLOW_NETWORKS="198.51.100.0/24",
            PORTBOT_DATABASE_URL=url,
            PORTBOT_WATCH_MIN_INTERVAL=f"{args.every:g}",
            PORTBOT_PROBE_ICMP_RTT="false",
            PORTBOT_PROBE_TTL_RTT="false",
        )
        procs: list[Proc] = []
        worker_ports = [free_port() for _ in range(3)]
        for n, port in enumerate(worker_ports):
            # Every process here reaches the workers from 127.0.0.1; deployed, bots and schedulers each have an
            # address of their own, so the per-address cap is off as behind a proxy (README → Deploy).
            env = {
                **base,
                "PORTBOT_DATA_DIR": str(tmp / f"worker{n}"),
                "PORTBOT_WORKER_REGION": f"soak-{n}",
                "PORTBOT_WORKER_MAX_PER_SOURCE": "0",
            }
            procs.append(
                Proc(
                    "worker",
                    [sys.executable, "-m", "bot", "worker", "--port", str(port)],
                    env,
                    tmp / f"worker{n}.log",
                )
            )
        chat = {
            **base,
            "PORTBOT_WORKERS": ",".join(f"http://127.0.0.1:{p}" for p in worker_ports),
            "PORTBOT_LOG_LEVEL": "DEBUG",
        }
        for n in range(2):
            env = {**chat, "PORTBOT_DATA_DIR": str(tmp / f"scheduler{n}")}
            procs.append(
                Proc(
                    "scheduler", [sys.executable, "-m", "bot", "watch", "run"], env, tmp / f"scheduler{n}.log"
                )
            )
        for n in range(2):
            env = {
                **chat,
                "PORTBOT_DATA_DIR": str(tmp / f"bot{n}"),
                "SLACK_BOT_TOKEN": "xoxb-soak",
                "SLACK_SIGNING_SECRET": "soak-signing-secret",
                "SLACK_API_URL": f"http://127.0.0.1:{http_port}/api/",
                "SLACK_PORT": str(free_port()),
            }
            procs.append(
                Proc("bot", [sys.executable, "-m", "bot", "slack", "--http"], env, tmp / f"bot{n}.log")
            )
        for proc in procs:
            proc.start()
            stack.callback(proc.stop)
        for port in worker_ports:
            wait_for_port(port)

        stats_before, cpu_before, load_before = (
            asyncio.run(pg_stats(url)),
            postgres_cpu_seconds(),
            load_average(),
        )
        started = time.time()
        down = net.hosts[: max(1, hosts // 10)]
        # Late enough that every watch has its first state even when checks run late (a loaded machine), and
        # far enough apart that each change is confirmed (two checks) before the next.
        timeline = [
            (0.25 * run_for, "close 10 % of the ports", lambda: net.refuse(down, True)),
            (0.45 * run_for, "SIGKILL one worker, one scheduler and one bot", lambda: kill(procs)),
            (0.45 * run_for + 20, "restart them", lambda: restart(procs)),
            (0.65 * run_for, "open them again", lambda: net.refuse(down, False)),
        ]
        for at, what, action in timeline:
            time.sleep(max(0.0, started + at - time.time()))
            print(f"{time.time() - started:6.0f} s  {what}", flush=True)
            action()
        time.sleep(max(0.0, started + run_for - time.time()))
        ended = time.time()
        stats_after, cpu_after = asyncio.run(pg_stats(url)), postgres_cpu_seconds()
        # Let the last confirmed changes' alerts go out, then stop everything: a watch alerts at most once per
        # SchedulerConfig.alert_gap (5 min), so the "up" alert can wait that long after the "down" one. The
        # database says which changes were confirmed; each must be told exactly once.
        settle = time.time() + (args.settle if args.settle is not None else 300 + 3 * args.every)
        while time.time() < settle:
            changes, pending = asyncio.run(confirmed(url, tmp))
            if not pending and expected_alerts(changes) <= set(inbox.told):
                break
            time.sleep(2)
        for proc in procs:
            proc.stop()
        changes, pending = asyncio.run(confirmed(url, tmp))
        toggled = set(down_watch_ids(url, tmp, down))
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            for proc in procs:
                (args.keep / proc.log.name).write_bytes(proc.log.read_bytes())
        outcome = Outcome(inbox, changes, pending, toggled)
        report = summarise(
            args,
            procs,
            outcome,
            (started, ended),
            stats_before,
            stats_after,
            cpu_after - cpu_before,
            load_before,
        )
        RESULTS.write_text(report)
        print(report)


def _interrupted(*_: object) -> None:
    raise KeyboardInterrupt


def kill(procs: list[Proc]) -> None:
    for kind in ("worker", "scheduler", "bot"):
        next(p for p in procs if p.kind == kind).kill()


def restart(procs: list[Proc]) -> None:
    for kind in ("worker", "scheduler", "bot"):
        next(p for p in procs if p.kind == kind).start()


def down_watch_ids(url: str, tmp: Path, hosts: list[str]) -> list[int]:
    async def ids() -> list[int]:
        from sqlalchemy import select

        from bot.store import database_url_for, open_store
        from bot.store.tables import watches

        store = await open_store(database_url_for(url, tmp))
        async with store.connect() as conn:
            rows = await conn.execute(select(watches.c.id).where(watches.c.host.in_(hosts)))
            found = [int(r[0]) for r in rows]
        await store.close()
        return found

    return asyncio.run(ids())


@contextmanager
def start_redis(directory: Path) -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(directory)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait()


@dataclass
class Outcome:
    """What the webhook was told, against what the database confirmed."""

    inbox: Inbox
    changes: dict[int, int]  # watch id -> confirmed changes
    pending: int  # alerts still undelivered in the outbox
    toggled: set[int]  # the watches whose ports were closed, then opened


def expected_alerts(changes: dict[int, int]) -> set[tuple[int, int]]:
    """One alert for each confirmed change: (watch, 1) … (watch, changes)."""
    return {(watch, seq) for watch, count in changes.items() for seq in range(1, count + 1)}


async def confirmed(url: str, tmp: Path) -> tuple[dict[int, int], int]:
    """Each watch's confirmed changes, and how many alerts wait undelivered in the outbox."""
    from sqlalchemy import func, select

    from bot.store import database_url_for, open_store
    from bot.store.tables import watch_alerts, watches

    store = await open_store(database_url_for(url, tmp), migrate=False)
    try:
        async with store.connect() as conn:
            rows = await conn.execute(select(watches.c.id, watches.c.changes))
            changes = {int(r[0]): int(r[1]) for r in rows}
            pending = await conn.scalar(
                select(func.count()).select_from(watch_alerts).where(watch_alerts.c.delivered_at.is_(None))
            )
    finally:
        await store.close()
    return changes, int(pending or 0)


def summarise(
    args: argparse.Namespace,
    procs: list[Proc],
    outcome: Outcome,
    window: tuple[float, float],
    before: dict[str, float],
    after: dict[str, float],
    pg_cpu: float,
    load_before: str,
) -> str:
    # Checks due inside the run only: the processes go on during the wait for the last alerts.
    start, end = window
    wall = end - start
    lateness: list[float] = []
    recorded: Counter[tuple[str, str]] = Counter()
    by_kind: defaultdict[str, int] = defaultdict(int)
    for proc in procs:
        for line in proc.log.read_text(errors="replace").splitlines():
            if (m := CLAIMED.search(line)) and start <= float(m[2]) <= end:
                lateness.append(float(m[3]) * 1000)
            if (m := RECORDED.search(line)) and start <= float(m[2]) <= end:
                recorded[(m[1], m[2])] += 1
                by_kind[proc.kind] += 1
    total = sum(recorded.values())
    twice = sum(1 for count in recorded.values() if count > 1)
    expected = expected_alerts(outcome.changes)
    told = set(outcome.inbox.told)
    repeated = sum(1 for count in outcome.inbox.told.values() if count > 1)
    missing, unexpected = expected - told, told - expected
    exact = not missing and not unexpected and not repeated and not outcome.pending
    # Only the watches whose ports were closed and opened may change at all.
    false_changes = sum(
        1 for watch, count in outcome.changes.items() if count and watch not in outcome.toggled
    )
    both = sum(1 for watch in outcome.toggled if outcome.changes.get(watch) == 2)
    delta = {key: after[key] - before[key] for key in before if key != "connections"}
    rows = [
        ("processes", "2 bots (`portbot slack --http`), 2 `portbot watch run`, 3 `portbot worker`, PostgreSQL, Redis"),
        ("watches", f"{args.watches:,} TCP, every {args.every:g} s, alerting a webhook on loopback"),
        ("targets", f"{args.watches // len(PORTS)} hosts × {len(PORTS)} ports in a network namespace (198.51.100.0/24)"),
        ("run", f"{wall / 60:.1f} min; 10 % of the ports closed at 25 % and opened at 65 %; a worker, a scheduler and a bot SIGKILLed at 45 %, restarted 20 s later"),
        ("checks recorded", f"{total:,} ({total / wall:.1f}/s; offered {args.watches / args.every:.1f}/s)"),
        ("checks by the bots / the schedulers", f"{by_kind['bot']:,} / {by_kind['scheduler']:,}"),
        ("checks recorded twice", str(twice)),
        ("claim lateness p50 / p99 / max", f"{percentile(lateness, 0.5):.0f} / {percentile(lateness, 0.99):.0f} / {max(lateness):.0f} ms" if lateness else "n/a"),
        ("ports closed then opened", f"{len(outcome.toggled)} watches; {both} of them confirmed both changes"),
        ("changes confirmed on watches whose port never changed", str(false_changes)),
        ("changes confirmed (= alerts expected)", str(len(expected))),
        ("alerts told (distinct), repeated, missing, unexpected, left in the outbox", f"{len(told)}, {repeated}, {len(missing)}, {len(unexpected)}, {outcome.pending}"),
        ("exactly one alert per change", ("yes" if exact else "NO") if expected else "nothing to judge: no change was confirmed"),
        ("webhook POSTs", f"{outcome.inbox.posts:,}"),
        ("PostgreSQL commits / rollbacks", f"{delta['xact_commit'] / wall:.1f}/s / {delta['xact_rollback'] / wall:.2f}/s"),
        ("PostgreSQL rows returned / fetched / inserted / updated", " / ".join(f"{delta[k] / wall:,.0f}/s" for k in ("tup_returned", "tup_fetched", "tup_inserted", "tup_updated"))),
        ("PostgreSQL CPU", f"{pg_cpu:.1f} s over the run ({pg_cpu / wall * 100:.1f} % of one CPU); {after['connections']:.0f} connections at the end"),
        ("load average before / after", f"{load_before} / {load_average()}"),
    ]  # fmt: skip
    width = max(len(name) for name, _ in rows)
    table = "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)
    return (
        "# Watch soak bench\n\n"
        "Written by `bench/watch_soak.py` (issue 10's soak); rerun it as root to refresh.\n\n"
        f"Machine: {machine()}.\n\n"
        f"| {'measure'.ljust(width)} | value |\n| {'-' * width} | ----- |\n{table}\n"
    )


if __name__ == "__main__":
    main()
