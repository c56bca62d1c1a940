"""The issue's test: 14 spellings of one target, of which at most the per-target limit reach the port.

A real listener on 127.0.0.1 counts the connections it accepts. Loopback is allowed for the test (as in
test_safety_e2e.py) and the per-target limit is 3 an hour. Each spelling comes from a different user, so only
the target's own limit can stop them: through the service around the real engine, through a real worker
answering signed requests over HTTP, and through a `portbot worker` process started under `ulimit -n 1024`.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.auth import sign
from probes.engine import EngineConfig, ProbeEngine
from probes.errors import RateLimited, RefusedTarget
from probes.models import ProbeRequest, Requester, State
from probes.policy import SafetyPolicy
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.service import ProbeService
from probes.worker import WorkerConfig, start
from tests.probes._windows import start_inside_one_window
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

SECRET = "target-limit-secret"
LOOPBACK = SafetyPolicy.from_strings(allow=["127.0.0.0/8", "::1/128"])
LIMIT = 3
LIMITS = RateLimits(per_target=f"{LIMIT}/hour")

RECORDS = {
    "loop.test": [("A", "127.0.0.1")],
    "*.wild.test": [("A", "127.0.0.1")],
    "alias.test": [("CNAME", "loop.test.")],
}

# {port} is the listener's port. Literal forms first, names last; the tests also run them the other way round.
SPELLINGS = (
    "127.0.0.1",
    "2130706433",
    "0x7f.1",
    "0177.0.0.1",
    "127.1",
    "127.0.0.1.",
    "http://u1@127.0.0.1/",
    "127.0.0.1:{port}",
    "[::ffff:127.0.0.1]",
    "http://u2@[::FFFF:7f00:1]:{port}/",
    "loop.test",
    "LOOP.Test.",
    "anything.wild.test",
    "alias.test",
)
# The IPv4-mapped forms count as 127.0.0.1 under today's policy; a policy that refuses them outright (IPv6
# outside 2000::/3) stops them earlier. Either way they must not reach the port.
MAPPED = frozenset(s for s in SPELLINGS if "ffff" in s.lower())
ORDERS = pytest.mark.parametrize(
    "spellings", [SPELLINGS, SPELLINGS[::-1]], ids=["literals-first", "names-first"]
)


@dataclass
class Lab:
    listener: Any  # counts accepted connections in ``hits``
    dns: str

    def engine(self) -> ProbeEngine:
        return ProbeEngine(LOOPBACK, EngineConfig(timeout=2.0, identify=False, dns_servers=(self.dns,)))

    def targets(self, spellings: tuple[str, ...]) -> list[str]:
        return [s.format(port=self.listener.port) for s in spellings]


def stopped_as_expected(spellings: tuple[str, ...], outcomes: list[str]) -> bool:
    """The first LIMIT spellings were probed and every later one was stopped by the target's limit (or, for a
    mapped form, possibly refused by the policy)."""
    expected = ["probed"] * LIMIT + ["target"] * (len(spellings) - LIMIT)
    return all(
        got == want or (spelling in MAPPED and want == "target" and got == "refused")
        for spelling, got, want in zip(spellings, outcomes, expected, strict=True)
    )


@pytest.fixture
async def lab() -> AsyncIterator[Lab]:
    start_inside_one_window(3600, needed=60)
    async with serve("tcp-open", "127.0.0.1") as listener, serve("dns", "127.0.0.1", records=RECORDS) as dns:
        yield Lab(listener, f"127.0.0.1:{dns.port}")


def test_there_are_fourteen_spellings() -> None:
    """The issue asks for 14 spellings of one target."""
    assert len(set(SPELLINGS)) == 14


@ORDERS
async def test_fourteen_spellings_through_the_service_reach_the_port_three_times(
    lab: Lab, spellings: tuple[str, ...]
) -> None:
    """Through the service and the real engine, the first 3 spellings are probed; the other 11 are refused
    by the target's limit before a packet is sent, so the listener accepts exactly 3 connections."""
    service = ProbeService(lab.engine(), ProbeRateLimiter(LIMITS), policy=LOOPBACK)
    outcomes: list[str] = []
    for n, target in enumerate(lab.targets(spellings)):
        request = ProbeRequest(target, (lab.listener.port,), protocol="tcp")
        try:
            report = await service.run(request, Requester("discord", f"user-{n}", "guild-1"))
        except RateLimited as err:
            outcomes.append(err.scope)
        except RefusedTarget:
            outcomes.append("refused")
        else:
            assert [r.state for r in report.results] == [State.OPEN], target
            outcomes.append("probed")
    assert stopped_as_expected(spellings, outcomes), list(zip(spellings, outcomes, strict=True))
    assert lab.listener.hits == LIMIT


@pytest.fixture
async def worker_url(lab: Lab) -> AsyncIterator[str]:
    config = WorkerConfig(
        secret=SECRET, port=0, region="Lab", policy=LOOPBACK, rate_limits=LIMITS, audit=False
    )
    worker = await start(config, lab.engine())
    yield worker.url
    await worker.stop()


async def post(http: httpx.AsyncClient, url: str, payload: dict[str, Any]) -> httpx.Response:
    body = json.dumps(payload).encode()
    return await http.post(f"{url}/v1/probe", content=body, headers=sign(SECRET, body))


@ORDERS
async def test_fourteen_spellings_through_a_worker_reach_the_port_three_times(
    lab: Lab, worker_url: str, http: httpx.AsyncClient, spellings: tuple[str, ...]
) -> None:
    """Through a real worker (signed HTTP requests), 3 answers are reports and the other 11 are 429s naming
    the target's limit (or 422 refusals, for mapped forms); the listener accepts exactly 3 connections."""
    answers: list[str] = []
    for n, target in enumerate(lab.targets(spellings)):
        requester = {"platform": "discord", "user_id": f"user-{n}", "guild_id": "guild-1"}
        payload = {"target": target, "ports": [lab.listener.port], "protocol": "tcp", "requester": requester}
        response = await post(http, worker_url, payload)
        answers.append(_outcome(response))
    assert stopped_as_expected(spellings, answers), list(zip(spellings, answers, strict=True))
    assert lab.listener.hits == LIMIT


def _outcome(response: httpx.Response) -> str:
    """A worker's answer as "probed", the limit's scope (429) or "refused" (422); anything else as itself."""
    data = response.json()
    if response.status_code == 200:
        return "probed"
    if response.status_code == 429:
        return str(data.get("scope"))
    if (response.status_code, data.get("error")) == (422, "refused"):
        return "refused"
    return f"{response.status_code} {data}"


def _ulimit_1024() -> None:
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, 1024))


@pytest.fixture
async def worker_process(lab: Lab, tmp_path: Path) -> AsyncIterator[str]:
    """`portbot worker` as deployed (settings from the environment, identification on), under ulimit -n 1024."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(
        {
            "PORTBOT_WORKER_SECRET": SECRET,
            "PORTBOT_WORKER_REGION": "Lab",
            "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
            "PORTBOT_LIMIT_TARGET": f"{LIMIT}/hour",
            "PORTBOT_DNS_SERVERS": lab.dns,
            "PORTBOT_DATA_DIR": str(tmp_path),
            "PYTHONUNBUFFERED": "1",
        }
    )
    root = Path(__file__).resolve().parents[2]
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "worker",
        "--port",
        "0",
        cwd=root,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        preexec_fn=_ulimit_1024,
    )
    try:
        assert proc.stdout is not None
        line = (await asyncio.wait_for(proc.stdout.readline(), timeout=30)).decode()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), line
        yield url
    finally:
        proc.terminate()
        await asyncio.wait_for(proc.wait(), timeout=20)


async def test_fourteen_spellings_through_a_portbot_worker_under_ulimit_reach_the_port_only_thrice(
    lab: Lab, worker_process: str, http: httpx.AsyncClient
) -> None:
    """A real `portbot worker` process (ulimit -n 1024): 3 reports, then 11 refusals by the target's limit,
    and the listener sees nothing more after the third report (identification may add a connection each)."""
    answers: list[str] = []
    hits_after_limit = 0
    for n, target in enumerate(lab.targets(SPELLINGS)):
        requester = {"platform": "discord", "user_id": f"user-{n}", "guild_id": "guild-1"}
        payload = {"target": target, "ports": [lab.listener.port], "protocol": "tcp", "requester": requester}
        response = await post(http, worker_process, payload)
        answers.append(_outcome(response))
        if n == LIMIT - 1:
            hits_after_limit = lab.listener.hits
    assert stopped_as_expected(SPELLINGS, answers), list(zip(SPELLINGS, answers, strict=True))
    assert LIMIT <= hits_after_limit == lab.listener.hits
