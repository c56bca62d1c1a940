"""WorkerClient.create_link and wait_link against a real worker on loopback."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from probes.client import WorkerClient
from probes.errors import InputError
from probes.models import Requester, State
from tests.probes._links import SECRET, StartWorker, free_port, listener, start_worker

__all__ = ["listener", "start_worker"]  # fixtures

ALICE = Requester(platform="cli", user_id="alice")


async def test_create_link_returns_a_link_bound_to_the_request(start_worker: StartWorker) -> None:
    """The link carries the ports, protocol and requester asked for, and a URL on the worker."""
    worker = await start_worker()
    async with WorkerClient([worker.url], SECRET) as client:
        link = await client.create_link([25565], "tcp", ALICE, hint="minecraft")
    assert (link.ports, link.protocol, link.requester, link.hint) == ((25565,), "tcp", ALICE, "minecraft")
    assert link.url == f"{worker.url}/l/{link.token}"


async def test_wait_link_returns_the_visit_result(
    start_worker: StartWorker, http: httpx.AsyncClient, listener: int
) -> None:
    """wait_link returns the probe of the visitor's address once the link is opened."""
    worker = await start_worker()
    async with WorkerClient([worker.url], SECRET) as client:
        link = await client.create_link([listener], "tcp", ALICE)
        waiting = asyncio.create_task(client.wait_link(link.id, 20))
        await http.get(link.url)
        result = await waiting
    assert result is not None and result.report is not None
    assert [(r.address, r.port, r.state) for r in result.report.results] == [
        ("127.0.0.1", listener, State.OPEN)
    ]


async def test_wait_link_returns_none_when_the_link_expires_unused(start_worker: StartWorker) -> None:
    """An unvisited link that runs out of time gives None."""
    worker = await start_worker()
    async with WorkerClient([worker.url], SECRET) as client:
        link = await client.create_link([free_port()], "tcp", ALICE, ttl=1)
        assert await client.wait_link(link.id, 20) is None


async def test_wait_link_times_out_while_pending(start_worker: StartWorker) -> None:
    """With the link still unused when the wait ends, TimeoutError is raised."""
    worker = await start_worker()
    async with WorkerClient([worker.url], SECRET) as client:
        link = await client.create_link([free_port()], "tcp", ALICE)
        with pytest.raises(TimeoutError, match=r"^the link was not used within 0.3 s$"):
            await client.wait_link(link.id, 0.3)


async def test_create_link_refuses_bad_ports(start_worker: StartWorker) -> None:
    """The worker's port check comes back as the user's InputError."""
    worker = await start_worker()
    async with WorkerClient([worker.url], SECRET) as client:
        with pytest.raises(InputError):
            await client.create_link([1, 2, 3, 4, 5, 6], "tcp", ALICE)
