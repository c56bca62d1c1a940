"""The engine end to end on loopback: policy first, names resolved by a test DNS server, real listeners."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import gc
import json
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence

import pytest

from probes import _ping
from probes.engine import EngineConfig, ProbeEngine
from probes.errors import InputError, ProbeError, RateLimited, RefusedTarget, ResolveError
from probes.models import ProbeReport, ProbeRequest, State
from probes.policy import SafetyPolicy
from tests.probes.servers import A2S_GAME, A2S_NAME, HTTP_SERVER, serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])


def free_port(host: str = "127.0.0.1", kind: int = socket.SOCK_STREAM) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, kind) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextlib.asynccontextmanager
async def dns(records: Mapping[str, Sequence[tuple[str, str]]]) -> AsyncIterator[tuple[str, object]]:
    async with serve("dns", "127.0.0.1", records=records) as server:
        yield f"127.0.0.1:{server.port}", server


def engine(policy: SafetyPolicy = LOOPBACK, **config: object) -> ProbeEngine:
    return ProbeEngine(policy, EngineConfig(**{"timeout": 2.0, **config}))  # type: ignore[arg-type]


def states(report: ProbeReport) -> list[tuple[str, int, str, State, str]]:
    return [(r.address, r.port, r.protocol, r.state, r.reason) for r in report.results]


# --- safety ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "target", ["127.0.0.1", "2130706433", "0x7f.1", "127.1", "::1", "[::ffff:127.0.0.1]"]
)
async def test_default_policy_refuses_loopback_without_connecting(target: str) -> None:
    """The default policy refuses every loopback spelling, and the listener never sees a connection."""
    async with serve("tcp-open", "127.0.0.1") as v4, serve("tcp-open", "::1") as v6:
        with pytest.raises(RefusedTarget) as info:
            await engine(SafetyPolicy()).probe(ProbeRequest(target, (v4.port, v6.port)))
    assert info.value.category == "loopback"
    assert (v4.hits, v6.hits) == (0, 0)


async def test_name_resolving_to_loopback_is_refused_without_connecting() -> None:
    """A name whose only addresses are loopback is refused after resolution, before any connection."""
    async with serve("tcp-open") as server, dns({"home.test": [("A", "127.0.0.1")]}) as (ns, _):
        with pytest.raises(
            RefusedTarget,
            match=r"^I won't check `home\.test`: it resolves only to a loopback address \(the bot's own machine\)\.$",
        ):
            await engine(SafetyPolicy(), dns_servers=(ns,)).probe(ProbeRequest("home.test", (server.port,)))
    assert server.hits == 0


async def test_refused_addresses_of_a_name_are_skipped_silently() -> None:
    """Allowed addresses are probed; refused ones (here 0.0.0.0, which Linux would route to this very
    machine) are neither probed nor mentioned."""
    records = {"mixed.test": [("A", "0.0.0.0"), ("A", "127.0.0.1")]}
    async with serve("tcp-open") as server, dns(records) as (ns, _):
        report = await engine(dns_servers=(ns,), identify=False).probe(
            ProbeRequest("mixed.test", (server.port,))
        )
    assert states(report) == [("127.0.0.1", server.port, "tcp", State.OPEN, "syn-ack")]
    assert "0.0.0.0" not in str(report.to_dict())
    assert server.hits == 1


@pytest.mark.parametrize(
    ("records", "message"),
    [
        (
            {"home.test": [("CNAME", "lan.test.")], "lan.test": [("A", "127.0.0.1")]},
            "I won't check `home.test`: it is an alias (CNAME) for `lan.test`, which resolves only to a loopback "
            "address (the bot's own machine).",
        ),
        (
            {
                "home.test": [("A", "127.0.0.1")],
                "_minecraft._tcp.home.test": [("SRV", "0 5 {port} node.test.")],
                "node.test": [("A", "127.0.0.1")],
            },
            "I won't check `home.test`: its SRV record points to `node.test`, which resolves only to a loopback "
            "address (the bot's own machine).",
        ),
        (
            {
                "home.test": [("A", "127.0.0.1")],
                "_minecraft._tcp.home.test": [("SRV", "0 5 {port} node.test.")],
                "node.test": [("CNAME", "lan.test.")],
                "lan.test": [("A", "127.0.0.1")],
            },
            "I won't check `home.test`: its SRV record points to `node.test`, an alias (CNAME) for `lan.test`, "
            "which resolves only to a loopback address (the bot's own machine).",
        ),
    ],
    ids=["cname", "srv", "srv-to-cname"],
)
async def test_names_leading_to_loopback_are_refused_saying_how(
    records: dict[str, list[tuple[str, str]]], message: str
) -> None:
    """CNAMEs and SRV records that end at a refused address are refused, naming the chain and the kind of
    address (never the address: the bot's DNS view may be private), with no connection."""
    async with serve("tcp-open") as server:
        zone = {n: [(t, v.format(port=server.port)) for t, v in rows] for n, rows in records.items()}
        async with dns(zone) as (ns, _):
            with pytest.raises(RefusedTarget) as info:
                await engine(SafetyPolicy(), dns_servers=(ns,)).probe(ProbeRequest("home.test", (25565,)))
    assert (str(info.value), info.value.category, info.value.address) == (message, "loopback", "127.0.0.1")
    assert server.hits == 0


async def test_a_name_with_several_refused_addresses_names_the_first_kind() -> None:
    """When every one of several addresses is refused, the sentence says so and names the first one's kind."""
    records = {"lan.test": [("A", "10.0.0.7"), ("A", "127.0.0.1")]}
    async with dns(records) as (ns, _):
        with pytest.raises(RefusedTarget) as info:
            await engine(SafetyPolicy(), dns_servers=(ns,)).probe(ProbeRequest("lan.test", (80,)))
    assert str(info.value) == (
        "I won't check `lan.test`: it resolves only to addresses I don't check, the first of them a LAN "
        "(private) address."
    )


async def test_srv_record_with_port_0_is_refused_without_connecting() -> None:
    """An SRV record naming port 0 is refused, even though its target and the name itself are allowed."""
    records = {
        "mc.test": [("A", "127.0.0.1")],
        "_minecraft._tcp.mc.test": [("SRV", "0 5 0 mc.test.")],
    }
    async with serve("tcp-open") as server, dns(records) as (ns, _):
        with pytest.raises(RefusedTarget) as info:
            await engine(dns_servers=(ns,)).probe(ProbeRequest("mc.test", (25565, server.port)))
    assert info.value.category == "srv-port"
    assert server.hits == 0


async def test_only_the_first_allowed_ipv4_and_ipv6_address_are_probed() -> None:
    """A name with many addresses: the first allowed IPv4 and IPv6 one are probed, the count is reported."""
    records = {
        "many.test": [
            ("A", "127.0.0.3"),
            ("A", "0.0.0.0"),  # refused: skipped, so 127.0.0.1 is the first allowed IPv4 address
            ("A", "127.0.0.1"),
            ("A", "127.0.0.2"),
            ("AAAA", "::2"),
            ("AAAA", "::1"),
        ]
    }
    async with contextlib.AsyncExitStack() as stack:
        first = await stack.enter_async_context(serve("tcp-open", "127.0.0.1"))
        others = [
            await stack.enter_async_context(serve("tcp-open", host, port=first.port))
            for host in ("127.0.0.2", "127.0.0.3")
        ]
        v6 = await stack.enter_async_context(serve("tcp-open", "::1", port=first.port))
        ns, _ = await stack.enter_async_context(dns(records))
        policy = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128", "::2/128"])
        report = await engine(policy, dns_servers=(ns,), identify=False).probe(
            ProbeRequest("many.test", (first.port,))
        )
    assert [r.address for r in report.results] == ["127.0.0.1", "::1"]
    assert (first.hits, [o.hits for o in others], v6.hits) == (1, [0, 0], 1)
    assert report.address_count == 6


async def test_admit_sees_the_chosen_addresses_and_can_stop_the_probe() -> None:
    """The admission hook gets exactly the addresses about to be probed; if it refuses, nothing is sent."""
    seen: list[list[str]] = []

    async def admit(addresses: Sequence[object]) -> None:
        seen.append([str(a) for a in addresses])
        raise RateLimited("That address has been checked a lot in a minute.", retry_after=5, scope="target")

    records = {"dual.test": [("A", "127.0.0.1"), ("AAAA", "::1"), ("A", "127.0.0.2")]}
    async with serve("tcp-open", "127.0.0.1") as server, dns(records) as (ns, _):
        with pytest.raises(RateLimited):
            await engine(dns_servers=(ns,)).probe(ProbeRequest("dual.test", (server.port,)), admit=admit)
    assert seen == [["127.0.0.1", "::1"]]
    assert server.hits == 0


# --- verdicts --------------------------------------------------------------------------------------------


async def test_open_port_is_identified() -> None:
    """An open HTTP port: open, syn-ack, RTT, and what answered."""
    async with serve("http") as server:
        report = await engine().probe(ProbeRequest("127.0.0.1", (server.port,), service_hint="http"))
    (result,) = report.results
    assert (result.state, result.reason, result.protocol) == (State.OPEN, "syn-ack", "tcp")
    assert result.rtt_ms is not None
    assert result.service is not None and result.service.summary == f"HTTP 200 OK ({HTTP_SERVER})"
    assert (report.target, report.host, report.vantage, report.local) == (
        "127.0.0.1",
        "127.0.0.1",
        "this bot's own network",
        True,
    )


async def test_ipv4_and_ipv6_are_probed_side_by_side() -> None:
    """A name with A and AAAA records gets both addresses probed, IPv4 first."""
    async with serve("tcp-open", "127.0.0.1") as v4, serve("tcp-open", "::1", port=v4.port) as v6:
        records = {"dual.test": [("A", "127.0.0.1"), ("AAAA", "::1")]}
        async with dns(records) as (ns, _):
            report = await engine(dns_servers=(ns,), identify=False).probe(
                ProbeRequest("dual.test", (v4.port,))
            )
    assert states(report) == [
        ("127.0.0.1", v4.port, "tcp", State.OPEN, "syn-ack"),
        ("::1", v4.port, "tcp", State.OPEN, "syn-ack"),
    ]
    assert (v4.hits, v6.hits) == (1, 1)


async def test_several_ports_keep_their_order() -> None:
    """Results come in the order the ports were asked for; duplicates are probed once."""
    closed = free_port()
    async with serve("tcp-open") as server:
        request = ProbeRequest("127.0.0.1", (closed, server.port, closed))
        report = await engine(identify=False).probe(request)
    assert [(r.port, r.state) for r in report.results] == [(closed, State.CLOSED), (server.port, State.OPEN)]


async def test_port_from_the_target_when_none_is_given() -> None:
    """ "host:port" with no separate ports probes that port."""
    async with serve("tcp-open") as server:
        report = await engine(identify=False).probe(ProbeRequest(f"127.0.0.1:{server.port}", ()))
    assert [r.port for r in report.results] == [server.port]


async def test_url_target_gives_port_and_service() -> None:
    """An http:// URL names the port and makes the engine speak HTTP there."""
    async with serve("http") as server, dns({"www.test": [("A", "127.0.0.1")]}) as (ns, _):
        report = await engine(dns_servers=(ns,)).probe(
            ProbeRequest(f"http://WWW.test:{server.port}/index.html", ())
        )
    (result,) = report.results
    assert report.host == "www.test"
    assert result.service is not None and result.service.kind == "http"
    assert server.log[0]["host"] == f"www.test:{server.port}"


async def test_failed_identification_keeps_the_verdict() -> None:
    """A port that accepts and never speaks is open, with no service, once identification gives up."""
    async with serve("tcp-silent") as server:
        report = await engine(identify_timeout=0.3).probe(
            ProbeRequest("127.0.0.1", (server.port,), service_hint="http")
        )
    (result,) = report.results
    assert (result.state, result.service) == (State.OPEN, None)


async def test_silent_port_is_filtered_early_when_another_port_answers() -> None:
    """With a reset from another port of the same address, a silent port is called filtered long before
    the timeout."""
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await engine(timeout=20.0).probe(ProbeRequest("127.0.0.1", (free_port(), silent.port)))
        elapsed = time.monotonic() - started
    assert [(r.state, r.reason) for r in report.results] == [
        (State.CLOSED, "rst"),
        (State.FILTERED, "timeout"),
    ]
    assert elapsed < 5


async def test_rtt_reference_port_speeds_up_a_lone_silent_port() -> None:
    """With rtt_reference_port set, a single silent port is called filtered early too; the reference
    port itself is not reported."""
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await engine(timeout=20.0, rtt_reference_port=free_port()).probe(
            ProbeRequest("127.0.0.1", (silent.port,))
        )
        elapsed = time.monotonic() - started
    assert [(r.port, r.state) for r in report.results] == [(silent.port, State.FILTERED)]
    assert elapsed < 5


def can_ping() -> bool:
    sock = _ping.open_socket(4)
    if sock is None:
        return False
    sock.close()
    return True


needs_icmp = pytest.mark.skipif(not can_ping(), reason="no ICMP socket here (not root, ping_group_range)")


@needs_icmp
async def test_ping_rtt_speeds_up_a_lone_silent_port() -> None:
    """With nothing else in the request answering, an ICMP echo to the same address gives the RTT, so a
    single silent port is called filtered long before the timeout."""
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await engine(timeout=20.0).probe(ProbeRequest("127.0.0.1", (silent.port,)))
        elapsed = time.monotonic() - started
    assert [(r.state, r.reason) for r in report.results] == [(State.FILTERED, "timeout")]
    assert elapsed < 5


# Echoes and TTL-limited SYNs off below, so only the remembered RTT can shorten the wait.
NO_ASKING = {"icmp_rtt": False, "ttl_rtt": False}


@pytest.mark.parametrize("earlier", ["127.0.0.1", "127.0.0.2"])
async def test_rtt_remembered_from_an_earlier_request_speeds_up_a_lone_silent_port(earlier: str) -> None:
    """A reset from the same /24 in an earlier request gives the RTT, so a lone silent port is called
    filtered early with no echo or TTL-limited SYN sent."""
    probe = engine(timeout=20.0, **NO_ASKING)
    await probe.probe(ProbeRequest(earlier, (free_port(earlier),)))
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await probe.probe(ProbeRequest("127.0.0.1", (silent.port,)))
        elapsed = time.monotonic() - started
    assert [(r.state, r.reason) for r in report.results] == [(State.FILTERED, "timeout")]
    assert elapsed < 5


@pytest.mark.parametrize(
    ("earlier", "config"),
    [
        pytest.param("127.0.0.1", {"rtt_memory": False}, id="memory-off"),
        pytest.param("::1", {}, id="other-network"),
    ],
)
async def test_no_remembered_rtt_waits_the_whole_timeout(earlier: str, config: dict[str, object]) -> None:
    """With the memory off, or an RTT known only for another network, silence waits the full timeout."""
    probe = engine(timeout=0.6, **NO_ASKING, **config)
    await probe.probe(ProbeRequest(earlier, (free_port(earlier),)))
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await probe.probe(ProbeRequest("127.0.0.1", (silent.port,)))
        elapsed = time.monotonic() - started
    assert [(r.state, r.reason) for r in report.results] == [(State.FILTERED, "timeout")]
    assert elapsed >= 0.6


async def test_icmp_rtt_off_waits_the_whole_timeout() -> None:
    """With icmp_rtt off, a lone silent port waits the full timeout, as it did before echoes."""
    async with serve("tcp-backlog") as silent:
        started = time.monotonic()
        report = await engine(timeout=0.6, icmp_rtt=False).probe(ProbeRequest("127.0.0.1", (silent.port,)))
        elapsed = time.monotonic() - started
    assert [(r.state, r.reason) for r in report.results] == [(State.FILTERED, "timeout")]
    assert elapsed >= 0.6


@needs_icmp
async def test_slow_but_open_port_stays_open_when_the_ping_is_faster() -> None:
    """A listener that ignores the first SYN (full queue) and accepts 50 ms later answers after the ping did;
    our own second SYN, sent because the ping gave an RTT, gets its SYN-ACK: open, not filtered."""
    async with serve("tcp-backlog") as server:
        asyncio.get_running_loop().call_later(0.05, server.release)
        report = await engine(timeout=5.0, identify=False).probe(ProbeRequest("127.0.0.1", (server.port,)))
    (result,) = report.results
    assert (result.state, result.reason) == (State.OPEN, "syn-ack")
    # Well before the kernel's own retry at 1 s: the answer came to the second SYN the echo's RTT scheduled.
    assert result.rtt_ms is not None and result.rtt_ms < 500


# --- UDP -------------------------------------------------------------------------------------------------


async def test_bedrock_hint_probes_udp_with_the_ping() -> None:
    """ "auto" with a Bedrock hint speaks RakNet over UDP and reports the world."""
    async with serve("bedrock") as server:
        report = await engine().probe(
            ProbeRequest("127.0.0.1", (server.port,), service_hint="Minecraft Bedrock")
        )
    (result,) = report.results
    assert (result.protocol, result.state) == ("udp", State.OPEN)
    assert result.service is not None
    assert result.service.summary == "Minecraft Bedrock 1.21.2, 3/20 players – “Portbot test world”"


async def test_a2s_details_come_from_the_full_query() -> None:
    """A Steam query port is identified with the server's name, game, map and players."""
    async with serve("a2s", "::1") as server:
        report = await engine().probe(
            ProbeRequest("::1", (server.port,), protocol="udp", service_hint="steam")
        )
    (result,) = report.results
    assert result.state == State.OPEN
    assert result.service is not None
    assert result.service.summary == f"{A2S_GAME}: “{A2S_NAME}”, 5/16 players, map de_dust2"


@pytest.mark.parametrize(
    ("kind", "expected"),
    [("nothing", (State.CLOSED, "icmp-port-unreachable")), ("udp-silent", (State.OPEN_FILTERED, "no-reply"))],
)
async def test_udp_closed_and_silent(kind: str, expected: tuple[State, str]) -> None:
    """Nothing bound is closed (ICMP); a listener that never answers is open|filtered."""
    async with contextlib.AsyncExitStack() as stack:
        if kind == "nothing":
            port = free_port(kind=socket.SOCK_DGRAM)
        else:
            port = (await stack.enter_async_context(serve(kind))).port
        report = await engine(timeout=0.6).probe(ProbeRequest("127.0.0.1", (port,), protocol="udp"))
    (result,) = report.results
    assert (result.state, result.reason) == expected


# --- Minecraft SRV ---------------------------------------------------------------------------------------


async def test_minecraft_srv_record_moves_the_java_port() -> None:
    """Port 25565 of a name with a _minecraft._tcp SRV record is checked where the record points."""
    async with serve("minecraft") as server:
        records = {
            "mc.test": [("A", "127.0.0.2")],
            "_minecraft._tcp.mc.test": [("SRV", f"0 5 {server.port} node.mc.test.")],
            "node.mc.test": [("A", "127.0.0.1")],
        }
        async with dns(records) as (ns, _):
            report = await engine(dns_servers=(ns,)).probe(ProbeRequest("mc.test", (25565,)))
    (result,) = report.results
    assert (result.address, result.port, result.state) == ("127.0.0.1", server.port, State.OPEN)
    assert result.service is not None and result.service.kind == "minecraft"
    assert report.srv_target == f"node.mc.test:{server.port}"
    assert report.host == "mc.test"


async def test_explicit_port_skips_the_srv_lookup() -> None:
    """ "name:25565" is taken literally, as the game's client does: no SRV question is asked."""
    records = {"mc.test": [("A", "127.0.0.1")], "_minecraft._tcp.mc.test": [("SRV", "0 5 1 node.mc.test.")]}
    async with dns(records) as (ns, server):
        report = await engine(dns_servers=(ns,), identify=False, timeout=0.5).probe(
            ProbeRequest("mc.test:25565", (25565,))
        )
    assert [r.port for r in report.results] == [25565]
    assert report.srv_target is None
    assert ("_minecraft._tcp.mc.test", "SRV") not in server.log  # type: ignore[attr-defined]


# --- errors, deadline, clean-up --------------------------------------------------------------------------


async def test_unknown_name_is_a_resolve_error() -> None:
    """NXDOMAIN reaches the caller as a ResolveError with the user's sentence."""
    async with dns({}) as (ns, _):
        with pytest.raises(
            ResolveError, match=r"^I couldn't find `nope\.test`: DNS says that name doesn't exist\.$"
        ):
            await engine(dns_servers=(ns,)).probe(ProbeRequest("nope.test", (80,)))


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ProbeRequest("mc example com", (80,)), "has a space or an invisible character in it"),
        (ProbeRequest("127.0.0.1", ()), "Tell me which port to check"),
        (ProbeRequest("127.0.0.1", (1, 2, 3, 4, 5, 6)), "I check at most 5 ports at a time"),
        (ProbeRequest("127.0.0.1", (70000,)), "70000 is not a port"),
    ],
)
async def test_bad_input_is_an_input_error(request_: ProbeRequest, message: str) -> None:
    """Bad targets and port lists raise InputError before anything is sent."""
    with pytest.raises(InputError, match=message):
        await engine().probe(request_)


async def test_deadline_stops_the_whole_request() -> None:
    """A request that outlives its deadline is stopped with a ProbeError, its sockets closed."""
    async with serve("tcp-backlog") as silent:
        with pytest.raises(ProbeError, match=r"^The check took too long and was stopped\.$"):
            # icmp_rtt off: a ping's RTT would have the port called filtered around the deadline.
            await engine(timeout=10.0, deadline=0.3, icmp_rtt=False).probe(
                ProbeRequest("127.0.0.1", (silent.port,))
            )
    gc.collect()


async def test_cancelled_probe_closes_everything() -> None:
    """Cancelling a probe in flight (TCP and UDP) leaves no socket or task behind."""
    async with serve("tcp-backlog") as silent, serve("udp-silent") as quiet:
        task = asyncio.ensure_future(
            engine(timeout=10.0).probe(
                ProbeRequest("127.0.0.1", (silent.port, quiet.port), service_hint=None)
            )
        )
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    gc.collect()


async def test_report_survives_a_round_trip_through_json() -> None:
    """An engine report (service details, SRV target) comes back equal from to_dict/from_dict."""
    async with serve("bedrock") as server:
        report = await engine().probe(ProbeRequest("127.0.0.1", (server.port,), service_hint="bedrock"))
    report = dataclasses.replace(report, srv_target="node.mc.test:25601")
    assert report.results[0].service is not None
    assert ProbeReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


def test_public_names_load_lazily() -> None:
    """``probes`` re-exports the engine's API, yet importing probes.models pulls in none of its libraries."""
    code = (
        "import sys, probes.models\n"
        "heavy = [m for m in ('dns', 'idna', 'mcstatus', 'a2s', 'probes.engine') if m in sys.modules]\n"
        "assert not heavy, heavy\n"
        "from probes import ProbeEngine, EngineConfig, parse_target, Resolver, probe_tcp, probe_udp\n"
        "assert ProbeEngine.__module__ == 'probes.engine'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
