"""A :class:`Reply` as a Slack message: Block Kit blocks plus a plain ``text`` fallback for notifications.

Everything in a Reply may carry text a user typed (their query, a host name, a server's MOTD), so every
string is made safe here, in one place, before it reaches a payload:

* control and bidi-override characters are dropped, lone surrogates replaced;
* ``&``, ``<`` and ``>`` become entities, so nothing can form ``<!channel>``, ``<@U…>``, ``<#C…>``,
  ``<!subteam^…>`` or a disguised ``<http://evil|link>``;
* mrkdwn text objects are ``verbatim``, so Slack does not turn a bare ``@here`` or ``#general`` into a
  mention or a link either;
* every string is cut to its Block Kit limit (measured in UTF-16 code units, as Slack counts) without
  splitting an entity, and there are never more blocks, fields or buttons than Slack accepts.
"""

from __future__ import annotations

import re
from typing import Any, TypedDict
from urllib.parse import quote, unquote

from bot.core.reply import Action, ActionKind, Field, Reply, Status
from bot.core.text import BOLD, drop_unsafe, unmarked

# Block Kit limits (https://docs.slack.dev/reference/block-kit): text objects 3000, header 150,
# section fields 10 of 2000 each, 50 blocks a message, 25 elements an actions block, button text 75,
# action_id 255, button value 2000.
MAX_BLOCKS = 50
MAX_SECTION = 3000
MAX_HEADER = 150
MAX_FIELDS = 10
MAX_FIELD = 2000
MAX_CONTEXT = 2000
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_TEXT = 3000  # the notification fallback: Slack truncates long ones anyway
MAX_BUTTONS = 5  # more than a handful of follow-ups is noise

ACTION_CHECK = "portbot_check_port"
ACTION_ASK = "portbot_ask"
ACTION_SHARE = "portbot_share"
ACTION_RECHECK = "portbot_check_again"
ACTION_SELF_CHECK = "portbot_self_check"
# Slack wants action_ids unique within a block, so repeated kinds get ":<n>" appended.
ACTION_PATTERN = r"^{}(?::\d+)?$"

EMOJI = {
    Status.INFO: ":information_source:",
    Status.OK: ":large_green_circle:",
    Status.WARN: ":large_yellow_circle:",
    Status.BAD: ":red_circle:",
    Status.ERROR: ":warning:",
}

_PARTIAL_ENTITY = re.compile(r"&[a-z]{0,3}$")


class Message(TypedDict):
    """Keyword arguments for ``chat.postMessage`` / ``chat.postEphemeral`` / ``respond``."""

    text: str
    blocks: list[dict[str, Any]]


def clean(text: str) -> str:
    """Drop control and bidi characters and replace lone surrogates, so any payload encodes and reads true."""
    text = text.encode("utf-8", "replace").decode("utf-8")
    return drop_unsafe(text)  # controls and bidi characters, as every renderer (bot/core/text.py)


def escape(text: str) -> str:
    """Slack's three entities. Anything escaped can no longer mention anyone or form a link."""
    return clean(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def units(text: str) -> int:
    """Length as Slack counts it: UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def fit(text: str, limit: int) -> str:
    """Cut already-escaped ``text`` to ``limit`` code units, ending in "…" and never inside an entity."""
    if units(text) <= limit:
        return text
    cut = text[: limit - 1]
    while units(cut) > limit - 1:
        cut = cut[:-1]
    return _PARTIAL_ENTITY.sub("", cut) + "…"


def mrkdwn(text: str, limit: int = MAX_SECTION) -> str:
    """Portbot's light markdown (``**bold**``, ``` `code` ```) as safe Slack mrkdwn within ``limit``."""
    return fit(BOLD.sub(r"*\1*", escape(text)), limit).strip() or "…"


def plain(text: str, limit: int) -> str:
    """Text for a plain_text object: markdown markers dropped, escaped, within ``limit``."""
    return fit(escape(unmarked(text)), limit).strip() or "…"


def render(reply: Reply, *, share_token: str | None = None, recheck_token: str | None = None) -> Message:
    """The Slack message for ``reply``. A Share button appears only when ``share_token`` is given."""
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": _plain_text(f"{EMOJI[reply.status]} {_one_line(reply.title)}", MAX_HEADER)}
    ]
    if reply.summary.strip():
        blocks.append(_section(reply.summary))
    tail: list[dict[str, Any]] = []
    if reply.footer and reply.footer.strip():
        tail.append({"type": "context", "elements": [_mrkdwn_text(reply.footer, MAX_CONTEXT)]})
    buttons = _buttons(reply.actions, share_token, recheck_token)
    if buttons:
        tail.append({"type": "actions", "elements": buttons})
    blocks.extend(_field_blocks(reply.fields, MAX_BLOCKS - len(blocks) - len(tail)))
    blocks.extend(tail)
    return {"text": fallback_text(reply), "blocks": blocks}


def fallback_text(reply: Reply) -> str:
    """One line for notifications and clients that cannot show blocks."""
    title = _one_line(reply.title)
    summary = _one_line(reply.summary)
    return plain(f"{title}: {summary}" if summary else title, MAX_TEXT)


def encode_query(query: str) -> str:
    """An ASK button's value: the query, percent-encoded (no raw ``<`` anywhere) and within Slack's limit."""
    value = quote(clean(query), safe=" /:?")
    while len(value) > MAX_VALUE:
        query = query[: len(query) * 3 // 4]
        value = quote(clean(query), safe=" /:?")
    return value


def decode_query(value: str) -> str:
    return unquote(value)


def check_value(port: int, protocol: str | None, hint: str | None = None) -> str:
    """A Check button's value: ``25565/tcp``, ``19132/udp``, ``8080/auto``, or with the entry it came from,
    ``7777/udp/ark-survival-evolved``."""
    value = f"{port}/{protocol if protocol in ('tcp', 'udp', 'both') else 'auto'}"
    return f"{value}/{hint}" if hint else value


# -- pieces ------------------------------------------------------------------------------------------------


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _plain_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "plain_text", "text": plain(text, limit), "emoji": True}


def _mrkdwn_text(text: str, limit: int) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": mrkdwn(text, limit), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn_text(text, MAX_SECTION)}


def _field_text(field: Field) -> str:
    name = _one_line(field.name)
    if not name:
        return field.value
    return f"**{name}**\n{field.value}" if field.value.strip() else f"**{name}**"


def _field_blocks(fields: tuple[Field, ...], budget: int) -> list[dict[str, Any]]:
    """Runs of inline fields become two-column sections (10 a block); others get a section each."""
    groups: list[list[Field]] = []
    for field in fields:
        if not (field.name.strip() or field.value.strip()):
            continue
        if field.inline and groups and groups[-1][0].inline and len(groups[-1]) < MAX_FIELDS:
            groups[-1].append(field)
        else:
            groups.append([field])
    blocks: list[dict[str, Any]] = []
    for index, group in enumerate(groups):
        if len(blocks) == budget - 1 and index < len(groups) - 1:
            hidden = sum(len(g) for g in groups[index:])
            blocks.append(_section(f"…and {hidden} more details I can't fit in one Slack message."))
            break
        if group[0].inline:
            blocks.append(
                {
                    "type": "section",
                    "fields": [_mrkdwn_text(_field_text(f), MAX_FIELD) for f in group],
                }
            )
        else:
            blocks.append(_section(_field_text(group[0])))
    return blocks


def _buttons(
    actions: tuple[Action, ...], share_token: str | None, recheck_token: str | None = None
) -> list[dict[str, Any]]:
    buttons: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for action in actions:
        made = _button(action, share_token, recheck_token)
        if made is None:
            continue
        action_id, value, style = made
        count = seen.get(action_id, 0)
        seen[action_id] = count + 1
        button: dict[str, Any] = {
            "type": "button",
            "text": _plain_text(action.label, MAX_BUTTON_TEXT),
            "action_id": action_id if count == 0 else f"{action_id}:{count}",
            "value": value,
        }
        if style:
            button["style"] = style
        buttons.append(button)
        if len(buttons) == MAX_BUTTONS:
            break
    return buttons


def _button(
    action: Action, share_token: str | None, recheck_token: str | None = None
) -> tuple[str, str, str | None] | None:
    if action.kind is ActionKind.CHECK_PORT and action.port is not None and 1 <= action.port <= 65535:
        return ACTION_CHECK, check_value(action.port, action.protocol, action.hint), "primary"
    if action.kind is ActionKind.SELF_CHECK and action.port is not None and 1 <= action.port <= 65535:
        return ACTION_SELF_CHECK, check_value(action.port, action.protocol, action.hint), None
    if action.kind is ActionKind.RECHECK and recheck_token:
        return ACTION_RECHECK, recheck_token, "primary"
    if action.kind is ActionKind.ASK and action.query and clean(action.query).strip():
        return ACTION_ASK, encode_query(action.query), None
    if action.kind is ActionKind.SHARE and share_token:
        return ACTION_SHARE, share_token, None
    return None
