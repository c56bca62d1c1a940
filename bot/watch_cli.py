"""``portbot watch add|list|remove|run``: watches from the command line, and the scheduler that checks them.

    portbot watch add HOST PORT [--udp] [--every SECONDS] [--notify URL] [--game KEY] [--label TEXT]
    portbot watch list [--json]
    portbot watch remove ID
    portbot watch run [--once]

Command-line watches belong to the scope ``cli`` (``PORTBOT_WATCH_QUOTA`` of them). Their alerts go to the
``--notify`` webhook (Discord, Slack, or any URL taking a JSON POST); a webhook cannot edit a message, so they
get alerts only, no status message. Without ``--notify``, ``watch run`` logs them. ``watch run`` also checks
the watches of the chat platforms whose notifiers it has (the bots run it for theirs).

Exit status: 0 done; 2 for something the person can fix (bad port, a private address, too often, quota); 1 when
the database or the probe could not be used. Only this module's functions import the store and the scheduler,
so ``portbot ask`` / ``probe`` never load SQLAlchemy.
"""

from __future__ import annotations

import argparse
import contextlib
from typing import TYPE_CHECKING, Any

from probes.errors import InputError

if TYPE_CHECKING:
    from bot.settings import Settings
    from bot.store import Store
    from bot.watch.models import Watch


def add_parser(sub: Any) -> None:
    """The ``watch`` command and its actions (argparse only: the ``probe`` path builds this parser too)."""
    watch = sub.add_parser("watch", help="watch servers and alert on changes (add, list, remove, run)")
    actions = watch.add_subparsers(dest="action", metavar="ACTION", required=True)
    add = actions.add_parser(
        "add",
        help="watch HOST PORT",
        description="Watch a server's port. Command-line watches get alerts only (a webhook can't edit a "
        "status message): to --notify URL (a Discord or Slack incoming webhook, or any URL taking a JSON "
        "POST), or in `portbot watch run`'s log without one.",
    )
    add.add_argument("host", help="host name or address")
    add.add_argument("port", help="port number")
    add.add_argument("--udp", action="store_true", help="check UDP instead of TCP")
    add.add_argument(
        "--every",
        type=str,
        default=None,
        help="seconds between checks (default and least: PORTBOT_WATCH_MIN_INTERVAL)",
    )
    add.add_argument(
        "--notify", metavar="URL", default=None, help="webhook for alerts (Discord, Slack or JSON)"
    )
    add.add_argument(
        "--game", metavar="KEY", default=None, help="the game it runs (minecraft, valheim): players"
    )
    add.add_argument(
        "--label", metavar="TEXT", default=None, help="a name shown in alerts instead of the host"
    )
    listing = actions.add_parser("list", help="list the watches")
    listing.add_argument("--json", action="store_true", help="machine-readable output")
    remove = actions.add_parser("remove", help="remove a watch")
    remove.add_argument("id", help="the watch's number, from `portbot watch list`")
    run = actions.add_parser("run", help="check the watches on schedule until stopped (the scheduler)")
    run.add_argument("--once", action="store_true", help="check what is due now, deliver alerts, and exit")
    run.add_argument(
        "--lease",
        type=float,
        default=None,
        help="seconds a claimed check is held before another scheduler may take it (default: from "
        "PORTBOT_PROBE_TIMEOUT; at least as long as a check can take)",
    )


def run(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    if args.action == "run":
        return _run_scheduler(settings, args)
    action = {"add": _add, "list": _list, "remove": _remove}[args.action]
    return asyncio.run(_with_store(settings, action, args))


async def _with_store(settings: Settings, action: Any, args: argparse.Namespace) -> int:
    store = await open_watch_store(settings)
    try:
        result: int = await action(settings, store, args)
        return result
    finally:
        await store.close()


async def open_watch_store(settings: Settings, database: Any = None) -> Store:
    from bot.app import open_watch_store as open_store

    return await open_store(settings, database)


# --- add ----------------------------------------------------------------------------------------------------


async def _add(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from bot.core.watch_replies import duration
    from bot.watch.models import NewWatch, Platform, WatchQuotaReached
    from bot.watch.repository import WatchRepository

    host = _host(args.host)
    port = _port(args.port)
    every = _every(args.every, settings.portbot.watch_min_interval)
    notify = _notify_url(args.notify)
    label = _label(args.label)
    game, protocol = _game(settings, args.game, port, "udp" if args.udp else None)
    await _check_target(settings, host, port)
    new = NewWatch(
        platform=Platform.CLI,
        scope_id="cli",
        created_by=_user(),
        host=host,
        port=port,
        protocol=protocol,
        every=every,
        game=game,
        label=label,
        notify_url=notify,
    )
    try:
        watch = await WatchRepository(store).add(new, quota=settings.portbot.watch_quota)
    except WatchQuotaReached:
        quota = settings.portbot.watch_quota
        raise WatchLimit(
            f"There are already {quota} command-line watches, the most allowed (PORTBOT_WATCH_QUOTA).",
            hint="Remove one with `portbot watch remove ID` first.",
        ) from None
    where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    print(f"Watch #{watch.id}: {where}/{protocol.upper()} every {duration(every)}.")
    if notify:
        from bot.watch.webhook import kind_of

        kind = {"discord": "a Discord webhook", "slack": "a Slack webhook", "json": "a JSON webhook"}
        print(f"Alerts go to {kind[kind_of(notify)]} when it goes down or comes back (no status message).")
    else:
        print("No --notify URL: alerts appear in the log of `portbot watch run`.")
    print("`portbot watch run` checks it (so do `portbot discord` and `portbot slack`).")
    return 0


class WatchLimit(InputError):
    """Too many command-line watches."""


def _host(text: str) -> str:
    from bot.core import intents
    from probes.targets import parse_target

    target = parse_target(intents.clean(text))  # InputError with the probe's own words
    if target.port is not None:
        raise InputError(
            "Give the port on its own after the host, e.g. `portbot watch add example.com 25565`."
        )
    return target.host


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or not 1 <= int(text) <= 65535:
        raise InputError(f"I couldn't read `{text[:40]}` as a port number (1 to 65535).")
    return int(text)


def _every(text: str | None, least: float) -> float:
    from bot.core.watch_replies import duration

    if text is None:
        return least
    try:
        seconds = float(text)
    except ValueError:
        seconds = float("nan")
    if not seconds == seconds or seconds in (float("inf"), float("-inf")):
        raise InputError(
            f"--every takes a number of seconds, e.g. --every {least:g}; `{text[:40]}` isn't one."
        )
    if seconds < least:
        raise InputError(
            f"Checking every {duration(seconds)} is too often: the shortest interval here is "
            f"{duration(least)} (PORTBOT_WATCH_MIN_INTERVAL)."
        )
    if seconds > 7 * 86_400:
        raise InputError("--every is at most a week (604800 seconds).")
    return seconds


def _notify_url(text: str | None) -> str | None:
    if text is None:
        return None
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(text.strip())
        valid = parts.scheme.lower() in ("http", "https") and bool(parts.hostname)
        parts.port  # noqa: B018 (raises ValueError for a bad port)
    except ValueError:
        valid = False
    if not valid:
        raise InputError(
            "--notify takes a webhook URL starting with https://, e.g. a Discord or Slack incoming webhook."
        )
    return text.strip()


def _label(text: str | None) -> str | None:
    from bot.core.text import drop_unsafe

    if text is None:
        return None
    label = " ".join(drop_unsafe(text).split())
    if not label:
        return None
    if len(label) > 80:
        raise InputError("--label is at most 80 characters.")
    return label


def _game(settings: Settings, key: str | None, port: int, asked: str | None) -> tuple[str | None, Any]:
    """The curated entry ``key`` names (its id) and the protocol to check: ``--udp``, else what the entry
    lists for ``port`` (UDP for Valheim's 2456), else TCP."""
    if key is None:
        return None, asked or "tcp"
    from bot.app import load_knowledge
    from bot.core.checks import find_service, plan

    service = find_service(load_knowledge(settings).services, key)
    if service is None:
        raise InputError(
            f"I don't know the game or app `{key[:40]}`.",
            hint="Use its name as in `portbot ask valheim`, or leave --game out to watch the port alone.",
        )
    if asked is not None:
        return service.id, asked
    parts = plan((port,), "auto", service).parts
    protocols = {part.protocol for part in parts if port in part.ports}
    return service.id, "udp" if protocols == {"udp"} else "tcp"


async def _check_target(settings: Settings, host: str, port: int) -> None:
    """Refuse at once what every check would refuse, with the probe's own words: the safety policy on an
    address, or on every address a name resolves to here (with workers, they resolve and judge each check)."""
    from bot.app import _policy, target_checker
    from probes.policy import parse_ip_literal

    policy = _policy(settings)
    policy.check_ports((port,))
    address = parse_ip_literal(host)
    if address is not None:
        policy.check_address(address)
        return
    check = target_checker(settings)
    if check is not None:
        await check(host, (port,), None)


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()[:64]
    except (KeyError, OSError):
        return "cli"


# --- list, remove ---------------------------------------------------------------------------------------------


async def _list(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from bot.watch.models import Platform
    from bot.watch.repository import WatchRepository

    found = await WatchRepository(store).list(Platform.CLI, "cli")
    if args.json:
        import json

        print(json.dumps({"watches": [_as_json(w) for w in found]}, indent=2))
        return 0
    if not found:
        print("No watches yet. Add one with `portbot watch add HOST PORT`.")
        return 0
    for watch in found:
        print(_line(watch))
    return 0


def _as_json(watch: Watch) -> dict[str, Any]:
    from bot.watch.leases import summary_from

    last = summary_from(watch.last_result)
    return {
        "id": watch.id,
        "host": watch.host,
        "port": watch.port,
        "protocol": watch.protocol,
        "every": watch.every,
        "game": watch.game,
        "label": watch.label,
        "notify": _masked_url(watch.notify_url),
        "state": None if watch.state is None else str(watch.state),
        "state_since": watch.state_since,
        "last_checked": watch.last_checked,
        "players": list(last.players) if last and last.players else None,
        "reason": last.reason if last else None,
    }


def _line(watch: Watch) -> str:
    import time

    from bot.core.watch_replies import clock, duration

    where = f"[{watch.host}]:{watch.port}" if ":" in watch.host else f"{watch.host}:{watch.port}"
    state = "not checked yet" if watch.state is None else str(watch.state)
    if watch.state is not None and watch.state_since is not None:
        state += f" since {clock(watch.state_since)} ({duration(time.time() - watch.state_since)})"
    extras = [f"every {duration(watch.every)}"]
    if watch.game:
        extras.append(watch.game)
    if watch.label:
        extras.append(f"“{watch.label}”")
    if watch.notify_url:
        extras.append(f"alerts to {_masked_url(watch.notify_url)}")
    return f"#{watch.id}  {where}/{watch.protocol.upper()}  {state}  ({', '.join(extras)})"


def _masked_url(url: str | None) -> str | None:
    # A webhook URL is a secret (anyone holding it can post): show only where it points.
    if url is None:
        return None
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.hostname}/…"


async def _remove(settings: Settings, store: Store, args: argparse.Namespace) -> int:
    from bot.watch.models import Platform, WatchNotFound
    from bot.watch.repository import WatchRepository

    text = str(args.id).lstrip("#")
    if not text.isascii() or not text.isdigit():
        raise InputError(f"`{args.id[:40]}` isn't a watch number; `portbot watch list` shows them.")
    try:
        watch = await WatchRepository(store).remove(Platform.CLI, "cli", int(text))
    except WatchNotFound:
        raise InputError(f"There is no watch #{text}. `portbot watch list` shows them.") from None
    print(f"Removed watch #{watch.id} ({watch.host}:{watch.port}/{watch.protocol.upper()}).")
    return 0


# --- run ------------------------------------------------------------------------------------------------------


def default_lease(settings: Settings) -> float:
    """Twice the longest a check may take (resolving, probing, identifying), and at least 30 s."""
    timeout = settings.portbot.probe_timeout
    deadline = 3 * timeout + 2.0 + 1.0  # as probes.engine: SRV + addresses, the probe, identification, margin
    return max(30.0, 2 * deadline)


def _run_scheduler(settings: Settings, args: argparse.Namespace) -> int:
    import asyncio

    from bot import app, logs

    if args.lease is not None and not 1 <= args.lease <= 3600:
        raise InputError("--lease takes seconds from 1 to 3600.")
    logs.configure(settings.portbot.log_level, settings.portbot.log_format)
    import logging

    # One line per statement (aiosqlite) or per migration step (Alembic) would drown the watch lines.
    logging.getLogger("aiosqlite").setLevel(logging.INFO)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    try:
        asyncio.run(_schedule(settings, args, app.build_probe_backend(settings)))
    except KeyboardInterrupt:
        return 0
    return 0


async def _schedule(settings: Settings, args: argparse.Namespace, backend: Any) -> None:
    import asyncio
    import signal
    import time

    from bot.store import store_for
    from bot.watch.checker import Checker
    from bot.watch.models import Platform
    from bot.watch.scheduler import Scheduler, SchedulerConfig, owner_name
    from bot.watch.webhook import WebhookNotifier

    database = store_for(settings)  # the process's one store: watches, and Slack's installs for their tokens
    store = await open_watch_store(settings, database)
    services = _services(settings)
    config = SchedulerConfig(
        lease=args.lease or default_lease(settings), min_every=settings.portbot.watch_min_interval
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, stop.set)
    async with contextlib.AsyncExitStack() as stack:
        stack.push_async_callback(database.close)
        stack.push_async_callback(backend.aclose)
        notifiers = await chat_notifiers(settings, stack, database)
        webhooks = WebhookNotifier()
        stack.push_async_callback(webhooks.aclose)
        notifiers[Platform.CLI] = webhooks
        scheduler = Scheduler(
            store,
            Checker(backend, services=services),
            notifiers,
            config=config,
            platforms=set(notifiers),
            owner=owner_name(),
            clock=time.time,
        )
        if args.once:
            await scheduler.run_once()
        else:
            await scheduler.run(stop)


async def chat_notifiers(
    settings: Settings, stack: contextlib.AsyncExitStack, database: Any = None
) -> dict[Any, Any]:
    """The Discord and Slack notifiers this process can build from its settings (a platform whose tokens are
    not set is left to the bots), entered on ``stack`` so they close with it."""
    from bot.watch.models import Platform

    notifiers: dict[Any, Any] = {}
    if settings.discord.token:
        from bot.discord.notifier import notifier_from_settings as discord_notifier

        notifiers[Platform.DISCORD] = await stack.enter_async_context(discord_notifier(settings))
    if settings.slack.bot_token or settings.slack.client_id:
        from bot.slack.app import notifier_from_settings as slack_notifier

        notifiers[Platform.SLACK] = slack_notifier(settings, database)
    return notifiers


def _services(settings: Settings) -> Any:
    """A curated entry by id, from the knowledge base loaded on the first game watch."""
    from bot.app import load_knowledge

    loaded: list[Any] = []

    def service(key: str) -> Any:
        if not loaded:
            loaded.append(load_knowledge(settings))
        return loaded[0].service(key)

    return service
