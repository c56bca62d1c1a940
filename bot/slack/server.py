"""Running the Slack app: Socket Mode (no public URL needed) or HTTP (a public deployment, OAuth installs)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.app.async_server import AsyncSlackAppServer

from bot import runtime
from bot.core.commands import Portbot
from bot.settings import Settings
from bot.slack._lazy import TrackedLazyRunner
from bot.slack.app import EVENTS_PATH, build_app, lazy_runner, notifier_for, require_settings
from bot.slack.processes import PROCESS_HEADER, Children, child_command, parent_gone
from bot.store import LazyStore, store_for

if TYPE_CHECKING:
    pass

log = logging.getLogger(__name__)

HEALTH_PATH = "/health"
SHUTDOWN_GRACE = 10.0  # seconds to let answers in flight reach Slack before stopping


async def run(
    settings: Settings,
    portbot: Portbot,
    *,
    http: bool = False,
    database: LazyStore | None = None,
    process_index: int = 0,
    child_argv: Callable[[int], list[str]] = child_command,
) -> None:
    """Serve Slack until cancelled. Raises SettingsError (one line a problem) before connecting anywhere.

    State lives in ``database`` (the process's store; without one, the store the settings name, opened here).
    Over HTTP with ``PORTBOT_SLACK_PROCESSES`` above 1, the first process (``process_index`` 0) starts the others
    (bot/slack/processes.py), each with ``child_argv(index)`` (a bench swaps it); a later one serves until
    cancelled or until the first is gone."""
    require_settings(settings, http=http)
    from bot.app import open_watch_store, run_watches, watch_desk
    from bot.watch.models import Platform

    owned = None
    if database is None:
        owned = database = store_for(settings)
    try:
        # Open and upgrade now, not inside the first request's 3-second window.
        store = await open_watch_store(settings, database)
        # One HTTP session for the answers (response_url posts, Web API calls): connections and TLS are reused.
        async with aiohttp.ClientSession() as session:
            desk = watch_desk(settings, store, command="/port watch", portbot=portbot)
            app = build_app(settings, portbot, http=http, session=session, watches=desk, database=database)
            # The watch scheduler runs beside the app on the same store: Slack news through the app's Web API
            # client with each workspace's token, command-line watches' through their webhooks.
            # Only the first of several HTTP processes runs it (bot/slack/processes.py says why).
            stop = asyncio.Event()
            watching = None
            if process_index == 0:
                watching = asyncio.create_task(
                    run_watches(
                        settings,
                        store,
                        portbot,
                        Platform.SLACK,
                        notifier_for(app, settings, http=http),
                        stop=stop,
                    )
                )
            try:
                await _serve(
                    app, settings, portbot, http=http, process_index=process_index, child_argv=child_argv
                )
            finally:
                stop.set()
                if watching is not None:
                    await watching
    finally:
        if owned is not None:
            await owned.close()


async def _serve(
    app: AsyncApp,
    settings: Settings,
    portbot: Portbot,
    *,
    http: bool,
    process_index: int = 0,
    child_argv: Callable[[int], list[str]] = child_command,
) -> None:
    await _warm(portbot)
    children = None
    try:
        if http:
            count = settings.portbot.slack_processes
            runner = await start_http(
                app, port=settings.slack.port, process_index=process_index if count > 1 else None
            )
            if count > 1:
                log.info(
                    "Slack app process %d of %d listening on port %s (%s)",
                    process_index + 1, count, settings.slack.port, EVENTS_PATH,
                )  # fmt: skip
            else:
                log.info("Slack app listening on port %s (%s)", settings.slack.port, EVENTS_PATH)
            runtime.started()
            try:
                if process_index > 0:
                    await parent_gone()
                else:
                    if count > 1:
                        # Started only now: the store is upgraded and the port is ours, so they find both ready.
                        children = Children(count, child_argv)
                        await children.start()
                    await asyncio.Event().wait()
            finally:
                await runner.cleanup()
        else:
            assert settings.slack.app_token is not None  # build_app required it
            handler = AsyncSocketModeHandler(app, app_token=settings.slack.app_token.get_secret_value())
            await handler.connect_async()  # type: ignore[no-untyped-call]
            log.info("Slack app connected over Socket Mode")
            runtime.started()
            try:
                await asyncio.Event().wait()
            finally:
                await handler.close_async()  # type: ignore[no-untyped-call]
    finally:
        if children is None:
            await _finish(lazy_runner(app))
        else:  # the children drain their answers while this process drains its own
            await asyncio.gather(_finish(lazy_runner(app)), children.stop(SHUTDOWN_GRACE + 5))


async def start_http(
    app: AsyncApp, *, port: int, host: str | None = None, process_index: int | None = None
) -> web.AppRunner:
    """Serve ``app`` (and, with OAuth, its install and redirect pages) on ``host:port``; all interfaces by
    default, as a public deployment needs. Returns the runner; ``await runner.cleanup()`` stops it.

    With a ``process_index`` the port is bound with SO_REUSEPORT, beside the other processes serving it, and
    every response names the process in :data:`PROCESS_HEADER`."""
    server = AsyncSlackAppServer(port=port, path=EVENTS_PATH, app=app, host=host)
    server.web_app.add_routes([web.get(HEALTH_PATH, _health)])
    if process_index is not None:
        server.web_app.on_response_prepare.append(_named(process_index))
    runner = web.AppRunner(server.web_app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host=host, port=port, reuse_port=process_index is not None).start()
    except BaseException:
        await runner.cleanup()
        raise
    return runner


async def _finish(lazy: TrackedLazyRunner) -> None:
    """Let answers in flight reach Slack, for a while; then give up on them."""
    try:
        async with asyncio.timeout(SHUTDOWN_GRACE):
            await lazy.drain()
    except TimeoutError:
        lazy.cancel()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(1):
                await lazy.drain()


def _named(index: int) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    value = str(index)

    async def name(_: web.Request, response: web.StreamResponse) -> None:
        response.headers[PROCESS_HEADER] = value

    return name


async def _health(_: web.Request) -> web.Response:
    return web.Response(text="ok\n")


async def _warm(portbot: Portbot) -> None:
    """Load the knowledge base before the first question, off the event loop."""
    try:
        await asyncio.to_thread(lambda: portbot.knowledge)
    except Exception:  # the first lookup will try again and answer with an apology if it must
        log.exception("could not load the knowledge base at start-up")
