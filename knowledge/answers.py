"""What a lookup returns: one frozen dataclass per kind of answer. Renderers turn these into replies; nothing
here knows about chat platforms. ``query`` is always the cleaned text the answer is for.
"""

from __future__ import annotations

from dataclasses import dataclass

from knowledge._curated import Service, ServicePort
from knowledge._iana import IanaEntry
from knowledge._ranges import PortRange
from knowledge._topics import Topic


@dataclass(frozen=True, slots=True)
class Suggestion:
    """An autocomplete choice or a "did you mean": ``label`` for people, ``value`` to look up (both ≤ 100)."""

    label: str
    value: str


@dataclass(frozen=True, slots=True)
class ServiceUse:
    """A curated service and the entries of it that use the port asked about."""

    service: Service
    ports: tuple[ServicePort, ...]


@dataclass(frozen=True, slots=True)
class PortAnswer:
    """Everything known about one port number: who commonly uses it, and what IANA registered it for."""

    query: str
    port: int
    protocol: str | None  # the protocol asked for ("443/tcp"), else None
    used_by: tuple[ServiceUse, ...]
    iana: tuple[IanaEntry, ...]  # exact and range registrations, including Reserved / Unassigned rows
    block: PortRange  # IANA's block the port falls in (well-known, registered, dynamic)
    related: tuple[Topic, ...] = ()  # topics the number is also a keyword of ("10048": an error code)
    facet: Topic | None = None  # the concept the question asks about this port ("should I forward 3389")

    @property
    def reserved(self) -> bool:
        return self.port == 0


@dataclass(frozen=True, slots=True)
class ServiceAnswer:
    """A curated service, with IANA's registrations of its ports when those name something else."""

    query: str
    service: Service
    iana: tuple[IanaEntry, ...]  # registrations of the service's ports (assigned rows only)
    alternatives: tuple[Service, ...] = ()  # other services the same words could mean
    related: tuple[Topic, ...] = ()
    #: The concept the question asks about this service ("valheim, tcp or udp?" → TCP vs UDP): its part of
    #: the answer follows the service's own ports.
    facet: Topic | None = None


@dataclass(frozen=True, slots=True)
class IanaServiceAnswer:
    """A service name found only in the IANA registry (``kerberos``, ``ldaps``, ``xmpp-client``)."""

    query: str
    name: str
    entries: tuple[IanaEntry, ...]
    used_by: tuple[ServiceUse, ...] = ()  # curated services on the same port(s)


@dataclass(frozen=True, slots=True)
class TopicAnswer:
    """A concept explained."""

    query: str
    topic: Topic
    related: tuple[Topic, ...] = ()


@dataclass(frozen=True, slots=True)
class GuideAnswer:
    """A troubleshooting guide, its placeholders filled for ``service`` or ``port`` when the question named one."""

    query: str
    topic: Topic
    title: str
    summary: str
    body: tuple[str, ...]
    steps: tuple[str, ...]
    service: Service | None = None
    port: int | None = None
    protocol: str | None = None
    related: tuple[Topic, ...] = ()


@dataclass(frozen=True, slots=True)
class RangeAnswer:
    """A named block of ports (well-known, registered, dynamic/ephemeral, privileged)."""

    query: str
    range: PortRange
    topic: Topic | None = None  # our longer explanation, when concepts.toml has one
    related: tuple[Topic, ...] = ()


@dataclass(frozen=True, slots=True)
class NotFound:
    """Nothing matched well enough; ``suggestions`` are the closest things we know."""

    query: str
    suggestions: tuple[Suggestion, ...] = ()


@dataclass(frozen=True, slots=True)
class InvalidQuery:
    """The input cannot be answered as asked (e.g. port 70000); ``message`` says why and what is valid."""

    query: str
    message: str


@dataclass(frozen=True, slots=True)
class HelpAnswer:
    """What to ask, for empty input. ``examples`` pairs a query with what it shows."""

    examples: tuple[tuple[str, str], ...]


Answer = (
    PortAnswer
    | ServiceAnswer
    | IanaServiceAnswer
    | TopicAnswer
    | GuideAnswer
    | RangeAnswer
    | NotFound
    | InvalidQuery
    | HelpAnswer
)
