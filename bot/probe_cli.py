"""``portbot probe HOST [PORT ...] [--udp|--tcp] [--json] [--via local|workers]``.

Exit status: 0 when the probe ran (whatever the verdict); otherwise the error's own (probes/errors.py): 2 for
a refused or invalid request (one line on stderr saying why), 1 for a failure on the bot's side.
"""

from __future__ import annotations

import getpass
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING, NamedTuple

from bot.core import intents
from bot.settings import Settings

if TYPE_CHECKING:
    import argparse

    from bot.app import ServiceBackend
    from probes.models import ProbeReport, ProbeRequest, Requester


class ProbeArgs(NamedTuple):
    """The probe command's arguments as bot/cli.py reads the plain forms without argparse (whose set-up alone
    costs more than a quick probe); the same names as argparse's namespace."""

    host: str
    ports: list[str]
    udp: bool = False
    tcp: bool = False
    json: bool = False
    via: str | None = None


def run(settings: Settings, args: argparse.Namespace | ProbeArgs) -> int:
    """Probe and print; a refused or failed probe raises, and bot.cli.main() gives its sentence and exit status."""
    from probes.errors import InputError
    from probes.targets import parse_target

    words = list(args.ports) + (["udp"] if args.udp else ["tcp"] if args.tcp else [])
    intent = intents.check_args(args.host, words)
    if isinstance(intent, intents.Invalid):
        raise InputError(intent.message)
    assert isinstance(intent, intents.Check)
    if intent.game:  # chat takes a game's name as a protocol hint; this command takes ports and --tcp/--udp
        raise InputError(f"I couldn't read `{intent.game.split()[0][:40]}` as a port number.")
    ports = intent.ports or _port_from_target(parse_target(intent.target).port)
    if args.via == "workers" and not settings.portbot.workers:
        raise InputError("--via workers needs PORTBOT_WORKERS (comma-separated worker URLs).")
    if args.via == "local":
        settings.portbot = settings.portbot.model_copy(update={"workers": ()})
    from bot import app
    from probes.models import ProbeRequest, Requester

    # check_args never says "both" (only an entry's button does); the name keeps mypy honest.
    protocol = "auto" if intent.protocol == "both" else intent.protocol
    request = ProbeRequest(target=intent.target, ports=ports, protocol=protocol)
    requester = Requester(platform="cli", user_id=_user())
    reports, charged = _quick(settings, request, requester)
    if reports is None:
        import asyncio

        # Limits kept in PORTBOT_DATA_DIR (or Redis): a shell loop of `portbot probe` must not reset them.
        backend = app.build_probe_backend(settings, persistent_limits=True)
        reports = asyncio.run(_probe(backend, request, requester, charged=charged))

    if args.json:
        print(json.dumps({"target": intent.target, "reports": [r.to_dict() for r in reports]}, indent=2))
    else:
        from bot.core.probe_replies import probe_reply
        from bot.terminal_render import write_reply

        reply = probe_reply(reports, request)
        write_reply(replace(reply, actions=()), sys.stdout)
    return 0


def _quick(
    settings: Settings, request: ProbeRequest, requester: Requester
) -> tuple[list[ProbeReport] | None, bool]:
    """The quick path's reports (probes/quick.py: an address and TCP ports answered at once, without asyncio),
    or None and whether it already charged the rate limits, for the engine path to take over."""
    from bot import app

    quick = app.quick_probe(settings)
    if quick is None:
        return None, False
    try:
        report, charged = quick.run(request, requester)
    finally:
        quick.close()
    return ([report] if report is not None else None), charged


async def _probe(
    backend: ServiceBackend, request: ProbeRequest, requester: Requester, *, charged: bool
) -> list[ProbeReport]:
    try:
        return await backend.service.run_all(request, requester, charged=charged)
    finally:
        await backend.aclose()


def _port_from_target(port: int | None) -> tuple[int, ...]:
    from probes.errors import InputError

    if port is None:
        raise InputError(
            "Which port should I check? Give it after the host, e.g. `portbot probe example.com 25565`."
        )
    return (port,)


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
