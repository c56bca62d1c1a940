"""The worker's one-time links over real HTTP on loopback, probing real listeners on loopback.

Loopback is allowed for these tests through the policy's allow-list, as in the other end-to-end tests.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from probes.auth import sign
from probes.engine import ProbeEngine
from probes.links import LinkResult
from probes.policy import SafetyPolicy
from probes.worker import RunningWorker, WorkerConfig, start
from tests.probes._links import FAST, LOOPBACK, SECRET, StartWorker, free_port, listener, start_worker
from tests.probes._redis import redis_server

__all__ = ["listener", "start_worker"]  # fixtures


async def create_link(http: httpx.AsyncClient, worker: RunningWorker, **fields: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "ports": [80],
        "protocol": "tcp",
        "requester": {"platform": "discord", "user_id": "111", "guild_id": "9"},
        "request_id": uuid.uuid4().hex,
    }
    data.update(fields)
    content = json.dumps(data).encode()
    response = await http.post(f"{worker.url}/v1/links", content=content, headers=sign(SECRET, content))
    assert response.status_code == 200, response.text
    return dict(response.json())


async def poll(http: httpx.AsyncClient, worker: RunningWorker, link_id: str, wait: float) -> dict[str, Any]:
    path = f"/v1/links/{link_id}?wait={wait}&n={uuid.uuid4().hex}"
    response = await http.get(f"{worker.url}{path}", headers=sign(SECRET, path.encode()))
    assert response.status_code == 200, response.text
    return dict(response.json())


def states(result: dict[str, Any]) -> list[tuple[str, int, str]]:
    report = LinkResult.from_dict(result).report
    assert report is not None
    return [(r.address, r.port, str(r.state)) for r in report.results]


async def test_a_visit_probes_the_visitors_own_open_port(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """Visiting from 127.0.0.1 checks 127.0.0.1 on the link's port: a real listener there is open."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    page = await http.get(link["url"])
    assert page.status_code == 200
    assert "Reachable from the internet: 127.0.0.1:" in page.text
    done = await poll(http, worker, link["id"], 5)
    assert done["state"] == "done"
    assert states(done["result"]) == [("127.0.0.1", listener, "open")]
    assert done["result"]["address_kind"] == "v4"


async def test_a_visit_with_nothing_listening_is_closed(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """With nothing listening on the port the visitor's address answers closed, and the page says so."""
    worker = await start_worker()
    port = free_port()
    link = await create_link(http, worker, ports=[port])
    page = await http.get(link["url"])
    assert page.status_code == 200
    assert f"Closed: 127.0.0.1:{port} refused the connection." in page.text
    done = await poll(http, worker, link["id"], 5)
    assert states(done["result"]) == [("127.0.0.1", port, "closed")]


async def test_a_second_visit_is_told_the_link_was_used(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """A replayed visit gets a friendly 410 and probes nothing more."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    assert (await http.get(link["url"])).status_code == 200
    again = await http.get(link["url"])
    assert again.status_code == 410
    assert "<h1>This link was already used</h1>" in again.text


async def test_an_expired_link_is_gone(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """Once the link's time runs out unused, the poll says expired and a visit gets a friendly 410."""
    worker = await start_worker()
    link = await create_link(http, worker, ttl=1)
    assert (await poll(http, worker, link["id"], 10))["state"] == "expired"
    page = await http.get(link["url"])
    assert page.status_code == 410
    assert "<h1>This link has expired</h1>" in page.text


async def test_a_forged_token_is_not_a_link(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A token with a changed signature gets the 404 page and uses nothing up."""
    worker = await start_worker()
    link = await create_link(http, worker)
    forged = link["url"][:-3] + ("AAA" if not link["url"].endswith("AAA") else "BBB")
    page = await http.get(forged)
    assert page.status_code == 404
    assert "<h1>This link isn't valid</h1>" in page.text
    assert (await poll(http, worker, link["id"], 0))["state"] == "pending"


async def test_link_previews_do_not_use_the_link(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """A chat unfurler's fetch sees a neutral page; the member's visit still works afterwards."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    preview = await http.get(link["url"], headers={"User-Agent": "Slackbot-LinkExpanding 1.0"})
    assert preview.status_code == 200
    assert "Open this link in a browser" in preview.text
    assert (await http.get(link["url"])).status_code == 200


async def test_creating_a_link_needs_a_signature(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """An unsigned POST /v1/links is refused with 401."""
    worker = await start_worker()
    response = await http.post(f"{worker.url}/v1/links", content=b'{"ports":[80]}')
    assert response.status_code == 401


async def test_polling_needs_a_signature(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """An unsigned GET /v1/links/{id} is refused with 401."""
    worker = await start_worker()
    link = await create_link(http, worker)
    response = await http.get(f"{worker.url}/v1/links/{link['id']}?wait=0")
    assert response.status_code == 401


async def test_a_refused_visitor_address_keeps_the_link(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Under the default policy loopback is refused: 422 with a friendly page, and the link stays unused."""
    worker = await start_worker(policy=SafetyPolicy())
    link = await create_link(http, worker)
    page = await http.get(link["url"])
    assert page.status_code == 422
    assert "<h1>I can't check this address</h1>" in page.text
    assert (await poll(http, worker, link["id"], 0))["state"] == "pending"


async def test_forwarded_for_is_ignored_from_an_untrusted_peer(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """From a peer outside PORTBOT_TRUSTED_PROXIES the header is ignored: the TCP source is checked."""
    worker = await start_worker(trusted_proxies=("127.0.0.2/32",))
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"], headers={"X-Forwarded-For": "127.0.0.3"})
    done = await poll(http, worker, link["id"], 5)
    assert [a for a, _, _ in states(done["result"])] == ["127.0.0.1"]


async def test_forwarded_for_is_honoured_from_a_trusted_proxy(start_worker: StartWorker) -> None:
    """From 127.0.0.2, a trusted proxy, the rightmost untrusted X-Forwarded-For entry is checked."""
    worker = await start_worker(trusted_proxies=("127.0.0.2/32",))
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, timeout=10) as proxy:
        link = await create_link(proxy, worker, ports=[free_port()])
        page = await proxy.get(link["url"], headers={"X-Forwarded-For": "198.51.100.9, 127.0.0.3"})
        assert page.status_code == 200
        done = await poll(proxy, worker, link["id"], 5)
    assert [a for a, _, _ in states(done["result"])] == ["127.0.0.3"]


async def test_the_form_stores_the_typed_wan_address(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """After the visit, the page's form stores the router's WAN address on the result."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"])
    page = await http.post(link["url"], data={"wan": "100.72.14.3"})
    assert page.status_code == 200
    done = await poll(http, worker, link["id"], 0)
    assert done["result"]["wan_address"] == "100.72.14.3"


async def test_the_form_refuses_what_is_not_an_address(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A typed WAN address that is not an address is answered 400 with a sentence next to the field."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"])
    page = await http.post(link["url"], data={"wan": "my router"})
    assert page.status_code == 400
    assert "“my router” is not an address; type it as four numbers with dots, e.g. 100.72.14.3." in page.text


async def test_the_form_needs_the_visit_first(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """Posting the form before the link was opened is answered 409 and stores nothing."""
    worker = await start_worker()
    link = await create_link(http, worker)
    page = await http.post(link["url"], data={"wan": "100.72.14.3"})
    assert page.status_code == 409
    assert (await poll(http, worker, link["id"], 0))["state"] == "pending"


async def test_the_poll_waits_for_the_visit(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """A long-poll started before the visit returns done as soon as the visit is checked."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    waiting = asyncio.create_task(poll(http, worker, link["id"], 20))
    started = time.monotonic()
    await http.get(link["url"])
    assert (await waiting)["state"] == "done"
    assert time.monotonic() - started < 10


class RttRecordingEngine(ProbeEngine):
    """The real engine, noting each RTT the worker hands it."""

    def __init__(self) -> None:
        super().__init__(LOOPBACK, FAST)
        self.learned: list[tuple[str, float]] = []

    def learn_rtt(self, address: Any, seconds: float) -> None:
        self.learned.append((str(address), seconds))
        super().learn_rtt(address, seconds)


@pytest.fixture
async def recording_worker() -> AsyncIterator[tuple[RunningWorker, RttRecordingEngine]]:
    """A worker whose engine records the RTTs it learns; 127.0.0.2 is a trusted proxy."""
    engine = RttRecordingEngine()
    config = WorkerConfig(
        secret=SECRET,
        port=0,
        region="Frankfurt",
        audit=False,
        policy=LOOPBACK,
        engine=FAST,
        trusted_proxies=("127.0.0.2/32",),
    )
    worker = await start(config, engine)
    yield worker, engine
    await worker.stop()


async def test_the_visits_own_rtt_is_handed_to_the_engine(
    recording_worker: tuple[RunningWorker, RttRecordingEngine], http: httpx.AsyncClient
) -> None:
    """A direct visit's TCP_INFO RTT reaches the engine for the visitor's address, before it probes."""
    worker, engine = recording_worker
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"])
    assert [address for address, _ in engine.learned] == ["127.0.0.1"]
    assert 0 < engine.learned[0][1] < 0.5


async def test_a_proxied_visit_gives_the_engine_no_rtt(
    recording_worker: tuple[RunningWorker, RttRecordingEngine],
) -> None:
    """Through a trusted proxy the connection's RTT is the proxy's, so none is handed on."""
    worker, engine = recording_worker
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, timeout=10) as proxy:
        link = await create_link(proxy, worker, ports=[free_port()])
        await proxy.get(link["url"], headers={"X-Forwarded-For": "127.0.0.3"})
    assert engine.learned == []


async def test_two_workers_sharing_redis_share_links(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int, tmp_path: Path
) -> None:
    """A link made by one worker is checked by another on the same Redis, once, and polled from the first."""
    with redis_server(tmp_path) as (url, _):
        first = await start_worker(redis_url=url)
        second = await start_worker(redis_url=url)
        link = await create_link(http, first, ports=[listener])
        on_second = link["url"].replace(first.url, second.url)
        assert (await http.get(on_second)).status_code == 200
        assert (await http.get(link["url"])).status_code == 410
        done = await poll(http, first, link["id"], 5)
        assert states(done["result"]) == [("127.0.0.1", listener, "open")]
        await first.stop()
        await second.stop()


@pytest.mark.parametrize(
    "token",
    ["x", "a.b", "a" * 120 + ".b", "%E2%9C%93.%E2%9C%93", "a..b", "a.b.c"],
    ids=["short", "unknown", "long", "non-ascii", "dots", "three-parts"],
)
async def test_junk_tokens_get_the_invalid_page(
    start_worker: StartWorker, http: httpx.AsyncClient, token: str
) -> None:
    """Tokens that are not this worker's get the friendly 404 page, never an error."""
    worker = await start_worker()
    page = await http.get(f"{worker.url}/l/{token}")
    assert page.status_code == 404
    assert "<h1>This link isn't valid</h1>" in page.text


async def test_a_head_request_does_not_use_the_link(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """HEAD (as link checkers send) leaves the link unused."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    assert (await http.head(link["url"])).status_code == 200
    assert (await http.get(link["url"])).status_code == 200


async def test_the_page_forbids_scripts_framing_and_referrers(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """The page's headers keep its token out of referrers and caches and allow no script or frame."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[listener])
    page = await http.get(link["url"])
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert page.headers["Cache-Control"] == "no-store"
    assert "default-src 'none'" in page.headers["Content-Security-Policy"]
    assert "<script" not in page.text


async def test_an_oversized_form_is_refused(start_worker: StartWorker, http: httpx.AsyncClient) -> None:
    """A form body over the worker's limit gets 413 before anything is read."""
    worker = await start_worker(max_body_bytes=1024)
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"])
    response = await http.post(link["url"], data={"wan": "1" * 4096})
    assert response.status_code == 413


async def test_the_form_from_another_address_is_refused(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """Only the address that visited may add its router's WAN address."""
    worker = await start_worker()
    link = await create_link(http, worker, ports=[free_port()])
    await http.get(link["url"])
    transport = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(transport=transport, timeout=10) as other:
        response = await other.post(link["url"], data={"wan": "100.72.14.3"})
    assert response.status_code == 410
    assert (await poll(http, worker, link["id"], 0))["result"]["wan_address"] is None


async def test_an_ipv6_visit_checks_the_ipv6_address_without_the_nat_form(
    start_worker: StartWorker, http: httpx.AsyncClient
) -> None:
    """A visit over IPv6 checks the visitor's IPv6 address, and the page offers no WAN form (no NAT there)."""
    worker = await start_worker(host="::1")
    with socket.socket(socket.AF_INET6) as s:
        s.bind(("::1", 0))
        port = s.getsockname()[1]
    link = await create_link(http, worker, ports=[port])
    page = await http.get(link["url"])
    assert page.status_code == 200
    assert f"Closed: [::1]:{port} refused the connection." in page.text
    assert 'name="wan"' not in page.text
    done = await poll(http, worker, link["id"], 5)
    assert done["result"]["address_kind"] == "v6"
