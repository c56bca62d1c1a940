"""Interim test doubles for the core's knowledge and probe answers (until the real ones land)."""

from __future__ import annotations

from dataclasses import dataclass

from bot.core.commands import Portbot
from bot.core.intents import ProtocolChoice
from bot.core.reply import Action, ActionKind, Field, Reply, Status
from probes.models import Requester


@dataclass(frozen=True)
class Suggestion:
    label: str
    value: str


class CannedPortbot(Portbot):
    """The real Portbot dispatch (intents, handle, is_probe) with canned knowledge and probe replies."""

    def __init__(self) -> None:
        super().__init__()
        self.checks: list[tuple[str, tuple[int, ...], str, Requester]] = []

    @property
    def knowledge(self):  # type: ignore[no-untyped-def, override]
        return None

    def lookup(self, query: str) -> Reply:
        return Reply(
            title="Port 25565: Minecraft: Java Edition",
            summary="Minecraft Java servers listen on **25565/tcp** by default.",
            fields=(Field("Used by", "Minecraft: Java Edition"),),
            actions=(
                Action(ActionKind.CHECK_PORT, "Check this port", port=25565, protocol="tcp"),
                Action(ActionKind.ASK, "What is a port?", query="what is a port"),
            ),
        )

    def suggest(self, prefix: str, limit: int = 25) -> list[Suggestion]:  # type: ignore[override]
        known = [Suggestion("Minecraft: Java Edition — 25565/tcp", "minecraft-java")]
        return [s for s in known if prefix.lower() in s.label.lower()][:limit]

    async def check(
        self,
        target: str,
        ports: tuple[int, ...] | list[int],
        protocol: ProtocolChoice,
        requester: Requester,
        service_hint: str | None = None,
    ) -> Reply:
        self.checks.append((target, tuple(ports), protocol, requester))
        return Reply(
            title=f"{target}:{ports[0]} is open",
            summary=f"I reached `{target}` (203.0.113.7) on port {ports[0]}.",
            status=Status.OK,
            actions=(Action(ActionKind.SHARE, "Share in channel"),),
            kind="probe",
            private=True,
            sensitive=(target, "203.0.113.7"),
        )


def make_portbot() -> Portbot:
    return CannedPortbot()
