"""Several real `portbot watch run` processes on one database (SQLite, then PostgreSQL): every due check is
recorded exactly once, none is missed, and that holds when one of them is SIGKILLed in the middle of a check."""

from __future__ import annotations

import asyncio
import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import select

from bot.store import database_url_for, open_store
from bot.store.tables import watches
from bot.watch.models import NewWatch, Platform
from bot.watch.repository import WatchRepository
from tests.probes.servers import TcpOpenServer, UdpSilentServer

ROOT = Path(__file__).resolve().parents[2]
EVERY = 1.0
LEASE = 3.0
# How late a check may start on a busy shared machine (the bench's p99 under load is about 1.4 s).
SLACK = 3.0
LINE = re.compile(r"portbot\.watch: (claimed|recorded) watch (\d+) slot ([\d.]+) token (\d+)")


def _env(database_url: str, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(
        PORTBOT_DATABASE_URL=database_url,
        PORTBOT_DATA_DIR=str(data_dir),
        PORTBOT_ALLOW_NETWORKS="127.0.0.0/8",
        PORTBOT_WATCH_MIN_INTERVAL="1",
        PORTBOT_LIMIT_USER="",
        PORTBOT_LIMIT_GUILD="",
        PORTBOT_LIMIT_TARGET="",
        PORTBOT_PROBE_TIMEOUT="0.5",  # a silent UDP port holds its check (and lease) this long
        PORTBOT_PROBE_ICMP_RTT="false",
        PORTBOT_PROBE_TTL_RTT="false",
        PORTBOT_LOG_LEVEL="DEBUG",
        PYTHONUNBUFFERED="1",
    )
    return env


def _events(path: Path) -> list[tuple[str, int, str, int]]:
    found = []
    for line in path.read_text(errors="replace").splitlines():
        match = LINE.search(line)
        if match:
            found.append((match[1], int(match[2]), match[3], int(match[4])))
    return found


async def _wait_for(predicate: object, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.02)


async def test_three_schedulers_one_killed(database_url: str, tmp_path: Path) -> None:
    """Three schedulers share 10 watches at 1 s; one is SIGKILLed mid-check; each slot is recorded once,
    the killed one's unfinished claims are taken over after their lease, and no watch goes unchecked."""
    fast, slow = TcpOpenServer("127.0.0.1", 0), [UdpSilentServer("127.0.0.1", 0) for _ in range(4)]
    for server in (fast, *slow):
        await server.start()
    store = await open_store(database_url_for(database_url, tmp_path))
    repo = WatchRepository(store)
    targets = [(f"127.0.0.{n}", fast.port, "tcp") for n in range(1, 7)]  # up on .1, closed (RST) on the rest
    targets += [("127.0.0.1", s.port, "udp") for s in slow]  # silent: each check takes the probe timeout
    ids = {}
    for host, port, protocol in targets:
        new = NewWatch(Platform.CLI, "cli", "t", host, port, protocol, every=EVERY)  # type: ignore[arg-type]
        ids[(await repo.add(new)).id] = protocol
    await store.close()
    env = _env(database_url, tmp_path)
    logs = [tmp_path / f"scheduler{n}.log" for n in range(3)]
    files = [log.open("w") for log in logs]
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "watch", "run", "--lease", str(LEASE)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=file,
        )
        for file in files
    ]
    try:
        started = time.time()
        victim = logs[0]

        def victim_mid_udp_check() -> bool:
            events = _events(victim)
            done = {(w, s) for kind, w, s, _ in events if kind == "recorded"}
            return time.time() - started > 3 and any(
                kind == "claimed" and ids[w] == "udp" and (w, s) not in done for kind, w, s, _ in events
            )

        await _wait_for(victim_mid_udp_check, 30)
        procs[0].send_signal(signal.SIGKILL)
        killed_at = time.time()
        await asyncio.sleep(LEASE + 3 * EVERY)
        for proc in procs[1:]:
            proc.send_signal(signal.SIGTERM)
        stopped_at = time.time()
        for proc in procs:
            proc.wait(timeout=30)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        for file in files:
            file.close()
        for server in (fast, *slow):
            await server.close()
    assert [p.returncode for p in procs] == [-signal.SIGKILL, 0, 0], [log.read_text()[-2000:] for log in logs]

    recorded: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    claimed: dict[tuple[int, str], list[tuple[int, int]]] = defaultdict(list)
    for n, log in enumerate(logs):
        for kind, watch, slot, token in _events(log):
            (recorded if kind == "recorded" else claimed)[(watch, slot)].append((n, token))
    # Never twice: each (watch, due time) recorded by exactly one process, once.
    assert all(len(by) == 1 for by in recorded.values()), {k: v for k, v in recorded.items() if len(v) > 1}
    # Taken over: what the killed process claimed and never recorded, another recorded with a newer token.
    unfinished = [
        key
        for key, by in claimed.items()
        if any(n == 0 for n, _ in by) and all(n != 0 for n, _ in recorded.get(key, []))
    ]
    assert unfinished, "the killed scheduler held no lease when it died"
    for key in unfinished:
        assert key in recorded, (
            f"watch {key[0]} slot {key[1]} claimed by the killed scheduler was never checked"
        )
        [(n, token)] = recorded[key]
        assert n != 0 and token > max(t for m, t in claimed[key] if m == 0)
    # None missed: per watch, due times advance by at least the interval and at most interval + lease (+ slack).
    for watch in ids:
        # The first due time is when the watch was added, before the processes had started: counted from the next.
        slots = sorted(float(s) for w, s in recorded if w == watch)[1:]
        gaps = [b - a for a, b in itertools.pairwise(slots)]
        assert min(gaps) >= EVERY - 1e-3, f"watch {watch} checked twice within its interval: {gaps}"
        assert max(gaps) <= EVERY + LEASE + SLACK, f"watch {watch} went unchecked for {max(gaps):.1f} s"
        assert slots[-1] > stopped_at - (EVERY + SLACK), f"watch {watch} stopped being checked"
    # Shared: the survivors both worked after the kill.
    after = {n for (w, s), by in recorded.items() for n, _ in by if float(s) > killed_at}
    assert after == {1, 2}
    # Stopped cleanly (SIGTERM), the survivors gave their watches back at once.
    owners = [re.search(r"watch scheduler (\S+) started", log.read_text())[1] for log in logs[1:]]  # type: ignore[index]
    store = await open_store(database_url_for(database_url, tmp_path))
    try:
        async with store.connect() as conn:
            held = (
                await conn.execute(select(watches.c.lease_owner).where(watches.c.lease_owner.in_(owners)))
            ).all()
    finally:
        await store.close()
    assert held == []
