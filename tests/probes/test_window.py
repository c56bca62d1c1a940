"""In-process sliding-window counters: the same answers as the limits library's own strategy, in bounded memory."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from unittest import mock

import limits.aio.storage.memory
import limits.aio.strategies
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from limits import parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import SlidingWindowCounterRateLimiter

from probes._window import WindowCounters, parse_rate

START = 1_700_000_000.0  # a realistic Unix time, so window numbers are as large as in production


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


operations = st.lists(
    st.tuples(
        st.floats(min_value=0, max_value=90, allow_nan=False),  # seconds to wait first
        st.sampled_from(["a", "b"]),  # which key
        st.sampled_from(["hit", "test"]),
    ),
    max_size=60,
)


@settings(max_examples=60, deadline=None)
@given(limit=st.sampled_from(["3/minute", "5/30 seconds", "2/hour"]), ops=operations)
def test_every_answer_matches_the_limits_library(limit: str, ops: list[tuple[float, str, str]]) -> None:
    """Hit by hit, over any timing, our counters refuse and report reset times exactly as limits' own do."""
    item, theirs_item = parse_rate(limit), parse(limit)
    clock = Clock()
    ours = WindowCounters(clock)
    fake_time = SimpleNamespace(time=clock)

    async def compare() -> None:
        theirs = SlidingWindowCounterRateLimiter(MemoryStorage())
        for wait, key, op in ops:
            clock.now += wait
            if op == "hit":
                assert ours.hit(item, "user", key) == await theirs.hit(theirs_item, "user", key)
            else:
                assert ours.test(item, "user", key) == await theirs.test(theirs_item, "user", key)
            stats = await theirs.get_window_stats(theirs_item, "user", key)
            # limits adds the wait to a ~1.7e9 timestamp, which rounds it to about a microsecond.
            assert ours.reset_after(item, "user", key) == pytest.approx(
                stats.reset_time - clock.now, abs=1e-5
            )

    with (
        mock.patch.object(limits.aio.storage.memory, "time", fake_time),
        mock.patch.object(limits.aio.strategies, "time", fake_time),
    ):
        asyncio.run(compare())


def test_a_full_counter_refuses_until_the_window_slides_past() -> None:
    """Three a minute: the fourth is refused, and fits again once the old hits weigh less than one."""
    item = parse_rate("3/minute")
    clock = Clock()
    clock.now = 60 * 28_333_334  # the start of a window
    counters = WindowCounters(clock)
    assert [counters.hit(item, "user", "u") for _ in range(4)] == [True, True, True, False]
    clock.now += 60  # next window: the three old hits still weigh fully
    assert not counters.hit(item, "user", "u")
    clock.now += 40  # two thirds of the old window have slid out: they weigh 1
    assert counters.hit(item, "user", "u")


def test_counters_of_finished_windows_are_swept() -> None:
    """Counters nobody touched for two windows are forgotten, so memory follows recent traffic only."""
    item = parse_rate("10/minute")
    clock = Clock()
    counters = WindowCounters(clock)
    for n in range(1000):
        counters.hit(item, "target", f"198.51.100.{n}")
    assert len(counters) == 1000
    clock.now += 180
    counters.hit(item, "target", "203.0.113.7")
    assert len(counters) == 1


def test_reset_forgets_every_count() -> None:
    """After reset() a used-up key counts from zero again."""
    item = parse_rate("1/minute")
    counters = WindowCounters(Clock())
    counters.hit(item, "user", "u")
    counters.reset()
    assert counters.hit(item, "user", "u")


RATE = st.from_regex(
    r"\A *[0-9]{1,4} *(/|per| per |x) *([0-9]{1,2} *)?(second|minute|hour|day|month|year|fortnight|min)s? *\Z",
    fullmatch=True,
)


@given(st.one_of(RATE, st.text(max_size=20)))
@example("10/minuteſ")  # re.IGNORECASE folds the long s into "s"; limits refuses it
@example("10/ſecond")
@example("3 PER 2 Hours")
def test_a_rate_reads_as_limits_reads_it(text: str) -> None:
    """parse_rate reads one rate exactly as limits.parse does (amount, window), and refuses what it refuses."""
    try:
        theirs = parse(text) if not any(c in text for c in ",;|") else None
    except ValueError:
        theirs = None
    try:
        ours = parse_rate(text)
    except ValueError:
        ours = None
    if theirs is None:
        assert ours is None
    else:
        assert ours is not None
        assert (ours.amount, ours.multiples, ours.unit, ours.get_expiry()) == (
            theirs.amount,
            theirs.multiples,
            theirs.GRANULARITY.name,
            theirs.get_expiry(),
        )
        assert parse(ours.notation) == theirs
