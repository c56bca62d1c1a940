"""Result buttons and the right check, through Bolt's own request handling against the fake Slack: the
entry's protocols from "Check this port", "Check again", follow-ups picked from the verdict, and one log
line per interaction with no user text."""

from __future__ import annotations

import json
import logging
from typing import Any

import pytest

from bot.core.commands import Portbot
from bot.logs import JsonFormatter
from bot.slack.app import RECHECK_EXPIRED
from bot.slack.modals import CheckContext
from bot.slack.render import ACTION_ASK, ACTION_CHECK, ACTION_RECHECK, ACTION_SHARE, fallback_text
from probes.errors import RateLimited
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State
from tests.bot.slack import payloads
from tests.bot.slack.conftest import Slack
from tests.bot.slack.fake_slack import BOT_USER_ID, FakeSlack
from tests.bot.slack.portbots import knowledge
from tests.bot.slack.test_app import ASKER, buttons

V4, V6 = "203.0.113.7", "2001:db8::7"
MARKER = "zq-secret-marker-9"


class VerdictBackend:
    """Finds every port in ``state`` at ``address``; refuses with RateLimited after ``allowed`` probes."""

    def __init__(self) -> None:
        self.state = State.OPEN
        self.address = V4
        self.allowed: int | None = None
        self.calls: list[tuple[ProbeRequest, Requester]] = []

    async def probe(self, request: ProbeRequest, requester: Requester) -> list[ProbeReport]:
        self.calls.append((request, requester))
        if self.allowed is not None and len(self.calls) > self.allowed:
            raise RateLimited("You've run a lot of checks in a short time.", retry_after=60, scope="user")
        protocol = "udp" if request.protocol == "udp" else "tcp"
        reason = "syn-ack" if self.state is State.OPEN else "timeout"
        results = tuple(PortResult(self.address, p, protocol, self.state, reason) for p in request.ports)
        return [ProbeReport(request.target, request.target, "Frankfurt", results)]


@pytest.fixture
def verdicts() -> VerdictBackend:
    return VerdictBackend()


@pytest.fixture
def portbot(verdicts: VerdictBackend) -> Portbot:
    return Portbot(knowledge=knowledge(), probes=verdicts)


def value_of(message: dict[str, Any], action_id: str) -> str:
    (button,) = [b for b in buttons(message) if b["action_id"] == action_id]
    return str(button["value"])


async def test_ark_check_button_carries_the_entry_into_the_modal(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """`/port ark` → Check → modal → submission: UDP 7777 and the Steam query port, with the A2S hint."""
    await slack.command("ark")
    value = value_of(fake_slack.posted_to("cmd")[0].body, ACTION_CHECK)
    assert value == "7777/udp/ark-survival-evolved"
    await slack.press(ACTION_CHECK, value)
    (call,) = fake_slack.calls_to("views.open")
    view = call.args["view"]
    assert view["title"]["text"] == "Check port 7777/udp"
    context = CheckContext.from_metadata(view["private_metadata"])
    assert (context.port, context.protocol, context.hint) == (7777, "udp", "ark-survival-evolved")
    await slack.send(payloads.view_submission(view["private_metadata"], "ark.example.net"))
    assert verdicts.calls == [
        (ProbeRequest("ark.example.net", (7777, 27015), "udp", "steam ark-survival-evolved"), ASKER)
    ]


async def test_tcp_and_udp_game_modal_checks_both(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """A TCP+UDP game's button value says "both"; its check runs over TCP and UDP."""
    await slack.command("7 days to die")
    value = value_of(fake_slack.posted_to("cmd")[0].body, ACTION_CHECK)
    assert value == "26900/both/7-days-to-die"
    await slack.press(ACTION_CHECK, value)
    (call,) = fake_slack.calls_to("views.open")
    assert call.args["view"]["title"]["text"] == "Check port 26900/tcp+udp"
    await slack.send(payloads.view_submission(call.args["view"]["private_metadata"], "g.example.net"))
    assert sorted(r.protocol for r, _ in verdicts.calls) == ["tcp", "udp"]


async def test_chat_takes_a_game_name_as_the_hint(slack: Slack, verdicts: VerdictBackend) -> None:
    """`/port check host 2456 valheim` checks Valheim's UDP ports."""
    await slack.command("check vh.example.net 2456 valheim")
    assert [r for r, _ in verdicts.calls] == [
        ProbeRequest("vh.example.net", (2456, 2457), "udp", "steam valheim")
    ]


async def test_check_again_repeats_the_check_privately(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """ "Check again" posts a new private result for the same check, leaving the first in place."""
    await slack.command("check mc.example.com 25565")
    token = value_of(fake_slack.posted_to("cmd")[0].body, ACTION_RECHECK)
    await slack.press(ACTION_RECHECK, token, ephemeral=True)
    (posted,) = fake_slack.posted_to("press")
    assert (posted.body["response_type"], posted.body["replace_original"]) == ("ephemeral", False)
    assert posted.body["text"].startswith("Port check: mc.example.com")
    (first, asker), (second, clicker) = verdicts.calls
    assert (first, asker) == (second, clicker)


async def test_check_again_goes_through_the_rate_limits(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """Past the limit, "Check again" is refused like any check."""
    verdicts.allowed = 1
    await slack.command("check mc.example.com 25565")
    await slack.press(ACTION_RECHECK, value_of(fake_slack.posted_to("cmd")[0].body, ACTION_RECHECK))
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["text"].startswith("Too many checks")


async def test_check_again_by_someone_else_is_refused(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """Only the person who ran the check can run it again."""
    await slack.command("check mc.example.com 25565")
    token = value_of(fake_slack.posted_to("cmd")[0].body, ACTION_RECHECK)
    await slack.press(ACTION_RECHECK, token, user="U0OTHER")
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["response_type"] == "ephemeral"
    assert posted.body["text"] == fallback_text(RECHECK_EXPIRED)
    assert len(verdicts.calls) == 1


@pytest.mark.parametrize(
    ("address", "queries"),
    [(V4, ["port forwarding", "cgnat", "firewall"]), (V6, ["firewall"])],
)
async def test_filtered_result_offers_follow_ups(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend, address: str, queries: list[str]
) -> None:
    """Filtered IPv4: forwarding, CGNAT, firewalls; filtered IPv6: firewalls only (nothing to forward)."""
    verdicts.state, verdicts.address = State.FILTERED, address
    await slack.command("check mc.example.com 25565")
    message = fake_slack.posted_to("cmd")[0].body
    assert [b["action_id"].split(":")[0] for b in buttons(message)][:2] == [ACTION_RECHECK, ACTION_SHARE]
    assert [b["value"] for b in buttons(message) if b["action_id"].startswith(ACTION_ASK)] == queries
    if address == V6:
        assert "nothing to forward" in json.dumps(message)


async def test_follow_up_answers_only_the_clicker(
    slack: Slack, fake_slack: FakeSlack, verdicts: VerdictBackend
) -> None:
    """A follow-up from a private result is answered privately, to whoever pressed it."""
    verdicts.state = State.FILTERED
    await slack.command("check mc.example.com 25565")
    await slack.press(ACTION_ASK, "cgnat", ephemeral=True)
    (posted,) = fake_slack.posted_to("press")
    assert posted.body["response_type"] == "ephemeral"
    assert "CGNAT" in posted.body["text"]


async def test_one_log_line_per_interaction_without_user_text(
    slack: Slack, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """Each interaction logs one INFO line (platform, command, outcome, duration, hashed workspace); no INFO+
    record holds what the user typed."""
    caplog.set_level(logging.DEBUG)
    await slack.command(f"what is {MARKER}")
    await slack.command(f"check {MARKER}.example.com 25565")
    await slack.command(f"check {MARKER}.example.com 2456 {MARKER}")
    await slack.press(ACTION_RECHECK, value_of(fake_slack.posted_to("cmd")[1].body, ACTION_RECHECK))
    await slack.event(payloads.mention(f"<@{BOT_USER_ID}> {MARKER}"))
    records = [r for r in caplog.records if r.name == "portbot.interaction"]
    assert [(r.platform, r.command, r.outcome) for r in records] == [  # type: ignore[attr-defined]
        ("slack", "command", "knowledge:info"),
        ("slack", "command", "probe:ok"),
        ("slack", "command", "error:error"),
        ("slack", "button:again", "probe:ok"),
        ("slack", "mention", "knowledge:info"),
    ]
    assert all(r.levelno == logging.INFO for r in records)
    assert len({r.place for r in records}) == 1  # type: ignore[attr-defined]
    line = json.loads(JsonFormatter().format(records[1]))
    assert (line["platform"], line["command"], line["outcome"]) == ("slack", "command", "probe:ok")
    assert isinstance(line["duration_ms"], float)
    leaked = [r for r in caplog.records if r.levelno >= logging.INFO and MARKER in JsonFormatter().format(r)]
    assert leaked == []
