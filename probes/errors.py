"""Portbot's error tree. Every error a user can cause or meet is one of these, on one of two branches: what the
person asking can fix, and what the people running the bot can fix. Each surface maps the tree in one place:
chat replies in ``bot.core.probe_replies.error_reply``, the worker's HTTP answers in ``probes.worker``, and the
command line's exit status in ``bot.cli.main``, which reads ``exit_code`` from the class. No traceback ever
reaches a chat.

    PortbotError                   exit 1
     ├── UserError                 exit 2: the person asking can fix the request
     │    ├── InputError           bad port, bad host, bad option
     │    │    └── WatchLimit      `portbot watch add` past PORTBOT_WATCH_QUOTA (bot.watch_cli)
     │    ├── RefusedTarget        the safety policy will not probe this address (private, loopback, ...)
     │    ├── RateLimited          too many checks from this user / server / to this target: wait
     │    ├── ResolveError         the name does not resolve (NXDOMAIN, no A/AAAA, resolver timeout)
     │    └── bot.watch.models.WatchError   a watch request the person can change
     │         ├── WatchQuotaReached        this server / workspace / the command line has PORTBOT_WATCH_QUOTA
     │         ├── WatchNotFound            no watch with that number here
     │         ├── DuplicateWatch           that host, port and protocol are watched here already
     │         ├── IntervalTooShort         `every` below PORTBOT_WATCH_MIN_INTERVAL (bot.core.watch_desk)
     │         └── UnknownGame              a game the knowledge base doesn't know (bot.core.watch_desk)
     └── OperatorError             exit 1: the people running the bot can fix it
          ├── ProbeError           the probe could not run on this side (no socket, the check ran out of time)
          │    └── WorkerError     no worker answered, or a worker refused us (bad signature, overloaded)
          ├── StoreUnavailable     the rate-limit counters (Redis, the SQLite file) can't be read or written
          ├── DatabaseUnavailable           the database (PORTBOT_DATABASE_URL) can't be opened (bot.store)
          ├── bot.settings.SettingsError        a setting is missing or malformed           exit 2
          └── knowledge.errors.KnowledgeError   a knowledge data file or an IANA update      exit 2
               ├── DataError                    is malformed
               └── UpdateError                  was refused

Exit 2 for the last two too: like a bad command line (argparse's 2), what was given can't run and the person at
the terminal changes it and runs again; 1 is for a failure while running.
"""

from __future__ import annotations


class PortbotError(Exception):
    """Base of every error Portbot explains to a user. ``str(err)`` is the user-facing sentence."""

    #: The command line's exit status when this error ends a command.
    exit_code: int = 1

    #: A short plain-language hint for what to do next, shown under the message when set.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


class UserError(PortbotError):
    """The person asking can fix it: change the request, or wait."""

    exit_code = 2


class OperatorError(PortbotError):
    """The people running the bot can fix it: a setting, a worker, a store, a data file."""

    exit_code = 1


class InputError(UserError):
    """The request itself is malformed: a port out of range, a host that cannot be a host, ..."""


class RefusedTarget(UserError):
    """The safety policy refuses the target. ``category`` names the rule (e.g. ``private``, ``cgnat``)."""

    def __init__(
        self, message: str, *, category: str, address: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.category = category
        self.address = address


class RateLimited(UserError):
    """A rate limit was hit. ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float, scope: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope


class ResolveError(UserError):
    """The host name did not resolve to any address."""


class ProbeError(OperatorError):
    """The probe could not be carried out on this side."""


class WorkerError(ProbeError):
    """No probe worker gave a usable answer."""


class StoreUnavailable(OperatorError):
    """The rate limiter's counters can't be read or written, so no check may run."""
