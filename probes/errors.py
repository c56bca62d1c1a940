"""Portbot's error tree. Every error a user can cause or meet is one of these; each chat adapter maps them
to a friendly message in one place, so no traceback ever reaches a chat.

    PortbotError
     ├── InputError          bad port, bad host, bad option: the user can fix the request
     ├── RefusedTarget       the safety policy will not probe this address (private, loopback, ...)
     ├── RateLimited         too many probes from this user / server / to this target
     └── ProbeError          the probe itself could not run
          ├── ResolveError   the name does not resolve (NXDOMAIN, no A/AAAA, resolver timeout)
          └── WorkerError    no worker answered, or a worker refused us (bad signature, overloaded)
"""

from __future__ import annotations


class PortbotError(Exception):
    """Base of every error Portbot explains to a user. ``str(err)`` is the user-facing sentence."""

    #: A short plain-language hint for what to do next, shown under the message when set.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self)


class InputError(PortbotError):
    """The request itself is malformed: a port out of range, a host that cannot be a host, ..."""


class RefusedTarget(PortbotError):
    """The safety policy refuses the target. ``category`` names the rule (e.g. ``private``, ``cgnat``)."""

    def __init__(
        self, message: str, *, category: str, address: str | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.category = category
        self.address = address


class RateLimited(PortbotError):
    """A rate limit was hit. ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float, scope: str) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        self.scope = scope


class ProbeError(PortbotError):
    """The probe could not be carried out."""


class ResolveError(ProbeError):
    """The host name did not resolve to any address."""


class WorkerError(ProbeError):
    """No probe worker gave a usable answer."""
