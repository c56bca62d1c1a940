"""Merging reports from several vantage points into per-port views and plain sentences."""

from __future__ import annotations

import pytest

from probes.merge import join_names, merge, reach_sentence
from probes.models import PortResult, ProbeReport, State


def report(vantage: str, *states: tuple[int, State]) -> ProbeReport:
    results = tuple(PortResult("198.51.100.7", port, "tcp", state, "test") for port, state in states)
    return ProbeReport("mc.example.org", "mc.example.org", vantage, results)


def test_merge_groups_by_address_port_and_protocol() -> None:
    """Each port gets one view holding every vantage's verdict, in order."""
    views = merge(
        [
            report("Frankfurt", (80, State.OPEN), (443, State.OPEN)),
            report("Singapore", (80, State.FILTERED), (443, State.OPEN)),
        ]
    )
    assert [(v.port, v.vantages, v.states) for v in views] == [
        (80, ("Frankfurt", "Singapore"), (State.OPEN, State.FILTERED)),
        (443, ("Frankfurt", "Singapore"), (State.OPEN,)),
    ]
    assert (views[0].agreed, views[1].agreed) == (None, State.OPEN)


@pytest.mark.parametrize(
    ("states", "sentence"),
    [
        ((State.OPEN, State.FILTERED), "reachable from Frankfurt, not from Singapore"),
        ((State.OPEN, State.OPEN), "reachable from Frankfurt and Singapore"),
        ((State.CLOSED, State.FILTERED), "not reachable from Frankfurt or Singapore"),
        ((State.FILTERED, State.OPEN), "reachable from Singapore, not from Frankfurt"),
    ],
)
def test_reach_sentence(states: tuple[State, State], sentence: str) -> None:
    """The per-vantage outcome reads as one plain sentence."""
    [view] = merge([report("Frankfurt", (25565, states[0])), report("Singapore", (25565, states[1]))])
    assert reach_sentence(view) == sentence


@pytest.mark.parametrize(
    ("names", "joined"),
    [([], ""), (["A"], "A"), (["A", "B"], "A and B"), (["A", "B", "C"], "A, B and C")],
)
def test_join_names(names: list[str], joined: str) -> None:
    """Lists of places read naturally."""
    assert join_names(names) == joined


def test_failed_reports_add_no_views() -> None:
    """A vantage that could not probe contributes nothing to the port views."""
    failed = ProbeReport("x", "x", "Ohio", (), error="did not answer")
    [view] = merge([report("Frankfurt", (22, State.OPEN)), failed])
    assert view.vantages == ("Frankfurt",)
