"""Merging reports from several vantage points into one view per address and port.

"Reachable from Frankfurt, not from Singapore" comes from here. Pure data: no HTTP, no chat library.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from probes.models import PortResult, ProbeReport, State


@dataclass(frozen=True, slots=True)
class PortView:
    """One address, port and protocol, with what each vantage point saw."""

    address: str
    port: int
    protocol: str
    seen: tuple[tuple[str, PortResult], ...]  # (vantage, result), in report order

    @property
    def states(self) -> tuple[State, ...]:
        return tuple(dict.fromkeys(result.state for _, result in self.seen))

    @property
    def agreed(self) -> State | None:
        """The state every vantage point saw, or None when they differ."""
        states = self.states
        return states[0] if len(states) == 1 else None

    @property
    def reachable_from(self) -> tuple[str, ...]:
        return tuple(v for v, r in self.seen if r.state is State.OPEN)

    @property
    def unreachable_from(self) -> tuple[str, ...]:
        return tuple(v for v, r in self.seen if r.state is not State.OPEN)

    @property
    def vantages(self) -> tuple[str, ...]:
        return tuple(v for v, _ in self.seen)


def merge(reports: Iterable[ProbeReport]) -> tuple[PortView, ...]:
    """Group every result by (address, port, protocol), keeping first-seen order."""
    grouped: dict[tuple[str, int, str], list[tuple[str, PortResult]]] = {}
    for report in reports:
        for result in report.results:
            key = (result.address, result.port, result.protocol)
            grouped.setdefault(key, []).append((report.vantage, result))
    return tuple(PortView(a, p, proto, tuple(seen)) for (a, p, proto), seen in grouped.items())


def join_names(names: Sequence[str], last: str = "and") -> str:
    """``Frankfurt``, ``Frankfurt and Ohio``, ``Frankfurt, Ohio and Singapore``."""
    if len(names) <= 1:
        return "".join(names)
    return f"{', '.join(names[:-1])} {last} {names[-1]}"


def reach_sentence(view: PortView) -> str:
    """Where this port answered from, in words: "reachable from Frankfurt, not from Singapore"."""
    yes, no = view.reachable_from, view.unreachable_from
    if yes and no:
        return f"reachable from {join_names(yes)}, not from {join_names(no, 'or')}"
    if yes:
        return f"reachable from {join_names(yes)}"
    return f"not reachable from {join_names(no, 'or')}"
