"""Rate limits: per user, per server and per target, with friendly messages, in memory or in Redis."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from probes.errors import RateLimited, StoreUnavailable
from probes.ratelimit import GUILD, TARGET, USER, ProbeRateLimiter, RateLimits, target_key
from probes.targets import parse_target
from tests.probes._redis import redis_server


async def exhaust(limiter: ProbeRateLimiter, keys: list[tuple[str, str]], times: int) -> None:
    for _ in range(times):
        await limiter.hit(keys)


async def test_user_limit_refuses_the_eleventh_check_with_a_friendly_sentence() -> None:
    """Ten checks a minute pass; the eleventh is refused, saying when to try again."""
    limiter = ProbeRateLimiter(RateLimits(per_user="10/minute"))
    await exhaust(limiter, [(USER, "discord:1")], 10)
    with pytest.raises(
        RateLimited, match=r"^You've run a lot of checks in a minute; try again in \d+ s\.$"
    ) as info:
        await limiter.hit([(USER, "discord:1")])
    assert info.value.scope == "user"
    assert 1 <= info.value.retry_after <= 60


async def test_users_are_counted_separately() -> None:
    """One user running out does not stop another."""
    limiter = ProbeRateLimiter(RateLimits(per_user="2/minute"))
    await exhaust(limiter, [(USER, "discord:1")], 2)
    await limiter.hit([(USER, "discord:2")])


@pytest.mark.parametrize(
    ("platform", "message"),
    [
        ("discord", r"^This server has run a lot of checks in a minute; try again in \d+ s\.$"),
        ("slack", r"^This workspace has run a lot of checks in a minute; try again in \d+ s\.$"),
    ],
)
async def test_guild_limit_speaks_the_platforms_language(platform: str, message: str) -> None:
    """The server-wide limit says "server" on Discord and "workspace" on Slack."""
    limiter = ProbeRateLimiter(RateLimits(per_guild="3/minute"))
    await exhaust(limiter, [(GUILD, "g1")], 3)
    with pytest.raises(RateLimited, match=message) as info:
        await limiter.hit([(GUILD, "g1")], platform=platform)
    assert info.value.scope == "guild"


async def test_target_limit_names_the_address() -> None:
    """The per-target limit protects the target, whoever asks."""
    limiter = ProbeRateLimiter(RateLimits(per_target="2/hour"))
    await exhaust(limiter, [(TARGET, "198.51.100.7")], 2)
    with pytest.raises(
        RateLimited, match=r"^That address has been checked a lot in an hour; try again in \d+ (s|min)\.$"
    ):
        await limiter.hit([(USER, "someone-else"), (TARGET, "198.51.100.7")])


async def test_a_refusal_charges_the_later_scopes_nothing() -> None:
    """Once the user's own limit refuses, the server's and the target's counters are left alone."""
    limiter = ProbeRateLimiter(RateLimits(per_user="1/minute", per_guild="2/minute"))
    await limiter.hit([(USER, "u1"), (GUILD, "g1")])
    for _ in range(3):
        with pytest.raises(RateLimited):
            await limiter.hit([(USER, "u1"), (GUILD, "g1")])
    await limiter.hit([(USER, "u2"), (GUILD, "g1")])


async def test_admit_charges_each_address_key_once() -> None:
    """admit() counts one hit per distinct key: an IPv4 address and its mapped IPv6 form are one target."""
    limiter = ProbeRateLimiter(RateLimits(per_target="2/minute"))
    v4, mapped, v6 = (ipaddress.ip_address(a) for a in ("198.51.100.7", "::ffff:198.51.100.7", "2001:db8::7"))
    await limiter.admit([v4, mapped, v6])
    await limiter.admit([v4])
    assert not await limiter.allowed(TARGET, "4:198.51.100.7/32")
    assert await limiter.allowed(TARGET, "6:2001:db8::/64")
    with pytest.raises(RateLimited) as info:
        await limiter.admit([mapped])
    assert info.value.scope == "target"


def ipv4_spellings(number: int) -> list[str]:
    """Ways a person (or an attacker) can write one IPv4 address as a probe target."""
    a, b, c, d = number.to_bytes(4, "big")
    dotted = f"{a}.{b}.{c}.{d}"
    high, low = number >> 16, number & 0xFFFF
    return [
        dotted,
        dotted + ".",
        str(number),
        hex(number),
        "0X" + format(number, "X"),
        ".".join(f"0{part:o}" for part in (a, b, c, d)),
        ".".join(hex(part) for part in (a, b, c, d)),
        f"{a}.{b}.{c * 256 + d}",
        f"{a}.{(b << 16) | (c << 8) | d}",
        f"{dotted}:25565",
        f"http://u1@{dotted}/",
        f"https://user:pw@{dotted}:8443/path?q=1",
        f"[::ffff:{dotted}]",
        f"[::FFFF:{high:X}:{low:x}]:80",
        f"http://u2@[::ffff:{dotted}]/",
        f"::ffff:0:{dotted}",  # SIIT
        f"64:ff9b::{dotted}",  # NAT64, well-known prefix
        f"2002:{high:x}:{low:x}::1",  # 6to4
    ]


@settings(max_examples=200)
@given(number=st.integers(min_value=0, max_value=2**32 - 1))
def test_every_spelling_of_an_ipv4_address_has_one_key(number: int) -> None:
    """Decimal, octal, hex, short, URL, host:port, mapped, SIIT, NAT64 and 6to4 forms all count as one /32."""
    expected = f"4:{ipaddress.IPv4Address(number)}/32"
    for spelling in ipv4_spellings(number):
        address = parse_target(spelling).address
        assert address is not None, spelling
        assert target_key(address) == expected, spelling


# Global unicast space without 2001::/32 (Teredo) and 2002::/16 (6to4), which carry an IPv4 address.
native_ipv6 = st.integers(min_value=0x2003 << 112, max_value=(0x4000 << 112) - 1).map(ipaddress.IPv6Address)


@settings(max_examples=200)
@given(address=native_ipv6, interface=st.integers(min_value=0, max_value=2**64 - 1))
def test_every_spelling_of_an_ipv6_64_has_one_key(address: ipaddress.IPv6Address, interface: int) -> None:
    """Any address of one /64, written compressed, exploded, upper-case, bracketed or as a URL, is one key."""
    sibling = ipaddress.IPv6Address(int(address) >> 64 << 64 | interface)
    expected = f"6:{ipaddress.IPv6Network((int(address) >> 64 << 64, 64))}"
    for spelling in (
        str(address),
        address.exploded.upper(),
        f"[{address}]:443",
        f"http://u1@[{address.exploded}]/",
        f"{address}%eth0",
        str(sibling),
    ):
        parsed = parse_target(spelling).address
        assert parsed is not None, spelling
        assert target_key(parsed) == expected, spelling


@given(first=st.integers(0, 2**32 - 1), second=st.integers(0, 2**32 - 1))
def test_different_ipv4_addresses_have_different_keys(first: int, second: int) -> None:
    """Two IPv4 addresses share a key only when they are the same address."""
    keys = {target_key(ipaddress.IPv4Address(n)) for n in (first, second)}
    assert len(keys) == (1 if first == second else 2)


async def test_empty_limit_disables_a_scope() -> None:
    """An empty limit string turns that limit off."""
    limiter = ProbeRateLimiter(RateLimits(per_user=""))
    await exhaust(limiter, [(USER, "u1")], 50)


def test_bad_limit_is_a_clear_error() -> None:
    """A limit the library can't read names the setting."""
    with pytest.raises(ValueError, match=r"^Rate limit per_user: 'lots' is not a rate like '10/minute'"):
        ProbeRateLimiter(RateLimits(per_user="lots"))


def test_non_redis_url_is_a_clear_error() -> None:
    """A storage URL that isn't Redis names PORTBOT_REDIS_URL."""
    with pytest.raises(ValueError, match=r"^PORTBOT_REDIS_URL: 'http://x' is not a Redis URL"):
        ProbeRateLimiter(storage_url="http://x")


# --- Redis: only when a redis-server binary and the redis package are installed ---------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def redis_url(tmp_path: Path) -> Iterator[str]:
    with redis_server(tmp_path) as (url, _):
        yield url


@pytest.fixture
async def redis_limiters(redis_url: str) -> AsyncIterator[tuple[ProbeRateLimiter, ProbeRateLimiter]]:
    limits = RateLimits(per_user="3/minute")
    first = ProbeRateLimiter(limits, storage_url=redis_url)
    second = ProbeRateLimiter(limits, storage_url=redis_url)
    yield first, second
    await first.reset()
    await asyncio.gather(first.aclose(), second.aclose())


async def test_redis_storage_is_shared_between_limiters(
    redis_limiters: tuple[ProbeRateLimiter, ProbeRateLimiter],
) -> None:
    """Two limiters on one Redis (two bot processes) share one count."""
    first, second = redis_limiters
    await exhaust(first, [(USER, "u1")], 2)
    await second.hit([(USER, "u1")])
    with pytest.raises(RateLimited):
        await first.hit([(USER, "u1")])


STORE_DOWN = (
    r"^The rate limiter's storage isn't answering, so I can't run checks right now; try again soon\.$"
)


async def test_an_unusable_counter_file_stops_checks_as_the_operators_problem(tmp_path: Path) -> None:
    """A counter file that can't be opened stops the check with StoreUnavailable, not a traceback."""
    (tmp_path / "limits.sqlite3").mkdir()
    limiter = ProbeRateLimiter(store_path=tmp_path / "limits.sqlite3")
    with pytest.raises(StoreUnavailable, match=STORE_DOWN):
        await limiter.hit([(USER, "u1")])


async def test_a_redis_that_is_down_stops_checks_as_the_operators_problem() -> None:
    """Redis refusing connections stops the check with StoreUnavailable."""
    pytest.importorskip("redis", reason="the redis package is not installed (pip install 'portbot[redis]')")
    limiter = ProbeRateLimiter(storage_url=f"redis://127.0.0.1:{_free_port()}/0")
    try:
        with pytest.raises(StoreUnavailable, match=STORE_DOWN):
            await limiter.hit([(USER, "u1")])
    finally:
        await limiter.aclose()
