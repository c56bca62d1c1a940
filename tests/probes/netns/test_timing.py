"""When the engine decides: early for silence once the path is known, never early for a slow but open port.

The numbers asserted are generous on purpose (a loaded 2-core machine runs these); the schedule itself is
described in probes/tcp.py: second SYN at 2·RTT + 100 ms, give up 4·RTT + 250 ms later.
"""

from __future__ import annotations

import pytest

from probes.models import State
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    GHOST,
    ROUTER_WAN,
    ROUTER_WAN_SLOW,
    TCP_CLOSED,
    TCP_DROP,
    TCP_GHOST,
    TCP_OPEN,
    Internet,
)

pytestmark = pytest.mark.netns

TIMEOUT = 3.0


def test_filtered_is_decided_early_once_the_path_rtt_is_known(prober: Prober) -> None:
    """With an open port answering in about a millisecond, the dropped port is called filtered long before the timeout."""
    outcome = prober.probe(ROUTER_WAN, TCP_OPEN, TCP_DROP, identify=False, timeout=TIMEOUT)
    assert outcome.report is not None
    states = {r.port: (r.state, r.reason) for r in outcome.report.results}
    assert states == {TCP_OPEN: (State.OPEN, "syn-ack"), TCP_DROP: (State.FILTERED, "timeout")}
    assert outcome.elapsed < TIMEOUT / 2


def test_rtt_reference_port_lets_a_single_silent_port_be_decided_early(prober: Prober) -> None:
    """With a reference port configured (here the forward that answers RST), one dropped port alone is decided early."""
    outcome = prober.probe(
        ROUTER_WAN, TCP_DROP, identify=False, timeout=TIMEOUT, rtt_reference_port=TCP_CLOSED
    )
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed < TIMEOUT / 2


def test_filtered_with_nothing_answering_waits_the_whole_timeout(prober: Prober) -> None:
    """With no answer to learn the path from, silence is only concluded after the configured timeout."""
    outcome = prober.probe(ROUTER_WAN, TCP_DROP, identify=False, timeout=1.0)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed >= 0.95


def test_open_port_behind_a_slow_path_is_open(prober: Prober, internet: Internet) -> None:
    """A port 200 ms away answers after the same 200 ms and is open, not filtered."""
    result = prober.probe(ROUTER_WAN_SLOW, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= internet.latency * 1000 * 0.9


def test_slow_path_filtered_port_waits_for_its_own_rtt(prober: Prober, internet: Internet) -> None:
    """On a 200 ms path the early filtered verdict scales with the RTT: later than on a fast path, still early."""
    timeout = 6.0  # the schedule predicts ~1.6 s; a long timeout leaves room for a loaded machine
    outcome = prober.probe(ROUTER_WAN_SLOW, TCP_OPEN, TCP_DROP, identify=False, timeout=timeout)
    assert outcome.report is not None
    states = {r.port: r.state for r in outcome.report.results}
    assert states == {TCP_OPEN: State.OPEN, TCP_DROP: State.FILTERED}
    rtt = internet.latency
    assert 6 * rtt <= outcome.elapsed < timeout * 2 / 3


def test_forward_to_a_switched_off_lan_device_is_unreachable_after_the_routers_arp(prober: Prober) -> None:
    """A forward to a LAN address nobody has: the router answers ICMP host unreachable from its public address.

    The router only gives up on ARP after ~3 s (at once while its failed ARP entry is still fresh), so with
    the default 3 s timeout a first check usually says filtered (timeout) and a quick second one unreachable;
    the longer timeout here always sees the router's answer.
    """
    result = prober.probe(ROUTER_WAN, TCP_GHOST, identify=False, timeout=6.0).result
    assert (result.state, result.reason) == (State.UNREACHABLE, "icmp-host-unreachable")
    assert GHOST not in str(result)  # the LAN address behind the forward never shows up in the verdict
