"""Slack request bodies as Slack sends them, and Slack's request signature, computed independently of slack_sdk
(so a test proves Bolt accepts what Slack really sends, not just what slack_sdk would sign)."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import time
from typing import Any
from urllib.parse import urlencode

from tests.bot.slack.fake_slack import BOT_USER_ID, TEAM_ID

SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
BOT_TOKEN = "xoxb-portbot-test-token"


def http_app_env(api_url: str, port: int, data_dir: str, **extra: str) -> dict[str, str]:
    """The environment of a real `portbot slack --http` process serving ``port``, its Web API at the fake's
    ``api_url``: this environment plus the single-workspace app's token and signing secret, and ``extra``."""
    return {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": api_url,
        "SLACK_PORT": str(port),
        "PORTBOT_DATA_DIR": data_dir,
        **extra,
    }


APP_TOKEN = "xapp-portbot-test-token"
USER = "U0ALICE01"
CHANNEL = "C0GENERAL1"
DM = "D0ALICEDM1"

_EVENT_IDS = itertools.count(1)

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


def signature_headers(
    body: str, secret: str = SIGNING_SECRET, *, timestamp: int | None = None, content_type: str = FORM
) -> dict[str, str]:
    """Slack's v0 signature: HMAC-SHA256 over ``v0:<timestamp>:<raw body>`` with the signing secret."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": ts,
        "x-slack-signature": f"v0={digest}",
    }


def command(
    text: str, response_url: str, *, user: str = USER, channel: str = CHANNEL, team: str = TEAM_ID
) -> str:
    """A ``/port`` slash command, form-encoded."""
    return urlencode(
        {
            "token": "deprecated-verification-token",
            "team_id": team,
            "team_domain": "portbot-test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": "alice",
            "command": "/port",
            "text": text,
            "api_app_id": "A0PORTBOT",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        }
    )


def block_action(
    action_id: str,
    value: str,
    response_url: str,
    *,
    user: str = USER,
    channel: str = CHANNEL,
    ephemeral: bool = False,
    thread_ts: str | None = None,
) -> str:
    """A button press on a message, form-encoded as ``payload=<json>``."""
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": channel,
        "is_ephemeral": ephemeral,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM_ID},
        "api_app_id": "A0PORTBOT",
        "token": "deprecated-verification-token",
        "container": container,
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM_ID, "domain": "portbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "general"},
        "response_url": response_url,
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "b1",
                "text": {"type": "plain_text", "text": "button", "emoji": True},
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    if not ephemeral:
        payload["message"] = {"type": "message", "ts": "1700000000.000100", "text": "", "blocks": []}
        if thread_ts:
            payload["message"]["thread_ts"] = thread_ts
    return urlencode({"payload": json.dumps(payload)})


def view_submission(private_metadata: str, host: str | None, *, user: str = USER) -> str:
    """The Check modal being submitted."""
    payload = {
        "type": "view_submission",
        "team": {"id": TEAM_ID, "domain": "portbot-test"},
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM_ID},
        "api_app_id": "A0PORTBOT",
        "token": "deprecated-verification-token",
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "view": {
            "id": "V0PORTBOT",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": "portbot_check",
            "private_metadata": private_metadata,
            "state": {"values": {"host": {"host": {"type": "plain_text_input", "value": host}}}},
            "hash": "156772938.1827394",
            "app_id": "A0PORTBOT",
            "bot_id": "BPORT1",
        },
        "response_urls": [],
        "is_enterprise_install": False,
        "enterprise": None,
    }
    return urlencode({"payload": json.dumps(payload)})


def modal_action(action_id: str, value: str, private_metadata: str, *, user: str = USER) -> str:
    """A button pressed inside the open Check modal: no channel, no response_url, the view it sits in."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM_ID},
        "api_app_id": "A0PORTBOT",
        "token": "deprecated-verification-token",
        "container": {"type": "view", "view_id": "V0PORTBOT"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM_ID, "domain": "portbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {
            "id": "V0PORTBOT",
            "team_id": TEAM_ID,
            "type": "modal",
            "callback_id": "portbot_check",
            "private_metadata": private_metadata,
            "state": {"values": {"host": {"host": {"type": "plain_text_input", "value": None}}}},
            "hash": "156772938.1827394",
            "root_view_id": "V0PORTBOT",
            "previous_view_id": None,
            "app_id": "A0PORTBOT",
            "bot_id": "BPORT1",
        },
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "self_check",
                "text": {"type": "plain_text", "text": "button", "emoji": True},
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})


def event(inner: dict[str, Any]) -> str:
    """An Events API callback wrapping ``inner``, as JSON, with a fresh event_id."""
    return json.dumps(
        {
            "token": "deprecated-verification-token",
            "team_id": TEAM_ID,
            "api_app_id": "A0PORTBOT",
            "event": inner,
            "type": "event_callback",
            "event_id": f"Ev{next(_EVENT_IDS):010d}",
            "event_time": 1700000000,
            "authorizations": [
                {"team_id": TEAM_ID, "user_id": BOT_USER_ID, "is_bot": True, "is_enterprise_install": False}
            ],
            "is_ext_shared_channel": False,
        }
    )


def mention(text: str, *, ts: str = "1700000000.000300", thread_ts: str | None = None) -> str:
    inner: dict[str, Any] = {
        "type": "app_mention",
        "user": USER,
        "text": text,
        "ts": ts,
        "channel": CHANNEL,
        "event_ts": ts,
    }
    if thread_ts:
        inner["thread_ts"] = thread_ts
    return event(inner)


def direct_message(text: str, **extra: Any) -> str:
    inner: dict[str, Any] = {
        "type": "message",
        "channel": DM,
        "user": USER,
        "text": text,
        "ts": "1700000000.000400",
        "event_ts": "1700000000.000400",
        "channel_type": "im",
        **extra,
    }
    return event(inner)


def home_opened(tab: str = "home", *, user: str = USER) -> str:
    """A member opening Portbot's App Home (``tab`` is "home" or "messages")."""
    inner: dict[str, Any] = {
        "type": "app_home_opened",
        "user": user,
        "channel": DM,
        "tab": tab,
        "event_ts": "1700000000.000500",
    }
    return event(inner)


def home_action(action_id: str, value: str, *, user: str = USER) -> str:
    """A button pressed on the Home tab: no channel, no response_url, a ``view`` container."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "user": {"id": user, "username": "alice", "name": "alice", "team_id": TEAM_ID},
        "api_app_id": "A0PORTBOT",
        "token": "deprecated-verification-token",
        "container": {"type": "view", "view_id": "V0HOME"},
        "trigger_id": "13345224609.738474920.8088930838d88f008e0",
        "team": {"id": TEAM_ID, "domain": "portbot-test"},
        "enterprise": None,
        "is_enterprise_install": False,
        "view": {"id": "V0HOME", "team_id": TEAM_ID, "type": "home", "blocks": [], "app_id": "A0PORTBOT"},
        "actions": [
            {
                "type": "button",
                "action_id": action_id,
                "block_id": "settings",
                "text": {"type": "plain_text", "text": "button", "emoji": True},
                "value": value,
                "action_ts": "1700000001.000200",
            }
        ],
    }
    return urlencode({"payload": json.dumps(payload)})
