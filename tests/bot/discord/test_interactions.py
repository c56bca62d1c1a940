"""Interactions end to end: raw gateway dispatches in, discord.py parses and dispatches, callbacks recorded."""

from __future__ import annotations

import json
from typing import Any

from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot
from tests.bot.discord.fake_discord import Callback

NO_MENTIONS: dict[str, list[str]] = {"parse": []}


def embed_of(body: dict[str, Any]) -> dict[str, Any]:
    embeds = body["embeds"]
    assert len(embeds) == 1
    embed: dict[str, Any] = embeds[0]
    return embed


async def click(bot: RunningBot, message: dict[str, Any], prefix: str, **kwargs: Any) -> Callback:
    """Click the first button of ``message`` whose custom_id starts with ``prefix``; return the callback."""
    custom_id = next(c for c in payloads.custom_ids(message) if c.startswith(prefix))
    sent = await bot.fake.push_interaction(payloads.button_click(message, custom_id, **kwargs))
    return await bot.fake.wait_callback(sent.id)


async def test_port_answers_knowledge_publicly_with_a_check_button(bot: RunningBot) -> None:
    """/port 25565 answers at once (type 4), in the channel, with a "Check this port" button."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query="25565"))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.type == 4
    assert not callback.ephemeral
    assert callback.data["allowed_mentions"] == NO_MENTIONS
    embed = embed_of(callback.data)
    assert "25565" in embed["title"]
    assert "Minecraft: Java Edition" in embed["description"]
    assert embed["color"] == 0x5865F2
    assert "portbot:check:25565:tcp" in payloads.custom_ids(callback.data)


async def test_port_with_a_probe_request_defers_privately_then_follows_up(bot: RunningBot) -> None:
    """/port check <host> <port> is deferred (type 5, ephemeral) and answered with a follow-up."""
    sent = await bot.fake.push_interaction(payloads.slash("port", query="check mc.example.com 25565"))
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    assert followup.body["flags"] & 64
    assert followup.body["allowed_mentions"] == NO_MENTIONS
    assert "mc.example.com" in embed_of(followup.body)["title"]


async def test_portcheck_defers_ephemerally_and_probes_with_the_requester(bot: RunningBot) -> None:
    """/portcheck defers at once (ephemeral, thinking) and probes with the typed options and who asked."""
    sent = await bot.fake.push_interaction(
        payloads.slash("portcheck", host="mc.example.com", port=25565, protocol="tcp")
    )
    callback = await bot.fake.wait_callback(sent.id)
    assert (callback.type, callback.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    embed = embed_of(followup.body)
    assert embed["color"] == 0x57F287
    assert any(c.startswith("portbot:share:") for c in payloads.custom_ids(followup.body))
    request, requester = bot.backend.requests[-1]
    assert (request.target, request.ports, request.protocol) == ("mc.example.com", (25565,), "tcp")
    assert requester.platform == "discord"
    assert requester.user_id == str(payloads.USER_ID)
    assert requester.guild_id == str(payloads.GUILD_ID)
    assert requester.channel_id == str(payloads.CHANNEL_ID)


async def test_portcheck_without_protocol_means_auto(bot: RunningBot) -> None:
    """Leaving the protocol out asks the core to pick ("auto")."""
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=19132))
    await bot.fake.wait_followup(sent.token)
    assert bot.backend.requests[-1][0].protocol == "auto"


async def test_autocomplete_offers_minecraft_for_mine(bot: RunningBot) -> None:
    """Typing "mine" offers Minecraft: Java Edition on 25565 (callback type 8)."""
    sent = await bot.fake.push_interaction(payloads.autocomplete("port", "query", "mine"))
    callback = await bot.fake.wait_callback(sent.id)
    assert callback.type == 8
    choices = callback.data["choices"]
    assert 1 <= len(choices) <= 25
    assert {"name": "Minecraft: Java Edition — 25565/tcp", "value": "minecraft-java"} in choices
    assert all(len(c["name"]) <= 100 and len(c["value"]) <= 100 for c in choices)


async def test_check_button_opens_a_modal_whose_submit_probes(bot: RunningBot) -> None:
    """ "Check this port" → a modal asking for the host → deferred private probe of that host and port."""
    answer = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    modal = await click(bot, answer.message or {}, "portbot:check:")
    assert modal.type == 9
    assert modal.data["title"] == "Check port 25565/tcp"
    sent = await bot.fake.push_interaction(payloads.modal_submit(modal.data, ["home.example.net"]))
    deferred = await bot.fake.wait_callback(sent.id)
    assert (deferred.type, deferred.ephemeral) == (5, True)
    followup = await bot.fake.wait_followup(sent.token)
    assert "home.example.net" in embed_of(followup.body)["title"]
    request = bot.backend.requests[-1][0]
    assert (request.target, request.ports, request.protocol) == ("home.example.net", (25565,), "tcp")


async def test_ask_button_answers_only_the_clicker(bot: RunningBot) -> None:
    """A follow-up question button answers ephemerally."""
    answer = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.slash("port", query="25565"))).id
    )
    reply = await click(bot, answer.message or {}, "portbot:ask:", user_id=payloads.OTHER_USER_ID)
    assert (reply.type, reply.ephemeral) == (4, True)
    assert "Minecraft" in embed_of(reply.data)["title"]
    assert reply.data["allowed_mentions"] == NO_MENTIONS


async def test_share_posts_the_masked_result_publicly(bot: RunningBot) -> None:
    """ "Share in channel" re-posts the probe result in public with the host and address masked."""
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=25565))
    followup = await bot.fake.wait_followup(sent.token)
    shared = await click(bot, followup.message or {}, "portbot:share:")
    assert (shared.type, shared.ephemeral) == (4, False)
    assert shared.data["allowed_mentions"] == NO_MENTIONS
    text = json.dumps(shared.data, ensure_ascii=False)
    assert "mc.example.com" not in text and "203.0.113.7" not in text
    assert "mc….com" in text and "203.0.x.x" in text
    assert not any(c.startswith("portbot:share:") for c in payloads.custom_ids(shared.data))


async def test_share_by_someone_else_is_refused(bot: RunningBot) -> None:
    """Only the person who ran the check can share its result."""
    sent = await bot.fake.push_interaction(payloads.slash("portcheck", host="mc.example.com", port=25565))
    followup = await bot.fake.wait_followup(sent.token)
    refused = await click(bot, followup.message or {}, "portbot:share:", user_id=payloads.OTHER_USER_ID)
    assert (refused.type, refused.ephemeral) == (4, True)
    assert embed_of(refused.data)["title"] == "❗ That result can no longer be shared"


async def test_port_works_in_direct_messages(bot: RunningBot) -> None:
    """In a DM (no guild, a user instead of a member) /port answers and probes without a server id."""
    sent = await bot.fake.push_interaction(
        payloads.slash("portcheck", guild=False, host="a.example", port=22)
    )
    await bot.fake.wait_followup(sent.token)
    requester = bot.backend.requests[-1][1]
    assert requester.guild_id is None
    assert requester.channel_id == str(payloads.DM_CHANNEL_ID)


HOSTILE_HOSTS = ["@everyone", "<@&123456789012345678>", "[login](http://203.0.113.9)", "a`@here`b", "x" * 255]


async def test_hostile_text_never_pings_through_the_live_bot(bot: RunningBot) -> None:
    """Hostile host names echoed back: every payload disables mentions and carries no raw broadcast."""
    for host in HOSTILE_HOSTS:
        sent = await bot.fake.push_interaction(payloads.slash("portcheck", host=host, port=25565))
        await bot.fake.wait_followup(sent.token)
    bodies = bot.fake.outgoing_payloads()
    assert len(bodies) == len(HOSTILE_HOSTS)
    for body in bodies:
        assert body["allowed_mentions"] == NO_MENTIONS
        text = json.dumps(body, ensure_ascii=False)
        assert "@everyone" not in text and "@here" not in text
        assert "<@&" not in text and "](" not in text
