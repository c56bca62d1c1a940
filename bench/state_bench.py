"""State-store benchmark: what keeping state in the database costs an interaction, on SQLite and PostgreSQL.

    .venv/bin/python bench/state_bench.py [--ops 500] [--audit-rows 50000]

For each engine (the default SQLite file; a throwaway PostgreSQL cluster on loopback, started as the tests start
it, tests/_postgres.py): a server's settings read from the per-process cache and from the database (cache off),
a settings change, a Share button's put then take, an audit batch of 100 rows, and the one-time import of an old
audit.sqlite3 of ``--audit-rows`` rows. p50 / p99 over ``--ops`` operations, one at a time.

Prints a markdown table and writes it to bench/results/state.md.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from _common import load_average, machine, percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.reply import Reply, Status  # noqa: E402
from bot.discord.guild_settings import GuildSettingsStore  # noqa: E402
from bot.store import database_url_for, open_store  # noqa: E402
from bot.store.audit import StoreAuditSink  # noqa: E402
from bot.store.legacy import import_legacy  # noqa: E402
from bot.store.shares import StoredShares  # noqa: E402
from probes.audit import AuditEntry  # noqa: E402
from tests.store.test_legacy import OLD_AUDIT  # noqa: E402

REPLY = Reply(
    "Port check: mc.example.com", "203.0.113.7:25565 answered.", status=Status.OK, kind="probe", private=True
)


async def timed(ops: int, step: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    samples = []
    for i in range(ops):
        start = time.perf_counter()
        await step(i)
        samples.append((time.perf_counter() - start) * 1000)
    return percentile(samples, 0.5), percentile(samples, 0.99)


async def engine(name: str, url: str, ops: int, audit_rows: int, folder: Path) -> list[str]:
    store = await open_store(url)
    rows: list[str] = []
    try:
        cached = GuildSettingsStore(store)
        uncached = GuildSettingsStore(store, cache_ttl=0)
        await cached.update(1, knowledge_private=True)
        for label, step in (
            ("settings read, cached", lambda i: cached.get(1)),
            ("settings read, from the database", lambda i: uncached.get(i % 50)),
            ("settings change", lambda i: cached.update(i % 50, knowledge_private=bool(i % 2))),
        ):
            p50, p99 = await timed(ops, step)
            rows.append(f"| {name} | {label} | {p50:.3f} | {p99:.3f} |")
        shares = StoredShares(store, ttl=900)

        async def share(_: int) -> None:
            await shares.take(await shares.put(REPLY, "U1"), "U1")

        p50, p99 = await timed(ops, share)
        rows.append(f"| {name} | share put + take | {p50:.3f} | {p99:.3f} |")
        sink = StoreAuditSink(store)
        entry = AuditEntry("discord", "1", "g", "c", "mc.example.com", (25565,), "auto", "probed", "here")
        p50, p99 = await timed(max(ops // 10, 10), lambda i: sink.write([entry] * 100))
        rows.append(f"| {name} | audit batch of 100 rows | {p50:.3f} | {p99:.3f} |")
        data = folder / f"old-{name}"
        data.mkdir()
        with sqlite3.connect(data / "audit.sqlite3") as db:
            db.executescript(OLD_AUDIT)
            db.executemany(
                "INSERT INTO probes (time, platform, user_id, target, addresses, ports, protocol, outcome, verdicts,"
                " vantage) VALUES ('2026-11-01T10:00:00+00:00', 'discord', ?, 'mc.example.com', '[]', '[25565]',"
                " 'auto', 'probed', '[]', 'here')",
                [(str(i),) for i in range(audit_rows)],
            )
        start = time.perf_counter()
        await import_legacy(store, data)
        seconds = time.perf_counter() - start
        rows.append(
            f"| {name} | import an old audit.sqlite3 of {audit_rows:,} rows (once) | {seconds * 1000:.0f} | |"
        )
    finally:
        await store.close()
    return rows


async def main(ops: int, audit_rows: int) -> str:
    from tests._postgres import postgres_server

    lines = [
        "| engine | operation | p50 ms | p99 ms |",
        "| --- | --- | --- | --- |",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        lines += await engine("SQLite", database_url_for(None, folder), ops, audit_rows, folder)
        with postgres_server() as url:
            lines += await engine("PostgreSQL", database_url_for(url, folder), ops, audit_rows, folder)
    return "\n".join(lines)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ops", type=int, default=500)
    parser.add_argument("--audit-rows", type=int, default=50_000)
    args = parser.parse_args()
    table = asyncio.run(main(args.ops, args.audit_rows))
    text = (
        "# State store\n\n`.venv/bin/python bench/state_bench.py "
        f"--ops {args.ops} --audit-rows {args.audit_rows}`\n\n{machine()}; load {load_average()}\n\n{table}\n"
    )
    (ROOT / "bench" / "results" / "state.md").write_text(text)
    print(text)
