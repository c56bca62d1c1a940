"""The App Home: the Home tab (help and settings, changed only by workspace admins as Slack's users.info says)
and the welcome on a member's first DM, driven by signed events and actions through Bolt against the fake."""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from bot.core.commands import Portbot
from bot.settings import Settings
from bot.slack import build_app, lazy_runner
from bot.slack.home import ADMINS_ONLY, NOT_ALLOWED, SAVED, WELCOME
from bot.slack.render import fallback_text
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack

KNOWLEDGE = "portbot_home_knowledge"


def published(fake: FakeSlack, number: int = -1) -> dict[str, Any]:
    call = fake.calls_to("views.publish")[number]
    assert call.args["user_id"] == payloads.USER
    view = call.args["view"]
    assert isinstance(view, dict)
    return view


def texts(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def settings_buttons(view: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


async def make_private(slack: Slack, fake: FakeSlack) -> None:
    fake.admins.add(payloads.USER)
    await slack.send(payloads.home_action(KNOWLEDGE, "private"))


# -- the Home tab ---------------------------------------------------------------------------------------------


async def test_opening_home_publishes_help_and_settings(slack: Slack, fake_slack: FakeSlack) -> None:
    """app_home_opened on the Home tab: views.publish with the help and this workspace's settings."""
    response = await slack.event(payloads.home_opened())
    assert response.status == 200
    view = published(fake_slack)
    assert view["type"] == "home"
    assert view["blocks"][0]["text"]["text"] == ":information_source: Portbot: ports, explained and checked"
    assert "Settings for this workspace" in texts(view)
    assert "Posted in the channel for everyone." in texts(view)
    assert "Only the person who asked sees them, always" in texts(view)


async def test_a_member_sees_settings_without_buttons(slack: Slack, fake_slack: FakeSlack) -> None:
    """Someone who is neither admin nor owner is told who can change settings, and gets no button (not even
    the help's Ask buttons, which would have nowhere to answer from a Home tab)."""
    await slack.event(payloads.home_opened())
    (call,) = fake_slack.calls_to("users.info")
    assert call.args["user"] == payloads.USER
    view = published(fake_slack)
    assert settings_buttons(view) == []
    assert view["blocks"][-1]["elements"][0]["text"] == ADMINS_ONLY


@pytest.mark.parametrize("role", ["admins", "owners"])
async def test_admins_and_owners_get_the_settings_button(
    slack: Slack, fake_slack: FakeSlack, role: str
) -> None:
    """An admin or owner sees a button to make answers private (the defaults being public)."""
    getattr(fake_slack, role).add(payloads.USER)
    await slack.event(payloads.home_opened())
    (button,) = settings_buttons(published(fake_slack))
    assert (button["action_id"], button["value"]) == (KNOWLEDGE, "private")
    assert button["text"]["text"] == "Answer only the asker"


async def test_the_messages_tab_does_not_publish_home(slack: Slack, fake_slack: FakeSlack) -> None:
    """Opening the Messages tab welcomes, it does not publish the Home tab."""
    await slack.event(payloads.home_opened("messages"))
    assert fake_slack.calls_to("views.publish") == []


# -- changing settings ------------------------------------------------------------------------------------------


async def test_an_admin_makes_knowledge_answers_private(slack: Slack, fake_slack: FakeSlack) -> None:
    """The admin's press is checked with users.info, saved, and the Home tab republished with the new state."""
    await make_private(slack, fake_slack)
    (call,) = fake_slack.calls_to("users.info")
    assert call.args["user"] == payloads.USER
    view = published(fake_slack)
    assert "Posted in the channel for everyone." not in texts(view)
    assert "*Port and service answers*\\nOnly the person who asked sees them." in texts(view)
    (button,) = settings_buttons(view)
    assert button["value"] == "public"
    assert view["blocks"][-1]["elements"][0]["text"] == SAVED


async def test_after_that_knowledge_answers_are_private(slack: Slack, fake_slack: FakeSlack) -> None:
    """/port 25565 and @Portbot 25565 in that workspace are answered to the asker only."""
    await make_private(slack, fake_slack)
    response = await slack.command("25565")
    assert response.body == ""
    (posted,) = fake_slack.posted_to("cmd")
    assert posted.body["response_type"] == "ephemeral"
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> 25565"))
    assert [c.method for c in fake_slack.messages] == ["chat.postEphemeral"]


async def test_an_admin_can_make_them_public_again(slack: Slack, fake_slack: FakeSlack) -> None:
    """Public again: /port 25565 is acked in_channel once more."""
    await make_private(slack, fake_slack)
    await slack.send(payloads.home_action(KNOWLEDGE, "public"))
    response = await slack.command("25565")
    assert json.loads(response.body) == {"text": "", "response_type": "in_channel"}


@pytest.mark.parametrize("users_info_fails", [False, True])
async def test_a_member_who_is_not_an_admin_changes_nothing(
    slack: Slack, fake_slack: FakeSlack, users_info_fails: bool
) -> None:
    """A press by a non-admin (or when Slack can't say who is admin) saves nothing and says why."""
    if users_info_fails:
        fake_slack.admins.add(payloads.USER)
        fake_slack.failures["users.info"] = "user_not_found"
    await slack.send(payloads.home_action(KNOWLEDGE, "private"))
    view = published(fake_slack)
    assert view["blocks"][-1]["elements"][0]["text"] == NOT_ALLOWED
    assert settings_buttons(view) == []
    response = await slack.command("25565")
    assert json.loads(response.body)["response_type"] == "in_channel"


async def test_a_value_portbot_never_sent_changes_nothing(slack: Slack, fake_slack: FakeSlack) -> None:
    """A tampered button value is ignored: no users.info, no publish, no change."""
    fake_slack.admins.add(payloads.USER)
    await slack.send(payloads.home_action(KNOWLEDGE, "everyone"))
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []


async def test_settings_are_per_workspace(slack: Slack, fake_slack: FakeSlack) -> None:
    """One workspace's admin choosing private leaves another workspace's answers public."""
    await make_private(slack, fake_slack)
    body = payloads.command("25565", fake_slack.response_url("other"), team="T0OTHERWS")
    response = await slack.send(body)
    assert json.loads(response.body) == {"text": "", "response_type": "in_channel"}
    assert fake_slack.posted_to("other")[0].body["response_type"] == "in_channel"


async def test_settings_survive_a_restart(
    slack: Slack, fake_slack: FakeSlack, settings: Settings, portbot: Portbot
) -> None:
    """Kept in the store (by default a SQLite file in PORTBOT_DATA_DIR): a new app (a restart) answers privately too."""
    await make_private(slack, fake_slack)
    async with aiohttp.ClientSession() as session:
        again = build_app(settings, portbot, http=True, session=session)
        response = await Slack(again, fake_slack).command("25565", hook="after")
        await lazy_runner(again).drain()
    assert response.body == ""
    assert fake_slack.posted_to("after")[0].body["response_type"] == "ephemeral"
    assert (settings.portbot.data_dir / "portbot.sqlite3").is_file()


# -- the welcome ------------------------------------------------------------------------------------------------


async def test_opening_the_dm_welcomes_once(slack: Slack, fake_slack: FakeSlack) -> None:
    """The Messages tab opened twice, then a DM: one welcome, in the DM."""
    await slack.event(payloads.home_opened("messages"))
    await slack.event(payloads.home_opened("messages"))
    await slack.event(payloads.direct_message("25565"))
    welcome, answer = fake_slack.calls_to("chat.postMessage")
    assert (welcome.args["channel"], welcome.args["text"]) == (payloads.DM, fallback_text(WELCOME))
    assert welcome.args["blocks"][0]["text"]["text"] == ":information_source: Welcome to Portbot"
    assert answer.args["blocks"][0]["text"]["text"] == ":information_source: Port 25565"


async def test_the_first_dm_is_welcomed_then_answered(slack: Slack, fake_slack: FakeSlack) -> None:
    """A first DM without opening the tab: the welcome, then the answer; the next DM only the answer."""
    await slack.event(payloads.direct_message("25565"))
    await slack.event(payloads.direct_message("tcp vs udp"))
    texts = [c.args["text"] for c in fake_slack.calls_to("chat.postMessage")]
    assert texts[0] == fallback_text(WELCOME)
    assert len(texts) == 3 and fallback_text(WELCOME) not in texts[1:]


async def test_each_member_is_welcomed(slack: Slack, fake_slack: FakeSlack) -> None:
    """Once per member, not once per workspace."""
    await slack.event(payloads.home_opened("messages"))
    await slack.event(payloads.home_opened("messages", user="U0BOB0001"))
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


async def test_a_failed_welcome_does_not_block_the_answer(slack: Slack, fake_slack: FakeSlack) -> None:
    """If the welcome can't be posted, the DM still gets its answer."""
    fake_slack.fail_once["chat.postMessage"] = "channel_not_found"
    await slack.event(payloads.direct_message("25565"))
    assert fake_slack.calls_to("chat.postEphemeral") == []
    welcome, answer = fake_slack.calls_to("chat.postMessage")
    assert welcome.args["text"] == fallback_text(WELCOME)
    assert answer.args["blocks"][0]["text"]["text"] == ":information_source: Port 25565"
