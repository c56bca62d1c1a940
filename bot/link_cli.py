"""``portbot link PORT... [--udp|--tcp] [--json] [--wait SECONDS]``: check your own server from outside.

Asks a worker (``PORTBOT_WORKERS``) for a one-time link, prints the URL alone on the first line of stdout
(flushed, so a script can read it at once), waits for the link to be opened on the server's network, then
prints the verdict for the address the visit came from; with ``--json`` the same per-port ``state`` JSON as
``portbot probe --json``, plus a ``link`` object.

Exit status: 0 when the check ran (whatever the verdict), 3 when the link expired (or ``--wait`` ran out)
unused, 2 for invalid input or missing settings, 1 when the worker failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import replace
from typing import TYPE_CHECKING, Literal

from bot.settings import Settings

if TYPE_CHECKING:
    from probes.links import LinkResult

EXPIRED = 3


def run(settings: Settings, args: argparse.Namespace) -> int:
    from probes.errors import InputError, PortbotError, RateLimited, RefusedTarget

    if not settings.portbot.workers:
        return _refuse(
            "`portbot link` needs a worker that your server can reach: set PORTBOT_WORKERS (and "
            "PORTBOT_WORKER_SECRET) to a `portbot worker` on the internet."
        )
    ports: list[int] = []
    for word in args.ports:
        if not word.isascii() or not word.isdigit() or not 1 <= int(word) <= 65535:
            return _refuse(f"I couldn't read `{word[:40]}` as a port number (1 to 65535).")
        ports.append(int(word))
    if args.wait is not None and not args.wait > 0:
        return _refuse("--wait takes a number of seconds above 0.")
    protocol: Literal["auto", "tcp", "udp"] = "udp" if args.udp else "tcp" if args.tcp else "auto"
    try:
        outcome = asyncio.run(_check(settings, tuple(ports), protocol, args.wait))
    except (InputError, RefusedTarget, RateLimited) as err:
        return _refuse(str(err), err.hint)
    except PortbotError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return 1
    if isinstance(outcome, str):
        print(f"portbot: {outcome}", file=sys.stderr)
        return EXPIRED
    return _show(outcome, as_json=args.json)


async def _check(
    settings: Settings, ports: tuple[int, ...], protocol: Literal["auto", "tcp", "udp"], wait: float | None
) -> LinkResult | str:
    """The visit's result, or the sentence saying why there is none."""
    from probes.client import WorkerClient
    from probes.models import Requester

    secret = settings.portbot.worker_secret
    assert secret is not None  # the settings refuse PORTBOT_WORKERS without it
    async with WorkerClient(settings.portbot.workers, secret.get_secret_value()) as client:
        link = await client.create_link(ports, protocol, Requester(platform="cli", user_id=_user()))
        print(link.url, flush=True)
        left = link.expires_at - time.time() + 2  # a little past expiry, for the worker to say so
        try:
            result = await client.wait_link(link.id, min(wait, left) if wait else left)
        except TimeoutError:
            return f"Nobody opened the link within {wait:g} seconds; it still works until it expires."
    if result is None:
        return "The link expired before anyone opened it. Run `portbot link` again for a new one."
    return result


def _show(result: LinkResult, *, as_json: bool) -> int:
    report = result.report
    if report is None:
        print(f"portbot: {result.error or 'the check did not run'}", file=sys.stderr)
        return 1
    if as_json:
        data = {
            "target": report.target,
            "reports": [report.to_dict()],
            "link": {
                "id": result.link_id,
                "address_kind": result.address_kind,
                "wan_address": result.wan_address,
                "diagnosis": result.diagnosis,
                "reached_listener": result.to_dict()["reached_listener"],
            },
        }
        print(json.dumps(data, indent=2))
        return 0
    from bot.core.probe_replies import probe_reply
    from bot.terminal import write_reply
    from probes.models import ProbeRequest

    request = ProbeRequest(target=report.target, ports=tuple(r.port for r in report.results))
    write_reply(replace(probe_reply([report], request), actions=()), sys.stdout)
    return 0


def _refuse(message: str, hint: str | None = None) -> int:
    line = f"portbot: {message}" + (f" {hint}" if hint else "")
    print(" ".join(line.split()), file=sys.stderr)
    return 2


def _user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "cli"
