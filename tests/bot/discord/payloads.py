"""Raw INTERACTION_CREATE payloads shaped like the ones Discord sends (API v10), for the fake gateway."""

from __future__ import annotations

import itertools
from typing import Any

from tests.bot.discord.fake_discord import APP_ID

GUILD_ID = 1188000000000000100
CHANNEL_ID = 1188000000000000200
DM_CHANNEL_ID = 1188000000000000201
USER_ID = 1188000000000000300
OTHER_USER_ID = 1188000000000000301
COMMAND_IDS = {
    "port": "1188000000000000400",
    "portcheck": "1188000000000000401",
    "portbot": "1188000000000000402",
    "help": "1188000000000000403",
    "myserver": "1188000000000000404",
    "Check this server": "1188000000000000405",
}

MANAGE_GUILD = 1 << 5
ADMINISTRATOR = 1 << 3
# What an ordinary member typically holds: view channel, send messages, embed links, use application commands.
MEMBER_PERMISSIONS = (1 << 10) | (1 << 11) | (1 << 14) | (1 << 31)
ADMIN_PERMISSIONS = MEMBER_PERMISSIONS | MANAGE_GUILD

_ids = itertools.count(1_300_000_000_000_000_000)

_OPTION_TYPES = {str: 3, int: 4, bool: 5}


def _user(user_id: int, name: str) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": name,
        "global_name": name.title(),
        "discriminator": "0",
        "avatar": None,
        "public_flags": 0,
    }


def base(
    kind: int,
    *,
    guild: bool = True,
    permissions: int = MEMBER_PERMISSIONS,
    user_id: int = USER_ID,
    name: str = "member",
) -> dict[str, Any]:
    """The envelope every interaction shares: ids, token, who and where."""
    interaction_id = str(next(_ids))
    user = _user(user_id, name)
    payload: dict[str, Any] = {
        "id": interaction_id,
        "application_id": str(APP_ID),
        "type": kind,
        "token": f"token-{interaction_id}",
        "version": 1,
        "locale": "en-US",
        "attachment_size_limit": 10 * 1024 * 1024,
        "entitlements": [],
        "app_permissions": str(MEMBER_PERMISSIONS),
    }
    if guild:
        payload.update(
            guild_id=str(GUILD_ID),
            guild_locale="en-US",
            guild={"id": str(GUILD_ID), "locale": "en-US", "features": []},
            channel_id=str(CHANNEL_ID),
            channel={
                "id": str(CHANNEL_ID),
                "type": 0,
                "guild_id": str(GUILD_ID),
                "name": "general",
                "position": 0,
                "permission_overwrites": [],
                "nsfw": False,
                "parent_id": None,
                "flags": 0,
                "permissions": str(permissions),
            },
            member={
                "user": user,
                "roles": [],
                "joined_at": "2024-01-01T00:00:00.000000+00:00",
                "deaf": False,
                "mute": False,
                "flags": 0,
                "pending": False,
                "permissions": str(permissions),
                "nick": None,
                "avatar": None,
            },
            authorizing_integration_owners={"0": str(GUILD_ID)},
            context=0,
        )
    else:
        payload.update(
            user=user,
            channel_id=str(DM_CHANNEL_ID),
            channel={"id": str(DM_CHANNEL_ID), "type": 1, "recipients": [user], "flags": 0},
            authorizing_integration_owners={"1": str(user_id)},
            context=1,
        )
    return payload


def _options(values: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"name": key, "type": _OPTION_TYPES[type(value)], "value": value}
        for key, value in values.items()
        if value is not None
    ]


def slash(name: str, *, subcommand: str | None = None, guild: bool = True, **options: Any) -> dict[str, Any]:
    """A chat-input command, e.g. ``slash("port", query="25565")``. ``permissions=`` etc. go to :func:`base`."""
    envelope_keys = {"permissions", "user_id"}
    envelope = {k: options.pop(k) for k in list(options) if k in envelope_keys}
    payload = base(2, guild=guild, **envelope)
    opts = _options(options)
    if subcommand:
        opts = [{"name": subcommand, "type": 1, "options": opts}]
    payload["data"] = {"id": COMMAND_IDS.get(name, "1"), "name": name, "type": 1, "options": opts}
    return payload


def autocomplete(name: str, option: str, value: str, *, guild: bool = True) -> dict[str, Any]:
    """An autocomplete request while ``option`` of ``/name`` holds ``value``."""
    payload = base(4, guild=guild)
    payload["data"] = {
        "id": COMMAND_IDS.get(name, "1"),
        "name": name,
        "type": 1,
        "options": [{"name": option, "type": 3, "value": value, "focused": True}],
    }
    return payload


def button_click(
    message: dict[str, Any], custom_id: str, *, guild: bool = True, user_id: int = USER_ID
) -> dict[str, Any]:
    """A click on the button ``custom_id`` of ``message`` (a message the fake recorded)."""
    payload = base(3, guild=guild, user_id=user_id)
    payload["message"] = {**message, "channel_id": payload["channel_id"]}
    payload["data"] = {"custom_id": custom_id, "component_type": 2}
    return payload


def modal_submit(modal: dict[str, Any], values: list[str], *, guild: bool = True) -> dict[str, Any]:
    """Submit ``modal`` (the data of a recorded type-9 callback), filling its text inputs in order."""
    inputs = [row["component"] for row in modal["components"] if row.get("type") == 18]
    assert len(inputs) == len(values), f"modal has {len(inputs)} inputs, got {len(values)} values"
    payload = base(5, guild=guild)
    payload["data"] = {
        "custom_id": modal["custom_id"],
        "components": [
            {
                "type": 18,
                "id": index * 2 + 1,
                "component": {"type": 4, "id": index * 2 + 2, "custom_id": item["custom_id"], "value": value},
            }
            for index, (item, value) in enumerate(zip(inputs, values, strict=True))
        ],
    }
    return payload


def custom_ids(message: dict[str, Any]) -> list[str]:
    """Every button custom_id in a message payload's component rows."""
    return [
        component["custom_id"]
        for row in message.get("components") or []
        for component in row.get("components", [])
        if "custom_id" in component
    ]


def message_command(
    name: str,
    content: str,
    *,
    guild: bool = True,
    author_id: int = OTHER_USER_ID,
    embeds: list[dict[str, Any]] | None = None,
    **envelope: Any,
) -> dict[str, Any]:
    """A message context-menu command (type 2, data.type 3) on a message saying ``content``."""
    payload = base(2, guild=guild, **envelope)
    message_id = str(next(_ids))
    message = {
        "id": message_id,
        "channel_id": payload["channel_id"],
        "author": _user(author_id, "friend"),
        "content": content,
        "timestamp": "2025-01-01T00:00:00.000000+00:00",
        "edited_timestamp": None,
        "tts": False,
        "mention_everyone": False,
        "mentions": [],
        "mention_roles": [],
        "attachments": [],
        "embeds": embeds or [],
        "components": [],
        "pinned": False,
        "type": 0,
        "flags": 0,
    }
    payload["data"] = {
        "id": COMMAND_IDS.get(name, "1"),
        "name": name,
        "type": 3,
        "target_id": message_id,
        "resolved": {"messages": {message_id: message}},
    }
    return payload
