"""``portbot listen`` in three homes: one NAT router with miniupnpd, CGNAT, double NAT (selfcheck_lab.py).

In each, the home machine runs the real ``portbot listen``; it asks the router (miniupnpd) for its WAN
address, opens a link of the real worker, and the worker probes and knocks from the lab's internet.

Then how fast a link's filtered verdict comes: a home ``DELAY`` away whose router drops pings, the link
opened from the home machine, the real worker deciding with and without the visit's own TCP_INFO RTT.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from probes.tcp import schedule
from tests.probes.netns.selfcheck_lab import (
    FORWARDED,
    HOME,
    NOT_FORWARDED,
    ROUTER_LAN,
    Lab,
    build_lab,
)
from tests.probes.netns.topology import NetnsUnavailable, ServerProcess, server_command


@pytest.fixture(scope="module", params=["plain", "cgnat", "double"])
def lab(request: pytest.FixtureRequest) -> Iterator[Lab]:
    try:
        with build_lab(request.param) as built:
            yield built
            assert built.offnet_packets() == 0, "the worker or the home machine sent packets outside the lab"
    except NetnsUnavailable as err:
        pytest.skip(f"self-check labs need root, iproute2, iptables and miniupnpd: {err}")


@pytest.fixture(scope="module")
def outcome(lab: Lab) -> dict[str, Any]:
    """One ``portbot listen`` run on the home machine, forwarded and unforwarded port, as JSON."""
    link = lab.create_link(FORWARDED, NOT_FORWARDED)
    done = lab.listen(str(FORWARDED), str(NOT_FORWARDED), "--link", link, "--json", "--timeout", "60")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    return dict(json.loads(done.stdout))


EXPECTED = {
    # lab: (public address, WAN address, verdict, forwarded port reaches the listener)
    "plain": ("203.0.113.20", "203.0.113.20", "forward-or-firewall", True),
    "cgnat": ("203.0.113.30", "100.64.0.20", "cgnat", False),
    "double": ("203.0.113.40", "192.168.1.20", "double-nat", False),
}


def test_listen_learns_the_wan_address_from_the_router(lab: Lab, outcome: dict[str, Any]) -> None:
    """listen asks miniupnpd over NAT-PMP and gets the router's WAN address, reserved ones included."""
    _, wan, _, _ = EXPECTED[lab.plan.name]
    assert (outcome["wan_address"], outcome["wan_source"]) == (wan, "nat-pmp")


def test_the_worker_sees_the_public_address(lab: Lab, outcome: dict[str, Any]) -> None:
    """The worker's idea of the visitor is the outermost NAT's address."""
    public, _, _, _ = EXPECTED[lab.plan.name]
    assert outcome["public_address"] == public


def test_the_verdict_names_the_layer(lab: Lab, outcome: dict[str, Any]) -> None:
    """Same address: forward/firewall; 100.64.0.0/10: CGNAT; private: double NAT."""
    _, _, verdict, _ = EXPECTED[lab.plan.name]
    assert outcome["diagnosis"]["verdict"] == verdict
    assert outcome["diagnosis"]["topics"]


def test_reached_listener_per_port(lab: Lab, outcome: dict[str, Any]) -> None:
    """The forwarded port reaches the listener only when nothing else translates in front of the router."""
    _, _, _, reached = EXPECTED[lab.plan.name]
    by_port = {p["port"]: p for p in outcome["ports"]}
    assert by_port[FORWARDED]["reached_listener"] is reached
    assert by_port[NOT_FORWARDED]["reached_listener"] is False
    assert by_port[NOT_FORWARDED]["state"] == "filtered"


def test_upnp_igd_reports_the_same_wan_address(lab: Lab) -> None:
    """The stdlib UPnP IGD client (SSDP on the LAN, then GetExternalIPAddress) agrees with NAT-PMP."""
    code = (
        "from probes.listen_standalone import upnp_location, upnp_external_address\n"
        "loc = upnp_location(timeout=3)\nprint(loc, upnp_external_address(loc) if loc else None)"
    )
    location, address = lab.home.run(sys.executable, "-c", code).split()
    assert location == f"http://{ROUTER_LAN}:5000/rootDesc.xml"
    assert address == lab.plan.router_wan


def test_pcp_reports_the_same_wan_address_and_leaves_no_mapping(lab: Lab) -> None:
    """The stdlib PCP client (ANNOUNCE, then a throwaway MAP deleted at once) reads miniupnpd's WAN address,
    reserved ones too, and the router holds no mapping afterwards."""
    code = "import sys\nfrom probes.listen_standalone import pcp_external_address as q\nprint(q(sys.argv[1]))"
    assert lab.home.run(sys.executable, "-c", code, ROUTER_LAN).strip() == lab.plan.router_wan
    log = lab.miniupnpd_log()
    assert "PCP MAP: added mapping UDP" in log and "mapping removed" in log
    assert "dnat" not in lab.router.run("nft", "list", "table", "inet", "miniupnpd")


# NAT-PMP's address request to the router's NAT-PMP/PCP port: 2 bytes of UDP payload, 30 bytes of IPv4 (PCP's
# requests are 24 bytes and more).
DROP_NATPMP = ["INPUT", "-i", "lan", "-p", "udp", "--dport", "5351", "-m", "length", "--length", "30"]


def test_listen_learns_the_wan_address_over_pcp_when_nat_pmp_is_gone(lab: Lab) -> None:
    """With the router dropping NAT-PMP (a PCP-only router), ``portbot listen`` gets the WAN address over PCP
    and leaves no mapping behind."""
    lab.router.run("iptables", "-I", *DROP_NATPMP, "-j", "DROP")
    try:
        link = lab.create_link(FORWARDED)
        done = lab.listen(str(FORWARDED), "--link", link, "--json", "--timeout", "60")
    finally:
        lab.router.run("iptables", "-D", *DROP_NATPMP, "-j", "DROP")
    assert (done.returncode, done.stderr) == (0, ""), done.stderr
    outcome = json.loads(done.stdout)
    assert (outcome["wan_address"], outcome["wan_source"]) == (lab.plan.router_wan, "pcp")
    _, _, verdict, _ = EXPECTED[lab.plan.name]
    assert outcome["diagnosis"]["verdict"] == verdict
    assert "dnat" not in lab.router.run("nft", "list", "table", "inet", "miniupnpd")


def test_miniupnpc_sanity(lab: Lab) -> None:
    """miniupnpc's upnpc, told to use the reserved address anyway (-i), reads the same WAN address."""
    if shutil.which("upnpc") is None:
        pytest.skip("miniupnpc is not installed")
    out = lab.home.run("upnpc", "-i", "-u", f"http://{ROUTER_LAN}:5000/rootDesc.xml", "-s")
    assert f"ExternalIPAddress = {lab.plan.router_wan}" in out


def test_async_upnp_client_reports_the_same_wan_address(lab: Lab) -> None:
    """portbot[listen]'s UPnP client (async-upnp-client) reads the router's WAN address, reserved ones too."""
    pytest.importorskip("async_upnp_client")
    code = "import sys\nfrom probes._upnp_igd import query\nprint(query(sys.argv[1]))"
    out = lab.home.run(sys.executable, "-c", code, f"http://{ROUTER_LAN}:5000/rootDesc.xml")
    assert out.strip() == lab.plan.router_wan


# -- filtered verdicts come fast -------------------------------------------------------------------------------

DELAY = 0.05  # one-way, worker → home: a path RTT of ~50 ms
SLOW_LAN = 0.2  # the forwarded server 200 ms further than the device that opens the link
# The worker's engine as deployed (3 s timeout, an ICMP echo for a silent port's RTT; the router drops it),
# but without TTL-limited SYNs, so nothing but the visit can tell it the path's RTT: otherwise it waits the
# whole timeout. bench/selfcheck_speed_bench.py measures the deployed defaults (TTL-limited SYNs on) too.
ENGINE: dict[str, object] = {"timeout": 3.0, "identify": False, "icmp_rtt": True, "ttl_rtt": False}
LEARNS = {**ENGINE, "rtt_memory": True}  # a visit's RTT reaches the engine (probes/_links_http.py)
IGNORES = {**ENGINE, "rtt_memory": False}  # the same engine, the visit's RTT ignored


@pytest.fixture(scope="module")
def far_home() -> Iterator[Lab]:
    try:
        with build_lab("plain", delay=DELAY, slow_lan=SLOW_LAN) as built:
            yield built
            assert built.offnet_packets() == 0, "the worker or the home machine sent packets outside the lab"
    except NetnsUnavailable as err:
        pytest.skip(f"self-check labs need root, iproute2, iptables and miniupnpd: {err}")


def checked(lab: Lab, engine: dict[str, object], port: int) -> tuple[dict[str, Any], float]:
    """A fresh worker with ``engine``, a link for ``port`` opened from the home machine: (the port's result,
    seconds from opening the link until its page with the verdict arrived)."""
    lab.restart_worker(engine)
    link = lab.create_link_data(port)
    status, seconds = lab.visit(str(link["url"]))
    assert status == 200
    outcome: Any = lab.link_result(str(link["id"]))
    (result,) = outcome["result"]["report"]["results"]
    return dict(result), seconds


def test_a_filtered_verdict_comes_fast_from_the_visits_rtt(far_home: Lab) -> None:
    """Pings dropped, no other RTT source: with the visit's TCP_INFO RTT the filtered verdict's page arrives
    in under 0.6x the time of the same worker ignoring it (which waits its whole 3 s timeout)."""
    slow, slow_seconds = checked(far_home, IGNORES, NOT_FORWARDED)
    fast, fast_seconds = checked(far_home, LEARNS, NOT_FORWARDED)
    assert (slow["state"], fast["state"]) == ("filtered", "filtered")
    assert slow_seconds >= 3.0
    # Never sooner than the schedule for the path's RTT: the RTT did come from the visit.
    assert schedule(DELAY, 3.0)[1] <= fast_seconds < 0.6 * slow_seconds, (fast_seconds, slow_seconds)


def test_a_slow_but_open_port_is_open_despite_a_faster_visit(far_home: Lab) -> None:
    """The forwarded server sits 200 ms further than the device that opened the link: its SYN-ACK comes long
    after the visit's RTT, and the port is still open, never filtered."""
    server = ServerProcess(far_home.home, server_command("tcp-open", HOME, FORWARDED))
    try:
        server.wait_ready()
        result, _ = checked(far_home, LEARNS, FORWARDED)
    finally:
        server.stop()
    assert (result["state"], result["reason"]) == ("open", "syn-ack")
    assert result["rtt_ms"] >= (DELAY + SLOW_LAN) * 1000 * 0.9
