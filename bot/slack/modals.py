"""The "Check this port" modal: it asks for the host, and carries everything else in ``private_metadata``.

A view submission has no channel and no ``response_url`` of its own, so the button press that opened the
modal stores where the answer should go (channel, thread, that press's ``response_url``) in the view.
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass
from typing import Any, Literal

from bot.core.intents import clean
from bot.core.selfcheck import LABEL
from bot.slack.render import escape

CALLBACK_ID = "portbot_check"
HOST_BLOCK = "host"
HOST_INPUT = "host"
SELF_CHECK_BLOCK = "self_check"
# Its own action_id, not render.ACTION_SELF_CHECK: a press inside a modal has no channel and no response_url,
# so its answer travels the way the modal's own result does (the CheckContext in private_metadata).
SELF_CHECK_ACTION = "portbot_modal_self_check"
MAX_METADATA = 3000  # Slack's limit for private_metadata
MAX_HOST = 253  # the longest DNS name; URLs and [v6]:port forms fit too

ProtocolChoice = Literal["auto", "tcp", "udp", "both"]
_HINT = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")  # a curated service id

SELF_CHECK_LABEL = LABEL  # the same words as the button on answers
SELF_CHECK_TEXT = (
    "*Is it your own server, at home?* Don't look up your address: I'll send you a private one-time link "
    "instead. Open it on the same network as your server and I'll check it from the internet."
)
LINK_SENT_TEXT = (
    "I've sent you a private one-time link: close this window to find it (only you can see it). Open it on a "
    "device on the same network as your server, and the result will follow it."
)


@dataclass(frozen=True, slots=True)
class CheckContext:
    """What the modal must remember between the button press and the submission."""

    port: int
    protocol: ProtocolChoice
    channel_id: str | None = None
    thread_ts: str | None = None
    response_url: str | None = None
    hint: str | None = None  # the curated entry the button came from (bot/core/checks.py)

    def to_metadata(self) -> str:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        text = json.dumps(data, separators=(",", ":"))
        if len(text) > MAX_METADATA:  # never in practice; the response_url is only a fallback
            data.pop("response_url", None)
            text = json.dumps(data, separators=(",", ":"))
        return text

    @classmethod
    def from_metadata(cls, text: str) -> CheckContext:
        """Read it back; ValueError for anything that is not what :meth:`to_metadata` wrote."""
        try:
            data = json.loads(text)
            port = int(data["port"])
            protocol = data.get("protocol", "auto")
        except (ValueError, KeyError, TypeError) as err:
            raise ValueError("not a Portbot check modal") from err
        hint = data.get("hint")
        if not 1 <= port <= 65535 or protocol not in ("auto", "tcp", "udp", "both"):
            raise ValueError("not a Portbot check modal")
        if hint is not None and not (isinstance(hint, str) and _HINT.fullmatch(hint)):
            raise ValueError("not a Portbot check modal")
        return cls(
            port=port,
            protocol=protocol,
            channel_id=_str_or_none(data.get("channel_id")),
            thread_ts=_str_or_none(data.get("thread_ts")),
            response_url=_str_or_none(data.get("response_url")),
            hint=hint,
        )


def parse_check_value(value: str) -> tuple[int, ProtocolChoice]:
    """A Check button's value (``25565/tcp``, ``7777/udp/ark-survival-evolved``) as port and protocol;
    ValueError if it is not one."""
    number, _, protocol = value.partition("/")
    protocol = protocol.partition("/")[0]
    port = int(number)
    if not 1 <= port <= 65535:
        raise ValueError(f"port out of range: {port}")
    if protocol == "tcp":
        return port, "tcp"
    if protocol == "udp":
        return port, "udp"
    if protocol == "both":
        return port, "both"
    return port, "auto"


def parse_check_hint(value: str) -> str | None:
    """The curated entry a Check button's value names after its protocol, or None."""
    hint = value.split("/", 2)[2] if value.count("/") >= 2 else ""
    return hint if _HINT.fullmatch(hint) else None


def check_modal(context: CheckContext) -> dict[str, Any]:
    """The modal view for ``views.open``."""
    proto = {"auto": "", "both": "/tcp+udp"}.get(context.protocol, f"/{context.protocol}")
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "private_metadata": context.to_metadata(),
        # Modal titles are capped at 24 characters: "Check port 65535/udp" is 20.
        "title": {"type": "plain_text", "text": f"Check port {context.port}{proto}"},
        "submit": {"type": "plain_text", "text": "Check"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "section",
                "text": {
                    "type": "mrkdwn",
                    "verbatim": True,
                    "text": (
                        f"I'll check whether port *{context.port}{escape(proto)}* on your server answers "
                        "from the internet. Only you will see the result."
                    ),
                },
            },
            {
                "type": "input",
                "block_id": HOST_BLOCK,
                "label": {"type": "plain_text", "text": "Server address"},
                "hint": {
                    "type": "plain_text",
                    "text": (
                        "The public address or name people connect to, e.g. mc.example.com or 203.0.113.7. "
                        "Not a 192.168.x.x address: that only works inside your home."
                    ),
                },
                "element": {
                    "type": "plain_text_input",
                    "action_id": HOST_INPUT,
                    "max_length": MAX_HOST,
                    "placeholder": {"type": "plain_text", "text": "mc.example.com"},
                },
            },
            # A button, not a checkbox: pressing it needs no address typed, and the input above stays required.
            {
                "type": "section",
                "block_id": SELF_CHECK_BLOCK,
                "text": {"type": "mrkdwn", "verbatim": True, "text": SELF_CHECK_TEXT},
                "accessory": {
                    "type": "button",
                    "action_id": SELF_CHECK_ACTION,
                    "text": {"type": "plain_text", "text": SELF_CHECK_LABEL},
                    "value": str(context.port),
                },
            },
        ],
    }


CHECKING_TEXT = "Checking port *{port}{proto}* on your server… this takes a few seconds."
DONE_TEXT = "Done: I've sent you the result. Only you can see it."


def checking_modal(context: CheckContext) -> dict[str, Any]:
    """What the modal shows while the probe runs (the submission's ack swaps it in)."""
    return _message_modal(context, CHECKING_TEXT.format(port=context.port, proto=escape(_proto(context))))


def done_modal(context: CheckContext) -> dict[str, Any]:
    """What the modal shows once the result has been sent."""
    return _message_modal(context, DONE_TEXT)


def link_sent_modal(context: CheckContext) -> dict[str, Any]:
    """What the modal shows once "Check my own server" has sent the one-time link."""
    return _message_modal(context, LINK_SENT_TEXT)


def _message_modal(context: CheckContext, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": f"Check port {context.port}{_proto(context)}"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "verbatim": True, "text": text}}],
    }


def _proto(context: CheckContext) -> str:
    return "" if context.protocol == "auto" else f"/{context.protocol}"


def submitted_host(view: dict[str, Any]) -> str:
    """The host typed into the modal ("" if none)."""
    value = view.get("state", {}).get("values", {}).get(HOST_BLOCK, {}).get(HOST_INPUT, {}).get("value")
    return clean(value) if isinstance(value, str) else ""


def host_problem(host: str) -> str | None:
    """Why ``host`` cannot be checked, shown under the input; None if it may be a host."""
    if not host:
        return "Type the address or name of your server."
    if " " in host:
        return "Type just one address or name, without spaces."
    if len(host) > MAX_HOST:
        return "That is longer than any host name can be."
    if any(ch in host for ch in "<>\"'`\\|{}^"):
        return "That doesn't look like a host name or address."
    return None


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
