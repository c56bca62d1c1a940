"""Names, CNAMEs and SRV records that lead to refused addresses, and names with many addresses, in the test
internet (see topology.py): the trap listeners on the home LAN, on its NAT64 form and on the prober's own
loopback must see nothing, and nothing may leave the test internet's documentation ranges."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

import pytest

from bot.core.probe_replies import probe_reply
from probes.models import ProbeRequest, State
from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import (
    HOME,
    HOME6,
    NAT64_HOME,
    ROUTER_WAN,
    ROUTER_WAN6,
    ROUTER_WAN_NOPING,
    ROUTER_WAN_SLOW,
    TCP_OPEN,
    TRAP_PORT,
    Internet,
    Namespace,
)

pytestmark = pytest.mark.netns

MINECRAFT = 25565  # asked without a port in the name, so Minecraft's SRV record is looked up first


def connect(ns: Namespace, host: str, port: int) -> None:
    """Open one TCP connection from inside ``ns`` (the traps' positive controls)."""
    code = f"import socket; socket.create_connection(({host!r}, {port}), timeout=3).close()"
    ns.run(sys.executable, "-c", code)


def test_the_traps_count_what_reaches_them(internet: Internet, prober: Prober) -> None:
    """Positive control: the trap counters see connections, and the routes to the LAN and NAT64 traps work."""
    before = internet.trap_packets()
    connect(internet.isp, HOME, TRAP_PORT)  # the LAN address, from the internet side
    after_lan = internet.trap_packets()
    connect(internet.isp, NAT64_HOME, TRAP_PORT)  # its NAT64 form
    after_nat64 = internet.trap_packets()
    connect(internet.prober, "127.0.0.1", TRAP_PORT)  # the prober's own loopback
    after_loop = internet.trap_packets()
    outcome = prober.probe(HOME6, TRAP_PORT, identify=False)  # the engine itself, on an allowed address
    assert outcome.result.state is State.OPEN
    assert before < after_lan < after_nat64 < after_loop < internet.trap_packets()


@contextlib.contextmanager
def nothing_reaches_the_traps(internet: Internet) -> Iterator[None]:
    traps, offnet = internet.trap_packets(), internet.offnet_packets()
    yield
    assert internet.trap_packets() == traps, "a trap listener was reached"
    assert internet.offnet_packets() == offnet, "the prober sent packets outside the test internet"


@pytest.mark.parametrize(
    ("target", "port", "message"),
    [
        pytest.param(
            "lan-alias.example.com",
            TRAP_PORT,
            "I won't check `lan-alias.example.com`: it is an alias (CNAME) for `lan.example.net`, which "
            "resolves only to a LAN (private) address.",
            id="cname-to-lan",
        ),
        pytest.param(
            "alias-chain.example.com",
            TRAP_PORT,
            "I won't check `alias-chain.example.com`: it is an alias (CNAME) for `lan.example.net`, which "
            "resolves only to a LAN (private) address.",
            id="cname-chain-to-lan",
        ),
        pytest.param(
            "srv-lan.example.com",
            MINECRAFT,
            "I won't check `srv-lan.example.com`: its SRV record points to `lan.example.net`, which resolves "
            "only to a LAN (private) address.",
            id="srv-to-lan",
        ),
        pytest.param(
            "srv-loop.example.com",
            MINECRAFT,
            "I won't check `srv-loop.example.com`: its SRV record points to `loop.example.net`, which resolves "
            "only to a loopback address (the bot's own machine).",
            id="srv-to-loopback",
        ),
        pytest.param(
            "srv-zero.example.com",
            MINECRAFT,
            "The SRV record `_minecraft._tcp.srv-zero.example.com` says port 0, which no server can listen on, "
            "so there's nothing to check.",
            id="srv-port-0",
        ),
        pytest.param(
            "nat64.example.com",
            TRAP_PORT,
            "I won't check `nat64.example.com`: it resolves only to a LAN (private) address.",
            id="aaaa-nat64-of-lan",
        ),
        pytest.param(
            "mapped.example.com",
            TRAP_PORT,
            "I won't check `mapped.example.com`: it resolves only to a LAN (private) address.",
            id="aaaa-mapped-lan",
        ),
        pytest.param(
            "srv-nat64.example.com",
            MINECRAFT,
            "I won't check `srv-nat64.example.com`: its SRV record points to `nat64.example.com`, which "
            "resolves only to a LAN (private) address.",
            id="srv-to-nat64-of-lan",
        ),
    ],
)
def test_names_leading_to_refused_addresses_are_refused_and_reach_nothing(
    internet: Internet, prober: Prober, target: str, port: int, message: str
) -> None:
    """A CNAME, an SRV record or a wrapped IPv6 form that leads to the LAN or loopback is refused with a
    plain reason naming the kind of address (not the address), and no trap listener (or anything outside the
    test internet) sees a packet."""
    with nothing_reaches_the_traps(internet):
        outcome = prober.probe(target, port)
    assert outcome.error is not None, outcome.report
    assert (outcome.error["type"], outcome.error["message"]) == ("RefusedTarget", message)


@pytest.mark.parametrize("target", [NAT64_HOME, "::ffff:192.168.77.10", "[::ffff:c0a8:4d0a]"])
def test_wrapped_forms_of_the_lan_address_are_refused_and_reach_nothing(
    internet: Internet, prober: Prober, target: str
) -> None:
    """The LAN address typed in a NAT64 or mapped IPv6 form is refused before any packet."""
    with nothing_reaches_the_traps(internet):
        outcome = prober.probe(target, TRAP_PORT)
    assert outcome.error is not None and outcome.error["type"] == "RefusedTarget"
    assert outcome.error["category"] == "private"


@contextlib.contextmanager
def syn_counters(
    internet: Internet, port: int, addresses: tuple[str, ...]
) -> Iterator[Callable[[], dict[str, int]]]:
    """Count the prober's TCP SYNs to each of ``addresses`` on ``port``, with rules removed afterwards."""
    ns = internet.prober
    rules = [
        (
            "ip6tables" if ":" in address else "iptables",
            [
                "-p",
                "tcp",
                "--syn",
                "--dport",
                str(port),
                "-d",
                address,
                "-m",
                "comment",
                "--comment",
                f"pb-syn-{n}",
            ],
        )
        for n, address in enumerate(addresses)
    ]
    for tool, spec in rules:
        ns.run(tool, "-I", "OUTPUT", "1", *spec)
    try:
        yield lambda: {a: internet.counted(ns, f"pb-syn-{n}") for n, a in enumerate(addresses)}
    finally:
        for tool, spec in rules:
            ns.run(tool, "-D", "OUTPUT", *spec)


def test_many_records_get_the_first_public_ipv4_and_ipv6_probed_and_the_reply_says_so(
    internet: Internet, prober: Prober
) -> None:
    """many.example.com has six addresses: its LAN one is refused, then exactly the first public IPv4 and the
    first public IPv6 one are probed (one SYN each, counted on the wire), and the reply says so."""
    candidates = (HOME, ROUTER_WAN, ROUTER_WAN_SLOW, ROUTER_WAN_NOPING, HOME6, ROUTER_WAN6)
    with nothing_reaches_the_traps(internet), syn_counters(internet, TCP_OPEN, candidates) as syns:
        outcome = prober.probe("many.example.com", TCP_OPEN, identify=False)
        sent = syns()
    assert sent == {
        HOME: 0,
        ROUTER_WAN: 1,
        ROUTER_WAN_SLOW: 0,
        ROUTER_WAN_NOPING: 0,
        HOME6: 1,
        ROUTER_WAN6: 0,
    }
    report = outcome.report
    assert report is not None, outcome.error
    assert [(r.address, r.state) for r in report.results] == [(ROUTER_WAN, State.OPEN), (HOME6, State.OPEN)]
    assert report.address_count == 6
    reply = probe_reply([report], ProbeRequest("many.example.com", (TCP_OPEN,)))
    [sentence] = [f.value for f in reply.fields if f.name == "Addresses checked"]
    assert sentence == "many.example.com has 6 addresses; I checked the first public IPv4 and IPv6 one."
