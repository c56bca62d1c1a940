"""A Portbot with the real grammar (``handle``, ``is_probe``) and scripted knowledge and probe answers, so the
adapter's tests do not depend on the knowledge data or the network."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.commands import Portbot
from bot.core.intents import ProtocolChoice
from bot.core.reply import Action, ActionKind, Field, Reply, Status
from probes.models import Requester


@dataclass(frozen=True)
class CheckCall:
    target: str
    ports: tuple[int, ...]
    protocol: ProtocolChoice
    requester: Requester


@dataclass
class ScriptedPortbot(Portbot):
    checks: list[CheckCall] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__()

    def lookup(self, query: str) -> Reply:
        self.lookups.append(query)
        actions: list[Action] = []
        if query.isdigit():
            actions.append(Action(ActionKind.CHECK_PORT, "Check this port", port=int(query), protocol="tcp"))
        actions.append(Action(ActionKind.ASK, "What is a port?", query="what is a port"))
        return Reply(
            title=f"Port {query}" if query.isdigit() else f"About {query}",
            summary=f"**{query}** is what you asked about.",
            fields=(Field("Protocol", "TCP", inline=True), Field("Used by", "Minecraft", inline=True)),
            actions=tuple(actions),
            kind="knowledge",
        )

    async def check(
        self,
        target: str,
        ports: tuple[int, ...] | list[int],
        protocol: ProtocolChoice,
        requester: Requester,
        service_hint: str | None = None,
    ) -> Reply:
        self.checks.append(CheckCall(target, tuple(ports), protocol, requester))
        port = ports[0] if ports else 25565
        return Reply(
            title=f"{target}:{port} is open",
            summary=f"I reached {target} (203.0.113.7) on port {port} from outside.",
            fields=(Field("Address", "203.0.113.7"),),
            status=Status.OK,
            actions=(Action(ActionKind.SHARE, "Share in channel"),),
            kind="probe",
            private=True,
            sensitive=(target, "203.0.113.7"),
        )
