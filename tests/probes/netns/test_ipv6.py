"""IPv6 verdicts: no NAT, the home server's own address, the router's ip6tables deciding (see topology.py)."""

from __future__ import annotations

import pytest

from probes.models import State
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    HOME6,
    NO_ROUTE6,
    TCP_CLOSED,
    TCP_DROP,
    TCP_OPEN,
    TCP_REJECT,
    UDP_BEDROCK,
)
from tests.probes.servers import BEDROCK_MOTD

pytestmark = pytest.mark.netns

BEDROCK_WORLD = BEDROCK_MOTD.split(";")[1]  # the MOTD line players see

# Silence is only concluded after the whole timeout (nothing else in these requests answers first), so the
# tables use a short one to keep the suite quick; every other answer comes back in about a millisecond.
QUICK = 1.5


@pytest.mark.parametrize(
    ("port", "state", "reason"),
    [
        pytest.param(TCP_OPEN, State.OPEN, "syn-ack", id="open-through-firewall"),
        pytest.param(TCP_CLOSED, State.CLOSED, "rst", id="closed-behind-firewall"),
        pytest.param(TCP_DROP, State.FILTERED, "timeout", id="filtered-by-drop"),
        pytest.param(TCP_REJECT, State.FILTERED, "icmp-admin-prohibited", id="filtered-by-reject"),
    ],
)
def test_home_ipv6_port_gets_the_verdict_its_rule_implies(
    prober: Prober, port: int, state: State, reason: str
) -> None:
    """Each ip6tables rule in front of the home server's IPv6 address yields its own verdict and reason."""
    result = prober.probe(HOME6, port, identify=False, timeout=QUICK).result
    assert (result.address, result.state, result.reason) == (HOME6, state, reason)


def test_bedrock_over_ipv6_is_open_with_its_motd(prober: Prober) -> None:
    """A Bedrock server reached over IPv6 is open and its MOTD comes back."""
    result = prober.probe(HOME6, UDP_BEDROCK, protocol="udp").result
    assert result.state is State.OPEN
    assert result.service is not None and BEDROCK_WORLD in result.service.summary


def test_ipv6_prefix_without_route_is_unreachable(prober: Prober) -> None:
    """A prefix the ISP has no route for answers ICMPv6 "no route": the verdict is unreachable."""
    result = prober.probe(NO_ROUTE6, 80, identify=False).result
    assert result.state is State.UNREACHABLE


def test_name_with_only_an_aaaa_record_is_probed_over_ipv6(prober: Prober) -> None:
    """A name that has only an IPv6 address is resolved by the test resolver and probed over IPv6."""
    report = prober.probe("mc6.example.com", TCP_OPEN, identify=False).report
    assert report is not None
    assert [(r.address, r.state) for r in report.results] == [(HOME6, State.OPEN)]
