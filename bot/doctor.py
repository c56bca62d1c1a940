"""``portbot doctor``: check the set-up and say, line by line, what works and what to fix."""

from __future__ import annotations

import asyncio
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    import httpx


@dataclass(frozen=True, slots=True)
class Finding:
    ok: bool
    what: str
    fix: str = ""


def main() -> int:
    """``portbot doctor``: every bad setting, one line each with where to fix it; else the full check."""
    try:
        settings = Settings.load()
    except SettingsError as err:
        findings = [Finding(False, str(problem), problem.fix) for problem in err.problems]
        return _report(findings, "Fix the settings above, then run `portbot doctor` again to check the rest.")
    return run(settings)


def run(settings: Settings) -> int:
    findings = [Finding(True, "Settings read from the environment and .env, every value valid")]
    findings += [
        Finding(
            False,
            f"{name} is not a Portbot setting, so it changes nothing",
            "Check its spelling in README → Deploy.",
        )
        for name in settings.unknown
    ]
    findings += _knowledge(settings)
    findings += _address_policy(settings)
    findings += _data_dir(settings)
    findings += _database(settings)
    findings += _chat(settings)
    findings += _slack_processes(settings)
    findings += asyncio.run(_workers(settings))
    findings += _worker_limits(settings)
    findings += _links(settings)
    findings += _watches(settings)
    findings += _audit(settings)
    return _report(findings)


def _report(findings: list[Finding], note: str = "") -> int:
    for finding in findings:
        mark = "✔" if finding.ok else "✘"
        print(f"{mark} {finding.what}")
        if finding.fix:
            print(f"    → {finding.fix}")
    problems = sum(not f.ok for f in findings)
    print(f"\n{problems} problem{'s' if problems != 1 else ''} found." if problems else "\nAll good.")
    if note:
        print(note)
    return 1 if problems else 0


def _knowledge(settings: Settings) -> list[Finding]:
    from knowledge import KnowledgeBase, KnowledgeError

    try:
        kb = KnowledgeBase.load(settings.portbot.data_dir)
    except KnowledgeError as err:
        return [Finding(False, f"Knowledge data: {err}", "Fix the file it names, or reinstall Portbot.")]
    return [
        Finding(
            True,
            f"Knowledge data: {kb.iana_records:,} IANA records, {len(kb.services)} curated services, "
            f"{len(kb.topics)} topics",
        )
    ]


def _address_policy(settings: Settings) -> list[Finding]:
    from probes import _special

    data_dir = settings.portbot.data_dir
    try:
        registries = _special.load(data_dir)
    except ValueError as err:
        return [
            Finding(
                False,
                f"Address registries: {err}",
                "Run `portbot knowledge update` again, or delete that file to use the packaged copy "
                "(probes use the packaged copy meanwhile).",
            )
        ]
    where = (
        "updated copies" if any(p.parent == data_dir for p in registries.sources) else "the packaged copies"
    )
    nat64 = settings.portbot.nat64_prefixes
    prefixes = f"NAT64 prefixes {', '.join(nat64)}" if nat64 else "no PORTBOT_NAT64_PREFIXES"
    return [
        Finding(
            True,
            f"Address policy: IANA special-purpose registries from {where} ({len(registries.ipv4)} IPv4 and "
            f"{len(registries.ipv6)} IPv6 blocks); {prefixes}",
        )
    ]


def _data_dir(settings: Settings) -> list[Finding]:
    path = settings.portbot.data_dir
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".doctor"
        probe.write_text("ok")
        probe.unlink()
    except OSError as err:
        return [
            Finding(
                False,
                f"Data directory {path} is not writable ({err.strerror})",
                "Set PORTBOT_DATA_DIR to a writable directory.",
            )
        ]
    return [
        Finding(
            True,
            f"Data directory {path} is writable (audit log, settings, Slack installations, command-line rate limits)",
        )
    ]


def _database(settings: Settings) -> list[Finding]:
    from bot import db_cli

    status = asyncio.run(db_cli.check(settings))
    if status.error is not None:
        return [
            Finding(
                False,
                f"Database {status.url}: not reachable ({status.error})",
                "Check PORTBOT_DATABASE_URL (host, port, user, password, database name) and that the server "
                "is up.",
            )
        ]
    if status.revision is None:
        return [
            Finding(
                True,
                f"Database {status.url}: reachable, empty (the tables are made when a bot or worker first "
                "starts, or by `portbot db upgrade`)",
            )
        ]
    if status.revision > status.head:  # revision ids are zero-padded numbers: 0003 < 0004
        return [
            Finding(
                False,
                f"Database {status.url}: at revision {status.revision}, newer than this version's "
                f"{status.head}",
                "A newer Portbot upgraded it: run that version, or restore the database from before the upgrade.",
            )
        ]
    if not status.current:
        return [
            Finding(
                True,
                f"Database {status.url}: reachable, at revision {status.revision}; this version upgrades it to "
                f"{status.head} when it starts",
                "Or run `portbot db upgrade` now.",
            )
        ]
    return [Finding(True, f"Database {status.url}: reachable, at revision {status.revision} (up to date)")]


def _chat(settings: Settings) -> list[Finding]:
    found: list[Finding] = []
    if settings.has_discord:
        found.append(
            Finding(
                True, "Discord: DISCORD_TOKEN is set (run `portbot discord --sync` once to publish commands)"
            )
        )
    bot_token = settings.slack.bot_token.get_secret_value() if settings.slack.bot_token else ""
    app_token = settings.slack.app_token.get_secret_value() if settings.slack.app_token else ""
    if bot_token and not bot_token.startswith("xoxb-"):
        found.append(
            Finding(False, "SLACK_BOT_TOKEN does not look like a bot token", "It starts with xoxb-.")
        )
    if app_token and not app_token.startswith("xapp-"):
        found.append(
            Finding(False, "SLACK_APP_TOKEN does not look like an app-level token", "It starts with xapp-.")
        )
    if bot_token and not app_token and not settings.slack.signing_secret:
        found.append(
            Finding(
                False,
                "Slack: SLACK_BOT_TOKEN is set but neither SLACK_APP_TOKEN (Socket Mode) "
                "nor SLACK_SIGNING_SECRET (HTTP mode)",
                "Set one of them; see README → Deploy.",
            )
        )
    elif bot_token or settings.slack.client_id:
        found.append(Finding(True, "Slack: tokens are set"))
    if not found:
        found.append(Finding(True, "No chat tokens: `portbot` opens the terminal chat"))
    return found


def _slack_processes(settings: Settings) -> list[Finding]:
    """How many processes `portbot slack --http` serves from, and where they share their rate limits."""
    import os
    import socket

    count = settings.portbot.slack_processes
    if count == 1:
        return []
    if not hasattr(socket, "SO_REUSEPORT"):
        return [
            Finding(
                False,
                f"PORTBOT_SLACK_PROCESSES={count}, but this system can't share a port between processes "
                "(no SO_REUSEPORT)",
                "Set PORTBOT_SLACK_PROCESSES=1, or run the processes behind a load balancer on separate ports.",
            )
        ]
    limits = (
        "Redis (PORTBOT_REDIS_URL)"
        if settings.portbot.redis_url
        else str(settings.portbot.data_dir / "ratelimits.sqlite3")
    )
    found = [
        Finding(
            True,
            f"Slack HTTP: `portbot slack --http` serves port {settings.slack.port} from {count} processes, "
            f"sharing rate limits in {limits}; the first runs the watch scheduler",
        )
    ]
    cpus = os.cpu_count() or 1
    if count > cpus:
        found.append(
            Finding(
                True,
                f"PORTBOT_SLACK_PROCESSES={count} is more than this machine's {cpus} CPUs: the extra processes "
                "add memory, not speed",
                f"Set it to {cpus} or fewer.",
            )
        )
    return found


def _links(settings: Settings) -> list[Finding]:
    """Where this worker's one-time "check my own server" links point, and whom it believes about visitors."""
    portbot = settings.portbot
    if portbot.worker_secret is None:
        return []
    minutes = f"{portbot.link_ttl / 60:g} minute{'s' if portbot.link_ttl != 60 else ''}"
    proxies = (
        f"X-Forwarded-For believed only from {', '.join(portbot.trusted_proxies)}"
        if portbot.trusted_proxies
        else "X-Forwarded-For ignored (no PORTBOT_TRUSTED_PROXIES)"
    )
    if portbot.link_base_url is None:
        return [
            Finding(
                True,
                f"One-time links: start with the URL the bot uses to reach this worker; last {minutes}; {proxies}",
                "Set PORTBOT_LINK_BASE_URL to this worker's public https:// URL if members can't reach that one.",
            )
        ]
    findings = [Finding(True, f"One-time links: {portbot.link_base_url}/l/…; last {minutes}; {proxies}")]
    if portbot.link_base_url.lower().startswith("http://"):
        findings.append(
            Finding(
                False,
                "PORTBOT_LINK_BASE_URL is plain http://: a link's token crosses the network readable",
                "Put the worker behind a TLS proxy and use its https:// URL (and set PORTBOT_TRUSTED_PROXIES).",
            )
        )
    return findings


def _watches(settings: Settings) -> list[Finding]:
    """How many watches a server, workspace or the command line may have, and how often they may run."""
    from bot.core.watch_replies import duration

    portbot = settings.portbot
    return [
        Finding(
            True,
            f"Watches: up to {portbot.watch_quota} per Discord server, Slack workspace and the command line, "
            f"each checked at most every {duration(portbot.watch_min_interval)}",
        )
    ]


def _audit(settings: Settings) -> list[Finding]:
    """How long the database's audit log keeps its rows."""
    days = settings.portbot.audit_keep_days
    kept = (
        "every row (PORTBOT_AUDIT_KEEP_DAYS=0)"
        if days is None
        else f"rows for {days} days, then deletes them"
    )
    return [Finding(True, f"Audit log in the database: keeps {kept}")]


def _worker_limits(settings: Settings) -> list[Finding]:
    """What `portbot worker` on this machine would hold off, and whether the open-file limit lets it."""
    if settings.portbot.worker_secret is None:
        return []
    import resource

    from bot.app import worker_limits
    from probes._http import fds_needed
    from probes.worker import MAX_CONCURRENCY

    limits = worker_limits(settings)
    what = (
        f"Worker limits: {limits.max_connections:,} connections, "
        + (f"{limits.max_per_source:,} per address" if limits.max_per_source else "no per-address cap")
        + f"; headers within {limits.header_timeout:g} s, bodies within {limits.body_timeout:g} s, "
        f"idle connections closed after {limits.idle_timeout:g} s"
    )
    needed = fds_needed(limits, MAX_CONCURRENCY)
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    if hard != resource.RLIM_INFINITY and hard < needed:
        # Not a failure: the worker lowers its cap to fit and says so when it starts.
        return [
            Finding(
                True,
                what,
                f"The open-file limit here is {hard:,}; PORTBOT_WORKER_MAX_CONNECTIONS needs {needed:,}. "
                "Raise it (ulimit -n, or LimitNOFILE= in a systemd unit) or lower the cap.",
            )
        ]
    return [
        Finding(
            True,
            what,
            "Set with PORTBOT_WORKER_MAX_CONNECTIONS, PORTBOT_WORKER_MAX_PER_SOURCE, "
            "PORTBOT_WORKER_HEADER_TIMEOUT, PORTBOT_WORKER_BODY_TIMEOUT, PORTBOT_WORKER_IDLE_TIMEOUT.",
        )
    ]


async def _workers(settings: Settings) -> list[Finding]:
    urls = settings.portbot.workers
    if not urls:
        return [
            Finding(
                True,
                "No PORTBOT_WORKERS: probes run from this machine (replies say so)",
                "For a true outside view, run `portbot worker` on a small server elsewhere.",
            )
        ]
    # The settings already refused workers without a secret, and any URL the worker client can't read.
    assert settings.portbot.worker_secret is not None
    secret = settings.portbot.worker_secret.get_secret_value()
    import httpx

    from probes.client import parse_workers

    workers = parse_workers(urls)
    async with httpx.AsyncClient(timeout=5.0) as client:
        return list(await asyncio.gather(*(_worker(client, w.url, w.label, secret) for w in workers)))


async def _worker(client: httpx.AsyncClient, url: str, label: str, secret: str) -> Finding:
    import httpx

    from probes.auth import sign

    try:
        health = await client.get(f"{url}/healthz")
        region = health.json().get("region", label) if health.status_code == 200 else label
        # A signed but empty request: 400 means the signature was accepted, 401 means the secrets differ.
        body = b"{}"
        answer = await client.post(f"{url}/v1/probe", content=body, headers=sign(secret, body))
    except (httpx.HTTPError, ValueError) as err:
        return Finding(
            False,
            f"Worker {label}: not reachable ({type(err).__name__})",
            f"Is `portbot worker` running at {url}, and is the URL right?",
        )
    if answer.status_code == 401:
        return Finding(
            False,
            f"Worker {region}: rejects our signature",
            "PORTBOT_WORKER_SECRET differs between this bot and that worker.",
        )
    if answer.status_code in (400, 422):
        return Finding(True, f"Worker {region}: reachable, signatures accepted")
    return Finding(
        False, f"Worker {region}: unexpected answer {answer.status_code}", "Check the worker's log."
    )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
