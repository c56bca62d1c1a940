"""One-time links: tokens bound to what they are for, single use, expiry, and the stores (memory and Redis)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from probes.links import (
    Claim,
    Link,
    LinkResult,
    Links,
    LinkState,
    LinkStore,
    RedisLinkStore,
    make_link,
    verify_token,
)
from probes.models import PortResult, ProbeReport, Requester, State
from tests.probes._redis import redis_server

SECRET = "link-secret-for-tests"
ALICE = Requester(platform="discord", user_id="111", guild_id="9")


def a_link(**options: Any) -> Link:
    fields: dict[str, Any] = {
        "base_url": "https://worker.example.net",
        "ports": (25565,),
        "protocol": "tcp",
        "requester": ALICE,
    }
    fields.update(options)
    return make_link(SECRET, **fields)


def a_result(link: Link) -> LinkResult:
    report = ProbeReport(
        target="203.0.113.5",
        host="203.0.113.5",
        vantage="Frankfurt",
        results=(PortResult("203.0.113.5", 25565, "tcp", State.OPEN, "syn-ack", 12.5),),
    )
    return LinkResult(link_id=link.id, address_kind="v4", report=report, reached_listener={25565: True})


def test_a_link_verifies_with_its_own_token() -> None:
    """A fresh link's token verifies against the link it was made for."""
    link = a_link()
    assert verify_token(SECRET, link.token, link)
    assert link.url == f"https://worker.example.net/l/{link.token}"


@pytest.mark.parametrize(
    "change",
    [
        {"ports": (25566,)},
        {"protocol": "udp"},
        {"requester": Requester(platform="discord", user_id="222", guild_id="9")},
        {"expires_at": 9_999_999_999.0},
        {"hint": "minecraft"},
        {"listener": "nonce"},
    ],
    ids=["ports", "protocol", "requester", "expiry", "hint", "listener"],
)
def test_a_token_is_bound_to_what_the_link_is_for(change: dict[str, Any]) -> None:
    """The token does not verify once any bound field of the stored link differs."""
    link = a_link()
    assert not verify_token(SECRET, link.token, replace(link, **change))


@pytest.mark.parametrize("token", ["", "junk", "a.b.c", "x" * 200, "ü.ü"])
def test_junk_tokens_do_not_verify(token: str) -> None:
    """Tokens of the wrong shape are refused without any comparison."""
    assert not verify_token(SECRET, token, a_link())


def test_another_key_does_not_verify() -> None:
    """A token signed under another secret is refused."""
    link = a_link()
    forged = make_link("other-secret", base_url="https://w", ports=(25565,), protocol="tcp", requester=ALICE)
    assert not verify_token(SECRET, f"{link.id}.{forged.token.split('.')[1]}", link)


def test_family_urls_use_the_configured_host_names() -> None:
    """url_v4 and url_v6 keep the scheme and port and swap in the v4/v6 host names."""
    link = a_link(base_url="https://w.example.net:8443", host_v4="v4.example.net", host_v6="v6.example.net")
    assert link.url_v4 == f"https://v4.example.net:8443/l/{link.token}"
    assert link.url_v6 == f"https://v6.example.net:8443/l/{link.token}"


def test_default_expiry_is_ten_minutes() -> None:
    """Without a ttl a link expires 600 s after it is made."""
    assert a_link(now=1_000_000.0).expires_at == 1_000_600.0


def test_link_and_result_survive_json() -> None:
    """Link and LinkResult round-trip through their dict forms."""
    link = a_link(hint="minecraft", host_v4="v4.example.net")
    assert Link.from_dict(link.to_dict()) == link
    result = a_result(link)
    assert LinkResult.from_dict(result.to_dict()) == result


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Links]:
    """Each store kind; the Redis one against a throwaway redis-server."""
    if request.param == "memory":
        yield LinkStore()
        return
    with redis_server(tmp_path) as (url, _):
        redis_store = RedisLinkStore(url)
        redis_store.poll = 0.02
        yield redis_store
        await redis_store.aclose()


async def test_a_link_is_claimed_once(store: Links) -> None:
    """The first claim wins; every later one is told the link was used."""
    link = a_link()
    await store.add(link)
    now = time.time()
    assert await store.claim(link.id, now) is Claim.OK
    assert await store.claim(link.id, now) is Claim.USED


async def test_concurrent_claims_let_one_through(store: Links) -> None:
    """Of many simultaneous claims exactly one is OK."""
    link = a_link()
    await store.add(link)
    now = time.time()
    claims = await asyncio.gather(*(store.claim(link.id, now) for _ in range(20)))
    assert claims.count(Claim.OK) == 1


async def test_an_expired_link_cannot_be_claimed(store: Links) -> None:
    """After its expiry a link is refused as expired."""
    link = a_link(ttl=5)
    await store.add(link)
    assert await store.claim(link.id, link.expires_at + 1) is Claim.EXPIRED


async def test_an_unknown_link_is_unknown(store: Links) -> None:
    """An id never stored is unknown."""
    assert await store.claim("nope", time.time()) is Claim.UNKNOWN


async def test_a_released_link_can_be_claimed_again(store: Links) -> None:
    """A visit that checked nothing gives the link back."""
    link = a_link()
    await store.add(link)
    now = time.time()
    assert await store.claim(link.id, now) is Claim.OK
    await store.release(link.id)
    assert await store.claim(link.id, now) is Claim.OK


async def test_wait_returns_the_result_when_it_arrives(store: Links) -> None:
    """A waiter is woken by finish() with the stored result."""
    link = a_link()
    await store.add(link)
    await store.claim(link.id, time.time())
    waiter = asyncio.create_task(store.wait(link.id, 5))
    await asyncio.sleep(0.05)
    await store.finish(link.id, a_result(link))
    assert await waiter == (LinkState.DONE, a_result(link))


async def test_wait_says_pending_on_timeout(store: Links) -> None:
    """With no visit, a short wait ends pending."""
    link = a_link()
    await store.add(link)
    assert await store.wait(link.id, 0.05) == (LinkState.PENDING, None)


async def test_wait_says_expired_for_an_unused_expired_link(store: Links) -> None:
    """An unvisited link past its expiry is reported expired, without waiting the timeout out."""
    link = a_link(ttl=1)
    await store.add(link)
    started = time.monotonic()
    state, _ = await store.wait(link.id, 10)
    assert state is LinkState.EXPIRED
    assert time.monotonic() - started < 5
