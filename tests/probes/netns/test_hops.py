"""Silent ports called filtered early when the host drops pings, from TTL-limited SYNs (probes/_hops.py).

The routers on the way answer the SYNs whose TTL runs out with ICMP "time exceeded"; the engine uses the
largest such RTT with a 0.8 s floor (probes/tcp.py). Here: the router that drops pings (its ISP hop right in
front of it), the same router 20 ms and 200 ms away with the delay before the ISP hop (as on a real path),
and the same router with its TCP 200 ms behind the ISP's time-exceeded (a misleadingly fast router). Echoes
stay on, as deployed; they go unanswered at these addresses.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from probes._hops import HOP_TTLS
from probes.models import State
from probes.tcp import HOP_FLOOR, schedule
from tests.probes.netns.conftest import SKIP_REASON
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    FAR_PATHS,
    HOME,
    HOME6,
    PROBER,
    ROUTER_WAN_FAR20,
    ROUTER_WAN_FAR200,
    ROUTER_WAN_NOPING,
    ROUTER_WAN_NOPING_SLOW,
    TCP_CLOSED,
    TCP_DROP,
    TCP_OPEN,
    Internet,
    NetnsUnavailable,
    build_internet,
    server_command,
)

pytestmark = pytest.mark.netns

TIMEOUT = 3.0


@pytest.mark.parametrize(
    ("address", "config"),
    [
        pytest.param(ROUTER_WAN_NOPING, {}, id="pings-dropped"),
        pytest.param(ROUTER_WAN_FAR20, {}, id="pings-dropped-20ms"),
        pytest.param(HOME6, {"icmp_rtt": False}, id="ipv6-hop-limit"),
    ],
)
def test_lone_dropped_port_is_filtered_at_the_floor_when_pings_are_dropped(
    prober: Prober, address: str, config: dict[str, object]
) -> None:
    """With no echo reply, the ISP hop's time-exceeded gives a short RTT: filtered at the 0.8 s floor, not
    after the whole 3 s timeout (IPv6: the hop limit works the same, with echoes off)."""
    outcome = prober.probe(address, TCP_DROP, identify=False, timeout=TIMEOUT, **config)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert HOP_FLOOR <= outcome.elapsed < TIMEOUT / 2


def test_far_dropped_port_waits_for_the_isp_hops_200_ms(prober: Prober) -> None:
    """200 ms away, the ISP hop's time-exceeded takes 200 ms too: the schedule scales with it
    (3·RTT + 400 ms there), still well before a longer timeout."""
    timeout = 6.0
    outcome = prober.probe(ROUTER_WAN_FAR200, TCP_DROP, identify=False, timeout=timeout)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    predicted = schedule(FAR_PATHS[ROUTER_WAN_FAR200], timeout, HOP_FLOOR)[1]
    assert predicted <= outcome.elapsed < timeout * 2 / 3


@pytest.mark.parametrize("address", [ROUTER_WAN_FAR20, ROUTER_WAN_FAR200])
def test_open_port_on_a_far_path_is_open(prober: Prober, address: str) -> None:
    """The far paths carry TCP both ways: an open port answers after the path's delay."""
    result = prober.probe(address, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= FAR_PATHS[address] * 1000 * 0.9


LOST_SYN = "lostsyn"


def test_open_port_on_a_200_ms_path_stays_open_when_its_first_syn_is_lost(
    prober: Prober, internet: Internet
) -> None:
    """The home router drops the first full-TTL SYN it gets (not the TTL-limited ones): our own second SYN,
    2·RTT + 100 ms later, still gets its answer back before the shorter 200 ms-path schedule gives up."""
    rule = (
        f"PREROUTING -d {ROUTER_WAN_FAR200} -p tcp --syn --dport {TCP_OPEN} -m ttl --ttl-gt 16 "
        f"-m statistic --mode nth --every 2 --packet 0 -m comment --comment {LOST_SYN} -j DROP"
    ).split()
    internet.router.run("iptables", "-t", "raw", "-I", *rule)
    try:
        outcome = prober.probe(ROUTER_WAN_FAR200, TCP_OPEN, identify=False, timeout=TIMEOUT)
        dropped = internet.router.run("iptables", "-t", "raw", "-L", "PREROUTING", "-v", "-n", "-x")
    finally:
        internet.router.run("iptables", "-t", "raw", "-D", *rule)
    assert (outcome.result.state, outcome.result.reason) == (State.OPEN, "syn-ack"), dropped
    retry_at = schedule(FAR_PATHS[ROUTER_WAN_FAR200], TIMEOUT, HOP_FLOOR)[0]
    assert retry_at is not None and outcome.elapsed >= retry_at + FAR_PATHS[ROUTER_WAN_FAR200]
    assert LOST_SYN in dropped and _packets(dropped, LOST_SYN) == 1, dropped


def _packets(listing: str, comment: str) -> int:
    """The packet count on the line of ``iptables -L -v -x`` carrying ``comment``."""
    (line,) = [line for line in listing.splitlines() if comment in line]
    return int(line.split()[0])


def test_open_port_is_open_when_tcp_lags_200_ms_behind_the_routers(
    prober: Prober, internet: Internet
) -> None:
    """The ISP hop answers time-exceeded at once, the router's TCP comes 200 ms later through the delay
    line: the open port stays open."""
    result = prober.probe(ROUTER_WAN_NOPING_SLOW, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= internet.latency * 1000 * 0.9


def test_routers_answer_fast_where_tcp_is_slow(prober: Prober, internet: Internet) -> None:
    """The test above is meaningful: on that address the routers' RTT is tiny, so a dropped port is called
    filtered at the floor, before a 200 ms RTT's schedule would give up."""
    outcome = prober.probe(ROUTER_WAN_NOPING_SLOW, TCP_DROP, identify=False, timeout=TIMEOUT)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert HOP_FLOOR <= outcome.elapsed < schedule(internet.latency, TIMEOUT, HOP_FLOOR)[1]


def test_closed_port_is_closed_with_pings_dropped(prober: Prober) -> None:
    """A reset still decides at once; the TTL-limited SYNs change nothing for answering ports."""
    outcome = prober.probe(ROUTER_WAN_NOPING, TCP_CLOSED, identify=False, timeout=TIMEOUT)
    assert (outcome.result.state, outcome.result.reason) == (State.CLOSED, "rst")
    assert outcome.elapsed < 0.5


def test_ttl_rtt_off_waits_the_whole_timeout(prober: Prober) -> None:
    """With ttl_rtt off and pings dropped, silence is filtered only after the configured timeout."""
    outcome = prober.probe(ROUTER_WAN_FAR20, TCP_DROP, identify=False, timeout=1.0, ttl_rtt=False)
    assert (outcome.result.state, outcome.result.reason) == (State.FILTERED, "timeout")
    assert outcome.elapsed >= 0.95


LOW_TTL = "lowttl"


def test_at_most_four_low_ttl_syns_per_address_and_none_resent(prober: Prober, internet: Internet) -> None:
    """Two silent ports in one request: one SYN per TTL (1, 2, 4, 8) to the address, each sent once (its
    socket is closed before the kernel would resend it after 1 s), and only to the requested address."""
    rule = (f"OUTPUT -s {PROBER} -p tcp --syn -m ttl --ttl-lt 9 -m comment --comment {LOW_TTL}").split()
    internet.prober.run("iptables", "-I", *rule)
    try:
        outcome = prober.probe(ROUTER_WAN_NOPING, TCP_DROP, 25590, identify=False, timeout=TIMEOUT)
        assert outcome.report is not None
        assert {r.state for r in outcome.report.results} == {State.FILTERED}
        # A resent SYN would go 1 s after the first; nothing is expected, so there is no event to wait on.
        time.sleep(1.2)
        sent = internet.counted(internet.prober, LOW_TTL)
        destinations = internet.prober.run("iptables", "-L", "OUTPUT", "-v", "-n")
    finally:
        internet.prober.run("iptables", "-D", *rule)
    assert sent == len(HOP_TTLS) == 4, destinations


@pytest.fixture(scope="module")
def satellite() -> Iterator[tuple[Internet, Prober]]:
    """A second test internet whose delay line holds packets 600 ms: a geostationary satellite's last mile
    behind an ISP hop that answers at once."""
    try:
        with build_internet(latency=0.6) as net:
            net.start(net.home, server_command("minecraft", HOME, TCP_OPEN))
            yield net, Prober(net)
            assert net.offnet_packets() == 0
    except NetnsUnavailable as err:
        pytest.skip(f"{SKIP_REASON}: {err}")


def test_open_port_600_ms_behind_the_routers_is_open(satellite: tuple[Internet, Prober]) -> None:
    """TCP 600 ms behind the ISP hop's time-exceeded: the echo's floors alone (give up ~350 ms after the
    first SYN) would call it filtered; the 0.8 s floor keeps it open."""
    net, satellite_prober = satellite
    result = satellite_prober.probe(ROUTER_WAN_NOPING_SLOW, TCP_OPEN, identify=False, timeout=TIMEOUT).result
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    assert result.rtt_ms is not None and result.rtt_ms >= net.latency * 1000 * 0.9
