"""Name resolution against a DNS server the test starts on loopback (never the machine's resolver)."""

from __future__ import annotations

import ipaddress

import pytest

from probes.errors import RefusedTarget, ResolveError
from probes.resolve import Resolution, Resolver
from tests.probes.servers import serve

RECORDS = {
    "dual.test": [("A", "192.0.2.10"), ("AAAA", "2001:db8::10"), ("A", "192.0.2.11")],
    "v4.test": [("A", "192.0.2.20")],
    "v6.test": [("AAAA", "2001:db8::20")],
    "text-only.test": [("TXT", '"hello"')],
    "xn--bcher-kva.test": [("TXT", '"no address"')],
    "mc.test": [("A", "192.0.2.30")],
    "_minecraft._tcp.mc.test": [("SRV", "10 5 25600 backup.mc.test."), ("SRV", "0 5 25601 node.mc.test.")],
    "node.mc.test": [("A", "192.0.2.31"), ("AAAA", "2001:db8::31")],
    "backup.mc.test": [("A", "192.0.2.32")],
    "dot.test": [("A", "192.0.2.40")],
    "_minecraft._tcp.dot.test": [("SRV", "0 0 0 .")],
    "broken.test": [("A", "192.0.2.50")],
    "_minecraft._tcp.broken.test": [("SRV", "0 0 25565 missing.test.")],
    "www.test": [("CNAME", "v4.test.")],
    "chain.test": [("CNAME", "www.test.")],
    "zero.test": [("A", "192.0.2.60")],
    "_minecraft._tcp.zero.test": [("SRV", "0 5 0 node.mc.test.")],
    "aliased-srv.test": [("A", "192.0.2.70")],
    "_minecraft._tcp.aliased-srv.test": [("SRV", "0 5 25602 chain.test.")],
    "*.wild.test": [("A", "192.0.2.80")],
}


def ips(*texts: str) -> tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, ...]:
    return tuple(ipaddress.ip_address(t) for t in texts)


@pytest.fixture
async def resolver():
    async with serve("dns", "127.0.0.1", records=RECORDS) as server:
        resolver = Resolver((f"127.0.0.1:{server.port}",), timeout=2.0)
        resolver.server = server  # type: ignore[attr-defined]
        yield resolver


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("dual.test", ips("192.0.2.10", "192.0.2.11", "2001:db8::10")),
        ("v4.test", ips("192.0.2.20")),
        ("v6.test", ips("2001:db8::20")),
    ],
)
async def test_addresses_of_both_families_ipv4_first(resolver: Resolver, name: str, expected: tuple) -> None:
    """A and AAAA records both come back, IPv4 first, each family sorted."""
    assert await resolver.resolve(name) == Resolution(name, expected)


async def test_a_and_aaaa_are_both_asked(resolver: Resolver) -> None:
    """One lookup asks for A and AAAA (and nothing else when no SRV service is named)."""
    await resolver.resolve("dual.test")
    assert sorted(resolver.server.log) == [("dual.test", "A"), ("dual.test", "AAAA")]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("name", "message", "hint"),
    [
        (
            "nope.test",
            "I couldn't find `nope.test`: DNS says that name doesn't exist.",
            "Check the spelling. A name created a few minutes ago can take a while to show up.",
        ),
        (
            "xn--bcher-kva.example",
            "I couldn't find `bücher.example`: DNS says that name doesn't exist.",
            "Check the spelling. A name created a few minutes ago can take a while to show up.",
        ),
        (
            "text-only.test",
            "`text-only.test` exists in DNS but has no address (no A or AAAA record).",
            "Add an A record (IPv4) or an AAAA record (IPv6) that points at your server.",
        ),
        (
            "xn--bcher-kva.test",
            "`bücher.test` exists in DNS but has no address (no A or AAAA record).",
            "Add an A record (IPv4) or an AAAA record (IPv6) that points at your server.",
        ),
    ],
)
async def test_failures_are_explained(resolver: Resolver, name: str, message: str, hint: str) -> None:
    """NXDOMAIN and address-less names raise ResolveError with a plain sentence (IDNA shown as typed)."""
    with pytest.raises(ResolveError) as info:
        await resolver.resolve(name)
    assert (str(info.value), info.value.hint) == (message, hint)


async def test_a_silent_dns_server_times_out_with_a_message() -> None:
    """A DNS server that never answers gives a timeout message, not a hang."""
    async with serve("udp-silent", "127.0.0.1") as silent:
        resolver = Resolver((f"127.0.0.1:{silent.port}",), timeout=0.4)
        with pytest.raises(
            ResolveError, match=r"^The DNS servers didn't answer in time when I looked up `mc\.test`\.$"
        ):
            await resolver.resolve("mc.test")
    assert silent.hits >= 2  # A and AAAA were both sent


async def test_ipv6_nameserver(resolver: Resolver) -> None:
    """A DNS server on an IPv6 address works the same way."""
    async with serve("dns", "::1", records=RECORDS) as server:
        found = await Resolver((f"[::1]:{server.port}",), timeout=2.0).resolve("v6.test")
    assert found.addresses == ips("2001:db8::20")


async def test_srv_record_is_followed_to_its_preferred_target(resolver: Resolver) -> None:
    """The lowest-priority SRV record wins; its target's addresses and port are returned."""
    found = await resolver.resolve("mc.test", srv_service="_minecraft._tcp")
    assert found == Resolution("node.mc.test", ips("192.0.2.31", "2001:db8::31"), srv_port=25601)


async def test_without_srv_record_the_name_itself_is_used(resolver: Resolver) -> None:
    """No SRV record: the name's own addresses, and the SRV question was asked."""
    found = await resolver.resolve("v4.test", srv_service="_minecraft._tcp")
    assert found == Resolution("v4.test", ips("192.0.2.20"))
    assert ("_minecraft._tcp.v4.test", "SRV") in resolver.server.log  # type: ignore[attr-defined]


async def test_srv_target_dot_means_no_srv(resolver: Resolver) -> None:
    """An SRV target of "." (service not offered there) falls back to the name's own addresses."""
    found = await resolver.resolve("dot.test", srv_service="_minecraft._tcp")
    assert found == Resolution("dot.test", ips("192.0.2.40"))


async def test_srv_target_without_address_is_explained(resolver: Resolver) -> None:
    """An SRV record pointing at a name with no address says so."""
    with pytest.raises(ResolveError) as info:
        await resolver.resolve("broken.test", srv_service="_minecraft._tcp")
    assert (
        str(info.value)
        == "`broken.test` has an SRV record pointing to `missing.test`, but that name has no address."
    )


@pytest.mark.parametrize(
    ("name", "canonical"), [("www.test", "v4.test"), ("chain.test", "v4.test"), ("WWW.test.", "v4.test")]
)
async def test_cname_chain_is_followed_and_its_end_kept(
    resolver: Resolver, name: str, canonical: str
) -> None:
    """A name that is an alias gets the addresses its CNAME chain ends at, and says where it ended."""
    assert await resolver.resolve(name) == Resolution(name, ips("192.0.2.20"), canonical=canonical)


async def test_plain_name_has_no_canonical_name(resolver: Resolver) -> None:
    """A name with its own A record is its own end: no CNAME is reported."""
    assert (await resolver.resolve("v4.test")).canonical is None


@pytest.mark.parametrize("name", ["a.wild.test", "b.c.wild.test"])
async def test_wildcard_names_resolve_to_the_wildcards_address(resolver: Resolver, name: str) -> None:
    """The test DNS server answers wildcards as real ones do (the rate-limit tests rely on it)."""
    assert (await resolver.resolve(name)).addresses == ips("192.0.2.80")


async def test_srv_target_behind_a_cname_is_followed(resolver: Resolver) -> None:
    """An SRV record whose target is an alias: the chain's addresses, the SRV port, and where it ended."""
    found = await resolver.resolve("aliased-srv.test", srv_service="_minecraft._tcp")
    assert found == Resolution("chain.test", ips("192.0.2.20"), srv_port=25602, canonical="v4.test")


async def test_srv_record_with_port_0_is_refused(resolver: Resolver) -> None:
    """An SRV record naming port 0 is refused with a reason, and its target is never looked up."""
    with pytest.raises(RefusedTarget) as info:
        await resolver.resolve("zero.test", srv_service="_minecraft._tcp")
    assert (str(info.value), info.value.category, info.value.hint) == (
        "The SRV record `_minecraft._tcp.zero.test` says port 0, which no server can listen on, so there's "
        "nothing to check.",
        "srv-port",
        "Fix the port in that SRV record (Minecraft's usual port is 25565), or remove the record.",
    )
    assert ("node.mc.test", "A") not in resolver.server.log  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ("dns.example", "DNS server 'dns.example' must be an IP address, optionally with :port"),
        ("127.0.0.1:0", "DNS server '127.0.0.1:0' has a port outside 1-65535"),
        ("[::1]:70000", "DNS server '[::1]:70000' has a port outside 1-65535"),
    ],
)
def test_bad_nameserver_entries_are_configuration_errors(entry: str, message: str) -> None:
    """A DNS server setting that isn't an address (and port) fails at start-up, naming the entry."""
    with pytest.raises(ValueError) as info:
        Resolver((entry,))
    assert str(info.value) == message


@pytest.mark.parametrize("entry", ["127.0.0.1", "127.0.0.1:5353", "::1", "[::1]", "[::1]:5353"])
def test_nameserver_entry_forms(entry: str) -> None:
    """Addresses with or without a port, IPv6 bare or in brackets, are accepted."""
    Resolver((entry,))
