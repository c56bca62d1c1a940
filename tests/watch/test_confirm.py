"""The confirmation rule as a table: results in, confirmed state and changes out."""

from __future__ import annotations

import pytest

from bot.watch.confirm import Tally, step
from bot.watch.models import Health

U, D, X = Health.UP, Health.DOWN, Health.UNKNOWN

CASES = [
    # results, final state, changes confirmed (before → after)
    ([U], U, []),
    ([D], D, []),
    ([X, X], None, []),
    ([X, U], U, []),
    ([U, D], U, []),
    ([U, D, D], D, [(U, D)]),
    ([U, D, U, D, U], U, []),
    ([U, D, X, D], D, [(U, D)]),  # UNKNOWN neither confirms nor breaks a run
    ([U, D, D, D, D], D, [(U, D)]),
    ([U, D, D, U, U], U, [(U, D), (D, U)]),
    ([D, U, D, U, U], U, [(D, U)]),
]


@pytest.mark.parametrize(("results", "final", "changes"), CASES)
def test_confirmation(
    results: list[Health], final: Health | None, changes: list[tuple[Health, Health]]
) -> None:
    """A change counts after two results in a row agree; the first state is never a change."""
    tally, seen = Tally(None), []
    for health in results:
        moved = step(tally, health)
        if moved.changed:
            seen.append((moved.before, moved.tally.state))
        tally = moved.tally
    assert (tally.state, seen) == (final, changes)


def test_first_result_is_marked_first() -> None:
    """The first real result is recorded as the first state, so no alert is written for it."""
    assert step(Tally(None), U).first and not step(Tally(U), U).first
