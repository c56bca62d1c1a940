"""End to end: hostile targets through the real engine, service and worker never touch a loopback listener.

Listeners on 127.0.0.1 and ::1 count every connection they get. Every spelling of those addresses (and names
that a test DNS server resolves to them) must be refused before a single packet reaches them. A positive
control with loopback allowed proves the listeners do count connections.
"""

from __future__ import annotations

import json
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from probes.auth import sign
from probes.engine import EngineConfig, ProbeEngine
from probes.errors import RefusedTarget
from probes.models import ProbeRequest, Requester, State
from probes.policy import SafetyPolicy
from probes.service import ProbeService
from probes.worker import WorkerConfig, start
from tests.probes.servers import serve

SECRET = "e2e-secret"
ALICE = Requester("discord", "alice", "g1", "c1")
LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])


def _ipv6_loopback_available() -> bool:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError:
        return False
    return True


HAS_IPV6 = _ipv6_loopback_available()


@dataclass
class Lab:
    v4: Any  # listener on 127.0.0.1
    v6: Any | None  # listener on ::1 (None without IPv6 loopback)
    dns: str  # "127.0.0.1:port" of the test DNS server

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.v4.port,) + ((self.v6.port,) if self.v6 else ())

    @property
    def hits(self) -> int:
        return self.v4.hits + (self.v6.hits if self.v6 else 0)

    def engine(self, policy: SafetyPolicy) -> ProbeEngine:
        return ProbeEngine(policy, EngineConfig(timeout=2.0, identify=False, dns_servers=(self.dns,)))


RECORDS = {
    "localhost": [("A", "127.0.0.1"), ("AAAA", "::1")],
    "loop.test": [("A", "127.0.0.1")],
    "loop6.test": [("AAAA", "::1")],
    "mapped.test": [("AAAA", "::ffff:127.0.0.1")],
    "siit.test": [("AAAA", "::ffff:0:7f00:1")],
    "nat64.test": [("AAAA", "64:ff9b::7f00:1")],
    "operator-nat64.test": [("AAAA", "2001:db8:64::7f00:1")],
}


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    async with serve("tcp-open", "127.0.0.1") as v4, serve("dns", "127.0.0.1", records=RECORDS) as dns:
        if HAS_IPV6:
            async with serve("tcp-open", "::1") as v6:
                yield Lab(v4, v6, f"127.0.0.1:{dns.port}")
        else:
            yield Lab(v4, None, f"127.0.0.1:{dns.port}")


HOSTILE = [
    "127.0.0.1",
    "2130706433",
    "0177.0.0.1",
    "0x7f.1",
    "127.1",
    "0x7f000001",
    "127.0.0.1.",
    "[::ffff:127.0.0.1]",
    "[::ffff:7f00:1]",
    "::1",
    "[::1]",
    "localhost",
    "LocalHost.",
    "loop.test",
    "loop6.test",
    "mapped.test",
]


@pytest.mark.parametrize("target", HOSTILE)
async def test_service_refuses_and_the_listener_sees_nothing(lab: Lab, target: str) -> None:
    """Through the service and the real engine, every loopback spelling is refused with no connection made."""
    service = ProbeService(lab.engine(SafetyPolicy()), policy=SafetyPolicy())
    with pytest.raises(RefusedTarget) as info:
        await service.run(ProbeRequest(target, lab.ports, protocol="tcp"), ALICE)
    assert info.value.category == "loopback"
    assert lab.hits == 0


@pytest.fixture
async def worker_url(lab: Lab) -> AsyncIterator[str]:
    config = WorkerConfig(secret=SECRET, host="127.0.0.1", port=0, region="Lab", audit=False)
    worker = await start(config, lab.engine(config.policy))
    yield worker.url
    await worker.stop()


async def post(url: str, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    async with httpx.AsyncClient(timeout=10) as http:
        return await http.post(f"{url}/v1/probe", content=body, headers=sign(SECRET, body))


@pytest.mark.parametrize("target", ["2130706433", "[::ffff:7f00:1]", "localhost", "loop6.test"])
async def test_worker_refuses_with_422_and_the_listener_sees_nothing(
    lab: Lab, worker_url: str, target: str
) -> None:
    """The worker's own policy refuses loopback targets (422, category loopback) before any connection."""
    response = await post(worker_url, {"target": target, "ports": list(lab.ports), "protocol": "tcp"})
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["category"]) == ("refused", "loopback")
    assert lab.hits == 0


async def test_positive_control_allowed_loopback_is_probed(lab: Lab) -> None:
    """With loopback allowed, the same listeners are probed and count the connections (the test can fail)."""
    service = ProbeService(lab.engine(LOOPBACK), policy=LOOPBACK)
    report = await service.run(ProbeRequest("127.0.0.1", (lab.v4.port,), protocol="tcp"), ALICE)
    assert [r.state for r in report.results] == [State.OPEN]
    assert lab.v4.hits >= 1


@pytest.mark.skipif(not HAS_IPV6, reason="no IPv6 loopback on this machine")
async def test_positive_control_over_ipv6(lab: Lab) -> None:
    """The ::1 listener counts connections too when loopback is allowed."""
    service = ProbeService(lab.engine(LOOPBACK), policy=LOOPBACK)
    assert lab.v6 is not None
    report = await service.run(ProbeRequest("::1", (lab.v6.port,), protocol="tcp"), ALICE)
    assert [r.state for r in report.results] == [State.OPEN]
    assert lab.v6.hits >= 1


# IPv6 forms that carry 127.0.0.1, and names that resolve to them; 2001:db8:64::/96 is the operator's NAT64.
WRAPPED = [
    "::ffff:0:7f00:1",
    "[::FFFF:0:7F00:1]",
    "::127.0.0.1",
    "64:ff9b::7f00:1",
    "64:ff9b:1::7f00:1",
    "2002:7f00:1::1",
    "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "2001:db8:64::7f00:1",
    "siit.test",
    "nat64.test",
    "operator-nat64.test",
]
NAT64 = SafetyPolicy.from_strings(nat64="2001:db8:64::/96")


@pytest.mark.parametrize("target", WRAPPED)
async def test_wrapped_forms_are_refused_and_the_listener_sees_nothing(lab: Lab, target: str) -> None:
    """SIIT, compatible, NAT64 (well-known, local-use, operator), 6to4 and Teredo forms of 127.0.0.1, typed
    or behind a name, are refused as loopback through the real service and engine, with no connection made."""
    service = ProbeService(lab.engine(NAT64), policy=NAT64)
    with pytest.raises(RefusedTarget) as info:
        await service.run(ProbeRequest(target, lab.ports, protocol="tcp"), ALICE)
    assert info.value.category == "loopback"
    assert lab.hits == 0


@pytest.mark.parametrize("target", WRAPPED)
async def test_wrapped_forms_stay_refused_with_loopback_allowed(lab: Lab, target: str) -> None:
    """An allow list that opens 127.0.0.0/8 and ::1 opens none of the IPv6 wrappers of 127.0.0.1."""
    policy = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"], nat64="2001:db8:64::/96")
    service = ProbeService(lab.engine(policy), policy=policy)
    with pytest.raises(RefusedTarget):
        await service.run(ProbeRequest(target, lab.ports, protocol="tcp"), ALICE)
    assert lab.hits == 0


@pytest.fixture
async def nat64_worker_url(lab: Lab) -> AsyncIterator[str]:
    config = WorkerConfig(secret=SECRET, host="127.0.0.1", port=0, region="Lab", audit=False, policy=NAT64)
    worker = await start(config, lab.engine(config.policy))
    yield worker.url
    await worker.stop()


@pytest.mark.parametrize(
    "target", ["::ffff:0:7f00:1", "64:ff9b::7f00:1", "2002:7f00:1::1", "2001:db8:64::7f00:1"]
)
async def test_worker_refuses_wrapped_forms_with_422_and_the_listener_sees_nothing(
    lab: Lab, nat64_worker_url: str, target: str
) -> None:
    """A worker whose policy knows the operator's NAT64 prefix refuses every wrapped loopback form (422)."""
    response = await post(nat64_worker_url, {"target": target, "ports": list(lab.ports), "protocol": "tcp"})
    assert response.status_code == 422
    assert (response.json()["error"], response.json()["category"]) == ("refused", "loopback")
    assert lab.hits == 0
