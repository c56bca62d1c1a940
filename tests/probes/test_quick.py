"""`portbot probe`'s quick path (probes/quick.py) against the engine path, on loopback with real sockets: the same
verdicts, refusals, rate limits and audit rows, and a silent port handed over whole."""

from __future__ import annotations

import asyncio
import re
import resource
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from probes import tcp
from probes._audit_file import AuditFile
from probes.audit import AuditLog
from probes.engine import EngineConfig, ProbeEngine
from probes.errors import PortbotError, RateLimited, RefusedTarget
from probes.models import PortResult, ProbeReport, ProbeRequest, Requester, State
from probes.policy import SafetyPolicy
from probes.quick import IDENTIFY_TIMEOUT, WINDOW, QuickProbe, QuickResult
from probes.ratelimit import ProbeRateLimiter, RateLimits
from probes.service import ProbeService
from tests.probes._windows import start_inside_one_window
from tests.probes.servers import serve

pytestmark = pytest.mark.usefixtures("no_loop_errors")

LOOPBACKS = ["127.0.0.1", "::1"]
ALLOW_LOOPBACK = SafetyPolicy.from_strings(allow=("127.0.0.0/8", "::1/128"))
ME = Requester(platform="cli", user_id="tester")
ONE_AN_HOUR = RateLimits(per_user="1/hour", per_target="1/hour")
DEFAULT_LIMITS = RateLimits()


def family(host: str) -> socket.AddressFamily:
    return socket.AF_INET6 if ":" in host else socket.AF_INET


def free_port(host: str) -> int:
    """A port nothing listens on: bind to get one, then close it."""
    with socket.socket(family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@pytest.fixture(params=LOOPBACKS)
def host(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def listener(host: str) -> Iterator[int]:
    """A TCP listener on ``host`` (the kernel completes handshakes; nobody accepts or speaks): its port."""
    with socket.socket(family(host), socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.fixture
def one_hour() -> None:
    """Tests that count to an hour's limit start with a minute of the window ahead (tests/probes/_windows.py)."""
    start_inside_one_window(3600, needed=60)


def quick(
    tmp_path: Path, policy: SafetyPolicy = ALLOW_LOOPBACK, *, limits: RateLimits = DEFAULT_LIMITS
) -> QuickProbe:
    """A quick path with counters and an audit file in ``tmp_path``, as bot/app.py's quick_probe builds it."""
    limiter = ProbeRateLimiter(limits, store_path=tmp_path / "ratelimits.sqlite3")
    return QuickProbe(policy, limiter, AuditFile(tmp_path / "audit.sqlite3"), identify=False)


async def engine_path(
    tmp_path: Path,
    request: ProbeRequest,
    policy: SafetyPolicy = ALLOW_LOOPBACK,
    *,
    identify: bool = False,
    charged: bool = False,
    limits: RateLimits = DEFAULT_LIMITS,
) -> ProbeReport:
    """The engine path over the same files (bot/app.py's build_probe_backend with persistent limits), closed
    after the one request so its audit row is written."""
    limiter = ProbeRateLimiter(limits, store_path=tmp_path / "ratelimits.sqlite3")
    audit = AuditLog(tmp_path / "audit.sqlite3")
    engine = ProbeEngine(policy, EngineConfig(identify=identify))
    service = ProbeService(engine, limiter, audit, policy=policy)
    try:
        (report,) = await service.run_all(request, ME, charged=charged)
        return report
    finally:
        await audit.close()
        await limiter.aclose()


def verdicts(results: tuple[PortResult, ...]) -> list[tuple[str, int, State, str]]:
    return [(r.address, r.port, r.state, r.reason) for r in results]


def audit_rows(tmp_path: Path) -> list[tuple[str, str | None]]:
    file = AuditFile(tmp_path / "audit.sqlite3")
    try:
        return [(e.outcome, e.category) for e in file.read(10)]
    finally:
        file.close()


async def test_open_and_closed_ports_get_the_engines_verdicts(
    tmp_path: Path, host: str, listener: int
) -> None:
    """An open and a closed port, IPv4 and IPv6: the quick path's verdicts and reasons are the engine's."""
    request = ProbeRequest(target=host, ports=(listener, free_port(host)))
    mine = quick(tmp_path).run(request, ME).report
    assert mine is not None
    engines = await engine_path(tmp_path, request)
    assert verdicts(mine.results) == verdicts(engines.results)
    assert [r.state for r in mine.results] == [State.OPEN, State.CLOSED]
    assert all(r.rtt_ms is not None and r.rtt_ms >= 0 for r in mine.results)
    assert (mine.host, mine.vantage, mine.local) == (engines.host, engines.vantage, engines.local)


async def test_an_open_port_is_identified_as_the_engine_identifies_it(tmp_path: Path) -> None:
    """An SSH server on an unknown port: the quick path's service is the engine's (probes/identify.py)."""
    async with serve("ssh") as server:
        request = ProbeRequest(target="127.0.0.1", ports=(server.port,))
        gate = QuickProbe(ALLOW_LOOPBACK, None, None)
        # The quick path runs its own event loop for identification: off this test's loop, in a thread.
        mine = (await asyncio.to_thread(gate.run, request, ME)).report
        engines = await engine_path(tmp_path, request, identify=True)
    assert mine is not None
    (result,) = mine.results
    assert result.service is not None and result.service.kind == "ssh"
    assert result.service == engines.results[0].service


@pytest.mark.parametrize(
    "target", ["127.0.0.1", "10.1.2.3", "[::1]:80", "169.254.169.254", "2130706433", "::ffff:192.168.1.1"]
)
async def test_refusals_are_the_engines_in_the_same_words(tmp_path: Path, target: str) -> None:
    """Without an allow list, what the engine path refuses the quick path refuses with the same sentence."""
    request = ProbeRequest(target=target, ports=(80,))
    with pytest.raises(RefusedTarget) as mine:
        quick(tmp_path / "quick", SafetyPolicy()).run(request, ME)
    with pytest.raises(RefusedTarget) as engines:
        await engine_path(tmp_path / "engine", request, SafetyPolicy())
    assert (str(mine.value), mine.value.category, mine.value.hint) == (
        str(engines.value),
        engines.value.category,
        engines.value.hint,
    )
    assert (
        audit_rows(tmp_path / "quick")
        == audit_rows(tmp_path / "engine")
        == [("refused", mine.value.category)]
    )


def test_the_allow_list_opens_loopback(tmp_path: Path) -> None:
    """PORTBOT_ALLOW_NETWORKS covering the address lets the quick path probe it."""
    request = ProbeRequest(target="127.0.0.1", ports=(free_port("127.0.0.1"),))
    report = quick(tmp_path).run(request, ME).report
    assert report is not None and report.results[0].state is State.CLOSED


@pytest.mark.parametrize(
    ("limits", "spellings", "message"),
    [
        (
            {"per_target": "2/hour", "per_user": ""},
            ("127.0.0.1", "2130706433", "127.1"),
            r"^That address has been checked a lot in an hour; try again in \d+ (s|min)\.$",
        ),
        (
            {"per_user": "2/hour", "per_target": ""},
            ("127.0.0.1", "127.0.0.2", "127.0.0.3"),
            r"^You've run a lot of checks in an hour; try again in \d+ (s|min)\.$",
        ),
    ],
)
@pytest.mark.usefixtures("one_hour")
def test_each_probe_is_charged_once(
    tmp_path: Path, limits: dict[str, str], spellings: tuple[str, ...], message: str
) -> None:
    """With a limit of 2, two quick probes pass and the third is refused in the limiter's words."""
    port = free_port("127.0.0.1")
    outcomes = []
    for target in spellings:
        gate = quick(tmp_path, limits=RateLimits(**limits))  # a new process each time, as in a shell loop
        try:
            outcomes.append(gate.run(ProbeRequest(target=target, ports=(port,)), ME).report is not None)
        except RateLimited as err:
            assert re.match(message, str(err)), str(err)
            outcomes.append(False)
        finally:
            gate.close()
    assert outcomes == [True, True, False]
    assert [o for o, _ in audit_rows(tmp_path)] == ["rate-limited", "probed", "probed"]


@pytest.mark.usefixtures("one_hour")
async def test_a_silent_port_is_handed_over_charged_and_unaudited(tmp_path: Path) -> None:
    """A port that never answers: the quick path gives up after its window with the limits charged and no row
    written; the engine then judges it filtered without charging again, and writes the only row."""
    limits = ONE_AN_HOUR
    async with serve("tcp-backlog") as server:
        request = ProbeRequest(target="127.0.0.1", ports=(server.port,))
        gate = quick(tmp_path, limits=limits)
        try:
            assert gate.run(request, ME) == QuickResult(None, charged=True)
        finally:
            gate.close()
        assert audit_rows(tmp_path) == []
        # A second charge would be refused: the limits are one an hour.
        report = await engine_path(tmp_path, request, charged=True, limits=limits)
    assert verdicts(report.results) == [("127.0.0.1", server.port, State.FILTERED, "timeout")]
    assert audit_rows(tmp_path) == [("probed", None)]
    with pytest.raises(RateLimited):  # the handed-over probe did count
        quick(tmp_path, limits=limits).run(request, ME)


@pytest.mark.parametrize(
    "request_",
    [
        ProbeRequest(target="localhost", ports=(80,)),  # a name: the resolver's job
        ProbeRequest(target="127.0.0.1", ports=(19132,)),  # "auto" probes Bedrock's port over UDP
        ProbeRequest(target="127.0.0.1", ports=(53,)),  # and DNS over both
        ProbeRequest(target="127.0.0.1", ports=(80,), protocol="udp"),
        ProbeRequest(target="127.0.0.1", ports=(80,), service_hint="minecraft"),
        ProbeRequest(target="127.0.0.1", ports=()),  # no port: the engine path says so
        ProbeRequest(target="127.0.0.1", ports=(1, 2, 3, 4, 5, 6)),  # too many: likewise
        ProbeRequest(target="not a host!", ports=(80,)),
    ],
    ids=["name", "udp-auto", "both-auto", "udp", "hint", "no-port", "six-ports", "bad-target"],
)
@pytest.mark.usefixtures("one_hour")
def test_other_requests_are_left_to_the_engine_untouched(tmp_path: Path, request_: ProbeRequest) -> None:
    """Names, UDP, hints and requests the engine path will refuse are not the quick path's: nothing is
    probed, charged or written."""
    gate = quick(tmp_path, limits=ONE_AN_HOUR)
    assert gate.run(request_, ME) == QuickResult(None, charged=False)
    gate.close()
    assert audit_rows(tmp_path) == []
    again = quick(tmp_path, limits=ONE_AN_HOUR)
    report = again.run(ProbeRequest(target="127.0.0.1", ports=(free_port("127.0.0.1"),)), ME).report
    assert report is not None  # the user's one probe an hour is still there


def test_a_failure_on_this_machine_is_audited_and_raised(tmp_path: Path) -> None:
    """Out of sockets is a ProbeError (the engine's sentence), audited as failed."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    gate = QuickProbe(ALLOW_LOOPBACK, None, AuditFile(tmp_path / "audit.sqlite3"), identify=False)
    gate.run(ProbeRequest(target="127.0.0.1", ports=(free_port("127.0.0.1"),)), ME)  # files opened first
    held: list[socket.socket] = []
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, hard))
    try:
        try:
            while True:
                held.append(socket.socket())
        except OSError:
            pass
        with pytest.raises(PortbotError, match=r"^This bot couldn't open a network socket"):
            gate.run(ProbeRequest(target="127.0.0.1", ports=(80,)), ME)
    finally:
        for sock in held:
            sock.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
        gate.close()
    assert audit_rows(tmp_path)[0] == ("failed", "ProbeError")


def test_the_window_and_time_box_are_the_engines() -> None:
    """The quick window is the engine's echo delay, and its identification time box the engine's default."""
    assert WINDOW == tcp.ECHO_DELAY
    assert EngineConfig().identify_timeout == IDENTIFY_TIMEOUT
