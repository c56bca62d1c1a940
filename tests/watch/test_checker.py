"""One check through the real probe service, read as a Health: UNKNOWN for what says nothing about the server."""

from __future__ import annotations

from bot.app import ServiceBackend
from bot.watch.checker import Checker
from bot.watch.models import Health, Platform, Protocol, Watch
from knowledge._curated import load_services
from knowledge._paths import PACKAGED, PORTS_FILE
from probes.engine import EngineConfig, ProbeEngine
from probes.policy import SafetyPolicy
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.service import ProbeService
from tests.probes.servers import MinecraftServer, TcpOpenServer, UdpSilentServer

T0 = 1_800_000_000.0
FAST = EngineConfig(timeout=0.3, identify_timeout=1.0, icmp_rtt=False, ttl_rtt=False)


def _watch(host: str, port: int, protocol: Protocol = "tcp", game: str | None = None) -> Watch:
    return Watch(
        id=1, platform=Platform.DISCORD, scope_id="g1", created_by="u", host=host, port=port, protocol=protocol,
        every=60.0, game=game, label=None, channel_id="c1", notify_url=None, status_message_id=None,
        created_at=T0, next_due=T0, state=None, state_since=None, candidate=None, candidate_count=0,
        last_checked=None, last_result=None,
    )  # fmt: skip


def _checker(limits: RateLimits | None = None, allow: tuple[str, ...] = ("127.0.0.0/8",)) -> Checker:
    policy = SafetyPolicy.from_strings(allow=allow)
    limiter = ProbeRateLimiter(limits or RateLimits("", "", ""))
    services = {s.id: s for s in load_services(PACKAGED / PORTS_FILE)}
    return Checker(
        ServiceBackend(ProbeService(ProbeEngine(policy, FAST), limiter, policy=policy)), services=services.get
    )


async def test_open_is_up() -> None:
    """A port that accepts is UP, with no cause."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    try:
        summary = await _checker().check(_watch("127.0.0.1", server.port))
    finally:
        await server.close()
    assert (summary.health, summary.state, summary.reason) == (Health.UP, "open", None)


async def test_closed_is_down_with_the_probe_cause() -> None:
    """A refused connection is DOWN, explained in the probe's own words."""
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    port = server.port
    await server.close()
    summary = await _checker().check(_watch("127.0.0.1", port))
    assert (summary.health, summary.state) == (Health.DOWN, "closed")
    assert summary.reason is not None and summary.reason.startswith(
        f"Closed: 127.0.0.1:{port} refused the connection."
    )


async def test_refused_target_is_unknown() -> None:
    """A target the safety policy refuses says nothing about the server: UNKNOWN, with the refusal."""
    summary = await _checker(allow=()).check(_watch("127.0.0.1", 80))
    assert (summary.health, summary.state) == (Health.UNKNOWN, "refused")
    assert summary.reason is not None and "loopback" in summary.reason


async def test_rate_limited_is_unknown() -> None:
    """Over the watch's own limit, the check is UNKNOWN (never an alert), and says why."""
    checker = _checker(RateLimits(per_user="1/minute", per_guild="", per_target=""))
    server = TcpOpenServer("127.0.0.1", 0)
    await server.start()
    try:
        first = await checker.check(_watch("127.0.0.1", server.port))
        second = await checker.check(_watch("127.0.0.1", server.port))
    finally:
        await server.close()
    assert (first.health, second.health, second.state) == (Health.UP, Health.UNKNOWN, "limited")


async def test_udp_silence_is_unknown() -> None:
    """A silent UDP port can't be told from a firewall: UNKNOWN, not DOWN."""
    server = UdpSilentServer("127.0.0.1", 0)
    await server.start()
    try:
        summary = await _checker().check(_watch("127.0.0.1", server.port, "udp"))
    finally:
        await server.close()
    assert (summary.health, summary.state) == (Health.UNKNOWN, "open|filtered")


async def test_minecraft_players() -> None:
    """A Minecraft watch reads the status ping's player count."""
    server = MinecraftServer("127.0.0.1", 0)
    await server.start()
    try:
        summary = await _checker().check(_watch("127.0.0.1", server.port, game="minecraft-java"))
    finally:
        await server.close()
    assert summary.health is Health.UP and summary.players == (3, 20)
