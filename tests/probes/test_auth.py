"""Signing and verifying worker requests: HMAC over timestamp and body, clock window, replays."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from probes.auth import (
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    AuthError,
    ReplayGuard,
    sign,
    signature,
    verify,
)

SECRET = "correct horse battery staple"
BODY = b'{"target": "198.51.100.7", "ports": [25565], "request_id": "1"}'
NOW = 1_760_000_000.0


def test_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    """The signature is documented HMAC-SHA256, so other clients can implement it."""
    expected = hmac.new(SECRET.encode(), b"1760000000." + BODY, hashlib.sha256).hexdigest()
    assert signature(SECRET, "1760000000", BODY) == "v1=" + expected


def test_signed_request_verifies() -> None:
    """A request signed now with the right key passes."""
    verify(SECRET, sign(SECRET, BODY, now=NOW), BODY, guard=ReplayGuard(), now=NOW)


def refusal(
    headers: dict[str, str], body: bytes = BODY, *, now: float = NOW, guard: ReplayGuard | None = None
) -> str:
    with pytest.raises(AuthError) as info:
        verify(SECRET, headers, body, guard=guard, now=now)
    return info.value.reason


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "unsigned"),
        ({TIMESTAMP_HEADER: "1760000000"}, "unsigned"),
        ({SIGNATURE_HEADER: "v1=00"}, "unsigned"),
        ({TIMESTAMP_HEADER: "soon", SIGNATURE_HEADER: "v1=00"}, "malformed"),
        ({TIMESTAMP_HEADER: "-1760000000", SIGNATURE_HEADER: "v1=00"}, "malformed"),
        ({TIMESTAMP_HEADER: "1760000000", SIGNATURE_HEADER: "v1=00"}, "bad-signature"),
        ({TIMESTAMP_HEADER: "1760000000", SIGNATURE_HEADER: "v1=ÿ"}, "malformed"),
        ({TIMESTAMP_HEADER: "1760000000", SIGNATURE_HEADER: "v1=\udcff\udcfe"}, "malformed"),
        ({TIMESTAMP_HEADER: "17600000\udcff", SIGNATURE_HEADER: "v1=00"}, "malformed"),
    ],
)
def test_missing_or_garbled_headers_are_refused(headers: dict[str, str], reason: str) -> None:
    """Unsigned and malformed requests are refused with a reason."""
    assert refusal(headers) == reason


def test_wrong_key_is_refused() -> None:
    """A request signed with another key fails."""
    assert refusal(sign("another secret", BODY, now=NOW)) == "bad-signature"


def test_tampered_body_is_refused() -> None:
    """Changing one byte of the body breaks the signature."""
    assert refusal(sign(SECRET, BODY, now=NOW), BODY.replace(b"25565", b"25566")) == "bad-signature"


def test_moved_timestamp_is_refused() -> None:
    """The timestamp is covered by the signature: it can't be freshened."""
    headers = sign(SECRET, BODY, now=NOW - 600)
    headers[TIMESTAMP_HEADER] = str(int(NOW))
    assert refusal(headers) == "bad-signature"


@pytest.mark.parametrize("offset", [-301, 301, -3600, 86_400])
def test_requests_outside_five_minutes_are_stale(offset: int) -> None:
    """Requests signed more than five minutes in the past or future are refused."""
    assert refusal(sign(SECRET, BODY, now=NOW + offset)) == "stale"


@pytest.mark.parametrize("offset", [-299, 0, 299])
def test_requests_within_five_minutes_pass(offset: int) -> None:
    """Clock differences under five minutes either way are tolerated."""
    verify(SECRET, sign(SECRET, BODY, now=NOW + offset), BODY, now=NOW)


def test_replay_is_refused() -> None:
    """The same signed request sent twice is refused the second time."""
    guard = ReplayGuard()
    headers = sign(SECRET, BODY, now=NOW)
    verify(SECRET, headers, BODY, guard=guard, now=NOW)
    assert refusal(headers, guard=guard, now=NOW + 10) == "replayed"


def test_guard_memory_is_bounded_and_forgotten_requests_stay_refused() -> None:
    """A full guard forgets its oldest entries but still refuses them (and anything older)."""
    guard = ReplayGuard(max_entries=3)
    sent = []
    for i in range(5):
        body = b'{"request_id": "%d"}' % i
        headers = sign(SECRET, body, now=NOW + i)
        verify(SECRET, headers, body, guard=guard, now=NOW + i)
        sent.append((headers, body))
    assert len(guard) == 3
    first_headers, first_body = sent[0]
    assert refusal(first_headers, first_body, guard=guard, now=NOW + 5) == "replayed"
    late = b'{"request_id": "late"}'
    assert refusal(sign(SECRET, late, now=NOW), late, guard=guard, now=NOW + 5) == "replayed"
    fresh = b'{"request_id": "fresh"}'
    verify(SECRET, sign(SECRET, fresh, now=NOW + 5), fresh, guard=guard, now=NOW + 5)


def test_full_guard_forgets_the_oldest_signing_time_not_the_first_arrival() -> None:
    """A late-arriving old request is forgotten before a newer one, so fewer honest requests are refused."""
    guard = ReplayGuard(max_entries=1)
    guard.check("v1=newer", int(NOW) + 2, NOW + 2)
    guard.check("v1=older", int(NOW), NOW + 2)
    assert len(guard) == 1
    with pytest.raises(AuthError):
        guard.check("v1=newer", int(NOW) + 2, NOW + 2)
    with pytest.raises(AuthError):
        guard.check("v1=older", int(NOW), NOW + 2)
    guard.check("v1=between", int(NOW) + 1, NOW + 2)


def test_guard_expires_entries_outside_the_window() -> None:
    """Entries older than the window are dropped (the clock check refuses those requests anyway)."""
    guard = ReplayGuard()
    guard.check("v1=aa", int(NOW), NOW)
    guard.check("v1=bb", int(NOW) + 400, NOW + 400)
    assert len(guard) == 1


def test_empty_secret_is_a_configuration_error() -> None:
    """An empty shared secret is refused loudly, naming the variable."""
    with pytest.raises(ValueError, match=r"^PORTBOT_WORKER_SECRET is empty"):
        sign("", BODY)
