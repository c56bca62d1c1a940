"""Wiring: from one Settings object to a running Portbot (terminal, Discord, Slack) or probe worker.

This is the only place that knows how settings map onto the domain objects, so the domain packages take
plain arguments and never read the environment.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # asyncio, logging and the command core load where they are used: `portbot probe`'s quick path uses none.
    import asyncio
    import logging

    from bot.core.commands import Portbot
    from bot.core.selfcheck import LinkProtocol, SelfCheckLink, SelfCheckResult
    from bot.core.watch_desk import WatchDesk
    from bot.settings import Settings
    from bot.store import Database, Store
    from knowledge import KnowledgeBase
    from probes.engine import EngineConfig
    from probes.models import ProbeReport, ProbeRequest, Requester
    from probes.policy import SafetyPolicy
    from probes.quick import QuickProbe
    from probes.ratelimit import RateLimits
    from probes.service import ProbeService
    from probes.worker import ConnectionLimits, WorkerConfig


RATE_LIMIT_FILE = "ratelimits.sqlite3"  # in PORTBOT_DATA_DIR, for the command-line processes
#: `portbot worker`'s port when neither --port nor $PORT says.
DEFAULT_WORKER_PORT = 8471


class ServiceBackend:
    """Adapts the probe service (rate limits, audit, in-process engine or workers) to the command core."""

    def __init__(
        self,
        service: ProbeService,
        *closers: Callable[[], Awaitable[None]],
        links: Any = None,
    ) -> None:
        self.service = service
        self._closers = closers
        # The worker client when PORTBOT_WORKERS is set: only a worker can serve a one-time link page.
        self._links = links

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        return await self.service.run_all(request, requester)

    async def create_link(
        self, ports: Sequence[int], protocol: LinkProtocol, requester: Requester, hint: str | None = None
    ) -> SelfCheckLink:
        """A one-time link from a worker (``WorkerClient.create_link``); in-process probing has none."""
        from bot.core.selfcheck import SelfChecksUnavailable

        create = getattr(self._links, "create_link", None)
        if create is None:
            raise SelfChecksUnavailable
        link: SelfCheckLink = await create(list(ports), protocol, requester, hint=hint)
        return link

    async def wait_link(self, link_id: str, timeout: float) -> SelfCheckResult | None:  # noqa: ASYNC109
        """The visit's result, or None when the link expired unused (``WorkerClient.wait_link``)."""
        from bot.core.selfcheck import SelfChecksUnavailable

        wait = getattr(self._links, "wait_link", None)
        if wait is None:
            raise SelfChecksUnavailable
        result: SelfCheckResult | None = await wait(link_id, timeout)
        return result

    async def aclose(self) -> None:
        """Flush the audit log and close connections (worker client, rate-limit storage)."""
        for close in self._closers:
            await close()


async def open_watch_store(settings: Settings, database: Database | None = None) -> Store:
    """The open store watches are kept in: ``database`` (the process's :func:`bot.store.store_for`, shared with
    everything else it keeps) or a new one from the settings. Raises DatabaseUnavailable, one sentence, when it
    cannot be opened."""
    from bot.store import LazyStore, Store, store_for

    if isinstance(database, Store):
        return database
    lazy = database if isinstance(database, LazyStore) else store_for(settings)
    return await lazy.get()


def watch_desk(
    settings: Settings, store: Store, *, command: str, portbot: Portbot | None = None
) -> WatchDesk:
    """The chat watch commands' desk on ``store``: the probe safety policy and the watch settings.
    ``command`` is how the platform spells the command (``/portbot watch``, ``/port watch``); ``portbot``'s
    knowledge names the games a watch may ask for players."""
    from bot.core.watch_desk import WatchDesk
    from bot.watch.repository import WatchRepository

    return WatchDesk(
        WatchRepository(store),
        _policy(settings),
        quota=settings.portbot.watch_quota,
        min_interval=settings.portbot.watch_min_interval,
        command=command,
        games=portbot.service_named if portbot is not None else None,
        check_target=target_checker(settings),
    )


def target_checker(
    settings: Settings,
) -> Callable[[str, tuple[int, ...], str | None], Awaitable[None]] | None:
    """Judge a watch's host as its checks will, at add time: resolve it here and apply the safety policy to every
    address (the probe's own refusals). With workers, they resolve and judge at each check instead: this
    machine's DNS view may not be theirs, so only address literals are judged here (by the desk itself)."""
    if settings.portbot.workers:
        return None
    from probes.engine import ProbeEngine

    engine = ProbeEngine(_policy(settings), _engine_config(settings))

    async def check(host: str, ports: tuple[int, ...], _game: str | None) -> None:
        # The game's id is not an SRV hint: a watch names its port, so no SRV lookup is needed to judge it.
        await engine.check_target(host, ports)

    return check


async def run_watches(
    settings: Settings,
    store: Store,
    portbot: Portbot,
    platform: Any,
    notifier: Any,
    *,
    stop: asyncio.Event,
) -> None:
    """The watch scheduler inside ``portbot discord`` and ``portbot slack``: the watches of ``platform`` (news
    through ``notifier``) and the command line's (through their webhooks), checked with the bot's own probe
    backend until ``stop``. A failure here is logged and never takes the bot down with it."""
    from bot.watch.models import Platform
    from bot.watch.scheduler import SchedulerConfig, run_scheduler
    from bot.watch.webhook import WebhookNotifier
    from bot.watch_cli import default_lease

    if portbot.probes is None:
        return
    config = SchedulerConfig(lease=default_lease(settings), min_every=settings.portbot.watch_min_interval)
    webhooks = WebhookNotifier()
    try:
        notifiers = {platform: notifier, Platform.CLI: webhooks}
        await run_scheduler(
            store, portbot.probes, notifiers, stop=stop, config=config, services=portbot.knowledge.service
        )
    except Exception:
        _log().exception("the watch scheduler stopped; watches here are not checked until a restart")
    finally:
        await webhooks.aclose()


def _policy(settings: Settings) -> SafetyPolicy:
    from probes.policy import SafetyPolicy

    return SafetyPolicy.from_strings(
        allow=settings.portbot.allow_networks,
        deny=settings.portbot.deny_networks,
        nat64=settings.portbot.nat64_prefixes,
        data_dir=settings.portbot.data_dir,  # where `portbot knowledge update` installs newer registries
    )


def _engine_config(settings: Settings) -> EngineConfig:
    from probes.engine import EngineConfig

    return EngineConfig(
        timeout=settings.portbot.probe_timeout,
        dns_servers=settings.portbot.dns_servers,
        icmp_rtt=settings.portbot.probe_icmp_rtt,
        ttl_rtt=settings.portbot.probe_ttl_rtt,
    )


def _rate_limits(settings: Settings) -> RateLimits:
    from probes.ratelimit import RateLimits

    return RateLimits(
        per_user=settings.portbot.limit_user,
        per_guild=settings.portbot.limit_guild,
        per_target=settings.portbot.limit_target,
    )


def worker_limits(settings: Settings) -> ConnectionLimits:
    """The worker's connection caps and deadlines from ``PORTBOT_WORKER_*``."""
    from probes.worker import ConnectionLimits

    p = settings.portbot
    return ConnectionLimits(
        max_connections=p.worker_max_connections,
        max_per_source=p.worker_max_per_source,
        header_timeout=p.worker_header_timeout,
        body_timeout=p.worker_body_timeout,
        idle_timeout=p.worker_idle_timeout,
    )


def build_probe_backend(
    settings: Settings, *, persistent_limits: bool = False, database: Database | None = None
) -> ServiceBackend:
    """Workers when PORTBOT_WORKERS is set, else the in-process engine (with a caveat in every reply).

    ``persistent_limits`` is for processes that come and go (``portbot probe``, ``ask``, the terminal chat):
    without Redis, their rate-limit counters live in ``$PORTBOT_DATA_DIR/ratelimits.sqlite3``, so a shell loop
    starts each run where the last one stopped. A long-running bot keeps them in memory.

    With ``database`` (the bots' store) the audit log goes there; without one (the one-shot commands, which
    must not load a database library) to the audit file."""
    from probes.audit import AuditLog
    from probes.ratelimit import ProbeRateLimiter
    from probes.service import ProbeService

    policy = _policy(settings)
    store = settings.portbot.data_dir / RATE_LIMIT_FILE if persistent_limits else None
    limiter = ProbeRateLimiter(
        _rate_limits(settings), storage_url=settings.portbot.redis_url, store_path=store
    )
    if database is not None:
        from bot.store.audit import StoreAuditSink

        sink = StoreAuditSink(database, settings.portbot.audit_keep_days)
        audit = AuditLog(settings.portbot.audit_path, sink=sink)
    else:
        audit = AuditLog(settings.portbot.audit_path)
    if settings.portbot.workers:
        from probes.client import WorkerClient

        secret = settings.portbot.worker_secret
        client = WorkerClient(settings.portbot.workers, secret.get_secret_value() if secret else "")
        service = ProbeService(source=client, limiter=limiter, audit=audit, policy=policy, local=False)
        return ServiceBackend(service, audit.close, limiter.aclose, client.aclose, links=client)
    from probes.engine import ProbeEngine

    engine = ProbeEngine(policy, _engine_config(settings))
    service = ProbeService(engine, limiter, audit, policy=policy)
    return ServiceBackend(service, audit.close, limiter.aclose)


def quick_probe(settings: Settings) -> QuickProbe | None:
    """``portbot probe``'s synchronous first try (probes/quick.py), with the same policy, persistent rate-limit
    file and audit file as :func:`build_probe_backend` with ``persistent_limits``; None with workers or Redis
    (their clients need an event loop: the normal path then runs alone)."""
    if settings.portbot.workers or settings.portbot.redis_url:
        return None
    from probes._audit_file import AuditFile
    from probes.quick import QuickProbe
    from probes.ratelimit import ProbeRateLimiter

    limiter = ProbeRateLimiter(_rate_limits(settings), store_path=settings.portbot.data_dir / RATE_LIMIT_FILE)
    return QuickProbe(_policy(settings), limiter, AuditFile(settings.portbot.audit_path))


def build_portbot(
    settings: Settings, *, persistent_limits: bool = False, database: Database | None = None
) -> Portbot:
    """The command core with real knowledge (cached in the data directory) and a probe backend built on first
    use (auditing to ``database`` when given)."""
    from bot.core.commands import Portbot

    return Portbot(
        knowledge=lambda: load_knowledge(settings),
        probes=lambda: build_probe_backend(settings, persistent_limits=persistent_limits, database=database),
    )


def load_knowledge(settings: Settings) -> KnowledgeBase:
    """The knowledge base, its compiled index cached under PORTBOT_DATA_DIR."""
    from knowledge import KnowledgeBase

    return KnowledgeBase.load(settings.portbot.data_dir)


def worker_config(settings: Settings, *, host: str, port: int | None) -> WorkerConfig:
    """The worker's configuration from the settings (PORTBOT_WORKER_SECRET must be set)."""
    from probes.worker import WorkerConfig

    secret = settings.portbot.worker_secret
    assert secret is not None
    return WorkerConfig(
        secret=secret.get_secret_value(),
        host=host,
        port=port if port is not None else settings.portbot.port or DEFAULT_WORKER_PORT,
        region=settings.portbot.worker_region,
        policy=_policy(settings),
        engine=_engine_config(settings),
        rate_limits=_rate_limits(settings),
        redis_url=settings.portbot.redis_url,
        audit_path=settings.portbot.audit_path,
        limits=worker_limits(settings),
        link_base_url=settings.portbot.link_base_url,
        link_host_v4=settings.portbot.link_host_v4,
        link_host_v6=settings.portbot.link_host_v6,
        link_ttl=settings.portbot.link_ttl,
        trusted_proxies=settings.portbot.trusted_proxies,
    )


def run_worker(settings: Settings, *, host: str, port: int | None) -> int:
    """``portbot worker``: serve the signed probe API until SIGTERM, auditing into the store."""
    from bot.settings import SettingsError
    from bot.store import store_for
    from bot.store.audit import StoreAuditSink
    from probes.worker import serve

    try:
        settings.require("PORTBOT_WORKER_SECRET")
    except SettingsError as err:
        print(f"portbot: {err}")
        return err.exit_code
    import asyncio

    config = worker_config(settings, host=host, port=port)
    _logging(settings)
    database = store_for(settings)

    async def main() -> None:
        try:
            # A bad PORTBOT_DATABASE_URL stops the worker now, not at its first audit row.
            await database.get()
            sink = StoreAuditSink(database, settings.portbot.audit_keep_days)
            await serve(dataclasses.replace(config, audit_sink=sink))
        finally:
            await database.close()

    asyncio.run(main())
    return 0


def run_platforms(
    settings: Settings,
    *,
    discord: bool = False,
    slack: bool = False,
    sync: bool = False,
    http: bool = False,
    shards: tuple[list[int] | None, int | None] = (None, None),
    slack_process: int = 0,
) -> int:
    """Run the chat platforms asked for, side by side, until interrupted (Ctrl-C or SIGTERM).

    ``slack_process`` is which of ``PORTBOT_SLACK_PROCESSES`` HTTP processes this is (bot/slack/processes.py)."""
    import asyncio
    import signal

    from bot.settings import SettingsError
    from bot.store import store_for

    _logging(settings)
    # One store for the process: the adapters' settings, saved servers, shares and installations, and the audit log.
    database = store_for(settings)
    # Several Slack processes must share their rate-limit counters: without Redis, in the SQLite counter file
    # the command-line processes use (a counter in each process's memory would multiply every limit by N).
    shared_limits = slack and http and settings.portbot.slack_processes > 1
    portbot = build_portbot(settings, database=database, persistent_limits=shared_limits)

    async def main() -> None:
        # SIGTERM (a platform stopping the dyno, honcho, systemd) cancels like Ctrl-C, so adapters close cleanly.
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        terminated = asyncio.Event()

        def terminate() -> None:
            terminated.set()
            task.cancel()

        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signal.SIGTERM, terminate)
        runs = []
        if discord:
            from bot import discord as discord_adapter

            shard_ids, shard_count = shards
            runs.append(
                discord_adapter.run(
                    settings,
                    portbot,
                    sync=sync,
                    database=database,
                    shard_ids=shard_ids,
                    shard_count=shard_count,
                )
            )
        if slack and not sync:
            from bot import slack as slack_adapter

            runs.append(
                slack_adapter.run(
                    settings, portbot, http=http, database=database, process_index=slack_process
                )
            )
        try:
            await asyncio.gather(*runs)
        except asyncio.CancelledError:
            _log().info("stopping")
            if not terminated.is_set():
                raise  # Ctrl-C: asyncio.run turns this into KeyboardInterrupt, exit status 130
        finally:
            await portbot.aclose()
            await database.close()

    import aiohttp

    try:
        asyncio.run(main())
    except SettingsError as err:
        for line in str(err).splitlines():
            print(f"portbot: {line}", file=sys.stderr)
        return err.exit_code
    except (OSError, aiohttp.ClientError) as err:
        print(f"portbot: could not reach the chat service: {err}", file=sys.stderr)
        return 1
    return 0


def _log() -> logging.Logger:
    import logging  # on first use: `portbot probe` imports this module, and logging costs ~10 ms

    return logging.getLogger(__name__)


def _logging(settings: Settings) -> None:
    from bot import logs

    logs.configure(settings.portbot.log_level, settings.portbot.log_format)
