"""Every verdict Portbot's engine gives, produced for real by the test internet's router (see topology.py)."""

from __future__ import annotations

import pytest

from probes.models import State
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    HOME,
    NO_ROUTE,
    ROUTER_WAN,
    TCP_CLOSED,
    TCP_DROP,
    TCP_HTTP,
    TCP_OPEN,
    TCP_REJECT,
    UDP_A2S,
    UDP_BEDROCK,
    UDP_CLOSED,
    UDP_DROP,
    UDP_REJECT,
    Internet,
)
from tests.probes.servers import A2S_NAME, BEDROCK_MOTD, HTTP_SERVER

pytestmark = pytest.mark.netns

BEDROCK_WORLD = BEDROCK_MOTD.split(";")[1]  # the MOTD line players see

# UDP silence is only concluded after the whole timeout (TCP silence sooner, from the router's echo reply),
# so the tables use a short one to keep the suite quick; every other answer comes back in about a millisecond.
QUICK = 1.5


@pytest.mark.parametrize(
    ("port", "protocol", "state", "reason"),
    [
        pytest.param(TCP_OPEN, "tcp", State.OPEN, "syn-ack", id="tcp-open-through-forward"),
        pytest.param(TCP_CLOSED, "tcp", State.CLOSED, "rst", id="tcp-closed-behind-forward"),
        pytest.param(TCP_DROP, "tcp", State.FILTERED, "timeout", id="tcp-filtered-by-drop"),
        pytest.param(TCP_REJECT, "tcp", State.FILTERED, "icmp-admin-prohibited", id="tcp-filtered-by-reject"),
        pytest.param(
            UDP_CLOSED, "udp", State.CLOSED, "icmp-port-unreachable", id="udp-closed-behind-forward"
        ),
        pytest.param(UDP_REJECT, "udp", State.FILTERED, "icmp-admin-prohibited", id="udp-filtered-by-reject"),
        pytest.param(UDP_DROP, "udp", State.OPEN_FILTERED, "no-reply", id="udp-silence-by-drop"),
    ],
)
def test_router_port_gets_the_verdict_its_rule_implies(
    prober: Prober, port: int, protocol: str, state: State, reason: str
) -> None:
    """Each forward or firewall rule on the router's public address yields its own verdict and reason."""
    result = prober.probe(ROUTER_WAN, port, protocol=protocol, identify=False, timeout=QUICK).result
    assert (result.address, result.port, result.protocol) == (ROUTER_WAN, port, protocol)
    assert (result.state, result.reason) == (state, reason)


def test_bedrock_through_forward_is_open_with_its_motd(prober: Prober) -> None:
    """A Bedrock server behind a UDP forward is open (not open|filtered) and its MOTD comes back."""
    result = prober.probe(ROUTER_WAN, UDP_BEDROCK, protocol="udp").result
    assert result.state is State.OPEN
    assert result.service is not None and result.service.kind == "bedrock"
    assert BEDROCK_WORLD in result.service.summary


def test_a2s_through_forward_is_open_with_server_name(prober: Prober) -> None:
    """A Source engine server behind a UDP forward is open and names itself."""
    result = prober.probe(ROUTER_WAN, UDP_A2S, protocol="udp").result
    assert result.state is State.OPEN
    assert result.service is not None and result.service.kind == "a2s"
    assert A2S_NAME in result.service.summary


def test_web_server_through_forward_is_open_and_identified(prober: Prober) -> None:
    """An HTTP server behind a TCP forward is open and named by its own Server header."""
    result = prober.probe(ROUTER_WAN, TCP_HTTP).result
    assert result.state is State.OPEN
    assert result.service is not None and result.service.kind == "http"
    assert result.service.details["server"] == HTTP_SERVER


def test_address_without_route_is_unreachable(prober: Prober) -> None:
    """An address the ISP has no route for answers ICMP host unreachable: the verdict is unreachable."""
    result = prober.probe(NO_ROUTE, 80, identify=False).result
    assert (result.state, result.reason) == (State.UNREACHABLE, "icmp-host-unreachable")


def test_name_resolves_through_the_test_resolver(prober: Prober) -> None:
    """A name is resolved by the resolver the test started, and its address is probed."""
    report = prober.probe("mc.example.com", TCP_OPEN, identify=False).report
    assert report is not None and report.host == "mc.example.com"
    assert [(r.address, r.state) for r in report.results] == [(ROUTER_WAN, State.OPEN)]


def test_unknown_name_is_a_resolve_error(prober: Prober) -> None:
    """A name the resolver does not know is reported as such, without probing anything."""
    outcome = prober.probe("missing.example.com", TCP_OPEN)
    assert outcome.report is None and outcome.error is not None
    assert outcome.error["type"] == "ResolveError"


def test_home_lan_address_is_refused_and_nothing_is_sent(prober: Prober, internet: Internet) -> None:
    """The home server's private address is refused by the policy before any packet leaves the prober."""
    before = internet.offnet_packets()
    outcome = prober.probe(HOME, TCP_OPEN)
    assert outcome.error is not None
    assert (outcome.error["type"], outcome.error["category"]) == ("RefusedTarget", "private")
    assert internet.offnet_packets() == before
