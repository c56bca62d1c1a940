"""The probe service: input checks, the safety policy, rate limits and the audit log around every probe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from probes.audit import AuditLog
from probes.errors import InputError, RateLimited, RefusedTarget
from probes.models import ProbeReport, ProbeRequest, Requester
from probes.policy import SafetyPolicy
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.service import ProbeService
from tests.probes._probers import StaticProber

ALICE = Requester("discord", "alice", "guild-1", "chan-1")
BOB = Requester("discord", "bob", "guild-1", "chan-1")
DOCS = SafetyPolicy.from_strings(allow=["198.51.100.0/24", "203.0.113.0/24"])


@pytest.fixture
async def audit(tmp_path: Path) -> AsyncIterator[AuditLog]:
    log = AuditLog(tmp_path / "audit.sqlite3")
    yield log
    await log.close()


def service(
    prober: StaticProber, audit: AuditLog, limits: RateLimits | None = None, policy: SafetyPolicy = DOCS
) -> ProbeService:
    return ProbeService(
        prober, ProbeRateLimiter(limits), audit, policy=policy, vantage="Frankfurt", local=False
    )


async def test_probe_is_run_and_audited(audit: AuditLog) -> None:
    """A good request reaches the prober and leaves one audit row with its verdicts."""
    prober = StaticProber()
    report = await service(prober, audit).run(ProbeRequest("198.51.100.7", (25565,)), ALICE)
    assert (report.vantage, report.local, [r.port for r in report.results]) == ("Frankfurt", False, [25565])
    await audit.flush()
    [row] = await audit.recent()
    assert (row.platform, row.user_id, row.guild_id, row.channel_id) == (
        "discord",
        "alice",
        "guild-1",
        "chan-1",
    )
    assert (row.target, row.addresses, row.ports, row.outcome, row.vantage) == (
        "198.51.100.7",
        ("198.51.100.7",),
        (25565,),
        "probed",
        "Frankfurt",
    )
    assert row.verdicts == (
        {"address": "198.51.100.7", "port": 25565, "protocol": "tcp", "state": "open", "reason": "test"},
    )


@pytest.mark.parametrize(
    ("target", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("2130706433", "loopback"),
        ("[::ffff:10.0.0.1]", "private"),
        ("100.64.0.1", "cgnat"),
    ],
)
async def test_refused_literal_never_reaches_the_prober(audit: AuditLog, target: str, category: str) -> None:
    """A refused address literal is stopped before the engine and audited with its category."""
    prober = StaticProber()
    with pytest.raises(RefusedTarget) as info:
        await service(prober, audit).run(ProbeRequest(target, (80,)), ALICE)
    assert info.value.category == category
    assert prober.calls == []
    await audit.flush()
    [row] = await audit.recent()
    assert (row.outcome, row.category, row.detail) == ("refused", category, info.value.message)


@pytest.mark.parametrize(
    ("request_", "message"),
    [
        (ProbeRequest("198.51.100.7", ()), r"^Tell me which port to check"),
        (ProbeRequest("198.51.100.7", (1, 2, 3, 4, 5, 6)), r"^I check at most 5 ports at a time"),
        (ProbeRequest("198.51.100.7", (70000,)), r"^70000 is not a port"),
        (ProbeRequest("  ", (80,)), r"^Tell me which address or host name to check"),
        (ProbeRequest("198.51.100.7", (80,), protocol="sctp"), r"^'sctp' is not a protocol I check"),  # type: ignore[arg-type]
    ],
)
async def test_bad_input_is_refused_and_audited(
    audit: AuditLog, request_: ProbeRequest, message: str
) -> None:
    """Bad requests are input errors, never probed, audited as invalid."""
    prober = StaticProber()
    with pytest.raises(InputError, match=message):
        await service(prober, audit).run(request_, ALICE)
    assert prober.calls == []
    await audit.flush()
    assert [r.outcome for r in await audit.recent()] == ["invalid"]


async def test_user_limit_stops_the_user_not_others(audit: AuditLog) -> None:
    """Past the per-user limit the user is refused (and audited) while others still get through."""
    prober = StaticProber()
    svc = service(prober, audit, RateLimits(per_user="2/minute"))
    for port in (80, 81):
        await svc.run(ProbeRequest("198.51.100.7", (port,)), ALICE)
    with pytest.raises(RateLimited) as info:
        await svc.run(ProbeRequest("198.51.100.8", (82,)), ALICE)
    assert info.value.scope == "user"
    await svc.run(ProbeRequest("198.51.100.8", (82,)), BOB)
    assert len(prober.calls) == 3
    await audit.flush()
    outcomes = [(r.user_id, r.outcome, r.category) for r in await audit.recent()]
    assert outcomes[:2] == [("bob", "probed", None), ("alice", "rate-limited", "user")]


async def test_guild_limit_covers_everyone_in_the_server(audit: AuditLog) -> None:
    """The per-server limit counts all users of one server together."""
    svc = service(StaticProber(), audit, RateLimits(per_guild="2/minute"))
    await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)
    await svc.run(ProbeRequest("198.51.100.8", (80,)), BOB)
    with pytest.raises(RateLimited) as info:
        await svc.run(ProbeRequest("198.51.100.9", (80,)), Requester("discord", "carol", "guild-1", None))
    assert info.value.scope == "guild"
    await svc.run(ProbeRequest("198.51.100.9", (80,)), Requester("discord", "dave", None, None))


@pytest.mark.parametrize(
    "spellings",
    [
        ["198.51.100.7", "3325256711", "0xc6.0x33.0x64.7.", "http://u1@198.51.100.7/x", "198.51.100.7:25565"],
        ["http://u2@198.51.100.7:80/", "198.51.100.7", "0306.063.0144.07", "x", "3325256711."],
    ],
)
async def test_target_limit_sees_through_spellings(audit: AuditLog, spellings: list[str]) -> None:
    """Every spelling of one address meets one counter: past the limit, the next spelling is refused."""
    prober = StaticProber(names={"x": "198.51.100.7"})
    svc = service(prober, audit, RateLimits(per_target="4/minute"))
    for n, target in enumerate(spellings[:4]):
        await svc.run(ProbeRequest(target, (80,)), Requester("discord", f"user-{n}"))
    with pytest.raises(RateLimited) as info:
        await svc.run(ProbeRequest(spellings[4], (80,)), Requester("slack", "carol", "T1", None))
    assert info.value.scope == "target"
    assert len(prober.calls) == 4


@pytest.mark.parametrize(
    "wrapped", ["[::ffff:198.51.100.7]", "http://u2@[::FFFF:c633:6407]:80/", "::ffff:0:198.51.100.7"]
)
async def test_wrapped_ipv6_forms_get_no_budget_of_their_own(audit: AuditLog, wrapped: str) -> None:
    """Once an IPv4 address's budget is used up, its IPv6-wrapped forms are stopped too: by its limit (they
    count as that address) or by the policy outright; either way the prober never runs for them."""
    prober = StaticProber()
    svc = service(prober, audit, RateLimits(per_target="1/minute"))
    await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)
    with pytest.raises((RateLimited, RefusedTarget)) as info:
        await svc.run(ProbeRequest(wrapped, (80,)), BOB)
    if isinstance(info.value, RateLimited):
        assert info.value.scope == "target"
    assert len(prober.calls) == 1


async def test_target_limit_follows_a_name_to_its_addresses(audit: AuditLog) -> None:
    """Names are counted by the address they resolve to, so the address and every name for it share a limit."""
    prober = StaticProber(names={"mc.example.org": "198.51.100.7", "alias.example.org": "198.51.100.7"})
    svc = service(prober, audit, RateLimits(per_target="2/minute"))
    await svc.run(ProbeRequest("MC.example.org.", (25565,)), ALICE)
    await svc.run(ProbeRequest("alias.example.org", (25565,)), BOB)
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("198.51.100.7", (25565,)), Requester("discord", "carol"))
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("mc.example.org", (25565,)), Requester("discord", "dave"))


@pytest.mark.parametrize("target", ["198.51.100.7", "mc.example.org"], ids=["literal", "name"])
async def test_one_probe_charges_the_target_counter_exactly_once(audit: AuditLog, target: str) -> None:
    """With a limit of 3, exactly three probes of one target run: each charged its counter once, not twice."""
    prober = StaticProber(names={"mc.example.org": "198.51.100.7"})
    svc = service(prober, audit, RateLimits(per_target="3/minute"))
    for n in range(3):
        await svc.run(ProbeRequest(target, (80,)), Requester("discord", f"user-{n}"))
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest(target, (80,)), Requester("discord", "user-3"))
    assert len(prober.calls) == 3


async def test_target_limit_is_keyed_on_the_resolved_address_not_the_name(audit: AuditLog) -> None:
    """One name resolving elsewhere has its own budget; two names for one address share theirs."""
    prober = StaticProber(names={"a.example.org": "198.51.100.7", "b.example.org": "198.51.100.8"})
    svc = service(prober, audit, RateLimits(per_target="1/minute"))
    await svc.run(ProbeRequest("a.example.org", (80,)), ALICE)
    await svc.run(ProbeRequest("b.example.org", (80,)), BOB)  # another address: not limited
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("198.51.100.8", (80,)), Requester("discord", "carol"))


async def test_ipv6_addresses_of_one_64_share_a_counter(audit: AuditLog) -> None:
    """Addresses inside one IPv6 /64 count as one target; the next /64 is another."""
    policy = SafetyPolicy.from_strings(allow=["2001:db8::/32"])
    svc = service(StaticProber(), audit, RateLimits(per_target="2/minute"), policy)
    await svc.run(ProbeRequest("2001:db8:1:2::1", (80,)), ALICE)
    await svc.run(ProbeRequest("[2001:db8:1:2:ffff::7]:80", (80,)), BOB)
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("2001:db8:1:2:abcd::9", (80,)), Requester("discord", "carol"))
    await svc.run(ProbeRequest("2001:db8:1:3::1", (80,)), Requester("discord", "dave"))


async def test_refused_targets_charge_no_target_counter(audit: AuditLog) -> None:
    """The target limit is charged after the policy: refused attempts don't use up a target's budget."""
    prober = StaticProber(names={"lan.example.org": "10.0.0.7"})
    svc = service(prober, audit, RateLimits(per_target="1/minute", per_user=""))
    for _ in range(3):
        with pytest.raises(RefusedTarget):
            await svc.run(ProbeRequest("10.0.0.7", (80,)), ALICE)
    await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)


async def test_target_limit_refusal_is_audited_with_its_scope(audit: AuditLog) -> None:
    """A probe stopped by the target limit gives the friendly sentence and an audit row."""
    prober = StaticProber(names={"mc.example.org": "198.51.100.7"})
    svc = service(prober, audit, RateLimits(per_target="1/minute"))
    await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)
    with pytest.raises(
        RateLimited, match=r"^That address has been checked a lot in a minute; try again in \d+ s\.$"
    ):
        await svc.run(ProbeRequest("mc.example.org", (80,)), BOB)
    await audit.flush()
    row = (await audit.recent())[0]
    assert (row.user_id, row.target, row.outcome, row.category) == (
        "bob",
        "mc.example.org",
        "rate-limited",
        "target",
    )


class TwoVantages:
    """A report source answering from two places, as the worker client does."""

    def __init__(self, prober: StaticProber) -> None:
        self.prober = prober
        self.requesters: list[Requester | None] = []

    async def probe(self, request: ProbeRequest, *, requester: Requester | None = None) -> list[ProbeReport]:
        self.requesters.append(requester)
        return [
            await self.prober.probe(request, vantage="Frankfurt", local=False),
            ProbeReport(request.target, request.target, "Singapore", (), error="worker did not answer"),
        ]


async def test_run_all_fans_out_and_audits_each_vantage(audit: AuditLog) -> None:
    """With a report source, every vantage's report is returned and audited, failures as failed."""
    source = TwoVantages(StaticProber())
    svc = ProbeService(source=source, limiter=ProbeRateLimiter(), audit=audit, policy=DOCS, vantage="workers")
    reports = await svc.run_all(ProbeRequest("198.51.100.7", (80,)), ALICE)
    assert [r.vantage for r in reports] == ["Frankfurt", "Singapore"]
    assert source.requesters == [ALICE]
    await audit.flush()
    rows = sorted((r.vantage, r.outcome, r.detail) for r in await audit.recent())
    assert rows == [("Frankfurt", "probed", None), ("Singapore", "failed", "worker did not answer")]


def test_service_needs_exactly_one_prober() -> None:
    """Giving both an engine and a source (or neither) is a programming error."""
    with pytest.raises(TypeError):
        ProbeService()
