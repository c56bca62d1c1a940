"""Sliding-window counters in a SQLite file: limits' own answers, shared by processes, kept across restarts."""

from __future__ import annotations

import multiprocessing
import sqlite3
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from probes._sqlite_window import CounterStoreError, SqliteWindowCounters
from probes._window import WindowCounters
from probes._window import parse_rate as parse
from tests.probes._windows import start_inside_one_window
from tests.probes.test_window import START, Clock

operations = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=90, allow_nan=False),  # seconds to wait first
        st.sampled_from(["a", "b"]),  # which key
        st.sampled_from(["hit", "test"]),
        st.booleans(),  # reopen the file first, as a new process would
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(limit=st.sampled_from(["3/minute", "5/30 seconds", "2/hour"]), ops=operations)
def test_every_answer_matches_the_in_memory_counters(
    tmp_path: Path, limit: str, ops: list[tuple[float, str, str, bool]]
) -> None:
    """Hit by hit, over any timing and across reopenings, the file gives the in-memory counters' answers
    (which tests/probes/test_window.py holds to the limits library's own)."""
    item = parse(limit)
    clock = Clock()
    path = tmp_path / f"{len(list(tmp_path.iterdir()))}.sqlite3"
    memory = WindowCounters(clock)
    stored = SqliteWindowCounters(path, clock)
    for wait, key, op, reopen in ops:
        clock.now += wait
        if reopen:
            stored.close()
            stored = SqliteWindowCounters(path, clock)
        if op == "hit":
            assert stored.hit(item, "target", key) == memory.hit(item, "target", key)
        else:
            assert stored.test(item, "target", key) == memory.test(item, "target", key)
        assert stored.reset_after(item, "target", key) == pytest.approx(
            memory.reset_after(item, "target", key)
        )
    stored.close()


def test_counts_survive_a_new_process(tmp_path: Path) -> None:
    """A second opening of the file (a new `portbot probe`) sees the first one's hits."""
    item = parse("2/minute")
    clock = Clock()
    clock.now = 60 * (int(START) // 60)  # the start of a window
    first = SqliteWindowCounters(tmp_path / "limits.sqlite3", clock)
    assert [first.hit(item, "user", "cli:alice") for _ in range(2)] == [True, True]
    first.close()
    second = SqliteWindowCounters(tmp_path / "limits.sqlite3", clock)
    assert not second.hit(item, "user", "cli:alice")
    assert second.hit(item, "user", "cli:bob")
    second.close()


def _hit_many(path: str, times: int, results: multiprocessing.Queue[bool]) -> None:
    counters = SqliteWindowCounters(Path(path))
    item = parse("50/hour")
    for _ in range(times):
        results.put(counters.hit(item, "target", "4:198.51.100.7/32"))
    counters.close()


def test_processes_hitting_at_once_never_overshoot(tmp_path: Path) -> None:
    """Four processes hitting one key 20 times each: exactly the limit (50) of the 80 hits are counted."""
    start_inside_one_window(3600, needed=60)
    context = multiprocessing.get_context("spawn")
    results: multiprocessing.Queue[bool] = context.Queue()
    workers = [
        context.Process(target=_hit_many, args=(str(tmp_path / "shared.sqlite3"), 20, results))
        for _ in range(4)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=60) for _ in range(80)]
    for worker in workers:
        worker.join(timeout=60)
        assert worker.exitcode == 0
    assert answers.count(True) == 50


def test_stale_counters_are_dropped_when_the_file_is_opened(tmp_path: Path) -> None:
    """Counters whose two windows are over are deleted on opening, so the file follows recent keys only."""
    item = parse("10/minute")
    clock = Clock()
    counters = SqliteWindowCounters(tmp_path / "limits.sqlite3", clock)
    for n in range(100):
        counters.hit(item, "target", f"4:198.51.100.{n}/32")
    counters.close()
    clock.now += 180
    reopened = SqliteWindowCounters(tmp_path / "limits.sqlite3", clock)
    reopened.hit(item, "target", "4:203.0.113.7/32")
    reopened.close()
    with sqlite3.connect(tmp_path / "limits.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM windows").fetchone() == (1,)


def test_an_unwritable_file_is_a_store_error(tmp_path: Path) -> None:
    """A counter file that can't be opened raises CounterStoreError (the limiter turns it into StoreUnavailable)."""
    (tmp_path / "dir.sqlite3").mkdir()
    counters = SqliteWindowCounters(tmp_path / "dir.sqlite3")
    with pytest.raises(CounterStoreError):
        counters.hit(parse("1/minute"), "user", "u")


def test_a_torn_file_is_replaced_by_a_new_one(tmp_path: Path) -> None:
    """A file that is no longer a database (a power cut mid-write; nothing is fsynced) is started afresh."""
    path = tmp_path / "limits.sqlite3"
    path.write_bytes(b"not a database" * 100)
    counters = SqliteWindowCounters(path)
    assert counters.hit(parse("1/minute"), "user", "u")
    assert not counters.hit(parse("1/minute"), "user", "u")
    counters.close()
