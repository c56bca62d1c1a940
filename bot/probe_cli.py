"""``portbot probe HOST [PORT ...] [--udp|--tcp] [--json] [--via local|workers]``.

Exit status: 0 when the probe ran (whatever the verdict), 2 for refused or invalid input (one line on stderr
saying why), 1 for an internal failure.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from dataclasses import replace
from typing import TYPE_CHECKING

from bot.core import intents
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.app import ServiceBackend
    from probes.models import ProbeReport, ProbeRequest, Requester


def run(settings: Settings, args: argparse.Namespace) -> int:
    from probes.errors import InputError, PortbotError, ProbeError, RateLimited, RefusedTarget
    from probes.targets import parse_target

    words = list(args.ports) + (["udp"] if args.udp else ["tcp"] if args.tcp else [])
    intent = intents.check_args(args.host, words)
    if isinstance(intent, intents.Invalid):
        return _refuse(intent.message)
    assert isinstance(intent, intents.Check)
    if intent.game:  # chat takes a game's name as a protocol hint; this command takes ports and --tcp/--udp
        return _refuse(f"I couldn't read `{intent.game.split()[0][:40]}` as a port number.")
    try:
        ports = intent.ports or _port_from_target(parse_target(intent.target).port)
        if args.via == "workers" and not settings.portbot.workers:
            return _refuse("--via workers needs PORTBOT_WORKERS (comma-separated worker URLs).")
        if args.via == "local":
            settings.portbot = settings.portbot.model_copy(update={"workers": ()})
        from bot import app
        from probes.models import ProbeRequest, Requester

        # Limits kept in PORTBOT_DATA_DIR (or Redis): a shell loop of `portbot probe` must not reset them.
        backend = app.build_probe_backend(settings, persistent_limits=True)
        # check_args never says "both" (only an entry's button does); the name keeps mypy honest.
        protocol = "auto" if intent.protocol == "both" else intent.protocol
        request = ProbeRequest(target=intent.target, ports=ports, protocol=protocol)
        requester = Requester(platform="cli", user_id=_user())
        reports = asyncio.run(_probe(backend, request, requester))
    except (InputError, RefusedTarget, RateLimited) as err:
        return _refuse(str(err), err.hint)
    except ProbeError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return 2 if type(err).__name__ == "ResolveError" else 1
    except PortbotError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return 1

    if args.json:
        print(json.dumps({"target": intent.target, "reports": [r.to_dict() for r in reports]}, indent=2))
    else:
        from bot.core.probe_replies import probe_reply
        from bot.terminal import write_reply

        reply = probe_reply(reports, request)
        write_reply(replace(reply, actions=()), sys.stdout)
    return 0


async def _probe(backend: ServiceBackend, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
    try:
        return await backend.probe(request, requester)
    finally:
        await backend.aclose()


def _port_from_target(port: int | None) -> tuple[int, ...]:
    from probes.errors import InputError

    if port is None:
        raise InputError(
            "Which port should I check? Give it after the host, e.g. `portbot probe example.com 25565`."
        )
    return (port,)


def _refuse(message: str, hint: str | None = None) -> int:
    line = f"portbot: {message}" + (f" {hint}" if hint else "")
    print(" ".join(line.split()), file=sys.stderr)
    return 2


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
