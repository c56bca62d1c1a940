"""Watch scheduler bench: several `portbot watch run` processes sharing one database, on loopback targets.

    python bench/watch_bench.py [--engine postgresql|sqlite] [--watches 300] [--every 5] [--seconds 30]
                                [--schedulers 2]

Adds the watches (TCP, one closed loopback port each: every check is a full probe through the safety policy,
the rate limiter with its limits off, and the engine), starts the schedulers, lets them run, stops them with
SIGTERM, then reads their debug lines: checks recorded per second, how late each check was claimed after its due
time (p50/p99), checks recorded twice (must be 0), and each process's share. On PostgreSQL it also reports the
database's committed transactions per second (pg_stat_database). Writes bench/results/watch.md.

This is the short form of issue 10's soak bench (which adds bots, workers, network namespaces and restarts).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import load_average, machine, percentile  # noqa: E402

CLAIMED = re.compile(r"claimed watch (\d+) slot ([\d.]+) token \d+ late ([-\d.]+)")
RECORDED = re.compile(r"recorded watch (\d+) slot ([\d.]+) token \d+")


async def _add_watches(url: str, data_dir: Path, count: int, every: float) -> None:
    from bot.store import database_url_for, open_store
    from bot.watch.models import NewWatch, Platform
    from bot.watch.repository import WatchRepository

    store = await open_store(database_url_for(url, data_dir))
    repo = WatchRepository(store)
    for n in range(count):
        # Closed ports on loopback: the kernel answers RST at once, so the bench measures the scheduler.
        await repo.add(NewWatch(Platform.CLI, "cli", "bench", "127.0.0.1", 20_000 + n, "tcp", every=every))
    await store.close()


async def _pg_commits(url: str) -> int:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        value = await conn.fetchval(
            "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
        )
        return int(value)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--engine", choices=("both", "postgresql", "sqlite"), default="both")
    parser.add_argument("--watches", type=int, default=300)
    parser.add_argument("--every", type=float, default=5.0)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--schedulers", type=int, default=2)
    args = parser.parse_args()

    tables = []
    for engine in ("postgresql", "sqlite") if args.engine == "both" else (args.engine,):
        with tempfile.TemporaryDirectory(prefix="portbot-watch-bench-") as tmp:
            data_dir = Path(tmp)
            if engine == "postgresql":
                from tests._postgres import create_database, start_postgres

                with start_postgres() as cluster:
                    tables.append(run(create_database(cluster, "watchbench"), data_dir, args))
            else:
                tables.append(run(f"sqlite:///{data_dir / 'portbot.sqlite3'}", data_dir, args))
    report = (
        "# Watch scheduler bench\n\n"
        "Written by `bench/watch_bench.py`; rerun it to refresh.\n\n"
        f"Machine: {machine()}. Targets: closed TCP ports on loopback (each check a full probe: the safety "
        "policy, the rate limiter with its limits off, the engine, the audit log). Lateness: claim time minus due "
        "time, for checks due from 5 s after the start (the first due times are when the watches were added). "
        "CPU: the scheduler processes' user + system time over the run, start-up (imports, migrations) included, "
        "divided by the checks.\n\n" + "\n".join(tables)
    )
    out = ROOT / "bench" / "results" / "watch.md"
    out.write_text(report)
    print(report)


def run(url: str, data_dir: Path, args: argparse.Namespace) -> str:
    asyncio.run(_add_watches(url, data_dir, args.watches, args.every))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(
        PORTBOT_DATABASE_URL=url,
        PORTBOT_DATA_DIR=str(data_dir),
        PORTBOT_ALLOW_NETWORKS="127.0.0.0/8",
        PORTBOT_WATCH_MIN_INTERVAL="1",
        PORTBOT_LIMIT_USER="",
        PORTBOT_LIMIT_GUILD="",
        PORTBOT_LIMIT_TARGET="",
        PORTBOT_PROBE_ICMP_RTT="false",
        PORTBOT_PROBE_TTL_RTT="false",
        PORTBOT_LOG_LEVEL="DEBUG",
        PYTHONUNBUFFERED="1",
    )
    load_before = load_average()
    pg = url.startswith("postgres")
    commits_before = asyncio.run(_pg_commits(url)) if pg else 0
    logs = [data_dir / f"scheduler{n}.log" for n in range(args.schedulers)]
    files = [log.open("w") for log in logs]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "watch", "run"],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=f,
        )
        for f in files
    ]
    started = time.time()
    usage_before = os.times()
    time.sleep(args.seconds)
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    for proc in procs:
        proc.wait(timeout=60)
    wall = time.time() - started
    usage = os.times()
    for f in files:
        f.close()
    if os.environ.get("WATCH_BENCH_KEEP"):
        for log in logs:
            (Path(os.environ["WATCH_BENCH_KEEP"]) / log.name).write_text(log.read_text())
    commits = (asyncio.run(_pg_commits(url)) - commits_before) if pg else 0

    lateness: list[float] = []
    recorded: Counter[tuple[str, str]] = Counter()
    share: Counter[int] = Counter()
    warm = started + 5  # the first due times are the moment the watches were added, before the processes ran
    for n, log in enumerate(logs):
        for line in log.read_text(errors="replace").splitlines():
            if (m := CLAIMED.search(line)) and float(m[2]) > warm:
                lateness.append(float(m[3]) * 1000)
            if m := RECORDED.search(line):
                recorded[(m[1], m[2])] += 1
                share[n] += 1
    twice = sum(1 for c in recorded.values() if c > 1)
    total = sum(recorded.values())
    children = (usage.children_user - usage_before.children_user) + (
        usage.children_system - usage_before.children_system
    )
    rows = [
        ("engine", "PostgreSQL" if pg else "SQLite"),
        ("schedulers", f"{args.schedulers} `portbot watch run` processes"),
        (
            "watches",
            f"{args.watches}, every {args.every:g} s (offered {args.watches / args.every:.0f} checks/s)",
        ),
        ("run", f"{wall:.1f} s"),
        ("checks recorded", f"{total:,} ({total / wall:.1f}/s)"),
        ("checks recorded twice", str(twice)),
        ("share per process", ", ".join(f"{share[n]:,}" for n in range(args.schedulers))),
        (
            "claim lateness p50 / p99 / max",
            f"{percentile(lateness, 0.5):.0f} / {percentile(lateness, 0.99):.0f} / {max(lateness):.0f} ms"
            if lateness
            else "n/a",
        ),
        (
            "scheduler CPU per check",
            f"{children / max(1, total) * 1e6:.0f} µs (all processes, user + system)",
        ),
        ("database commits", f"{commits / wall:.1f}/s" if pg else "n/a (SQLite)"),
        ("load average before", load_before),
        ("load average after", load_average()),
    ]
    width = max(len(name) for name, _ in rows)
    table = "\n".join(f"| {name.ljust(width)} | {value} |" for name, value in rows)
    return f"| {'measure'.ljust(width)} | value |\n| {'-' * width} | ----- |\n{table}\n"


if __name__ == "__main__":
    main()
