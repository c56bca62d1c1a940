"""``/help``, ``/myserver``, ``/portbot server``, "Check this server" and autocomplete before typing, each through
discord.py's own dispatch of raw gateway payloads against the fake Discord."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot
from tests.bot.discord.fake_discord import Callback
from tests.bot.discord.test_interactions import NO_MENTIONS, embed_of
from tests.bot.discord.test_privacy import answer, public_bodies
from tests.bot.privacy_cases import CASES, Case

CHECK = "Check this server"


async def modal_default(bot: RunningBot, **click: Any) -> str | None:
    """Open the Check modal from a public /port 25565 answer; the host input's pre-filled value."""
    answered = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    custom_id = next(c for c in payloads.custom_ids(answered.message or {}) if c.startswith("portbot:check:"))
    sent = await bot.fake.push_interaction(payloads.button_click(answered.message or {}, custom_id, **click))
    modal = await bot.fake.wait_callback(sent.id)
    assert modal.type == 9
    (label,) = [row for row in modal.data["components"] if row.get("type") == 18]
    value: str | None = label["component"].get("value")
    return value


async def private_answer(bot: RunningBot, payload: dict[str, Any]) -> Callback:
    sent = await bot.fake.push_interaction(payload)
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (4, True)
    assert callback.data["allowed_mentions"] == NO_MENTIONS
    return callback


# -- "Check this server" ---------------------------------------------------------------------------------------


async def test_check_this_server_probes_the_host_and_port_of_the_message(bot: RunningBot) -> None:
    """The message command defers privately, probes host:port from the message and follows up privately."""
    sent = await bot.fake.push_interaction(
        payloads.message_command(CHECK, "we're on **mc.example.com:25565** tonight")
    )
    deferred = await bot.fake.wait_callback(sent.id)
    assert (deferred.type, deferred.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    assert followup.body["flags"] & 64
    assert followup.body["allowed_mentions"] == NO_MENTIONS
    assert "mc.example.com" in embed_of(followup.body)["title"]
    request, requester = bot.backend.requests[-1]
    assert (request.target, request.ports, request.protocol) == ("mc.example.com", (25565,), "auto")
    assert requester.user_id == str(payloads.USER_ID)


@pytest.mark.parametrize(
    ("content", "target", "port"),
    [
        ("[2001:db8::7]:27015", "2001:db8::7", 27015),
        ("IP: 203.0.113.7 Port: 2456", "203.0.113.7", 2456),
        ("https://cloud.example.org/login", "cloud.example.org", 443),
    ],
)
async def test_check_this_server_reads_ipv6_spaced_and_url_forms(
    bot: RunningBot, content: str, target: str, port: int
) -> None:
    """Bracketed IPv6 with a port, "host port" and a URL each become one private probe."""
    sent = await bot.fake.push_interaction(payloads.message_command(CHECK, content))
    await bot.fake.wait_followup(sent.token)
    request = bot.backend.requests[-1][0]
    assert (request.target, request.ports) == (target, (port,))


async def test_check_this_server_reads_a_server_posted_in_an_embed(bot: RunningBot) -> None:
    """Server-list bots post the address in an embed field; the command finds it there."""
    embed = {"title": "Survival", "fields": [{"name": "Address", "value": "`mc.example.com:25566`"}]}
    sent = await bot.fake.push_interaction(payloads.message_command(CHECK, "", embeds=[embed]))
    await bot.fake.wait_followup(sent.token)
    request = bot.backend.requests[-1][0]
    assert (request.target, request.ports) == ("mc.example.com", (25566,))


async def test_check_this_server_in_a_dm_works(bot: RunningBot) -> None:
    """In a DM the command probes too, without a server id."""
    sent = await bot.fake.push_interaction(
        payloads.message_command(CHECK, "mc.example.com:25565", guild=False)
    )
    await bot.fake.wait_followup(sent.token)
    assert bot.backend.requests[-1][1].guild_id is None


async def test_a_message_without_a_server_gets_a_friendly_private_answer(bot: RunningBot) -> None:
    """No host in the message: a private explanation, and nothing is probed."""
    callback = await private_answer(bot, payloads.message_command(CHECK, "anyone up for valheim tonight?"))
    embed = embed_of(callback.data)
    assert embed["title"] == "❗ I couldn't find a server in that message"
    assert "`mc.example.com:25565`" in embed["description"]
    assert bot.backend.requests == []


async def test_a_message_with_a_host_but_no_port_asks_for_the_port_privately(bot: RunningBot) -> None:
    """A host without a port: a private answer that does not repeat the host, and nothing is probed."""
    callback = await private_answer(bot, payloads.message_command(CHECK, "server is play.myserver.net"))
    assert embed_of(callback.data)["title"] == "❗ That message names a server but no port"
    assert "play.myserver.net" not in json.dumps(callback.data)
    assert bot.backend.requests == []


async def test_check_this_server_never_posts_the_host_in_public(bot: RunningBot) -> None:
    """Whatever the message holds, nothing the channel can see names its host or the resolved address."""
    for content in ("mc.example.com:25565", "[2001:db8::7]:25565", "play.myserver.net", "hello"):
        await answer(bot, payloads.message_command(CHECK, content))
    text = json.dumps(public_bodies(bot.fake)).lower()
    for secret in ("mc.example.com", "2001:db8::7", "play.myserver.net", "203.0.113.7"):
        assert secret not in text
    assert public_bodies(bot.fake) == []


# -- /help -----------------------------------------------------------------------------------------------------


async def test_help_answers_privately_with_examples_and_the_discord_commands(bot: RunningBot) -> None:
    """/help: the core's help (ports, games, questions, checks) plus the Discord commands, only to the asker."""
    callback = await private_answer(bot, payloads.slash("help"))
    embed = embed_of(callback.data)
    assert embed["title"] == "Portbot: ports, explained and checked"
    fields = {field["name"]: field["value"] for field in embed["fields"]}
    assert {"A port", "A game or app", "A question", "A reachability check", "On Discord"} <= set(fields)
    assert "`check example.com 25565`" in fields["A reachability check"]
    assert "Check this server" in fields["On Discord"] and "/myserver" in fields["On Discord"]


async def test_the_new_commands_log_one_line_each_without_user_text(
    bot: RunningBot, caplog: pytest.LogCaptureFixture
) -> None:
    """/help, /myserver and a message command with no server each log one interaction line, and the host a
    member saved never appears in an INFO+ record."""
    caplog.set_level(logging.DEBUG)
    await private_answer(bot, payloads.slash("help"))
    await private_answer(bot, payloads.slash("myserver", host="secret-host.example.com"))
    await private_answer(bot, payloads.message_command(CHECK, "anyone up for valheim tonight?"))

    def lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "portbot.interaction"]

    await bot.fake.wait_for(lambda: len(lines()) >= 3)
    assert [r.command for r in lines()] == ["help", "myserver", "message:check"]  # type: ignore[attr-defined]
    assert all(r.outcome != "none" for r in lines())  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno >= logging.INFO and "secret-host" in r.getMessage()]


# -- saved servers ---------------------------------------------------------------------------------------------


async def test_myserver_saves_shows_and_forgets_privately(bot: RunningBot) -> None:
    """/myserver host saves (normalised), bare /myserver shows it, forget erases it; all private."""
    saved = await private_answer(bot, payloads.slash("myserver", host="MC.Example.com"))
    assert embed_of(saved.data)["title"] == "Saved your server"
    shown = await private_answer(bot, payloads.slash("myserver"))
    assert embed_of(shown.data)["title"] == "Your saved server"
    assert "`mc.example.com`" in embed_of(shown.data)["description"]
    forgot = await private_answer(bot, payloads.slash("myserver", forget=True))
    assert embed_of(forgot.data)["title"] == "Forgot your server"
    empty = await private_answer(bot, payloads.slash("myserver"))
    assert embed_of(empty.data)["title"] == "You have no saved server"
    assert public_bodies(bot.fake) == []


async def test_myserver_refuses_something_that_is_no_host(bot: RunningBot) -> None:
    """A value that cannot be a host is explained, not saved."""
    refused = await private_answer(bot, payloads.slash("myserver", host="not a host"))
    assert embed_of(refused.data)["title"] == "❗ That isn't a server I can save"
    assert await modal_default(bot) is None


async def test_a_saved_server_fills_in_the_check_modal_for_its_owner_only(bot: RunningBot) -> None:
    """The modal starts with the member's saved server; another member's modal starts empty."""
    await private_answer(bot, payloads.slash("myserver", host="home.example.net"))
    assert await modal_default(bot) == "home.example.net"
    assert await modal_default(bot, user_id=payloads.OTHER_USER_ID) is None


async def test_a_host_typed_into_the_modal_is_remembered_for_next_time(bot: RunningBot) -> None:
    """Submitting the Check modal saves the host as the member's server (the modal says so)."""
    answered = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    check = next(c for c in payloads.custom_ids(answered.message or {}) if c.startswith("portbot:check:"))
    modal = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.button_click(answered.message or {}, check))).id
    )
    sent = await bot.fake.push_interaction(payloads.modal_submit(modal.data, ["Home.Example.net"]))
    await bot.fake.wait_followup(sent.token)
    assert await modal_default(bot) == "home.example.net"


async def test_a_home_network_address_typed_into_the_modal_is_not_remembered(bot: RunningBot) -> None:
    """192.168.x.x cannot be checked from the internet: the modal does not start with it next time."""
    answered = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    check = next(c for c in payloads.custom_ids(answered.message or {}) if c.startswith("portbot:check:"))
    modal = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.button_click(answered.message or {}, check))).id
    )
    sent = await bot.fake.push_interaction(payloads.modal_submit(modal.data, ["192.168.1.20"]))
    await bot.fake.wait_followup(sent.token)
    assert await modal_default(bot) is None


async def test_portcheck_saves_only_when_asked_to_remember(bot: RunningBot) -> None:
    """/portcheck alone saves nothing (it may be a friend's server); remember:True saves it."""
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="friend.example.org", port=25565))
    await bot.fake.wait_followup(sent.token)
    assert await modal_default(bot) is None
    sent = await bot.fake.push_interaction(
        payloads.slash("portcheck", host="mine.example.org", port=25565, remember=True)
    )
    await bot.fake.wait_followup(sent.token)
    assert await modal_default(bot) == "mine.example.org"


async def test_check_this_server_never_saves_the_host(bot: RunningBot) -> None:
    """A server read from someone's message is not saved as the member's own."""
    sent = await bot.fake.push_interaction(payloads.message_command(CHECK, "friend.example.org:25565"))
    await bot.fake.wait_followup(sent.token)
    assert await modal_default(bot) is None


async def test_an_admin_sets_the_server_default_used_by_members_without_their_own(bot: RunningBot) -> None:
    """/portbot server host (Manage Server) fills members' modals; a member's own saved server wins."""
    admin = payloads.ADMIN_PERMISSIONS
    saved = await private_answer(
        bot, payloads.slash("portbot", subcommand="server", permissions=admin, host="mc.example.com")
    )
    assert embed_of(saved.data)["title"] == "Saved this server's default"
    assert await modal_default(bot, user_id=payloads.OTHER_USER_ID) == "mc.example.com"
    await private_answer(bot, payloads.slash("myserver", host="home.example.net"))
    assert await modal_default(bot) == "home.example.net"
    removed = await private_answer(
        bot, payloads.slash("portbot", subcommand="server", permissions=admin, forget=True)
    )
    assert embed_of(removed.data)["title"] == "Removed this server's default"
    assert await modal_default(bot, user_id=payloads.OTHER_USER_ID) is None
    assert public_bodies(bot.fake) == [c.data for c in bot.fake.callbacks if c.type == 4 and not c.ephemeral]
    assert "mc.example.com" not in json.dumps(public_bodies(bot.fake))


async def test_a_member_without_manage_server_cannot_set_the_default(bot: RunningBot) -> None:
    """/portbot server from an ordinary member is refused privately and saves nothing."""
    refused = await private_answer(
        bot, payloads.slash("portbot", subcommand="server", host="evil.example.com")
    )
    assert embed_of(refused.data)["title"] == "❗ Only server admins can set the default server"
    assert await modal_default(bot, user_id=payloads.OTHER_USER_ID) is None


async def test_the_server_default_is_refused_in_a_dm(bot: RunningBot) -> None:
    """/portbot server outside a Discord server explains where to run it."""
    refused = await private_answer(bot, payloads.slash("portbot", subcommand="server", guild=False))
    assert embed_of(refused.data)["title"] == "❗ A default server belongs to a Discord server"


async def test_saved_servers_survive_a_restart(bot: RunningBot) -> None:
    """What /myserver saves is in the store (by default the SQLite database under PORTBOT_DATA_DIR)."""
    from bot.discord.saved_servers import SavedServerStore
    from bot.store import database_url_for, open_store

    await private_answer(bot, payloads.slash("myserver", host="home.example.net"))
    store = await open_store(database_url_for(None, bot.data_dir))
    try:
        assert await SavedServerStore(store).user(payloads.USER_ID) == "home.example.net"
    finally:
        await store.close()


# -- autocomplete ----------------------------------------------------------------------------------------------


async def test_autocomplete_before_typing_offers_popular_games_and_services(bot: RunningBot) -> None:
    """An empty query field lists popular games first, then services, within Discord's limits."""
    sent = await bot.fake.push_interaction(payloads.autocomplete("port", "query", ""))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.type == 8
    choices = callback.data["choices"]
    assert 10 <= len(choices) <= 25
    assert choices[0] == {"name": "Minecraft: Java Edition — 25565/tcp", "value": "minecraft-java"}
    values = [c["value"] for c in choices]
    assert {"valheim", "palworld", "plex", "wireguard", "ssh"} <= set(values)
    assert len(set(values)) == len(values)
    assert all(1 <= len(c["name"]) <= 100 and 1 <= len(c["value"]) <= 100 for c in choices)


async def test_autocomplete_of_whitespace_is_the_popular_list_too(bot: RunningBot) -> None:
    """Spaces alone count as nothing typed."""
    sent = await bot.fake.push_interaction(payloads.autocomplete("port", "query", "  "))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.data["choices"][0]["value"] == "minecraft-java"


@pytest.mark.parametrize("case", CASES, ids=[c.text for c in CASES])
async def test_no_typed_address_reaches_a_public_message_through_the_new_surfaces(
    bot: RunningBot, case: Case
) -> None:
    """Check this server, /myserver and /portbot server answer the asker alone, whatever the text holds."""
    callback, _ = await answer(bot, payloads.message_command(CHECK, case.text))
    assert callback.ephemeral
    callback, _ = await answer(bot, payloads.slash("myserver", host=case.host))
    assert callback.ephemeral
    callback, _ = await answer(bot, payloads.slash("myserver"))
    assert callback.ephemeral
    admin = payloads.ADMIN_PERMISSIONS
    callback, _ = await answer(
        bot, payloads.slash("portbot", subcommand="server", permissions=admin, host=case.host)
    )
    assert callback.ephemeral
    await modal_default(bot)  # the modal (shown to the clicker only) may hold the host; its answer is public
    for body in public_bodies(bot.fake):
        assert case.leaks(body) == [], f"public message shows {case.leaks(body)}"
