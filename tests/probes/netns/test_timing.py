"""When the engine decides: early for silence once the path is known, never early for a slow but open port.

The numbers asserted are generous on purpose (a loaded 2-core machine runs these); the schedule itself is
described in probes/tcp.py (``schedule``): second SYN at 2·RTT + 100 ms, give up the smaller of 4·RTT + 250 ms
and RTT + 300 ms later. The path's RTT comes
from another port's answer, ``rtt_reference_port`` or an ICMP echo to the same address (``icmp_rtt``); the
prober pings through an unprivileged ICMP datagram socket (topology.py sets its ping_group_range).
"""

from __future__ import annotations

import pytest

from probes.models import State
from probes.tcp import schedule
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    GHOST,
    HOME6,
    ROUTER_WAN,
    ROUTER_WAN_NOPING,
    ROUTER_WAN_SLOW,
    ROUTER_WAN_TCP_SLOW,
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


def test_lone_dropped_port_is_filtered_early_when_the_router_answers_pings(prober: Prober) -> None:
    """One dropped port and nothing else: the router's echo reply gives the RTT, so silence is called early."""
    outcome = prober.probe(ROUTER_WAN, TCP_DROP, identify=False, timeout=TIMEOUT)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed < TIMEOUT / 2


@pytest.mark.parametrize(
    ("address", "config"),
    [
        pytest.param(ROUTER_WAN_NOPING, {"ttl_rtt": False}, id="router-drops-pings"),
        pytest.param(ROUTER_WAN, {"icmp_rtt": False, "ttl_rtt": False}, id="icmp-rtt-off"),
    ],
)
def test_filtered_with_nothing_answering_waits_the_whole_timeout(
    prober: Prober, address: str, config: dict[str, object]
) -> None:
    """With no answer to learn the path from (pings dropped, or echoes turned off, and TTL-limited SYNs
    off: tests/probes/netns/test_hops.py has them on), silence is only concluded after the configured timeout."""
    outcome = prober.probe(address, TCP_DROP, identify=False, timeout=1.0, **config)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed >= 0.95


def test_lone_dropped_ipv6_port_is_filtered_early_from_the_hosts_pings(prober: Prober) -> None:
    """The home server's own IPv6 address answers ICMPv6 echoes, so its dropped port is called early too."""
    outcome = prober.probe(HOME6, TCP_DROP, identify=False, timeout=TIMEOUT)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed < TIMEOUT / 2


def test_open_port_behind_a_slow_path_is_open(prober: Prober, internet: Internet) -> None:
    """A port 200 ms away answers after the same 200 ms and is open, not filtered."""
    result = prober.probe(ROUTER_WAN_SLOW, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= internet.latency * 1000 * 0.9


def test_slow_path_lone_filtered_port_waits_for_the_pings_rtt(prober: Prober, internet: Internet) -> None:
    """On a 200 ms path a lone dropped port is decided from the echo's 200 ms: later than on a fast path,
    still before the timeout."""
    timeout = 6.0  # the schedule predicts ~1.0 s after the echo's reply
    outcome = prober.probe(ROUTER_WAN_SLOW, TCP_DROP, identify=False, timeout=timeout)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert schedule(internet.latency, timeout)[1] <= outcome.elapsed < timeout * 2 / 3


def test_open_port_is_open_when_pings_answer_far_sooner_than_tcp(prober: Prober, internet: Internet) -> None:
    """TCP 200 ms away while pings answer in a fraction of a millisecond (a misleading echo): still open,
    thanks to the 250 ms floor after our own second SYN."""
    result = prober.probe(ROUTER_WAN_TCP_SLOW, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= internet.latency * 1000 * 0.9


def test_pings_answer_fast_where_tcp_is_slow(prober: Prober) -> None:
    """The test above is meaningful: on that address the echo's RTT is tiny, so a dropped port is called
    filtered early, before a SYN-ACK on the slow TCP path could even come back twice."""
    outcome = prober.probe(ROUTER_WAN_TCP_SLOW, TCP_DROP, identify=False, timeout=TIMEOUT)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed < TIMEOUT / 2


def test_slow_path_filtered_port_waits_for_its_own_rtt(prober: Prober, internet: Internet) -> None:
    """On a 200 ms path the early filtered verdict scales with the RTT: later than on a fast path, still early."""
    timeout = 6.0  # the schedule predicts ~1.0 s; a long timeout leaves room for a loaded machine
    outcome = prober.probe(ROUTER_WAN_SLOW, TCP_OPEN, TCP_DROP, identify=False, timeout=timeout)
    assert outcome.report is not None
    states = {r.port: r.state for r in outcome.report.results}
    assert states == {TCP_OPEN: State.OPEN, TCP_DROP: State.FILTERED}
    assert schedule(internet.latency, timeout)[1] <= outcome.elapsed < timeout * 2 / 3


def test_forward_to_a_switched_off_lan_device_is_unreachable_after_the_routers_arp(prober: Prober) -> None:
    """A forward to a LAN address nobody has: the router answers ICMP host unreachable from its public address.

    The router only gives up on ARP after ~3 s (at once while its failed ARP entry is still fresh), so a first
    check usually says filtered (timeout) and a quick second one unreachable: with the default 3 s timeout,
    and even more so once the router's echo reply gives the RTT (silence called after ~0.4 s, as nmap would
    call it filtered too). Echoes and TTL-limited SYNs off and a longer timeout here always see the router's
    answer.
    """
    result = prober.probe(
        ROUTER_WAN, TCP_GHOST, identify=False, timeout=6.0, icmp_rtt=False, ttl_rtt=False
    ).result
    assert (result.state, result.reason) == (State.UNREACHABLE, "icmp-host-unreachable")
    assert GHOST not in str(result)  # the LAN address behind the forward never shows up in the verdict
