"""``/port watch add|list|remove`` through Bolt's own request handling, against the fake Slack: admins and owners
only (asked of users.info), private answers, and a masked status message posted with chat.postMessage and then
updated in place with chat.update."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.oauth.installation_store import Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from bot.app import watch_desk
from bot.core.commands import Portbot
from bot.core.watch_replies import alert_reply, status_reply
from bot.settings import Settings, SettingsError
from bot.slack import build_app, lazy_runner
from bot.slack.app import INSTALLATIONS_DB, notifier_for, notifier_from_settings
from bot.slack.notifier import installation_tokens
from bot.slack.render import render
from bot.store import Store, database_url_for, open_store
from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import Change, CheckSummary
from bot.watch.repository import WatchRepository
from tests.bot.slack import payloads
from tests.bot.slack.blockkit import assert_cannot_ping
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import TEAM_ID, FakeSlack
from tests.bot.slack.test_app import header

# Host names resolve through the test's own DNS server, to loopback (tests/bot/conftest.py).
pytestmark = pytest.mark.usefixtures("watch_names")

HOST = "mc.example.com"
MASKED = "mc….com"


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(database_url_for(None, tmp_path))
    yield opened
    await opened.close()


@pytest.fixture
def repository(store: Store) -> WatchRepository:
    return WatchRepository(store)


@pytest.fixture
async def watch_app(settings: Settings, portbot: Portbot, store: Store) -> AsyncIterator[AsyncApp]:
    """The app as run() builds it, with watches kept in ``store``."""
    async with aiohttp.ClientSession() as session:
        desk = watch_desk(settings, store, command="/port watch", portbot=portbot)
        app = build_app(settings, portbot, http=True, session=session, watches=desk)
        yield app
        await lazy_runner(app).drain()


@pytest.fixture
def admin_slack(watch_app: AsyncApp, fake_slack: FakeSlack) -> Slack:
    fake_slack.admins.add(payloads.USER)
    return Slack(watch_app, fake_slack)


def message_args(call_args: dict[str, Any]) -> dict[str, Any]:
    """A chat.* call's arguments with ``blocks`` decoded (slack-sdk may send it as a JSON string)."""
    args = dict(call_args)
    if isinstance(args.get("blocks"), str):
        args["blocks"] = json.loads(args["blocks"])
    return args


def no_host(args: dict[str, Any]) -> None:
    text = json.dumps(args, ensure_ascii=False)
    assert HOST not in text and "203.0.113" not in text


def quiet(args: dict[str, Any]) -> None:
    """Posted so that nothing can mention anyone or unfurl."""
    assert args["link_names"] in (False, "false", "0", 0)
    assert args["parse"] == "none"
    assert_cannot_ping({"text": args["text"], "blocks": args["blocks"]})


async def private_answer(slack: Slack, text: str) -> dict[str, Any]:
    response = await slack.command(text)
    assert response.status == 200 and response.body == ""  # nothing shown in the channel
    (posted,) = slack.fake.posted_to("cmd")
    slack.fake.posted.clear()
    assert posted.body["response_type"] == "ephemeral"
    return posted.body


async def test_add_answers_privately_and_posts_a_masked_status_message(
    admin_slack: Slack, fake_slack: FakeSlack, repository: WatchRepository
) -> None:
    """An admin's add is answered only to them, and one masked status message goes to the channel."""
    body = await private_answer(admin_slack, f"watch add {HOST} 25565 label Survival")
    assert header(body) == ":large_green_circle: Watching Survival (#1)"
    (post,) = fake_slack.calls_to("chat.postMessage")
    args = message_args(post.args)
    assert (args["channel"], post.token) == (payloads.CHANNEL, payloads.BOT_TOKEN)
    assert MASKED in json.dumps(args, ensure_ascii=False)
    no_host(args)
    quiet(args)
    (watch,) = await repository.list(Platform.SLACK, TEAM_ID)
    # The words are bot/core/watch_replies.py's (tested there); here: that one, named, masked message is posted.
    assert args["blocks"] == render(status_reply(watch, None))["blocks"]
    assert "Survival" in header(args)
    assert (watch.host, watch.port, watch.protocol, watch.channel_id) == (
        HOST,
        25565,
        "tcp",
        payloads.CHANNEL,
    )
    # The ts chat.postMessage answered (the fake numbers them by call).
    assert watch.status_message_id == f"1700000000.{fake_slack.calls.index(post) + 1:06d}"


async def test_the_notifier_updates_the_same_message_then_alerts(
    admin_slack: Slack,
    fake_slack: FakeSlack,
    repository: WatchRepository,
    watch_app: AsyncApp,
    settings: Settings,
) -> None:
    """After the add's chat.postMessage, a check's status is a chat.update of that ts, a change a new post."""
    await private_answer(admin_slack, f"watch add {HOST} 25565 udp every 120")
    (stored,) = await repository.list(Platform.SLACK, TEAM_ID)
    assert (stored.protocol, stored.every) == ("udp", 120.0)
    watch = replace(stored, state=Health.DOWN, state_since=1000.0)  # as the scheduler hands it over
    notifier = notifier_for(watch_app, settings, http=True)
    down = CheckSummary(Health.DOWN, "unreachable", "No route to 203.0.113.7 from the internet.", 1000.0)
    assert await notifier.show_status(watch, down) is None
    await notifier.alert(Change(watch, 1, Health.UP, Health.DOWN, down, 1000.0))
    (update,) = fake_slack.calls_to("chat.update")
    post, alert = fake_slack.calls_to("chat.postMessage")
    assert (update.args["channel"], update.args["ts"]) == (payloads.CHANNEL, watch.status_message_id)
    assert update.token == payloads.BOT_TOKEN
    for call in (post, update, alert):
        args = message_args(call.args)
        no_host(args)
        quiet(args)
    assert header(message_args(update.args)) == header(dict(render(status_reply(watch, down))))
    assert header(message_args(update.args)).startswith(":red_circle: ")
    assert "203.0.x.x" in json.dumps(message_args(update.args)["blocks"], ensure_ascii=False)
    change = Change(watch, 1, Health.UP, Health.DOWN, down, 1000.0)
    assert header(message_args(alert.args)) == header(dict(render(alert_reply(change))))


async def test_a_deleted_status_message_is_posted_again(
    admin_slack: Slack,
    fake_slack: FakeSlack,
    repository: WatchRepository,
    watch_app: AsyncApp,
    settings: Settings,
) -> None:
    """chat.update answering message_not_found: a new status message, whose ts goes back to the scheduler."""
    await private_answer(admin_slack, f"watch add {HOST} 25565")
    (watch,) = await repository.list(Platform.SLACK, TEAM_ID)
    fake_slack.fail_once["chat.update"] = "message_not_found"
    up = CheckSummary(Health.UP, "open", None, 1000.0, players=(3, 20))
    new_ts = await notifier_for(watch_app, settings, http=True).show_status(watch, up)
    assert new_ts is not None and new_ts != watch.status_message_id
    assert len(fake_slack.calls_to("chat.postMessage")) == 2


@pytest.mark.parametrize("text", [f"watch add {HOST} 25565", "watch list", "watch remove 1"])
async def test_members_are_refused(
    watch_app: AsyncApp, fake_slack: FakeSlack, repository: WatchRepository, text: str
) -> None:
    """A member who is neither admin nor owner (users.info says so) gets a private refusal; nothing changes."""
    body = await private_answer(Slack(watch_app, fake_slack), text)
    assert header(body) == ":warning: Only workspace admins and owners can manage watches"
    assert fake_slack.calls_to("users.info")[0].args["user"] == payloads.USER
    assert fake_slack.calls_to("chat.postMessage") == []
    assert await repository.list(Platform.SLACK, TEAM_ID) == []


async def test_owners_may_add(watch_app: AsyncApp, fake_slack: FakeSlack) -> None:
    """An owner who is not flagged admin may manage watches too."""
    fake_slack.owners.add(payloads.USER)
    body = await private_answer(Slack(watch_app, fake_slack), f"watch add {HOST} 25565")
    assert header(body) == f":large_green_circle: Watching {HOST}:25565 (#1)"  # private: the host is shown


async def test_the_quota_is_enforced_with_a_plain_message(
    admin_slack: Slack, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, store: Store, portbot: Portbot
) -> None:
    """With PORTBOT_WATCH_QUOTA=1 the second add is refused privately, naming the workspace and the command."""
    monkeypatch.setenv("PORTBOT_WATCH_QUOTA", "1")
    settings = Settings.load(env_file=None)
    async with aiohttp.ClientSession() as session:
        app = build_app(
            settings,
            portbot,
            http=True,
            session=session,
            watches=watch_desk(settings, store, command="/port watch"),
        )
        slack = Slack(app, fake_slack)
        await private_answer(slack, f"watch add {HOST} 25565")
        body = await private_answer(slack, f"watch add {HOST} 25566")
    assert header(body) == ":warning: I can't do that"
    assert body["blocks"][1]["text"]["text"] == (
        "This workspace already has 1 watches, the most it can have. Remove one with `/port watch remove` first."
    )
    assert len(fake_slack.calls_to("chat.postMessage")) == 1


@pytest.mark.parametrize(
    ("text", "title", "summary"),
    [
        ("watch", ":information_source: Watch a server", None),
        ("watch frobnicate", ":information_source: Watch a server", None),
        (
            "watch add mc.example.com",
            ":warning: I couldn't read that watch command",
            "Give the host and the port, e.g. `/port watch add mc.example.com 25565`.",
        ),
        (
            "watch add mc.example.com 70000",
            ":warning: I couldn't read that watch command",
            "`70000` is not a port: ports go from 1 to 65535.",
        ),
        (
            "watch add mc.example.com 25565 every soon",
            ":warning: I couldn't read that watch command",
            "`every` takes seconds, e.g. `every 300`; `soon` is not a number.",
        ),
        (
            "watch add mc.example.com 25565 every 10",
            ":warning: I can't do that",
            "Checks can be at most one every 60 seconds here: give `every` of 60 or more.",
        ),
        ("watch add 10.0.0.7 25565", ":warning: I won't watch that address", None),
        (
            "watch remove x",
            ":warning: I couldn't read that watch command",
            "Which watch should I remove? Give its number from `/port watch list`, e.g. `/port watch remove 3`.",
        ),
    ],
)
async def test_bad_commands_get_a_private_plain_answer(
    admin_slack: Slack, fake_slack: FakeSlack, text: str, title: str, summary: str | None
) -> None:
    """Usage, unreadable options, too short an interval and private addresses: private, nothing posted."""
    body = await private_answer(admin_slack, text)
    assert header(body) == title
    if summary is not None:
        assert body["blocks"][1]["text"]["text"] == summary
    assert fake_slack.calls_to("chat.postMessage") == []


async def test_list_and_remove(
    admin_slack: Slack, fake_slack: FakeSlack, repository: WatchRepository
) -> None:
    """List is private and names the hosts; remove deletes one and chat.updates its status message, masked."""
    await private_answer(admin_slack, f"watch add {HOST} 25565 label Survival")
    await private_answer(admin_slack, "watch add play.example.net 19132 udp")
    listed = await private_answer(admin_slack, "watch list")
    assert header(listed) == ":information_source: Watches here (2 of 10)"
    assert HOST in json.dumps(listed)
    removed = await private_answer(admin_slack, "watch remove #1")
    assert header(removed) == ":information_source: Stopped watching Survival (#1)"
    (update,) = fake_slack.calls_to("chat.update")
    args = message_args(update.args)
    assert header(args) == ":information_source: Survival is no longer watched"
    no_host(args)
    again = await private_answer(admin_slack, "watch remove 1")
    assert header(again) == ":warning: I can't do that"
    assert [w.id for w in await repository.list(Platform.SLACK, TEAM_ID)] == [2]


async def test_oauth_installs_give_each_workspace_its_own_token(tmp_path: Path) -> None:
    """With OAuth, a workspace's watches use the bot token its install stored; an unknown one has none."""
    installs = SQLite3InstallationStore(database=str(tmp_path / "installs.sqlite3"), client_id="111.222")
    installs.save(
        Installation(
            app_id="A0PORTBOT",
            team_id=TEAM_ID,
            user_id="U0INSTALLER",
            bot_token="xoxb-team-token",
            bot_id="B1",
            bot_user_id="U0BOT",
        )
    )
    token_for = installation_tokens(installs)
    assert await token_for(TEAM_ID) == "xoxb-team-token"
    assert await token_for("T0OTHER") is None


async def test_a_hostile_label_mentions_no_one(admin_slack: Slack, fake_slack: FakeSlack) -> None:
    """A label with Slack's mention and link syntax is posted as plain text that cannot ping or link."""
    await private_answer(
        admin_slack, f"watch add {HOST} 25565 label <!channel> <@U0BOB> <https://evil.example|x>"
    )
    (post,) = fake_slack.calls_to("chat.postMessage")
    quiet(message_args(post.args))


async def test_a_game_is_stored_by_its_knowledge_id(
    admin_slack: Slack, fake_slack: FakeSlack, repository: WatchRepository
) -> None:
    """`game Minecraft` is read by the knowledge base and kept as its entry's id, for the players query."""
    await private_answer(admin_slack, f"watch add {HOST} 25565 game Minecraft")
    (watch,) = await repository.list(Platform.SLACK, TEAM_ID)
    assert watch.game == "minecraft-java"


async def test_an_unknown_game_is_refused(admin_slack: Slack, fake_slack: FakeSlack) -> None:
    """A game the knowledge base does not know: refused privately, with what to do."""
    body = await private_answer(admin_slack, f"watch add {HOST} 25565 game frobnitz")
    assert header(body) == ":warning: I can't do that"
    assert body["blocks"][1]["text"]["text"] == (
        "I don't know the game or app `frobnitz`, so I can't ask it for players. "
        "Name one I know (minecraft, valheim, rust, …) or leave it out to check the port alone."
    )
    assert fake_slack.calls_to("chat.postMessage") == []


def stored_watch() -> Watch:
    return Watch(
        1,
        Platform.SLACK,
        TEAM_ID,
        payloads.USER,
        HOST,
        25565,
        "tcp",
        60.0,
        None,
        None,
        payloads.CHANNEL,
        None,
        None,
        0.0,
        0.0,
        None,
        None,
        None,
        0,
        None,
        None,
    )


async def test_watch_run_posts_with_the_bot_token(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`portbot watch run`'s notifier, built from settings alone, posts with SLACK_BOT_TOKEN at SLACK_API_URL."""
    monkeypatch.setenv("SLACK_BOT_TOKEN", payloads.BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    notifier = notifier_from_settings(Settings.load(env_file=None))
    ts = await notifier.show_status(stored_watch(), CheckSummary(Health.UP, "open", None, 1000.0))
    (post,) = fake_slack.calls_to("chat.postMessage")
    assert (post.token, post.args["channel"], ts) == (
        payloads.BOT_TOKEN,
        payloads.CHANNEL,
        f"1700000000.{1:06d}",
    )


async def test_watch_run_with_oauth_uses_the_installs_token(
    fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """With SLACK_CLIENT_ID, the token is the one the workspace's install stored in the data directory."""
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("PORTBOT_DATA_DIR", str(tmp_path))
    SQLite3InstallationStore(database=str(tmp_path / INSTALLATIONS_DB), client_id="111.222").save(
        Installation(
            app_id="A0PORTBOT",
            team_id=TEAM_ID,
            user_id="U0INSTALLER",
            bot_token="xoxb-team-token",
            bot_id="B1",
            bot_user_id="U0BOT",
        )
    )
    notifier = notifier_from_settings(Settings.load(env_file=None))
    await notifier.alert(
        Change(
            stored_watch(),
            1,
            Health.UP,
            Health.DOWN,
            CheckSummary(Health.DOWN, "closed", "Refused.", 1.0),
            1.0,
        )
    )
    (post,) = fake_slack.calls_to("chat.postMessage")
    assert post.token == "xoxb-team-token"


def test_watch_run_without_a_token_says_which_variable() -> None:
    """Neither SLACK_BOT_TOKEN nor SLACK_CLIENT_ID: a settings error naming the variable."""
    with pytest.raises(SettingsError, match=r"^SLACK_BOT_TOKEN is not set"):
        notifier_from_settings(Settings.load(env_file=None))


async def test_a_channel_portbot_is_not_in_keeps_the_watch_and_says_to_invite(
    admin_slack: Slack, fake_slack: FakeSlack, repository: WatchRepository
) -> None:
    """chat.postMessage answering not_in_channel: the watch stays and the admin is told to invite Portbot."""
    fake_slack.failures["chat.postMessage"] = "not_in_channel"
    body = await private_answer(admin_slack, f"watch add {HOST} 25565 label Survival")
    assert header(body) == ":warning: Watching Survival (#1), but I couldn't post its status here"
    assert body["blocks"][1]["text"]["text"] == (
        "Invite me to this channel (`/invite @Portbot`); the status message appears with the next check."
    )
    (watch,) = await repository.list(Platform.SLACK, TEAM_ID)
    assert watch.status_message_id is None
