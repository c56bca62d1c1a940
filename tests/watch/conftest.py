"""Fixtures for the watch tests: a store on each engine, a probe backend allowed to reach loopback, a fake
clock, and a real HTTP webhook receiver on 127.0.0.1."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web

from bot.app import ServiceBackend
from bot.store import Store
from bot.watch.checker import Checker
from bot.watch.models import Platform
from bot.watch.notify import Notifier
from bot.watch.scheduler import Scheduler, SchedulerConfig
from bot.watch.webhook import WebhookNotifier
from probes.engine import EngineConfig, ProbeEngine
from probes.policy import SafetyPolicy
from probes.service import ProbeService


class Clock:
    """A clock the test moves by hand."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def store(state_db: Store) -> Store:
    """The shared store fixture (tests/conftest.py: SQLite, then PostgreSQL) under the name these tests use."""
    return state_db


@pytest.fixture
def backend() -> ServiceBackend:
    """The real probe service around the real engine, with loopback allowed (the tests' servers live there)."""
    policy = SafetyPolicy.from_strings(allow=("127.0.0.0/8",))
    engine = ProbeEngine(
        policy, EngineConfig(timeout=0.5, identify_timeout=1.0, icmp_rtt=False, ttl_rtt=False)
    )
    return ServiceBackend(ProbeService(engine, policy=policy))


@dataclass
class Receiver:
    """A webhook receiver: every JSON body POSTed, and the statuses to answer with (then 204)."""

    url: str
    bodies: list[dict[str, Any]] = field(default_factory=list)
    paths: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    found = Receiver(url="")

    async def hook(request: web.Request) -> web.Response:
        found.paths.append(request.path)
        found.bodies.append(json.loads(await request.text()))
        status = found.statuses.pop(0) if found.statuses else 204
        return web.Response(status=status)

    app = web.Application()
    app.router.add_post("/{tail:.*}", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    found.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield found
    finally:
        await runner.cleanup()


MakeScheduler = Callable[..., Scheduler]
TEST_CONFIG = SchedulerConfig(lease=30, alert_gap=0)


@pytest.fixture
async def make_scheduler(store: Store, backend: ServiceBackend, clock: Clock) -> AsyncIterator[MakeScheduler]:
    """Schedulers on one store and one fake clock; each ``owner`` is a separate scheduler."""
    notifier = WebhookNotifier()

    def make(
        owner: str = "a",
        config: SchedulerConfig = TEST_CONFIG,
        notifiers: dict[Platform, Notifier] | None = None,
        services: Any = None,
    ) -> Scheduler:
        return Scheduler(
            store,
            Checker(backend, services=services, clock=clock),
            notifiers if notifiers is not None else {Platform.CLI: notifier},
            config=config,
            platforms=[Platform.CLI, Platform.DISCORD],
            owner=owner,
            clock=clock,
        )

    yield make
    await notifier.aclose()
