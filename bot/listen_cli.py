"""``portbot listen PORT... [--udp] [--link URL]``: the member's side of "check my own server".

The work is in :mod:`probes.listen_standalone` (stdlib only, so the same code runs as a single-file script);
this module only wires it into ``portbot``. It is imported while the ``portbot`` parser is built, so it
must stay light: the standalone module (urllib, http.client, xml: ~0.3 s measured) loads only in :func:`run`.
The options mirror ``listen_standalone.add_options``; a test keeps the two the same.
"""

from __future__ import annotations

import argparse
import sys

DEFAULT_TIMEOUT = 300.0

NO_LINK = (
    "portbot listen: give the link Portbot sent you, e.g. portbot listen 25565 --link https://…; "
    "ask for one with /port check in chat, or set PORTBOT_WORKERS so portbot listen can ask a worker itself."
)


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    listen = sub.add_parser("listen", help="check that a port forward reaches this machine")
    listen.add_argument("ports", nargs="+", help="up to 5 port numbers")
    listen.add_argument("--udp", action="store_true", help="listen on UDP instead of TCP")
    listen.add_argument("--json", action="store_true", help="machine-readable output")
    listen.add_argument(
        "--timeout", type=float, default=DEFAULT_TIMEOUT, help="stop after this many seconds (default 300)"
    )
    router = listen.add_mutually_exclusive_group()
    router.add_argument(
        "--router", default=None, help="the router to ask for its WAN address (default: gateway)"
    )
    router.add_argument("--no-router", action="store_true", help="don't ask the router for its WAN address")
    listen.add_argument("--link", default=None, help="the one-time link Portbot gave you")


def run(args: argparse.Namespace) -> int:
    from probes import listen_standalone

    try:
        ports = listen_standalone.parse_ports(args.ports)
        link = listen_standalone.check_link(args.link) if args.link is not None else None
    except ValueError as exc:
        print(f"portbot listen: {exc}", file=sys.stderr)
        return 2
    if link is None:
        made = _link_from_worker(ports, "udp" if args.udp else "tcp")
        if isinstance(made, int):
            return made
        link = made
    from probes import _upnp_igd

    # async-upnp-client (portbot[listen]) when installed; the standalone module's stdlib client otherwise.
    upnp_query = _upnp_igd.query if _upnp_igd.available() else None
    return listen_standalone.run_args(args, ports, link, upnp_query)


def _link_from_worker(ports: list[int], protocol: str) -> str | int:
    """A fresh link from PORTBOT_WORKERS, or the exit status after saying why there is none."""
    import asyncio

    from bot.settings import Settings
    from probes.errors import PortbotError

    settings = Settings.load()  # a bad setting raises SettingsError: bot.cli.main says which, exit 2
    if not settings.portbot.workers or settings.portbot.worker_secret is None:
        print(NO_LINK, file=sys.stderr)
        return 2
    secret = settings.portbot.worker_secret.get_secret_value()

    async def create() -> str:
        from bot.link_cli import _user
        from probes.client import WorkerClient
        from probes.models import Requester

        async with WorkerClient(settings.portbot.workers, secret) as client:
            made = await client.create_link(ports, protocol, Requester(platform="cli", user_id=_user()))
        return made.url

    try:
        return asyncio.run(create())
    except PortbotError as err:
        print(f"portbot listen: {err}", file=sys.stderr)
        return 1
