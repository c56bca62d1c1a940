"""The ``portbot`` command.

Import-light on purpose: ``portbot ask 25565`` and ``portbot probe`` must start fast, so chat libraries, httpx
and aiohttp load only inside the subcommands that need them. Every command but ``doctor`` reads the settings
first and stops with exit status 2 and one line per bad variable.

    portbot                         chat platforms if tokens are configured, else the terminal chat
    portbot ask TEXT [--json]       answer once and exit
    portbot chat                    the terminal chat, whatever is configured
    portbot probe HOST [PORT ...]   check reachability (exit 0 ran, 2 refused/invalid, 1 internal failure)
    portbot link PORT...            a one-time link that checks the server it is opened next to (exit 3: unused)
    portbot listen PORT... --link URL  prove a port forward reaches this machine (stdlib only)
    portbot watch add|list|remove|run  watch servers, alert on changes; `run` is the scheduler
    portbot worker                  serve the probe worker HTTP API
    portbot discord [--sync]        run the Discord bot (or sync its commands and exit);
                                    --shard-ids 0,1 --shard-count 4 runs only those shards
    portbot slack [--http]          run the Slack app (Socket Mode, or HTTP with OAuth)
    portbot doctor                  check settings, knowledge data, workers and the database
    portbot db upgrade|status       upgrade the database in place (and import old files) / show its revision
    portbot knowledge update|build  refresh the IANA registries / rebuild the index
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse

    from bot.app import ServiceBackend
    from bot.core.commands import Portbot
    from bot.core.reply import Reply
    from bot.probe_cli import ProbeArgs
    from knowledge import KnowledgeBase
    from probes.errors import PortbotError


def _parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="portbot", description="Ports, explained and checked. With no command: chat."
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    ask = sub.add_parser("ask", help="answer one question and exit")
    ask.add_argument("text", nargs="+", help="what you would type after /port")
    ask.add_argument("--json", action="store_true", help="machine-readable output")

    sub.add_parser("chat", help="open the terminal chat")

    probe = sub.add_parser("probe", help="check whether ports on a host are reachable")
    probe.add_argument("host", help="host name, address, host:port, [v6]:port or URL")
    probe.add_argument("ports", nargs="*", type=str, help="up to 5 port numbers")
    probe.add_argument("--udp", action="store_true", help="probe UDP instead of choosing per port")
    probe.add_argument("--tcp", action="store_true", help="probe TCP only")
    probe.add_argument("--json", action="store_true", help="machine-readable output")
    probe.add_argument(
        "--via",
        choices=("local", "workers"),
        default=None,
        help="probe from this machine or through PORTBOT_WORKERS (default: workers if set)",
    )

    link = sub.add_parser("link", help="print a one-time link that checks the network it is opened on")
    link.add_argument("ports", nargs="+", help="up to 5 port numbers")
    link.add_argument("--udp", action="store_true", help="check UDP instead of choosing per port")
    link.add_argument("--tcp", action="store_true", help="check TCP only")
    link.add_argument("--json", action="store_true", help="machine-readable output")
    link.add_argument(
        "--wait",
        type=float,
        default=None,
        help="seconds to wait for the visit (default: until the link expires)",
    )

    from bot import listen_cli, watch_cli

    listen_cli.add_parser(sub)
    watch_cli.add_parser(sub)

    worker = sub.add_parser("worker", help="serve the probe worker API")
    worker.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    worker.add_argument("--port", type=int, default=None, help="port (default $PORT, else 8471)")

    discord = sub.add_parser("discord", help="run the Discord bot")
    discord.add_argument("--sync", action="store_true", help="publish the slash commands to Discord and exit")
    discord.add_argument(
        "--shard-ids", default=None, help="run only these shards, e.g. 0,1 (needs --shard-count)"
    )
    discord.add_argument(
        "--shard-count",
        type=int,
        default=None,
        help="how many shards the bot has in all (default: Discord's advice)",
    )

    slack = sub.add_parser("slack", help="run the Slack app")
    slack.add_argument("--http", action="store_true", help="serve HTTP with OAuth instead of Socket Mode")
    # Set by the first `slack --http` process on the others it starts (PORTBOT_SLACK_PROCESSES), not by people.
    slack.add_argument("--process-index", type=int, default=0, help=argparse.SUPPRESS)

    sub.add_parser("doctor", help="check the set-up and say what to fix")

    from bot import db_cli

    db_cli.add_parser(sub)

    knowledge = sub.add_parser("knowledge", help="manage the knowledge data")
    ksub = knowledge.add_subparsers(dest="action", metavar="ACTION", required=True)
    update = ksub.add_parser("update", help="refresh IANA's port and special-purpose address registries")
    update.add_argument("--from", dest="source", default=None, help="a CSV file or URL (default: IANA)")
    update.add_argument(
        "--ipv4-special-from", dest="ipv4", default=None, help="IPv4 special-purpose registry CSV"
    )
    update.add_argument(
        "--ipv6-special-from", dest="ipv6", default=None, help="IPv6 special-purpose registry CSV"
    )
    ksub.add_parser("build", help="rebuild the precompiled index")
    return parser


def main(argv: list[str] | None = None) -> int:
    from probes.errors import PortbotError  # the error tree alone: probes/__init__.py loads nothing else

    argv = sys.argv[1:] if argv is None else argv
    quick = _plain_ask(argv)
    probe = _plain_probe(argv)
    try:
        if quick is not None:
            text, as_json = quick
            return _ask(text, as_json=as_json)
        if probe is not None:
            return _probe(probe)
        return _dispatch(_parser().parse_args(argv))
    except PortbotError as err:
        return _explain(err)
    except KeyboardInterrupt:
        return 130


def _explain(err: PortbotError) -> int:
    """The command line's map of the error tree (probes/errors.py): what went wrong on stderr, and the exit
    status the error's class sets. A user error is one line with its hint; a settings error one line a problem."""
    from probes.errors import UserError

    if isinstance(err, UserError):
        print("portbot: " + " ".join(f"{err} {err.hint or ''}".split()), file=sys.stderr)
    else:
        for line in str(err).splitlines():
            print(f"portbot: {line}", file=sys.stderr)
    return err.exit_code


def _plain_ask(argv: list[str]) -> tuple[str, bool] | None:
    """``ask WORDS... [--json]`` read without argparse, whose set-up costs more than answering; else None.

    Only the shape argparse accepts as is qualifies: the words in one run, no option but ``--json`` before or
    after them. Anything else (help, a typo in an option, ``--``) goes through the full parser and its messages.
    """
    if not argv or argv[0] != "ask":
        return None
    rest = argv[1:]
    if any(arg.startswith("-") and arg != "--json" for arg in rest):
        return None
    positions = [i for i, arg in enumerate(rest) if arg != "--json"]
    if not positions or positions[-1] - positions[0] + 1 != len(positions):
        return None
    return " ".join(rest[i] for i in positions), len(positions) < len(rest)


def _plain_probe(argv: list[str]) -> ProbeArgs | None:
    """``probe HOST [PORT...] [--tcp] [--json] [--via local|workers]`` read without argparse (its set-up and the
    other commands' parsers cost more than a quick probe), in the shape argparse reads the same way: the
    positionals in one run, only these options. Anything else (help, --udp, typos) goes to the full parser."""
    if not argv or argv[0] != "probe":
        return None
    rest, via = argv[1:], None
    if "--via" in rest:
        at = rest.index("--via")
        if rest.count("--via") > 1 or at + 1 >= len(rest) or rest[at + 1] not in ("local", "workers"):
            return None
        via = rest[at + 1]
    values = [
        i for i, arg in enumerate(rest) if not arg.startswith("-") and (i == 0 or rest[i - 1] != "--via")
    ]
    flags = {arg for arg in rest if arg.startswith("-")} - {"--via"}
    if not flags <= {"--tcp", "--json"} or not values or values[-1] - values[0] + 1 != len(values):
        return None
    from bot.probe_cli import ProbeArgs

    words = [rest[i] for i in values]
    return ProbeArgs(words[0], words[1:], tcp="--tcp" in flags, json="--json" in flags, via=via)


def _probe(args: ProbeArgs) -> int:
    from bot import probe_cli
    from bot.settings import Settings

    return probe_cli.run(
        Settings.load(), args
    )  # a bad setting raises SettingsError: main() says which, exit 2


def _dispatch(args: argparse.Namespace) -> int:
    from bot.settings import Settings

    command = args.command
    if command == "ask":
        return _ask(" ".join(args.text), as_json=args.json)
    if command == "doctor":
        from bot import doctor

        return doctor.main()
    if command == "listen":
        # No settings: the listener needs nothing but the link (the standalone script has no settings either).
        from bot import listen_cli

        return listen_cli.run(args)

    settings = Settings.load()  # a bad setting raises SettingsError: main() says which, exit 2
    from bot import runtime

    if command == "knowledge":
        from bot import knowledge_cli

        data_dir = settings.portbot.data_dir
        if args.action == "update":
            return knowledge_cli.run(args.action, data_dir, args.source, args.ipv4, args.ipv6)
        return knowledge_cli.run(args.action, data_dir)

    if command == "db":
        from bot import db_cli

        return db_cli.run(settings, args.action)
    if command == "probe":
        from bot import probe_cli

        return probe_cli.run(settings, args)
    if command == "link":
        from bot import link_cli

        return link_cli.run(settings, args)
    if command == "watch":
        from bot import watch_cli

        if args.action == "run":
            runtime.long_running()
        return watch_cli.run(settings, args)
    if command == "worker":
        from bot import app

        return app.run_worker(settings, host=args.host, port=args.port)
    if command == "discord":
        from bot import app
        from bot.discord import parse_shards

        try:
            shards = parse_shards(args.shard_ids, args.shard_count)
        except ValueError as err:
            print(f"portbot: {err}", file=sys.stderr)
            return 2
        if not args.sync:
            runtime.long_running()
        return app.run_platforms(settings, discord=True, sync=args.sync, shards=shards)
    if command == "slack":
        from bot import app

        runtime.long_running()
        return app.run_platforms(settings, slack=True, http=args.http, slack_process=args.process_index)
    if command is None and (settings.has_discord or settings.has_slack):
        from bot import app

        runtime.long_running()
        return app.run_platforms(settings, discord=settings.has_discord, slack=settings.has_slack)

    from bot import app
    from bot.terminal import chat

    return chat(app.build_portbot(settings, persistent_limits=True))


def _ask(text: str, *, as_json: bool) -> int:
    from bot.settings import Settings

    settings = (
        Settings.load()
    )  # light (no pydantic): a knowledge answer needs the data dir, where its index is

    from bot.core import intents
    from bot.core.commands import Portbot
    from bot.terminal_render import write_reply

    def knowledge() -> KnowledgeBase:
        from knowledge import KnowledgeBase

        return KnowledgeBase.load(settings.portbot.data_dir)

    def probes() -> ServiceBackend:
        # Only a probe question pays for httpx and the engine.
        from bot import app

        return app.build_probe_backend(settings, persistent_limits=True)

    portbot: Portbot = Portbot(knowledge=knowledge, probes=probes)
    intent = intents.parse(text)
    if isinstance(intent, intents.Lookup):
        reply = portbot.lookup(intent.query)
    else:
        import asyncio

        from bot.terminal import TERMINAL_USER

        async def answer() -> Reply:
            try:
                return await portbot.handle(text, TERMINAL_USER)
            finally:
                await portbot.aclose()

        reply = asyncio.run(answer())
    write_reply(reply, sys.stdout, as_json=as_json)
    return 0
