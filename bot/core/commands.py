"""The command core: ``/port <text>`` in, a :class:`Reply` out, for every platform alike.

It never raises for anything a user can type: known errors become friendly replies, unknown ones are logged
and answered with a short apology. Chat adapters call :meth:`Portbot.handle` (or :meth:`Portbot.check` for
typed probe options) and render the Reply.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import TYPE_CHECKING, Protocol, runtime_checkable

from bot.core import intents
from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status

if TYPE_CHECKING:
    import logging

    from bot.core.intents import CheckProtocol, SelfCheck
    from bot.core.selfcheck import Started
    from knowledge import KnowledgeBase, Suggestion
    from knowledge._curated import Service
    from probes.models import ProbeReport, ProbeRequest, Requester


def _log() -> logging.Logger:
    import logging  # only failures are logged: `portbot ask` should not pay for it on every start

    return logging.getLogger(__name__)


@runtime_checkable
class ProbeBackend(Protocol):
    """Runs a probe somewhere (in-process or through workers) and returns one report per vantage point."""

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]: ...


#: Knowledge replies kept per Portbot. The knowledge base does not change while it is loaded, so a question
#: asked again (a burst of `/port 25565` in a busy server) gets the same Reply without a second lookup.
REPLY_CACHE = 1024


class Portbot:
    """The platform-neutral bot. Knowledge and the probe backend load lazily on first use."""

    def __init__(
        self,
        knowledge: KnowledgeBase | Callable[[], KnowledgeBase] | None = None,
        probes: ProbeBackend | Callable[[], ProbeBackend] | None = None,
    ) -> None:
        self._knowledge = knowledge
        self._probes = probes
        self._replies = lru_cache(maxsize=REPLY_CACHE)(self._answer)

    # -- knowledge -------------------------------------------------------------------------------------

    @property
    def knowledge(self) -> KnowledgeBase:
        if self._knowledge is None:
            from knowledge import KnowledgeBase

            self._knowledge = KnowledgeBase.load()
        elif callable(self._knowledge):
            self._knowledge = self._knowledge()
        return self._knowledge

    def lookup(self, query: str) -> Reply:
        """Answer a knowledge question (port, service, topic). Never raises."""
        try:
            return self._replies(query)
        except Exception:  # not cached: the next ask tries again
            # No user text at INFO and above (the audit log keeps what was asked; logs don't).
            _log().exception("knowledge lookup failed")
            _log().debug("the question was %r", query[:200])
            return INTERNAL_ERROR

    def _answer(self, query: str) -> Reply:
        from bot.core.knowledge_replies import knowledge_reply

        return knowledge_reply(self.knowledge.lookup(query))

    def suggest(self, prefix: str, limit: int = 25) -> list[Suggestion]:
        """Autocomplete choices for a partly typed query. Never raises."""
        try:
            return self.knowledge.suggest(intents.clean(prefix), limit=limit)
        except Exception:
            _log().exception("suggest failed")
            _log().debug("the prefix was %r", prefix[:200])
            return []

    # -- everything ------------------------------------------------------------------------------------

    async def handle(self, text: str, requester: Requester) -> Reply:
        """Answer anything typed after ``/port``."""
        intent = intents.parse(text)
        if isinstance(intent, intents.Help):
            return help_reply()
        if isinstance(intent, intents.Invalid):
            return invalid_reply(intent.message, intent.hint)
        if isinstance(intent, intents.Check):
            hint = intent.hint
            if intent.game and hint is None:
                service = self.service_named(intent.game)
                if service is None:
                    return unknown_game_reply(intent.game, intent.target, intent.ports)
                hint = service.id
            return await self.check(intent.target, intent.ports, intent.protocol, requester, hint)
        if isinstance(intent, intents.SelfCheck):
            return (await self.start_self_check(intent, requester)).reply
        return self.lookup(intent.query)

    def service_named(self, name: str) -> Service | None:
        """The curated game or app ``name`` spells, or None (also when the knowledge base can't load)."""
        from bot.core.checks import find_service

        try:
            return find_service(self.knowledge.services, name)
        except Exception:
            _log().exception("service lookup failed")
            return None

    async def aclose(self) -> None:
        """Release what the probe backend holds (audit log, connections), if it was ever built."""
        backend = self._probes
        close = getattr(backend, "aclose", None) if isinstance(backend, ProbeBackend) else None
        if close is not None:
            await close()

    def self_check_intent(self, text: str) -> SelfCheck | None:
        """The self-check ``text`` asks for (``/port check`` with no host), or None."""
        intent = intents.parse(text)
        return intent if isinstance(intent, intents.SelfCheck) else None

    async def start_self_check(self, request: SelfCheck, requester: Requester) -> Started:
        """Ask a worker for a one-time link to check the asker's own server. Never raises: when no link can
        be made, ``reply`` says why and ``link`` is None."""
        from bot.core import selfcheck
        from probes.errors import PortbotError

        try:
            return await self._start_self_check(request, requester)
        except selfcheck.SelfChecksUnavailable:
            return selfcheck.Started(selfcheck.NOT_SET_UP)
        except PortbotError as err:
            from bot.core.probe_replies import error_reply

            return selfcheck.Started(error_reply(err))
        except Exception:
            _log().exception("creating a self-check link failed")
            return selfcheck.Started(INTERNAL_ERROR)

    async def _start_self_check(self, request: SelfCheck, requester: Requester) -> Started:
        from bot.core import selfcheck
        from bot.core.checks import plan

        service = None
        if request.hint is not None:
            try:
                service = self.knowledge.service(request.hint)
            except Exception:
                _log().exception("knowledge base unavailable for a service hint")
        elif request.game:
            service = self.service_named(request.game)
            if service is None:
                return selfcheck.Started(unknown_game_reply(request.game, "my server", request.ports))
        ports = request.ports
        if not ports and service is not None and service.main_port is not None:
            ports = (service.main_port.low,)
        if not ports:
            return selfcheck.Started(selfcheck.NO_PORT)
        backend = self.probes
        if not isinstance(backend, selfcheck.SelfCheckBackend):
            raise selfcheck.SelfChecksUnavailable
        chosen = plan(ports, request.protocol, service)
        every = tuple(dict.fromkeys(p for part in chosen.parts for p in part.ports))
        kinds = {part.protocol for part in chosen.parts}
        # One link covers every port: with TCP and UDP both wanted, the worker's engine picks per port.
        protocol: selfcheck.LinkProtocol = kinds.pop() if len(kinds) == 1 else "auto"
        link = await backend.create_link(every, protocol, requester, chosen.hint)
        return selfcheck.Started(selfcheck.link_reply(link, every, protocol), link, every, protocol)

    async def finish_self_check(self, started: Started, wait: float | None = None) -> Reply | None:
        """Wait for the link's visit and explain what the worker found (address masked), or say the link
        expired unused. None when there was no link to wait on. Never raises."""
        from bot.core import selfcheck

        backend = self.probes
        if started.link is None or not isinstance(backend, selfcheck.SelfCheckBackend):
            return None
        try:
            # A visit in the link's last second still needs its probe: wait a little past the expiry.
            seconds = started.seconds_left() + selfcheck.GRACE if wait is None else wait
            result = await backend.wait_link(started.link.id, seconds)
            if result is None:
                return selfcheck.EXPIRED
        except TimeoutError:  # still unused when the wait ended
            return selfcheck.EXPIRED
        except Exception:
            _log().exception("waiting for a self-check link failed")
            return INTERNAL_ERROR
        try:
            return selfcheck.verdict_reply(result, started.ports, started.protocol)
        except Exception:
            _log().exception("explaining a self-check result failed")
            return INTERNAL_ERROR

    def is_probe(self, text: str) -> bool:
        """Whether ``text`` asks for a probe (slow, private) rather than knowledge (fast, public)."""
        return isinstance(intents.parse(text), intents.Check)

    # -- probes ----------------------------------------------------------------------------------------

    @property
    def probes(self) -> ProbeBackend | None:
        if self._probes is not None and not isinstance(self._probes, ProbeBackend):
            self._probes = self._probes()  # a factory: build the backend on first use
        return self._probes

    async def check(
        self,
        target: str,
        ports: tuple[int, ...] | list[int],
        protocol: CheckProtocol,
        requester: Requester,
        hint: str | None = None,
    ) -> Reply:
        """Probe ``target`` on ``ports`` and explain the verdict. Never raises.

        ``hint`` is a curated service id (from a button or a game named in chat): the check then covers the
        protocols and the Steam query port that entry lists (:mod:`bot.core.checks`)."""
        from probes.errors import PortbotError

        try:
            return await self._check(target, tuple(ports), protocol, requester, hint)
        except PortbotError as err:
            from bot.core.probe_replies import error_reply

            return error_reply(err)
        except Exception:
            _log().exception("probe failed")
            _log().debug("the target was %r, ports %r", target[:200], ports)
            return INTERNAL_ERROR

    async def _check(
        self,
        target: str,
        ports: tuple[int, ...],
        protocol: CheckProtocol,
        requester: Requester,
        hint: str | None,
    ) -> Reply:
        import asyncio

        from bot.core.checks import plan
        from bot.core.probe_replies import probe_reply
        from probes.models import ProbeRequest
        from probes.targets import parse_target

        target = intents.clean(target)
        parsed = parse_target(target)  # raises InputError for garbage, with a friendly sentence
        if not ports:
            if parsed.port is None:
                return invalid_reply(
                    "Which port should I check?",
                    f"Add the port after the host, e.g. `check {target[:60]} 25565`.",
                )
            ports = (parsed.port,)
        backend = self.probes
        if backend is None:
            return Reply(
                title="Reachability checks are not set up here",
                summary="This Portbot can answer port questions, but it has no way to probe right now.",
                status=Status.ERROR,
                kind=ReplyKind.ERROR,
            )
        service = None
        if hint is not None:
            try:
                service = self.knowledge.service(hint)
            except Exception:  # the check still runs, as asked, without the entry's protocols
                _log().exception("knowledge base unavailable for a service hint")
        chosen = plan(ports, protocol, service)
        requests = [
            ProbeRequest(target=target, ports=part.ports, protocol=part.protocol, service_hint=chosen.hint)
            for part in chosen.parts
        ]
        # TCP and UDP parts run side by side: a TCP+UDP game waits for the slower part, not for both in turn.
        found = await asyncio.gather(*(backend.probe(r, requester) for r in requests))
        reports = [report for part in found for report in part]
        again = intents.Check(target=target, ports=ports, protocol=protocol, hint=hint)
        return probe_reply(reports, requests[0], again=again)


def unknown_game_reply(game: str, target: str, ports: tuple[int, ...]) -> Reply:
    """``check host 2456 somegame``: say so, rather than guess a protocol and call a UDP port closed."""
    port = ports[0] if ports else 25565
    return Reply(
        title="I don't know that game or app",
        summary=(
            f"I don't know `{game[:40]}`, so I can't tell which protocol its port needs. "
            "Name a game or app I know, or say `tcp` or `udp` yourself."
        ),
        fields=(Field("Try", f"`check {target[:60]} {port} udp`  ·  `check {target[:60]} 2456 valheim`"),),
        status=Status.ERROR,
        kind=ReplyKind.ERROR,
        private=True,
        sensitive=(target,),
    )


def help_reply() -> Reply:
    return Reply(
        title="Portbot: ports, explained and checked",
        summary=(
            "Ask me about a port, a game or app, or a networking idea, "
            "or ask me to check whether a port is reachable from the internet."
        ),
        fields=(
            Field("A port", "`25565`  ·  `443/tcp`  ·  `udp 53`"),
            Field("A game or app", "`minecraft`  ·  `valheim`  ·  `plex`  ·  `rdp`"),
            Field(
                "A question",
                "`what is cgnat`  ·  `tcp vs udp`  ·  `why can't my friends join my valheim server`",
            ),
            Field("A reachability check", "`check example.com 25565`  ·  `is 443 open on example.com`"),
            Field(
                "Your own server, no address needed", "`check my server 25565`  ·  `check my valheim server`"
            ),
        ),
        actions=(
            Action(ActionKind.ASK, "What is a port?", query="what is a port"),
            Action(ActionKind.ASK, "Port forwarding", query="port forwarding"),
        ),
        kind=ReplyKind.HELP,
    )


def problem(title: str, summary: str, hint: str | None = None) -> Reply:
    """An error reply: something the user (or we) could not do, said plainly, with what to try."""
    return Reply(
        title=title,
        summary=summary,
        fields=(Field("Try", hint),) if hint else (),
        status=Status.ERROR,
        kind=ReplyKind.ERROR,
    )


def invalid_reply(message: str, hint: str | None = None) -> Reply:
    return problem("I couldn't read that", message, hint)


#: The answer to anything unexpected, on every platform: the details go to the log, never to the chat.
INTERNAL_ERROR = problem(
    "Something went wrong on my side",
    "Sorry, I hit an unexpected problem answering that. It has been logged; please try again.",
)
