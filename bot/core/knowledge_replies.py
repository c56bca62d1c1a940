"""Knowledge answers as Replies. Every answer type has one function here; all of them keep within the limits
the strictest renderer (Discord embeds) imposes, so no adapter ever has to cut a knowledge reply.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.core.budgets import (
    FIELD_NAME_MAX,
    FIELD_VALUE_MAX,
    FIELDS_MAX,
    FOOTER_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    TOTAL_MAX,
)
from bot.core.reply import Action, ActionKind, Field, Reply, ReplyKind, Status
from bot.core.selfcheck import LABEL as SELF_CHECK_LABEL
from knowledge import (
    Answer,
    GuideAnswer,
    HelpAnswer,
    IanaEntry,
    IanaServiceAnswer,
    InvalidQuery,
    NotFound,
    PortAnswer,
    RangeAnswer,
    Service,
    ServiceAnswer,
    ServicePort,
    ServiceUse,
    Suggestion,
    Topic,
    TopicAnswer,
)

MAX_ASK = 3
GAME_CHECKS = 2  # "Check for <game>" buttons on a port many games share; more would crowd out the questions
FACET_PARAGRAPHS = 2  # of a concept shown as the facet of a service or port answer

HOW_TO_ASK = (
    "Ask about a port (`25565`, `443/tcp`), a program or game (`valheim`), a range (`ephemeral`) "
    "or a question (`what is cgnat`)."
)
_FORWARD = {"yes": "forward this", "no": "do not forward", "optional": "forward only if you use it"}
#: Facets that ask whether exposing the service is safe: its security line comes right after its ports.
_SAFETY_FACETS = frozenset(("exposing-services", "port-forwarding", "dmz", "vpns-and-ports", "firewalls"))
_ROLE = {
    "web-ui": "web interface",
    "rcon": "remote console (RCON)",
    "api": "API",
    "file-transfer": "file transfer",
}


def knowledge_reply(answer: Answer) -> Reply:
    """The reply for any knowledge answer."""
    match answer:
        case PortAnswer():
            return _port(answer)
        case ServiceAnswer():
            return _service(answer)
        case IanaServiceAnswer():
            return _iana_service(answer)
        case GuideAnswer():
            return _guide(answer)
        case TopicAnswer():
            return _topic(answer)
        case RangeAnswer():
            return _range(answer)
        case NotFound():
            return _not_found(answer)
        case InvalidQuery():
            return _invalid(answer)
        case HelpAnswer():
            return _help(answer)


# -- one function per answer type ---------------------------------------------------------------------------


def _port(answer: PortAnswer) -> Reply:
    port = answer.port
    shown = f"{port}/{answer.protocol}" if answer.protocol else str(port)
    assigned = [e for e in answer.iana if e.status == "assigned"]
    if answer.reserved:
        summary = (
            "Port 0 is reserved: no service listens on it. A program that asks the system for port 0 "
            "is given any free port instead."
        )
    elif answer.used_by:
        names = _and([f"**{use.service.name}**" for use in answer.used_by])
        summary = f"Commonly used by {names}."
        if assigned:
            summary += f" IANA's registration is {_and([f'`{n}`' for n in _names(assigned)])}; see below."
    elif assigned:
        summary = f"Registered with IANA as {_and([f'`{n}`' for n in _names(assigned)])}."
    else:
        summary = f"IANA has not assigned {shown} to anything, and it is not a port we know common uses for."
    facet = answer.facet
    fields = [
        _field("Commonly used by", _lines(_use_lines(answer.used_by))),
        _field("Security", _lines(_security_lines(answer.used_by, every=facet is not None))),
    ]
    disagree = _field("Sources disagree", _lines(_disagreements(u.service for u in answer.used_by)))
    if facet is not None:
        fields += [_field(facet.plain_title, facet.summary), disagree, *_facet_details(facet)]
    fields += [
        _field("IANA registration", _lines(_iana_notes(answer.used_by, port) + _iana_lines(answer.iana))),
        disagree,
        _field("Port range", f"{answer.block.name}: {answer.block.label}."),
    ]
    actions = []
    if port:
        only = answer.used_by[0].service.id if len(answer.used_by) == 1 else None
        actions.append(
            Action(
                ActionKind.CHECK_PORT,
                "Check this port",
                port=port,
                protocol=_port_protocol(answer),
                hint=only,
            )
        )
        if only is None:
            # Games on a shared number (7777: ARK, Satisfactory, Terraria…) each need their own protocols
            # and query port: one button per game, so an ARK server is checked over UDP with its A2S query.
            from bot.core.checks import steam_query_port  # only for ports several entries share

            generic = _port_protocol(answer)
            games = [
                u
                for u in answer.used_by
                if u.service.category == "game"
                and (_entry_protocol(u.ports) != generic or steam_query_port(u.service) is not None)
            ][:GAME_CHECKS]
            actions += [
                Action(
                    ActionKind.CHECK_PORT,
                    _cut(f"Check for {u.service.name}", 80),
                    port=port,
                    protocol=_entry_protocol(u.ports),
                    hint=u.service.id,
                )
                for u in games
            ]
    actions += [_ask_topic(t) for t in (*([facet] if facet else []), *answer.related)]
    actions += [_ask(f"About {u.service.name}", u.service.id) for u in answer.used_by]
    return _reply(f"Port {shown}", summary, _once(fields), actions)


def _service(answer: ServiceAnswer) -> Reply:
    # Entity first, then the facet: the service's ports, then the part of the concept the question asked
    # about, then the rest of what we know about the service, while the text budget lasts.
    service = answer.service
    facet = answer.facet
    security = _field("Security", service.security)
    # Where sources disagree the answer always says so: that field comes before the facet's longer details,
    # which the text budget drops first.
    disagree = _field("Sources disagree", service.disagreement)
    fields = [_field("Ports", _lines(_port_line(p) for p in service.ports))]
    if facet is not None:
        if facet.id in _SAFETY_FACETS:
            fields.append(security)
        fields += [
            _field(facet.plain_title, _facet_summary(facet, service)),
            disagree,
            *_facet_details(facet),
        ]
    fields += [
        security,
        _field("Common troubles", _lines(f"• {t}" for t in service.troubles)),
        disagree,
        _field(
            "IANA registration",
            _lines(([service.iana_note] if service.iana_note else []) + _iana_lines(answer.iana)),
        ),
    ]
    actions = []
    main = service.main_port
    if main is not None:
        actions.append(
            Action(
                ActionKind.CHECK_PORT,
                "Check this port",
                port=main.low,
                protocol=_entry_protocol((main,), game=service.category == "game"),
                hint=service.id,
            )
        )
        if service.category == "game":  # "my friends can't join": check it from home, no address typed
            actions.append(
                Action(
                    ActionKind.SELF_CHECK,
                    SELF_CHECK_LABEL,
                    port=main.low,
                    protocol=_entry_protocol((main,)),
                    hint=service.id,
                )
            )
    actions += [_ask(f"Did you mean {s.name}?", s.id) for s in answer.alternatives]
    actions += [_ask_topic(t, service) for t in (*([facet] if facet else []), *answer.related)]
    return _reply(service.name, service.summary, _once(fields), actions, footer=_sources(service))


def _sources(service: Service) -> str | None:
    if not service.sources:
        return None
    read = f" (read {service.sources_read})" if service.sources_read else ""
    return f"Sources{read}: {', '.join(service.sources)}"


def _facet_summary(facet: Topic, service: Service | None) -> str:
    """The concept's answer, led by what it means for this service when we can say it in its own numbers."""
    if service is None:
        return facet.summary
    forward = [p for p in service.ports if p.forward == "yes"] or [
        p for p in service.ports if p.forward == "optional"
    ]
    if facet.id == "tcp-vs-udp":
        protocols = {proto for p in service.ports for proto in p.protocols}
        which = (
            "both TCP and UDP"
            if protocols == {"tcp", "udp"}
            else f"{'/'.join(sorted(protocols)).upper()} only"
        )
        lead = f"{service.name} uses {which}: {', '.join(p.label for p in service.ports)}."
        return f"{lead} {facet.summary}"
    if facet.id == "port-forwarding" and forward:
        lead = (
            f"For {service.name}, forward {', '.join(p.label for p in forward)} to the LAN address of the "
            "machine that runs it, with the same protocol; nothing else needs forwarding."
        )
        return f"{lead} {facet.summary}"
    return facet.summary


def _facet_details(facet: Topic) -> list[Field | None]:
    return [
        *_paragraphs(f"More on {facet.plain_title}", facet.body),
        _field("Commands", _commands(facet.commands)),
    ]


def _once(fields: Sequence[Field | None]) -> list[Field | None]:
    """Fields without repeats (the security line moves up for a safety question, it is not said twice)."""
    kept: list[Field | None] = []
    for item in fields:
        if item is None or item not in kept:
            kept.append(item)
    return kept


def _iana_service(answer: IanaServiceAnswer) -> Reply:
    entries = answer.entries
    with_ports = [e for e in entries if e.low is not None]
    if with_ports:
        description = _clean(with_ports[0].description)
        where = _and(list(dict.fromkeys(e.ports for e in with_ports)))
        summary = f"`{answer.name}` is registered with IANA for {description} on port {where}."
    else:
        summary = (
            f"`{answer.name}` is registered with IANA as a service name without a port number: programs find "
            "it by name (for example through DNS service discovery), not on a fixed port."
        )
    references = list(dict.fromkeys(e.reference for e in entries if e.reference))
    fields = [
        _field("IANA registration", _lines(_iana_lines(entries))),
        _field("Commonly used by", _lines(_use_lines(answer.used_by))),
        _field("Reference", ", ".join(references)),
    ]
    actions = []
    single = next((e for e in with_ports if e.low == e.high), None)
    if single is not None and single.low:
        protocols = {e.protocol for e in with_ports if e.low == single.low}
        actions.append(
            Action(
                ActionKind.CHECK_PORT,
                "Check this port",
                port=single.low,
                protocol=_transport(tuple(protocols)),
            )
        )
    return _reply(f"{answer.name} (IANA)", summary, fields, actions)


def _topic(answer: TopicAnswer) -> Reply:
    topic = answer.topic
    fields = [*_paragraphs("Details", topic.body), _field("Commands", _commands(topic.commands))]
    return _reply(topic.plain_title, topic.summary, fields, [_ask_topic(t) for t in answer.related])


def _guide(answer: GuideAnswer) -> Reply:
    # Steps first: they are the guide. Should the text budget run out, the background goes, not a step.
    steps = [f"{n}. {step}" for n, step in enumerate(answer.steps, start=1)]
    fields = _paragraphs("Steps", steps, separator="\n")
    title = answer.title
    if answer.service is not None:
        fields.append(
            _field(f"{answer.service.name} ports", _lines(_port_line(p) for p in answer.service.ports))
        )
        if answer.service.name not in title:
            title = f"{title} ({answer.service.name})"
    fields += [*_paragraphs("Details", answer.body), _field("Commands", _commands(answer.topic.commands))]
    actions = []
    if answer.port:
        actions.append(
            Action(
                ActionKind.CHECK_PORT,
                "Check this port",
                port=answer.port,
                protocol=answer.protocol,
                hint=answer.service.id if answer.service is not None else None,
            )
        )
    actions += [_ask_topic(t) for t in answer.related]
    return _reply(title, answer.summary, fields, actions)


def _range(answer: RangeAnswer) -> Reply:
    block = answer.range
    fields = [_field("Range", f"{block.low}–{block.high} ({block.high - block.low + 1:,} ports)")]
    if answer.topic is not None:
        fields.append(_field(answer.topic.plain_title, answer.topic.summary))
        fields += _paragraphs("Details", answer.topic.body)
    return _reply(
        f"{block.name}: {block.label}", block.summary, fields, [_ask_topic(t) for t in answer.related]
    )


def _not_found(answer: NotFound) -> Reply:
    query = _cut(answer.query, 100)
    summary = f"I don't know “{query}”." if query else "I couldn't read that as a question."
    fields = [
        _field("Did you mean", _lines(f"• {s.label}" for s in answer.suggestions)),
        _field("How to ask", HOW_TO_ASK),
    ]
    return _reply("No match", summary, fields, [_ask_suggestion(s) for s in answer.suggestions])


def _invalid(answer: InvalidQuery) -> Reply:
    fields = [_field("How to ask", HOW_TO_ASK)]
    return _reply("Not a port number", answer.message, fields, [], status=Status.ERROR, kind=ReplyKind.ERROR)


def _help(answer: HelpAnswer) -> Reply:
    examples = _lines(f"`{query}` — {what}" for query, what in answer.examples)
    fields = [_field("Examples", examples)]
    actions = [_ask(query, query) for query, _ in answer.examples]
    return _reply("Ask me about ports", HOW_TO_ASK, fields, actions, kind=ReplyKind.HELP)


# -- lines ---------------------------------------------------------------------------------------------------


def _port_line(port: ServicePort) -> str:
    role = _ROLE.get(port.role, port.role)
    line = f"{port.label} — {role} ({_FORWARD[port.forward]})"
    return f"{line}. {port.note}" if port.note else line


def _use_lines(uses: Iterable[ServiceUse]) -> list[str]:
    """One line per service and port: "**Valheim**: 2456/udp — game (forward this)"."""
    return [f"**{use.service.name}**: {_port_line(p)}" for use in uses for p in use.ports]


def _security_lines(uses: Sequence[ServiceUse], *, every: bool = False) -> list[str]:
    """Warnings that concern the ports asked about: never-forward ports and remote consoles, or ``every``
    service's when the question is about exposing or forwarding the port."""
    lines = []
    for use in uses:
        risky = every or any(p.forward == "no" or p.role in ("rcon", "admin") for p in use.ports)
        if risky and use.service.security:
            lines.append(f"**{use.service.name}**: {use.service.security}")
    return lines


def _iana_notes(uses: Sequence[ServiceUse], port: int) -> list[str]:
    """Our note on how IANA's name relates to what people run here: the first that speaks of this port (seven
    games on 7777 would otherwise say the same thing seven times)."""
    notes = [u.service.iana_note for u in uses if u.service.iana_note and str(port) in u.service.iana_note]
    return notes[:1]


def _iana_lines(entries: Iterable[IanaEntry]) -> list[str]:
    """One line per registration, its protocols merged: "`https` 443 (tcp, udp, sctp) — http over TLS"."""
    grouped: dict[tuple[str, str, str], list[str]] = {}
    notes: list[str] = []
    for entry in entries:
        key = (entry.name, entry.ports, _clean(entry.description))
        grouped.setdefault(key, [])
        if entry.protocol and entry.protocol not in grouped[key]:
            grouped[key].append(entry.protocol)
        if entry.unauthorized_use and entry.unauthorized_use not in notes:
            notes.append(entry.unauthorized_use)
    lines = []
    for (name, ports, description), protocols in grouped.items():
        where = f"{ports} ({', '.join(protocols)})" if protocols else ports
        if name:
            same = description.casefold() == name.casefold()
            lines.append(
                f"`{name}` {where}" if same or not description else f"`{name}` {where} — {description}"
            )
        elif ports:
            status = description.lower() or "unassigned"
            lines.append(
                f"{where}: {status} by IANA" if status in ("reserved", "unassigned") else f"{where}: {status}"
            )
    lines += [f"IANA note: {_clean(note)}" for note in notes]
    return lines


def _disagreements(services: Iterable[Service]) -> list[str]:
    return [f"**{s.name}**: {s.disagreement}" for s in services if s.disagreement]


def _paragraphs(name: str, paragraphs: Sequence[str], separator: str = "\n\n") -> list[Field | None]:
    """Paragraphs (or lines) packed into as few fields as the value limit allows: "Steps", "Steps (cont.)"."""
    fields: list[Field | None] = []
    chunk = ""
    for paragraph in paragraphs:
        paragraph = _cut(paragraph, FIELD_VALUE_MAX)
        if chunk and len(chunk) + len(separator) + len(paragraph) > FIELD_VALUE_MAX:
            fields.append(_field(name if not fields else f"{name} (cont.)", chunk))
            chunk = ""
        chunk = f"{chunk}{separator}{paragraph}" if chunk else paragraph
    if chunk:
        fields.append(_field(name if not fields else f"{name} (cont.)", chunk))
    return fields


def _commands(commands: Sequence[str]) -> str:
    return _lines(f"`{c}`" for c in commands)


# -- actions ------------------------------------------------------------------------------------------------


def _ask(label: str, query: str) -> Action:
    return Action(ActionKind.ASK, _cut(label, 80), query=_cut(query, 100))


def _ask_topic(topic: Topic, service: Service | None = None) -> Action:
    if service is not None and topic.is_guide:
        # Asking the guide's question with the service in it brings back the guide specialised for it.
        return _ask(topic.title.replace("{name}", service.name), f"{topic.id.replace('-', ' ')} {service.id}")
    return _ask(topic.plain_title, topic.id)


def _ask_suggestion(suggestion: Suggestion) -> Action:
    return _ask(suggestion.label, suggestion.value)


def _entry_protocol(entries: Sequence[ServicePort], *, game: bool = True) -> str:
    """What a check of these entries covers: "tcp", "udp", or "both" for a TCP+UDP game (an app that also
    speaks UDP, HTTPS with QUIC, gets the clear TCP verdict)."""
    found = _main_protocols(entries)
    if found == {"tcp", "udp"}:
        return "both" if game else "tcp"
    return "udp" if found == {"udp"} else "tcp"


def _main_protocols(entries: Sequence[ServicePort]) -> set[str]:
    # The ports people connect to decide: Minecraft's optional UDP query on 25565 does not make it "both".
    main = [p for p in entries if p.role != "query"] or list(entries)
    return {proto for p in main for proto in p.protocols}


def _port_protocol(answer: PortAnswer) -> str | None:
    if answer.protocol in ("tcp", "udp"):
        return answer.protocol
    games = {
        proto for u in answer.used_by if u.service.category == "game" for proto in _main_protocols(u.ports)
    }
    if games == {"tcp", "udp"}:
        return "both"  # 7777: games on TCP and on UDP share it; the per-game buttons narrow it down
    protocols = {proto for use in answer.used_by for proto in _main_protocols(use.ports)}
    return _transport(tuple(protocols))


def _transport(protocols: Sequence[str]) -> str | None:
    """The protocol to check: the only one in use, TCP when both are (its verdict is clear), else unknown."""
    usable = {p for p in protocols if p in ("tcp", "udp")}
    if usable == {"udp"}:
        return "udp"
    return "tcp" if "tcp" in usable else None


# -- limits ---------------------------------------------------------------------------------------------------


def _reply(
    title: str,
    summary: str,
    fields: Sequence[Field | None],
    actions: Sequence[Action],
    *,
    footer: str | None = None,
    status: Status = Status.INFO,
    kind: ReplyKind = ReplyKind.KNOWLEDGE,
) -> Reply:
    """A reply cut to the renderers' limits: fields beyond the total text budget are dropped, not split."""
    title = _cut(title, TITLE_MAX)
    footer = _cut(footer, FOOTER_MAX) if footer else None
    summary = _cut(summary, min(SUMMARY_MAX, TOTAL_MAX - len(title) - len(footer or "")))
    budget = TOTAL_MAX - len(title) - len(summary) - len(footer or "")
    kept: list[Field] = []
    for item in fields:
        if item is None or len(kept) == FIELDS_MAX:
            continue
        size = len(item.name) + len(item.value)
        if size <= budget:
            kept.append(item)
            budget -= size
    checks = [a for a in actions if a.kind is ActionKind.CHECK_PORT][: 1 + GAME_CHECKS]
    mine = [a for a in actions if a.kind is ActionKind.SELF_CHECK][:1]
    if checks and not mine:
        # Wherever "Check this port" opens its modal, "Check my own server" sits beside it: Discord's modals
        # can't hold a button, and a member checking their own server shouldn't have to find its address.
        first = checks[0]
        mine = [
            Action(
                ActionKind.SELF_CHECK,
                SELF_CHECK_LABEL,
                port=first.port,
                protocol=first.protocol,
                hint=first.hint,
            )
        ]
    asks = list(dict.fromkeys(a for a in actions if a.kind is ActionKind.ASK))[:MAX_ASK]
    return Reply(title, summary, tuple(kept), status, (*checks, *mine, *asks), footer, kind)


def _field(name: str, value: str) -> Field | None:
    value = value.strip()
    if not value:
        return None
    return Field(_cut(name, FIELD_NAME_MAX), _cut(value, FIELD_VALUE_MAX))


def _lines(lines: Iterable[str], limit: int = FIELD_VALUE_MAX) -> str:
    """Lines joined until the next would pass ``limit``; then a count of what was left out."""
    kept: list[str] = []
    items = [line for line in lines if line]
    used = 0
    for number, line in enumerate(items):
        line = _cut(line, limit // 2)
        more = len(items) - number
        tail = len(f"\n…and {more} more")
        if used + len(line) + 1 + (tail if more > 1 else 0) > limit:
            kept.append(f"…and {more} more")
            break
        kept.append(line)
        used += len(line) + 1
    return "\n".join(kept)


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _clean(text: str) -> str:
    return " ".join(text.split())


def _names(entries: Iterable[IanaEntry]) -> list[str]:
    return list(dict.fromkeys(e.name for e in entries))


def _and(items: Sequence[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return ", ".join(items[:-1]) + f" and {items[-1]}"
