"""Replies on a terminal: plain text for pipes and logs, rich text for people, JSON for machines.

Kept apart from the chat loop so ``portbot ask`` loads only what printing one reply needs.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable
from typing import IO, Any

from bot.core.reply import ActionKind, Reply, Status
from bot.core.text import drop_unsafe, unmarked

_ICON = {Status.INFO: "ℹ", Status.OK: "✔", Status.WARN: "!", Status.BAD: "✘", Status.ERROR: "✘"}
_COLOUR = {
    Status.INFO: "cyan",
    Status.OK: "green",
    Status.WARN: "yellow",
    Status.BAD: "red",
    Status.ERROR: "red",
}


def plain(text: str) -> str:
    """Portbot's light markdown to plain text, without the control characters that could move the cursor,
    change colours or retitle the window (bot/core/text.py)."""
    return drop_unsafe(unmarked(text))


def render_text(reply: Reply) -> str:
    """A reply as plain text, for pipes, logs and tests."""
    lines = [f"{_ICON[reply.status]} {plain(reply.title)}", plain(reply.summary)]
    for field in reply.fields:
        lines.append("")
        lines.append(f"{plain(field.name)}:")
        lines.extend(f"  {line}" for line in plain(field.value).splitlines())
    follow = list(_follow_ups(reply))
    if follow:
        lines.append("")
        lines.extend(follow)
    if reply.footer:
        lines.append("")
        lines.append(plain(reply.footer))
    return "\n".join(lines).rstrip() + "\n"


def _follow_ups(reply: Reply) -> Iterable[str]:
    for action in reply.actions:
        if action.kind is ActionKind.CHECK_PORT and action.port:
            proto = f" {action.protocol}" if action.protocol in ("tcp", "udp") else ""
            if action.hint:  # the entry's name picks its protocols and query port, as a button's check does
                proto = f" {action.hint}"
            yield f"→ {plain(action.label)}: /port check <your public address> {action.port}{proto}"
        elif action.kind is ActionKind.ASK and action.query:
            yield f"→ {plain(action.label)}: /port {plain(action.query)}"


def render_json(reply: Reply) -> str:
    import json  # only for --json

    return json.dumps(_jsonable(dataclasses.asdict(reply)), ensure_ascii=False, indent=2)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    return value


def render_rich(reply: Reply, stream: IO[str]) -> None:
    """A reply in colour, for a person at a terminal."""
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.text import Text

    def styled(text: str) -> Text:
        out = Text()
        pos = 0
        text = drop_unsafe(text)
        for match in re.finditer(r"\*\*(.+?)\*\*|`([^`]+)`", text):
            out.append(text[pos : match.start()])
            if match[1] is not None:
                out.append(match[1], style="bold")
            else:
                out.append(match[2], style="cyan")
            pos = match.end()
        out.append(text[pos:])
        return out

    parts: list[Any] = [styled(reply.summary)]
    for field in reply.fields:
        parts.append(Text(""))
        parts.append(Text(drop_unsafe(field.name), style="bold underline"))
        parts.append(styled(field.value))
    follow = list(_follow_ups(reply))
    if follow:
        parts.append(Text(""))
        parts.extend(Text(line, style="dim") for line in follow)
    colour = _COLOUR[reply.status]
    title = Text(f"{_ICON[reply.status]} ", style=colour) + styled(reply.title)
    panel = Panel(
        Group(*parts),
        title=title,
        title_align="left",
        border_style=colour,
        subtitle=Text(drop_unsafe(reply.footer)) if reply.footer else None,
    )
    Console(file=stream, highlight=False, soft_wrap=False).print(panel)


def write_reply(reply: Reply, stream: IO[str], *, as_json: bool = False) -> None:
    """Print a reply: JSON when asked, rich when ``stream`` is a terminal, plain text otherwise."""
    if as_json:
        stream.write(render_json(reply) + "\n")
    elif stream.isatty():
        render_rich(reply, stream)
    else:
        stream.write(render_text(reply) + "\n")
    stream.flush()
