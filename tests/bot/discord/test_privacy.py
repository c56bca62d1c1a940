"""A typed address never appears in a public Discord message: every path (``/port``, ``/portcheck``, the Check
button's modal, Share) driven through discord.py's own dispatch against the fake Discord."""

from __future__ import annotations

from typing import Any

import pytest

from tests.bot.discord import payloads
from tests.bot.discord.conftest import RunningBot
from tests.bot.discord.fake_discord import EPHEMERAL, Callback, FakeDiscord
from tests.bot.discord.test_interactions import embed_of
from tests.bot.privacy_cases import CASES, PUBLIC_QUESTIONS, Case


def _public(flags: Any) -> bool:
    return not int(flags or 0) & EPHEMERAL


def public_bodies(fake: FakeDiscord) -> list[dict[str, Any]]:
    """Every message body the whole channel can see: non-ephemeral callbacks, follow-ups and edits.

    A follow-up counts as public unless it carries the ephemeral flag itself, even after an ephemeral defer."""
    bodies = [c.data for c in fake.callbacks if c.type in (4, 5, 7) and not c.ephemeral]
    bodies += [r.body for r in fake.followups if isinstance(r.body, dict) and _public(r.body.get("flags"))]
    bodies += [r.body for r in fake.edits if isinstance(r.body, dict) and _public(r.body.get("flags"))]
    return bodies


def private_embeds(fake: FakeDiscord) -> list[dict[str, Any]]:
    bodies = [c.data for c in fake.callbacks if c.type == 4 and c.ephemeral]
    bodies += [
        r.body for r in fake.followups if isinstance(r.body, dict) and not _public(r.body.get("flags"))
    ]
    return [embed_of(b) for b in bodies if b.get("embeds")]


async def answer(bot: RunningBot, payload: dict[str, Any]) -> tuple[Callback, dict[str, Any]]:
    """Push an interaction; return its callback and the message that answers it (the follow-up after a defer)."""
    sent = await bot.fake.push_interaction(payload)
    callback = await bot.fake.wait_callback(sent.id)
    if callback.type == 5:
        followup = await bot.fake.wait_followup(sent.token)
        return callback, followup.message or {}
    return callback, callback.message or {}


async def share_if_offered(bot: RunningBot, message: dict[str, Any]) -> Callback | None:
    """Press the message's Share button, if it has one, as its owner."""
    keys = [c for c in payloads.custom_ids(message) if c.startswith("portbot:share:")]
    if not keys:
        return None
    sent = await bot.fake.push_interaction(payloads.button_click(message, keys[0]))
    return await bot.fake.wait_callback(sent.id)


@pytest.mark.parametrize("case", CASES, ids=[c.text for c in CASES])
async def test_a_typed_address_never_reaches_a_public_message(bot: RunningBot, case: Case) -> None:
    """/port, /portcheck and the Check modal answer the asker alone; Share posts only a masked copy."""
    # /port <text>: answered (or deferred) ephemerally, whatever the text asks.
    callback, message = await answer(bot, payloads.slash("port", query=case.text))
    assert callback.ephemeral, f"/port {case.text!r} was answered in public"
    shared = [await share_if_offered(bot, message)]

    # /portcheck host:<host>: a probe of what the member typed, deferred ephemerally.
    callback, message = await answer(bot, payloads.slash("portcheck", host=case.host, port=25565))
    assert callback.ephemeral
    shared.append(await share_if_offered(bot, message))

    # The Check button of a public answer, then the host typed into its modal.
    _, public_answer = await answer(bot, payloads.slash("port", query="25565"))
    check = next(c for c in payloads.custom_ids(public_answer) if c.startswith("portbot:check:"))
    modal = await bot.fake.wait_callback(
        (await bot.fake.push_interaction(payloads.button_click(public_answer, check))).id
    )
    callback, message = await answer(bot, payloads.modal_submit(modal.data, [case.host]))
    assert callback.ephemeral
    shared.append(await share_if_offered(bot, message))

    for body in public_bodies(bot.fake):
        assert case.leaks(body) == [], f"public message shows {case.leaks(body)}"
    assert len(private_embeds(bot.fake)) >= 3  # the asker got every answer, privately
    for share in shared:
        if share is not None:  # a share is public, and masked
            assert not share.ephemeral
            assert "x.x" in str(share.data) or "…" in str(share.data)


@pytest.mark.parametrize("text", PUBLIC_QUESTIONS)
async def test_plain_questions_are_still_answered_in_public(bot: RunningBot, text: str) -> None:
    """Knowledge questions without an address keep the server's default: in the channel."""
    callback, _ = await answer(bot, payloads.slash("port", query=text))
    assert (callback.type, callback.ephemeral) == (4, False)
    assert public_bodies(bot.fake) == [callback.data]


async def test_a_share_is_taken_once(bot: RunningBot) -> None:
    """A second click on Share explains privately instead of posting the result twice."""
    _, message = await answer(bot, payloads.slash("portcheck", host="mc.example.com", port=25565))
    first = await share_if_offered(bot, message)
    second = await share_if_offered(bot, message)
    assert first is not None and second is not None
    assert (first.ephemeral, second.ephemeral) == (False, True)
    assert embed_of(second.data)["title"] == "❗ That result can no longer be shared"
