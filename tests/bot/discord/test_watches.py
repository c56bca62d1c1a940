"""``/portbot watch add|list|remove`` through discord.py's own dispatch, against the fake Discord: admins only,
private answers, a masked status message posted in the channel and later edited in place."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.core.watch_replies import alert_reply, status_reply
from bot.discord._endpoints import pointed_at
from bot.discord.notifier import notifier_from_settings, rest_notifier
from bot.discord.render import render_embed
from bot.settings import Settings, SettingsError
from bot.store import Store, database_url_for, open_store
from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import Change, CheckSummary
from bot.watch.repository import WatchRepository
from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot, running
from tests.bot.discord.fake_discord import EPHEMERAL, Callback, FakeDiscord
from tests.bot.discord.test_interactions import embed_of

# Host names resolve through the test's own DNS server, to loopback (tests/bot/conftest.py).
pytestmark = pytest.mark.usefixtures("watch_names")

HOST = "mc.example.com"
MASKED = "mc….com"


def watch_command(
    sub: str, *, guild: bool = True, permissions: int = payloads.ADMIN_PERMISSIONS, **options: Any
) -> dict[str, Any]:
    """``/portbot watch <sub> …`` as Discord sends it: a subcommand inside the ``watch`` group."""
    payload = payloads.slash("portbot", guild=guild, permissions=permissions)
    inner = [
        {"name": key, "type": {str: 3, int: 4}[type(value)], "value": value}
        for key, value in options.items()
        if value is not None
    ]
    payload["data"]["options"] = [
        {"name": "watch", "type": 2, "options": [{"name": sub, "type": 1, "options": inner}]}
    ]
    return payload


@contextlib.asynccontextmanager
async def watches_of(bot: RunningBot) -> AsyncIterator[WatchRepository]:
    """The bot's watch store, opened beside it (the same SQLite file in its data directory)."""
    store: Store = await open_store(database_url_for(None, bot.data_dir))
    try:
        yield WatchRepository(store)
    finally:
        await store.close()


async def ask(bot: RunningBot, sub: str, **options: Any) -> Callback:
    sent = await bot.fake.push_interaction(watch_command(sub, **options))
    return await bot.fake.wait_callback(sent.id)


async def add(bot: RunningBot, **options: Any) -> dict[str, Any]:
    """Run ``/portbot watch add`` as an admin; return the private follow-up's embed."""
    sent = await bot.fake.push_interaction(watch_command("add", **options))
    deferred = await bot.fake.wait_callback(sent.id)
    assert (deferred.type, deferred.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    assert followup.body["flags"] & EPHEMERAL
    return embed_of(followup.body)


def no_host(body: Any) -> None:
    text = json.dumps(body, ensure_ascii=False)
    assert HOST not in text and "203.0.113" not in text


@pytest.fixture
async def quota_one(
    fake_discord: FakeDiscord, portbot: Portbot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> AsyncIterator[RunningBot]:
    monkeypatch.setenv("PORTBOT_WATCH_QUOTA", "1")
    async with running(fake_discord, portbot, monkeypatch, tmp_path / "data") as bot:
        yield bot


async def test_add_answers_privately_and_posts_a_masked_status_message(bot: RunningBot) -> None:
    """An admin's add is answered only to them (naming the host) and posts one public, masked status message."""
    embed = await add(bot, host=HOST, port=25565, label="Survival")
    assert embed["title"] == "✅ Watching Survival (#1)"
    assert embed["description"].startswith(f"`{HOST}` port 25565/TCP, checked every 60 seconds.")
    await bot.fake.wait_for(lambda: bot.fake.channel_calls)
    posted = bot.fake.channel_calls[0]  # then the bot's own scheduler edits it (next test)
    assert (posted.method, posted.path) == ("POST", f"/channels/{payloads.CHANNEL_ID}/messages")
    assert posted.body["allowed_mentions"] == {"parse": []}
    no_host(posted.body)
    async with watches_of(bot) as repository:
        (watch,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    # The words are bot/core/watch_replies.py's (tested there); here: that one, named, masked message is posted.
    assert embed_of(posted.body) == render_embed(status_reply(watch, None)).to_dict()
    assert "Survival" in embed_of(posted.body)["title"]
    assert MASKED in json.dumps(posted.body, ensure_ascii=False)
    assert (watch.host, watch.port, watch.protocol, watch.every) == (HOST, 25565, "tcp", 60.0)
    assert watch.channel_id == str(payloads.CHANNEL_ID)
    assert posted.message is not None
    assert watch.status_message_id == posted.message["id"]


async def test_the_bots_scheduler_checks_the_watch_and_edits_its_message(bot: RunningBot) -> None:
    """The bot runs the scheduler: a new watch is checked at once through the bot's probe backend (this suite's
    double finds every port open) and its status message edited in place, masked, mentioning nobody."""
    await add(bot, host=HOST, port=25565, label="Survival")
    await bot.fake.wait_for(lambda: any(c.method == "PATCH" for c in bot.fake.channel_calls), timeout=20)
    posted, edited = bot.fake.channel_calls[0], next(c for c in bot.fake.channel_calls if c.method == "PATCH")
    assert posted.message is not None and edited.path.endswith(f"/messages/{posted.message['id']}")
    assert embed_of(edited.body)["title"] == "✅ Survival is up"
    assert edited.body["allowed_mentions"] == {"parse": []}
    no_host(edited.body)
    ((request, _requester),) = bot.backend.requests
    assert (request.target, request.ports) == (HOST, (25565,))
    async with watches_of(bot) as repository:
        (watch,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    assert watch.state is Health.UP and watch.last_checked is not None


async def test_the_notifier_edits_the_same_message_then_alerts(bot: RunningBot) -> None:
    """After the add's POST, a check's status is a PATCH of that same message, and a change a new masked post;
    mentions never fire. The notifier logs in over REST only, as `portbot watch run` does."""
    await add(bot, host=HOST, port=25565)
    await bot.fake.wait_for(lambda: bot.fake.channel_calls)
    posted_id = bot.fake.channel_calls[0].message["id"]  # type: ignore[index]
    async with watches_of(bot) as repository:
        (stored,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    watch = replace(stored, state=Health.DOWN, state_since=1000.0)  # as the scheduler hands it over
    down = CheckSummary(
        Health.DOWN, "filtered", "Nothing answered from 203.0.113.7: a firewall drops it.", 1000.0
    )
    with pointed_at(bot.fake.api_base, None):
        async with rest_notifier(bot.fake.token) as notifier:
            assert await notifier.show_status(watch, down) is None
            await notifier.alert(Change(watch, 1, Health.UP, Health.DOWN, down, 1000.0))
    post, edit, alert = bot.fake.channel_calls
    assert (edit.method, edit.path) == ("PATCH", f"/channels/{payloads.CHANNEL_ID}/messages/{posted_id}")
    assert (alert.method, alert.path) == ("POST", f"/channels/{payloads.CHANNEL_ID}/messages")
    for call in (post, edit, alert):
        assert call.body["allowed_mentions"] == {"parse": []}
        no_host(call.body)
    status = embed_of(edit.body)
    assert status["title"] == render_embed(status_reply(watch, down)).title
    assert status["title"].startswith("🚫 ") and status["title"].endswith(" is down")
    assert {f["name"]: f["value"] for f in status["fields"]}["Cause"] == (
        "Nothing answered from 203.0.x.x: a firewall drops it."
    )
    change = Change(watch, 1, Health.UP, Health.DOWN, down, 1000.0)
    assert embed_of(alert.body)["title"] == render_embed(alert_reply(change)).title
    assert [r for r in bot.fake.requests if r.path == "/gateway/bot" and r.at > post.at] == []


async def test_a_deleted_status_message_is_posted_again(bot: RunningBot) -> None:
    """When the status message is gone (404), the next status is a new message whose id the scheduler keeps."""
    await add(bot, host=HOST, port=25565)
    await bot.fake.wait_for(lambda: bot.fake.channel_calls)
    async with watches_of(bot) as repository:
        (stored,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    watch = replace(stored, state=Health.UP, state_since=1000.0)
    bot.fake.messages.pop(str(watch.status_message_id))
    up = CheckSummary(Health.UP, "open", None, 1000.0, latency_ms=12.0, players=(3, 20))
    with pointed_at(bot.fake.api_base, None):
        async with rest_notifier(bot.fake.token) as notifier:
            new_id = await notifier.show_status(watch, up)
    assert new_id is not None and new_id != watch.status_message_id
    reposted = bot.fake.channel_calls[-1]
    assert reposted.method == "POST"
    assert "Players: 3/20" in embed_of(reposted.body)["description"]


@pytest.mark.parametrize(
    ("guild", "permissions", "title"),
    [
        (True, payloads.MEMBER_PERMISSIONS, "❗ Only server admins can manage watches"),
        (False, payloads.ADMIN_PERMISSIONS, "❗ Watches belong to a server"),
    ],
)
@pytest.mark.parametrize("sub", ["add", "list", "remove"])
async def test_members_and_dms_are_refused(
    bot: RunningBot, sub: str, guild: bool, permissions: int, title: str
) -> None:
    """Without Manage Server (even if a server re-granted the command), or in a DM: a private refusal, nothing
    stored, nothing posted."""
    options: dict[str, Any] = {"add": {"host": HOST, "port": 25565}, "list": {}, "remove": {"watch": 1}}[sub]
    sent = await bot.fake.push_interaction(
        watch_command(sub, guild=guild, permissions=permissions, **options)
    )
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)
    assert embed_of(callback.data)["title"] == title
    assert bot.fake.channel_calls == []
    async with watches_of(bot) as repository:
        assert await repository.list(Platform.DISCORD, str(payloads.GUILD_ID)) == []


async def test_administrator_alone_may_add(bot: RunningBot) -> None:
    """The Administrator permission without Manage Server is enough."""
    sent = await bot.fake.push_interaction(
        watch_command(
            "add", permissions=payloads.MEMBER_PERMISSIONS | payloads.ADMINISTRATOR, host=HOST, port=25565
        )
    )
    followup = await bot.fake.wait_followup(sent.token)
    assert embed_of(followup.body)["title"] == f"✅ Watching {HOST}:25565 (#1)"  # private: the host is shown


async def test_the_quota_is_enforced_with_a_plain_message(quota_one: RunningBot) -> None:
    """With PORTBOT_WATCH_QUOTA=1 the second add is refused, privately, and posts nothing."""
    await add(quota_one, host=HOST, port=25565)
    embed = await add(quota_one, host=HOST, port=25566)
    assert embed["title"] == "❗ I can't do that"
    assert embed["description"] == (
        "This server already has 1 watches, the most it can have. Remove one with `/portbot watch remove` first."
    )
    await quota_one.fake.wait_for(lambda: quota_one.fake.channel_calls)
    assert len(quota_one.fake.channel_calls) == 1


@pytest.mark.parametrize(
    ("options", "title", "description"),
    [
        (
            {"host": "192.168.1.10", "port": 25565},
            "❗ I won't watch that address",
            None,  # the probe's own refusal words, checked below to start the same way
        ),
        (
            {"host": "mc example com", "port": 25565},
            "❗ I can't watch that",
            "`mc example com` has a space or an invisible character in it; give me one server name or address.",
        ),
        (
            {"host": HOST, "port": 25565, "every": 30},
            "❗ I can't do that",
            "Checks can be at most one every 60 seconds here: give `every` of 60 or more.",
        ),
    ],
)
async def test_bad_requests_are_refused_in_the_probes_words(
    bot: RunningBot, options: dict[str, Any], title: str, description: str | None
) -> None:
    """A private address, a malformed host or too short an interval: refused privately, nothing stored."""
    embed = await add(bot, **options)
    assert embed["title"] == title
    if description is not None:
        assert embed["description"] == description
    else:
        from probes.errors import RefusedTarget
        from probes.policy import SafetyPolicy, parse_ip_literal

        address = parse_ip_literal("192.168.1.10")
        assert address is not None
        with pytest.raises(RefusedTarget) as refused:
            SafetyPolicy().check_address(address)
        assert embed["description"] == refused.value.message
    assert bot.fake.channel_calls == []


async def test_list_and_remove(bot: RunningBot) -> None:
    """List shows the watches privately with their hosts; remove deletes one and marks its status message."""
    await add(bot, host=HOST, port=25565, label="Survival")
    await add(bot, host="play.example.net", port=19132, protocol="udp", every=120)
    listed = await ask(bot, "list")
    assert (listed.type, listed.ephemeral) == (4, True)
    embed = embed_of(listed.data)
    assert embed["title"] == "Watches here (2 of 10)"
    assert embed["description"] == (
        f"**#1** Survival: `{HOST}` port 25565/TCP, every 60 s — not checked yet\n"
        "**#2** `play.example.net` port 19132/UDP, every 120 s — not checked yet"
    )
    removed = await ask(bot, "remove", watch=1)
    assert (removed.type, removed.ephemeral) == (4, True)
    assert embed_of(removed.data)["title"] == "Stopped watching Survival (#1)"
    await bot.fake.wait_for(lambda: any(c.method == "PATCH" for c in bot.fake.channel_calls))
    (edit,) = [c for c in bot.fake.channel_calls if c.method == "PATCH"]
    assert embed_of(edit.body)["title"] == "Survival is no longer watched"
    no_host(edit.body)
    again = await ask(bot, "remove", watch=1)
    assert embed_of(again.data)["title"] == "❗ I can't do that"
    async with watches_of(bot) as repository:
        assert [w.id for w in await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))] == [2]


def remove_autocomplete(permissions: int) -> dict[str, Any]:
    """Discord asking for choices while the ``watch`` option of ``/portbot watch remove`` is empty."""
    payload = payloads.base(4, permissions=permissions)
    focused = {"name": "watch", "type": 4, "value": "", "focused": True}
    payload["data"] = {
        "id": payloads.COMMAND_IDS["portbot"],
        "name": "portbot",
        "type": 1,
        "options": [
            {"name": "watch", "type": 2, "options": [{"name": "remove", "type": 1, "options": [focused]}]}
        ],
    }
    return payload


@pytest.mark.parametrize(
    ("permissions", "choices"),
    [
        (payloads.ADMIN_PERMISSIONS, [{"name": "#1 mc….com:25565/TCP", "value": 1}]),
        (payloads.MEMBER_PERMISSIONS, []),
    ],
)
async def test_remove_autocompletes_this_servers_watches_masked(
    bot: RunningBot, permissions: int, choices: list[dict[str, Any]]
) -> None:
    """Autocomplete lists the server's watches by number and masked target, never the host; to admins only."""
    await add(bot, host=HOST, port=25565)
    sent = await bot.fake.push_interaction(remove_autocomplete(permissions))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.type == 8
    assert callback.data["choices"] == choices


async def test_a_hostile_label_mentions_no_one(bot: RunningBot) -> None:
    """A label full of mentions and markdown is posted as text: escaped, and with no mention allowed."""
    await add(bot, host=HOST, port=25565, label="@everyone <@123> [x](https://evil.example)")
    await bot.fake.wait_for(lambda: bot.fake.channel_calls)
    (posted,) = bot.fake.channel_calls
    assert posted.body["allowed_mentions"] == {"parse": []}
    title = embed_of(posted.body)["title"]
    assert "@everyone" not in title and "<@123>" not in title and "](" not in title


async def test_a_game_is_stored_by_its_knowledge_id(bot: RunningBot) -> None:
    """`game:Valheim` is read by the knowledge base and kept as its entry's id; the status names the game."""
    await add(bot, host=HOST, port=2456, protocol="udp", game="Valheim")
    await bot.fake.wait_for(lambda: bot.fake.channel_calls)
    async with watches_of(bot) as repository:
        (watch,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    assert (watch.game, watch.protocol) == ("valheim", "udp")
    assert "Valheim" in embed_of(bot.fake.channel_calls[0].body)["title"]


async def test_watch_run_posts_through_its_own_rest_login(
    fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`portbot watch run`'s notifier logs in over REST with DISCORD_TOKEN at DISCORD_API_BASE, no gateway."""
    monkeypatch.setenv("DISCORD_TOKEN", fake_discord.token)
    monkeypatch.setenv("DISCORD_API_BASE", fake_discord.api_base)
    watch = Watch(
        1,
        Platform.DISCORD,
        str(payloads.GUILD_ID),
        "1",
        HOST,
        25565,
        "tcp",
        60.0,
        None,
        None,
        str(payloads.CHANNEL_ID),
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
    async with notifier_from_settings(Settings.load(env_file=None)) as notifier:
        message_id = await notifier.show_status(watch, CheckSummary(Health.UP, "open", None, 1000.0))
    (posted,) = fake_discord.channel_calls
    assert posted.message is not None and posted.message["id"] == message_id
    assert fake_discord.identifies == [] and fake_discord.gateway_queries == []


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "DISCORD_TOKEN is not set"),
        ("wrong-token", "DISCORD_TOKEN was rejected by Discord"),
    ],
)
async def test_watch_run_without_a_good_token_says_which_variable(
    fake_discord: FakeDiscord, monkeypatch: pytest.MonkeyPatch, token: str | None, message: str
) -> None:
    """A missing or rejected token is a settings error naming DISCORD_TOKEN, never a traceback."""
    if token:
        monkeypatch.setenv("DISCORD_TOKEN", token)
    monkeypatch.setenv("DISCORD_API_BASE", fake_discord.api_base)
    with pytest.raises(SettingsError, match=rf"^{message}"):
        async with notifier_from_settings(Settings.load(env_file=None)):
            pass


async def test_a_channel_the_bot_cannot_post_in_keeps_the_watch_and_says_what_to_grant(
    bot: RunningBot,
) -> None:
    """Discord answering 403 to the status message: the watch stays (the next check posts it) and the admin
    reads which permissions to give."""
    bot.fake.forbidden_channels.add(str(payloads.CHANNEL_ID))
    embed = await add(bot, host=HOST, port=25565, label="Survival")
    assert embed["title"] == "❗ Watching Survival (#1), but I couldn't post its status here"
    assert embed["description"] == (
        "I need **View Channel**, **Send Messages** and **Embed Links** in this channel. Once I have them, "
        "the status message appears with the next check."
    )
    async with watches_of(bot) as repository:
        (watch,) = await repository.list(Platform.DISCORD, str(payloads.GUILD_ID))
    assert watch.status_message_id is None
