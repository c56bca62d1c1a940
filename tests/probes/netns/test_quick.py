"""The quick path's connects (probes/quick.py) inside the test internet, against the engine: answers the router
gives (SYN-ACK, reset, ICMP rejections and unreachables) get the engine's verdict and reason within the quick
window; silence, or an answer further away than the window, is handed to the engine."""

from __future__ import annotations

import json
import sys

import pytest

from probes.models import State
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    HOME6,
    NO_ROUTE,
    NO_ROUTE6,
    ROUTER_WAN,
    ROUTER_WAN_FAR200,
    TCP_CLOSED,
    TCP_DROP,
    TCP_OPEN,
    TCP_REJECT,
    Internet,
)

pytestmark = pytest.mark.netns

# Runs in the prober namespace: the quick path's connects, one target and port per line of JSON in argv.
QUICK = """
import ipaddress, json, sys
from probes.quick import WINDOW, connect_all
out = []
for target, port in json.loads(sys.argv[1]):
    results = connect_all(ipaddress.ip_address(target), (port,), WINDOW)
    out.append(None if results is None else [str(results[0].state), results[0].reason])
print(json.dumps(out))
"""

ANSWERS = [
    pytest.param(ROUTER_WAN, TCP_OPEN, id="open-through-forward"),
    pytest.param(ROUTER_WAN, TCP_CLOSED, id="closed-behind-forward"),
    pytest.param(ROUTER_WAN, TCP_REJECT, id="icmp-admin-prohibited"),
    pytest.param(HOME6, TCP_REJECT, id="icmp6-admin-prohibited"),
    pytest.param(NO_ROUTE, TCP_OPEN, id="icmp-host-unreachable"),
    pytest.param(NO_ROUTE6, TCP_OPEN, id="icmp6-no-route"),
]


def quick_in_namespace(internet: Internet, cases: list[tuple[str, int]]) -> list[list[str] | None]:
    output = internet.prober.run(sys.executable, "-c", QUICK, json.dumps(cases))
    answer: list[list[str] | None] = json.loads(output)
    return answer


@pytest.mark.parametrize(("target", "port"), ANSWERS)
def test_an_answer_gets_the_engines_verdict_and_reason(
    internet: Internet, prober: Prober, target: str, port: int
) -> None:
    """A SYN-ACK, a reset or an ICMP error from the test internet: the quick path's verdict is the engine's."""
    (mine,) = quick_in_namespace(internet, [(target, port)])
    engines = prober.probe(target, port, protocol="tcp", identify=False).result
    assert mine == [str(engines.state), engines.reason]


@pytest.mark.parametrize(
    ("target", "port", "state"),
    [
        pytest.param(ROUTER_WAN, TCP_DROP, State.FILTERED, id="dropped"),
        pytest.param(ROUTER_WAN_FAR200, TCP_OPEN, State.OPEN, id="open-200-ms-away"),
    ],
)
def test_silence_within_the_window_is_left_to_the_engine(
    internet: Internet, prober: Prober, target: str, port: int, state: State
) -> None:
    """A dropped port, and an open one further away than the window: handed over, and the engine decides."""
    assert quick_in_namespace(internet, [(target, port)]) == [None]
    assert prober.probe(target, port, protocol="tcp", identify=False).result.state is state
