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
from probes.service import ProbeService, normalise_target
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


async def test_target_limit_sees_through_spellings(audit: AuditLog) -> None:
    """The same address spelled differently counts as one target."""
    svc = service(StaticProber(), audit, RateLimits(per_target="2/minute"))
    await svc.run(ProbeRequest("198.51.100.7", (80,)), ALICE)
    await svc.run(ProbeRequest("3325256711", (80,)), BOB)
    with pytest.raises(RateLimited) as info:
        await svc.run(ProbeRequest("0xc6.0x33.0x64.7.", (80,)), Requester("slack", "carol", "T1", None))
    assert info.value.scope == "target"


async def test_target_limit_follows_a_name_to_its_addresses(audit: AuditLog) -> None:
    """Addresses a name resolved to are counted, so the address itself and the name hit the same limit."""
    prober = StaticProber(names={"mc.example.org": "198.51.100.7", "alias.example.org": "198.51.100.7"})
    svc = service(prober, audit, RateLimits(per_target="2/minute"))
    await svc.run(ProbeRequest("MC.example.org.", (25565,)), ALICE)
    await svc.run(ProbeRequest("alias.example.org", (25565,)), BOB)
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("198.51.100.7", (25565,)), Requester("discord", "carol"))
    with pytest.raises(RateLimited):
        await svc.run(ProbeRequest("mc.example.org", (25565,)), Requester("discord", "dave"))


@pytest.mark.parametrize(
    ("target", "key"),
    [("MC.Example.org.", "mc.example.org"), ("0x7f.1", "127.0.0.1"), ("[::FFFF:7f00:1]", "::ffff:7f00:1")],
)
def test_normalise_target(target: str, key: str) -> None:
    """Targets are keyed by canonical address or lower-case name."""
    assert normalise_target(target) == key


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
