"""bot/core/watch_desk.py: what both chat platforms agree a watch request is, on a real SQLite store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.core.reply import Reply, Status
from bot.core.watch_desk import Added, CheckTarget, WatchDesk, WatchRequest
from bot.store import Store, database_url_for, open_store
from bot.watch.models import Platform
from bot.watch.repository import WatchRepository
from probes.errors import ResolveError
from probes.policy import SafetyPolicy

NAMES = {"mc.example.com": "203.0.113.7", "home.example.net": "192.168.1.10"}
#: The documentation range stands in for the internet here, as the operator's allow list would let it.
POLICY = SafetyPolicy.from_strings(allow="203.0.113.0/24")


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await open_store(database_url_for(None, tmp_path))
    yield opened
    await opened.close()


def judged_like_a_probe(seen: list[tuple[str, tuple[int, ...], str | None]]) -> CheckTarget:
    """Stands in for ProbeEngine.check_target: a table of names, then the real policy on the address."""
    import ipaddress

    async def check_target(host: str, ports: tuple[int, ...], hint: str | None) -> None:
        seen.append((host, ports, hint))
        if host not in NAMES:
            raise ResolveError(f"{host} doesn't resolve to any address.")
        POLICY.check_address(ipaddress.ip_address(NAMES[host]))

    return check_target


def request(host: str, **extra: object) -> WatchRequest:
    return WatchRequest(Platform.DISCORD, "guild-1", "user-1", "channel-1", host, 25565, **extra)  # type: ignore[arg-type]


async def test_a_name_is_judged_by_the_probes_check_before_it_is_stored(store: Store) -> None:
    """With check_target, a name leading to a private address is refused in the probe's words; none stored."""
    seen: list[tuple[str, tuple[int, ...], str | None]] = []
    desk = WatchDesk(
        WatchRepository(store),
        SafetyPolicy(),
        quota=10,
        min_interval=60,
        check_target=judged_like_a_probe(seen),
    )
    refused = await desk.add(request("home.example.net"))
    assert not isinstance(refused, Added)
    assert refused.title == "I won't watch that address"
    assert refused.status is Status.ERROR and refused.private
    unknown = await desk.add(request("nowhere.example.org"))
    assert not isinstance(unknown, Added)
    assert unknown.title == "That name doesn't resolve"
    added = await desk.add(request("MC.Example.com"))
    assert isinstance(added, Added)
    assert seen[-1] == ("mc.example.com", (25565,), None)  # the normalised name, as the probe would see it
    assert [w.host for w in await desk.repository.list(Platform.DISCORD, "guild-1")] == ["mc.example.com"]


@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1",
        "2130706433",  # 127.0.0.1 spelt as one number: judged as the address it is
        "[::ffff:10.0.0.1]",
    ],
)
async def test_address_literals_are_refused_without_a_check_target(store: Store, host: str) -> None:
    """Every spelling of a private address is refused by the policy itself, with the probe's refusal."""
    desk = WatchDesk(WatchRepository(store), SafetyPolicy(), quota=10, min_interval=60)
    refused = await desk.add(request(host))
    assert not isinstance(refused, Added)
    assert refused.title == "I won't watch that address"
    assert refused.private and host in refused.sensitive
    assert await desk.repository.list(Platform.DISCORD, "guild-1") == []


@pytest.mark.parametrize(
    ("platform", "command", "expected"),
    [
        (
            Platform.DISCORD,
            "/portbot watch",
            "There is no watch #7 here. `/portbot watch list` shows this server's.",
        ),
        (
            Platform.SLACK,
            "/port watch",
            "There is no watch #7 here. `/port watch list` shows this workspace's.",
        ),
    ],
)
async def test_removing_an_unknown_watch_names_this_platforms_command(
    store: Store, platform: Platform, command: str, expected: str
) -> None:
    """A wrong number gets a private sentence naming the list command as this platform spells it."""
    desk = WatchDesk(WatchRepository(store), POLICY, quota=10, min_interval=60, command=command)
    answer = await desk.remove(platform, "guild-1", 7)
    assert isinstance(answer, Reply)
    assert answer.private and expected in answer.summary
