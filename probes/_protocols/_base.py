"""What one UDP protocol module declares, and the lookups the engine makes over all of them."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import TYPE_CHECKING, NamedTuple

from probes.models import Protocol, ServiceInfo

if TYPE_CHECKING:
    from probes.policy import IPAddress

#: After an answer: the address, the port and the time box in seconds.
Details = Callable[["IPAddress", int, float], Awaitable[ServiceInfo | None]]


class UdpProtocol(NamedTuple):
    """A UDP service the engine can make answer: where it listens, which words name it, what to send and how
    to read the answer.

    ``parse`` may raise on a malformed answer (:meth:`Registry.parse` turns that into None: the port is open
    all the same). ``details``, when set, runs after an answer inside the identification time box, for
    protocols whose first answer says little (A2S answers with a challenge first). A NamedTuple rather than a
    frozen dataclass: it is built at every cold start of ``portbot probe``, in a quarter of the time.
    """

    kind: str  # the probe kind, and the ServiceInfo.kind of what ``parse`` returns
    request: Callable[[], bytes]  # the first packet; called once per probe, so it may hold fresh random bytes
    parse: Callable[[bytes, float | None], ServiceInfo | None]  # the answer and its round-trip time in ms
    ports: frozenset[int] = frozenset()  # "auto" probes these over UDP, with this request
    tcp_ports: frozenset[int] = frozenset()  # of ``ports``, those "auto" checks over TCP as well
    hints: tuple[str, ...] = ()  # whole words of a service hint that name this protocol ("valheim")
    hint_tcp: bool = False  # a hint naming it checks TCP too (DNS answers over both)
    details: Details | None = None


def words_pattern(words: Iterable[str]) -> re.Pattern[str]:
    """Whole words only: "ark" must not match "parkour", nor "time" match "sometimes"."""
    return re.compile(r"(?<![a-z0-9])(?:" + "|".join(map(re.escape, words)) + r")(?![a-z0-9])")


class Registry:
    """The UDP protocols in hint order (the first whose words a hint holds wins), and lookups over them.
    Conflicting declarations (one kind or one port claimed twice, a TCP port a protocol does not declare) are
    caught when the registry is built, that is on import."""

    def __init__(self, protocols: Iterable[UdpProtocol], fallback: UdpProtocol) -> None:
        self.protocols = tuple(protocols)
        self.fallback = fallback  # any other port: a request that text protocols tend to answer
        self._by_kind: dict[str, UdpProtocol] = {}
        self._by_port: dict[int, UdpProtocol] = {}
        self._hints: tuple[tuple[UdpProtocol, re.Pattern[str]], ...] | None = None
        for protocol in (*self.protocols, fallback):
            if not protocol.tcp_ports <= protocol.ports:
                raise ValueError(f"{protocol.kind}: its tcp_ports must be among its ports")
            if self._by_kind.setdefault(protocol.kind, protocol) is not protocol:
                raise ValueError(f"two UDP protocols are called {protocol.kind!r}")
            for port in protocol.ports:
                other = self._by_port.setdefault(port, protocol)
                if other is not protocol:
                    raise ValueError(f"UDP port {port} is claimed by both {other.kind} and {protocol.kind}")

    def __iter__(self) -> Iterator[UdpProtocol]:
        return iter((*self.protocols, self.fallback))

    def kind(self, kind: str) -> UdpProtocol:
        """The protocol called ``kind``; the fallback for a kind nobody declares."""
        return self._by_kind.get(kind, self.fallback)

    def on_port(self, port: int) -> UdpProtocol | None:
        """The protocol that declares ``port``, or None."""
        return self._by_port.get(port)

    def hinted(self, hint: str) -> UdpProtocol | None:
        """The first protocol a lower-case hint names, or None."""
        if self._hints is None:  # compiled on the first hint: most one-shot probes carry none
            self._hints = tuple((p, words_pattern(p.hints)) for p in self.protocols if p.hints)
        for protocol, pattern in self._hints:
            if pattern.search(hint):
                return protocol
        return None

    def transports(self, port: int) -> tuple[Protocol, ...] | None:
        """What "auto" checks ``port`` over when a UDP protocol declares it, else None."""
        protocol = self._by_port.get(port)
        if protocol is None:
            return None
        return ("tcp", "udp") if port in protocol.tcp_ports else ("udp",)

    def request(self, kind: str) -> bytes:
        """The first packet to send for a UDP probe of ``kind``."""
        return self.kind(kind).request()

    def parse(self, kind: str, data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
        """What the answer to a ``kind`` request says, or None when there's nothing to tell beyond "it
        answered". Never raises."""
        try:
            return self.kind(kind).parse(data, rtt_ms)
        except Exception:  # any malformed answer: the port is open all the same
            return None
