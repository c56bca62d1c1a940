"""Watch status and alert replies: public, so the host is masked; the cause and the next step when down."""

from __future__ import annotations

from bot.core.reply import Status
from bot.core.watch_replies import alert_reply, duration, status_reply
from bot.watch.models import Health, Platform, Watch
from bot.watch.notify import Change, CheckSummary

T0 = 1_800_000_000.0  # 2027-01-15 08:00:00 UTC


def _watch(**changes: object) -> Watch:
    values: dict[str, object] = dict(
        id=3, platform=Platform.DISCORD, scope_id="g1", created_by="u1", host="mc.example.net", port=25565,
        protocol="tcp", every=60.0, game="minecraft-java", label=None, channel_id="c1", notify_url=None,
        status_message_id=None, created_at=T0, next_due=T0, state=Health.UP, state_since=T0, candidate=None,
        candidate_count=0, last_checked=T0, last_result=None,
    )  # fmt: skip
    values.update(changes)
    return Watch(**values)  # type: ignore[arg-type]


def test_status_up_shows_players_and_since() -> None:
    """Up: since when and for how long, the players, the interval; the host masked."""
    summary = CheckSummary(Health.UP, "open", None, T0 + 720, players=(3, 20))
    reply = status_reply(_watch(), summary, now=T0 + 720)
    assert reply.title == "Minecraft Java is up"
    assert reply.summary == (
        "mc….net:25565/TCP\n**Up** since 08:00 UTC (12 min)\nPlayers: 3/20\nLast checked 08:12 UTC, every 1 min."
    )
    assert reply.status is Status.OK and not reply.private


def test_status_down_gives_cause_and_next_step_masked() -> None:
    """Down: the probe's cause with the address masked, and what to do."""
    cause = "Closed: 203.0.113.5:25565 refused the connection."
    summary = CheckSummary(Health.DOWN, "closed", cause, T0 + 60)
    reply = status_reply(_watch(state=Health.DOWN, label="Survival"), summary, now=T0 + 60)
    assert reply.title == "Survival (Minecraft Java) is down"
    assert (reply.fields[0].name, reply.fields[0].value) == (
        "Cause",
        "Closed: 203.0.x.x:25565 refused the connection.",
    )
    assert reply.fields[1].name == "What to do" and reply.status is Status.BAD
    assert "mc.example.net" not in repr(reply) and "203.0.113.5" not in repr(reply)


def test_alert_says_how_long_it_was_up() -> None:
    """An alert names the change, its time and how long the state before it lasted."""
    summary = CheckSummary(Health.DOWN, "filtered", "No answer.", T0 + 3 * 3600)
    change = Change(_watch(), 1, Health.UP, Health.DOWN, summary, T0 + 3 * 3600)
    reply = alert_reply(change)
    assert reply.title == "Minecraft Java went down"
    assert reply.summary == "mc….net:25565/TCP went down at 11:00 UTC, after 3 h up."


def test_coalesced_alert_lists_every_change() -> None:
    """Changes held back by the rate limit are told in one message, each with its time."""
    down = CheckSummary(Health.DOWN, "closed", "Closed.", T0 + 60)
    up = CheckSummary(Health.UP, "open", None, T0 + 180, players=(1, 10))
    first = Change(_watch(), 2, Health.UP, Health.DOWN, down, T0 + 60)
    last = Change(_watch(state=Health.DOWN), 3, Health.DOWN, Health.UP, up, T0 + 180, earlier=(first,))
    reply = alert_reply(last)
    assert reply.title == "Minecraft Java is back up"
    assert (
        reply.summary
        == "mc….net:25565/TCP changed 2 times: down at 08:01 UTC; up at 08:03 UTC.\nPlayers: 1/10"
    )


def test_durations() -> None:
    """Durations read as people say them."""
    assert [duration(s) for s in (5, 60, 720, 3600, 3 * 3600 + 300, 5 * 86400)] == [
        "5 s", "1 min", "12 min", "1 h", "3 h 5 min", "5 days",
    ]  # fmt: skip
