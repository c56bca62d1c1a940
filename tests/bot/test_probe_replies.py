"""Probe results and probe errors in plain words: verdicts, causes, next steps, vantages, privacy."""

from __future__ import annotations

import dataclasses

import pytest

from bot.core.probe_replies import (
    CGNAT,
    CLOSED_ADVICE,
    FILTERED_CAUSE,
    FILTERED_CAUSE_V6,
    FIREWALL,
    FORWARDING,
    LISTENING,
    LOCAL_CAVEAT,
    NOT_CHECKED,
    WORKERS_DOWN,
    error_reply,
    probe_reply,
)
from bot.core.reply import ActionKind, Status
from probes.errors import (
    InputError,
    ProbeError,
    RateLimited,
    RefusedTarget,
    ResolveError,
    StoreUnavailable,
    WorkerError,
)
from probes.models import PortResult, ProbeReport, ProbeRequest, ServiceInfo, State

ADDRESS = "203.0.113.7"


def result(
    state: State, port: int = 25565, *, protocol: str = "tcp", reason: str = "test", **extra: object
) -> PortResult:
    return PortResult(ADDRESS, port, protocol, state, reason, **extra)  # type: ignore[arg-type]


def report(
    *results: PortResult, vantage: str = "Frankfurt", local: bool = False, host: str = "mc.example.org"
) -> ProbeReport:
    return ProbeReport(target=host, host=host, vantage=vantage, results=results, local=local)


REQUEST = ProbeRequest("mc.example.org", (25565,))


def field(reply_fields: tuple, name: str) -> str:  # type: ignore[type-arg]
    [value] = [f.value for f in reply_fields if f.name == name]
    return value


def test_open_port_is_reachable_with_service_and_rtt() -> None:
    """An open port says it answered, what it is, and how fast."""
    minecraft = ServiceInfo("minecraft", "Minecraft 1.21.4, 3/20 players")
    reply = probe_reply([report(result(State.OPEN, rtt_ms=42.2, service=minecraft))], REQUEST)
    assert reply.status is Status.OK
    assert reply.title == "Port check: mc.example.org"
    assert reply.summary == "**25565/tcp**: reachable"
    assert field(reply.fields, "203.0.113.7:25565 (TCP)") == (
        "Reachable from the internet: 203.0.113.7:25565 answered.\n"
        "Service: Minecraft 1.21.4, 3/20 players\n"
        "Round trip: 42 ms"
    )


def test_closed_port_explains_nothing_is_listening() -> None:
    """A closed port points at the server process and the forward's LAN address."""
    reply = probe_reply([report(result(State.CLOSED, reason="rst", rtt_ms=3.25))], REQUEST)
    assert reply.status is Status.WARN
    assert field(reply.fields, "203.0.113.7:25565 (TCP)") == (
        f"Closed: 203.0.113.7:25565 refused the connection.\n{CLOSED_ADVICE}\nRound trip: 3.2 ms"
    )
    assert "listening on 0.0.0.0 (not 127.0.0.1)" in CLOSED_ADVICE


def test_filtered_port_gives_steps() -> None:
    """Silence is explained as a missing forward or a dropping firewall, with numbered steps."""
    reply = probe_reply([report(result(State.FILTERED, reason="timeout"))], REQUEST)
    assert reply.status is Status.BAD
    assert field(reply.fields, "203.0.113.7:25565 (TCP)") == (
        f"{FILTERED_CAUSE}\n"
        "1. In your router's port-forwarding page, forward TCP 25565 to the server's LAN address.\n"
        "2. Allow TCP 25565 in the server's own firewall.\n"
        "3. Make sure the server is running, then check again."
    )


@pytest.mark.parametrize(
    ("reason", "said"),
    [
        ("icmp-admin-prohibited", "“administratively prohibited”"),
        ("icmp-host-prohibited", "“host prohibited”"),
        ("icmp-port-unreachable", "A firewall"),  # a REJECT rule's default answer to TCP
    ],
)
def test_icmp_rejections_mean_an_active_firewall(reason: str, said: str) -> None:
    """Every ICMP rejection of a TCP connection is reported as a firewall actively rejecting, not silence."""
    reply = probe_reply([report(result(State.FILTERED, reason=reason))], REQUEST)
    value = field(reply.fields, "203.0.113.7:25565 (TCP)")
    assert value.startswith("Rejected: a firewall is actively refusing 203.0.113.7:25565")
    assert said in value
    assert reply.status is Status.BAD


def test_unreachable_host() -> None:
    """Unreachable hosts get host-down / no-route / wrong-address causes."""
    reply = probe_reply([report(result(State.UNREACHABLE, reason="host-unreachable"))], REQUEST)
    assert field(reply.fields, "203.0.113.7:25565 (TCP)").startswith(
        "Unreachable: 203.0.113.7 didn't answer at all. The host may be down, there may be no route to it, "
        "or the address may be wrong."
    )
    assert reply.status is Status.BAD


def test_udp_silence_is_honest() -> None:
    """UDP open|filtered says it can't tell, and what would tell."""
    request = ProbeRequest("mc.example.org", (19132,), protocol="udp")
    reply = probe_reply(
        [report(result(State.OPEN_FILTERED, 19132, protocol="udp", reason="no-reply"))], request
    )
    assert reply.status is Status.WARN
    assert reply.summary == "**19132/udp**: no reply over UDP: open or filtered, can't tell"
    value = field(reply.fields, "203.0.113.7:19132 (UDP)")
    assert "I can't tell which from here" in value
    assert "tell me which game or service runs there" in value


def test_vantages_are_merged_in_one_sentence() -> None:
    """Different verdicts from different places read "reachable from Frankfurt, not from Singapore"."""
    reply = probe_reply(
        [
            report(result(State.OPEN, rtt_ms=12.0), vantage="Frankfurt"),
            report(result(State.FILTERED, reason="timeout"), vantage="Singapore"),
        ],
        REQUEST,
    )
    assert reply.status is Status.WARN
    assert reply.summary == "**25565/tcp** on 203.0.113.7: reachable from Frankfurt, not from Singapore"
    value = field(reply.fields, "203.0.113.7:25565 (TCP)")
    assert value.splitlines()[0] == "Reachable from Frankfurt, not from Singapore."
    assert "From Singapore: " + FILTERED_CAUSE in value
    assert value.splitlines()[-1] == "Round trip: 12 ms"


def test_agreeing_vantages_are_listed() -> None:
    """When every place agrees the reply says where it was checked from."""
    reply = probe_reply(
        [report(result(State.OPEN), vantage="Frankfurt"), report(result(State.OPEN), vantage="Singapore")],
        REQUEST,
    )
    assert reply.status is Status.OK
    assert reply.summary == "**25565/tcp** on 203.0.113.7: reachable from Frankfurt and Singapore"
    assert "Checked from Frankfurt and Singapore." in field(reply.fields, "203.0.113.7:25565 (TCP)")


def test_failed_vantage_is_shown_without_sinking_the_others() -> None:
    """A worker that failed appears as its own field next to the real verdicts."""
    failed = ProbeReport(
        "mc.example.org", "mc.example.org", "Singapore", (), error="Singapore did not answer in time."
    )
    reply = probe_reply([report(result(State.OPEN)), failed], REQUEST)
    assert field(reply.fields, "Not checked from Singapore") == "Singapore did not answer in time."
    assert reply.status is Status.OK


def test_local_probe_carries_the_caveat() -> None:
    """In-process probes say they were made from the bot's own network."""
    reply = probe_reply([report(result(State.OPEN), vantage="this bot's own network", local=True)], REQUEST)
    assert field(reply.fields, "Where this was checked from") == LOCAL_CAVEAT
    assert field(reply.fields, "203.0.113.7:25565 (TCP)").startswith(
        "Reachable from this bot's network: 203.0.113.7:25565 answered."
    )


def test_outside_probe_has_no_caveat() -> None:
    """Worker probes carry no local caveat."""
    reply = probe_reply([report(result(State.OPEN))], REQUEST)
    assert all(f.name != "Where this was checked from" for f in reply.fields)


@pytest.mark.parametrize(
    ("states", "status"),
    [
        ((State.OPEN, State.OPEN), Status.OK),
        ((State.OPEN, State.CLOSED), Status.WARN),
        ((State.OPEN, State.FILTERED), Status.WARN),
        ((State.CLOSED, State.CLOSED), Status.WARN),
        ((State.FILTERED, State.UNREACHABLE), Status.BAD),
        ((State.OPEN_FILTERED, State.FILTERED), Status.WARN),
    ],
)
def test_status_follows_the_verdicts(states: tuple[State, State], status: Status) -> None:
    """All open is OK, all filtered/unreachable is BAD, anything else is WARN."""
    reply = probe_reply([report(result(states[0], 80), result(states[1], 443))], ProbeRequest("h", (80, 443)))
    assert reply.status is status


def test_reply_is_private_shareable_and_masks_every_address() -> None:
    """The reply is private, offers Share, and sharing hides the host and addresses."""
    v6 = PortResult("2001:db8:1::7", 25565, "tcp", State.OPEN, "syn-ack")
    reply = probe_reply([report(result(State.OPEN), v6)], REQUEST)
    assert (reply.private, reply.kind) == (True, "probe")
    assert reply.sensitive == ("mc.example.org", ADDRESS, "2001:db8:1::7")
    assert [a.kind for a in reply.actions] == [ActionKind.SHARE]
    assert [a.label for a in reply.actions] == ["Share in channel"]
    shared = reply.masked()
    text = " ".join([shared.title, shared.summary, *(f.name + f.value for f in shared.fields)])
    for secret in reply.sensitive:
        assert secret not in text


def test_no_results_at_all_is_an_error_reply() -> None:
    """When no vantage produced results the reply says so with status ERROR."""
    failed = ProbeReport(
        "mc.example.org", "mc.example.org", "Frankfurt", (), error="Frankfurt did not answer."
    )
    reply = probe_reply([failed], REQUEST)
    assert reply.status is Status.ERROR
    assert reply.summary == "I couldn't check mc.example.org: no vantage point could run the probe."


@pytest.mark.parametrize(
    ("err", "title"),
    [
        (InputError("65536 is not a port: ports go from 1 to 65535."), "I can't check that"),
        (
            RefusedTarget(
                "192.168.1.2 is a LAN (private) address.",
                category="private",
                address="192.168.1.2",
                hint="Check your public address.",
            ),
            "I won't check that address",
        ),
        (
            RateLimited(
                "You've run a lot of checks in a minute; try again in 40 s.", retry_after=40, scope="user"
            ),
            "Too many checks",
        ),
        (ResolveError("mc.example.org doesn't resolve."), "That name doesn't resolve"),
        (WorkerError("No probe worker could run the check."), "The probe workers didn't answer"),
        (ProbeError("The check took too long and was stopped."), "The check couldn't run"),
        (StoreUnavailable("The rate limiter's storage isn't answering."), "The check couldn't run"),
    ],
)
def test_error_replies(err: InputError, title: str) -> None:
    """Each error becomes an ERROR reply with its message and, when known, "What to do"."""
    reply = error_reply(err)
    assert (reply.title, reply.summary, reply.status, reply.kind, reply.private) == (
        title,
        err.message,
        Status.ERROR,
        "error",
        True,
    )
    if err.hint:
        assert [(f.name, f.value) for f in reply.fields] == [("What to do", err.hint)]
    else:
        assert reply.fields == ()


def test_refusal_reply_treats_the_address_as_sensitive() -> None:
    """A refused address is private data too."""
    reply = error_reply(RefusedTarget("x", category="private", address="10.0.0.5"))
    assert reply.sensitive == ("10.0.0.5",)


def test_srv_redirect_is_explained_and_masked() -> None:
    """When Minecraft's SRV record moved the port, the reply says where it pointed, and hides that host too."""
    redirected = ProbeReport(
        target="mc.example.org",
        host="mc.example.org",
        vantage="Frankfurt",
        results=(result(State.OPEN, 25601),),
        srv_target="node7.example.net:25601",
    )
    reply = probe_reply([redirected], REQUEST)
    assert field(reply.fields, "Minecraft SRV record") == (
        "mc.example.org points Minecraft players to node7.example.net:25601, so that's what I checked."
    )
    assert "node7.example.net" in reply.sensitive
    assert "node7.example.net" not in reply.masked().fields[0].value


@pytest.mark.parametrize(
    ("addresses", "sentence"),
    [
        (
            ("203.0.113.7", "2001:db8::7"),
            "mc.example.org has 6 addresses; I checked the first public IPv4 and IPv6 one.",
        ),
        (("203.0.113.7",), "mc.example.org has 6 addresses; I checked the first public IPv4 one."),
        (("2001:db8::7",), "mc.example.org has 6 addresses; I checked the first public IPv6 one."),
    ],
)
def test_a_name_with_more_addresses_than_checked_says_so(addresses: tuple[str, ...], sentence: str) -> None:
    """When a name had more addresses than were probed, the reply says which ones were checked."""
    results = tuple(PortResult(a, 25565, "tcp", State.OPEN, "syn-ack") for a in addresses)
    many = ProbeReport("mc.example.org", "mc.example.org", "Frankfurt", results, address_count=6)
    reply = probe_reply([many], REQUEST)
    assert reply.fields[0].name == "Addresses checked"
    assert reply.fields[0].value == sentence
    assert "mc.example.org" not in reply.masked().fields[0].value


@pytest.mark.parametrize("count", [0, 1])
def test_no_address_sentence_when_every_address_was_checked(count: int) -> None:
    """An address literal (count 0) or a name with one address needs no word about the others."""
    reply = probe_reply([dataclasses.replace(report(result(State.OPEN)), address_count=count)], REQUEST)
    assert all(f.name != "Addresses checked" for f in reply.fields)


def test_address_sentence_names_the_srv_target_whose_addresses_they_are() -> None:
    """After an SRV record, the count is about the record's target, so the sentence names that."""
    redirected = ProbeReport(
        "mc.example.org",
        "mc.example.org",
        "Frankfurt",
        (result(State.OPEN, 25601),),
        srv_target="node7.example.net:25601",
        address_count=3,
    )
    reply = probe_reply([redirected], REQUEST)
    assert [f.name for f in reply.fields[:2]] == ["Minecraft SRV record", "Addresses checked"]
    assert reply.fields[1].value == "node7.example.net has 3 addresses; I checked the first public IPv4 one."


V6 = "2001:db8::7"


@pytest.mark.parametrize(
    ("found", "expected"),
    [
        (result(State.OPEN), ()),
        (result(State.FILTERED, reason="timeout"), (FORWARDING, CGNAT, FIREWALL)),
        (result(State.OPEN_FILTERED, protocol="udp", reason="no-reply"), (FORWARDING, CGNAT, FIREWALL)),
        (result(State.FILTERED, reason="icmp-admin-prohibited"), (FIREWALL,)),
        (result(State.CLOSED, reason="rst"), (LISTENING, FORWARDING)),
        (result(State.UNREACHABLE, reason="icmp-host-unreachable"), (CGNAT,)),
        (dataclasses.replace(result(State.FILTERED, reason="timeout"), address=V6), (FIREWALL,)),
        (dataclasses.replace(result(State.CLOSED, reason="rst"), address=V6), (LISTENING,)),
    ],
)
def test_follow_ups_are_picked_from_the_verdict(found: PortResult, expected: tuple[object, ...]) -> None:
    """Filtered IPv4 leads to forwarding, CGNAT and firewalls; IPv6 never to forwarding (it has no NAT)."""
    reply = probe_reply([report(found)], REQUEST)
    assert [a for a in reply.actions if a.kind is ActionKind.ASK] == list(expected)


def test_filtered_ipv6_says_allow_in_the_firewall_never_forward() -> None:
    """A filtered IPv6 address: open the firewall, because there is nothing to forward."""
    found = dataclasses.replace(result(State.FILTERED, reason="timeout"), address=V6)
    reply = probe_reply([report(found)], REQUEST)
    text = field(reply.fields, f"[{V6}]:25565 (TCP)")
    assert text == (
        f"{FILTERED_CAUSE_V6}\n"
        "1. Allow TCP 25565 to the server's address in your router's IPv6 firewall (IPv6 has no NAT: there is "
        "nothing to forward).\n"
        "2. Allow TCP 25565 in the server's own firewall.\n"
        "3. Make sure the server is running, then check again."
    )
    assert "forward TCP" not in text and "port-forwarding" not in text


def test_local_checks_say_where_without_operator_words() -> None:
    """Checked from the bot's own network: said plainly, no setting named."""
    reply = probe_reply([report(result(State.OPEN), local=True)], REQUEST)
    assert field(reply.fields, "Where this was checked from") == LOCAL_CAVEAT
    assert LOCAL_CAVEAT.startswith("Checked from the bot's own network")
    assert "PORTBOT_" not in LOCAL_CAVEAT


@pytest.mark.parametrize(
    "detail",
    [
        "Frankfurt rejected our signature: check PORTBOT_WORKER_SECRET (it must be the same on the bot and every worker).",
        "Frankfurt says our clock is more than five minutes off: check the time on the bot and the worker (NTP).",
        "Frankfurt answered HTTP 500.",
    ],
)
def test_operator_detail_never_reaches_users(detail: str) -> None:
    """A worker's operator-only complaint becomes a plain sentence for users (the log keeps the detail)."""
    failed = ProbeReport("mc.example.org", "mc.example.org", "Frankfurt", (), error=detail)
    reply = probe_reply([report(result(State.OPEN), vantage="Ohio"), failed], REQUEST)
    assert field(reply.fields, "Not checked from Frankfurt") == NOT_CHECKED
    assert error_reply(WorkerError(detail)).summary == WORKERS_DOWN


def test_user_readable_worker_errors_are_kept() -> None:
    """A worker error a user can act on is shown as it is."""
    assert error_reply(WorkerError("The check took too long and was stopped.")).summary == (
        "The check took too long and was stopped."
    )
