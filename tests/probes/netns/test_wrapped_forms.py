"""Trap listeners that the IPv6 wrappers of 127.0.0.1 really reach, and the policy that keeps probes away.

In a namespace of its own (no interface but ``lo``, so nothing can leave it), each IPv6 form that carries
127.0.0.1 is put on ``lo`` as a local address, and one dual-stack listener answers on all of them. The positive
control opens every form with the allow list and sees each one connect; the default policy, and an allow list
that opens only loopback, must refuse every form before a single handshake reaches the listener.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest

from tests.probes.netns.topology import PREFIX, Namespace, _delete_namespace, remove_stale_namespaces

# Each IPv6 form of 127.0.0.1, by name; the operator NAT64 prefix is 2001:db8:64::/96.
FORMS = {
    "SIIT": "::ffff:0:7f00:1",
    "IPv4-compatible": "::7f00:1",
    "NAT64 well-known": "64:ff9b::7f00:1",
    "NAT64 local-use": "64:ff9b:1::7f00:1",
    "6to4": "2002:7f00:1::1",
    "Teredo": "2001:0:4136:e378:8000:63bf:80ff:fffe",
    "operator NAT64": "2001:db8:64::7f00:1",
}
OPERATOR_NAT64 = ["2001:db8:64::/96"]
_counter = itertools.count()


def _can_build() -> str | None:
    if sys.platform != "linux":
        return "not Linux"
    if os.geteuid() != 0:
        return "not running as root"
    return None


@pytest.fixture(scope="module")
def trap() -> Iterator[Namespace]:
    """A namespace whose ``lo`` holds every form in FORMS; removed after the tests."""
    reason = _can_build()
    if reason:
        pytest.skip(f"network-namespace tests need root and iproute2: {reason}")
    remove_stale_namespaces()
    ns = Namespace(f"{PREFIX}{os.getpid()}-{next(_counter)}-trap")
    subprocess.run(["ip", "netns", "add", ns.name], check=True, capture_output=True)
    try:
        ns.run("ip", "link", "set", "lo", "up")
        for address in FORMS.values():
            ns.run("ip", "addr", "add", f"{address}/128", "dev", "lo", "nodad")
        yield ns
    finally:
        _delete_namespace(ns.name)


def probe_all(ns: Namespace, allow: list[str], nat64: list[str]) -> dict[str, Any]:
    request = {"targets": list(FORMS.values()), "allow": allow, "nat64": nat64}
    output = ns.run(sys.executable, "-m", "tests.probes.netns._trap", json.dumps(request))
    result: dict[str, Any] = json.loads(output)
    return result


def test_positive_control_every_form_reaches_the_trap_when_opened(trap: Namespace) -> None:
    """With loopback and all of IPv6 allowed, each form is probed open: the trap really catches them."""
    # 0.0.0.0/8 too: an allowed local-use NAT64 address also needs the IPv4 at its other RFC 6052 positions
    found = probe_all(trap, ["127.0.0.0/8", "0.0.0.0/8", "::/0"], OPERATOR_NAT64)
    assert {name: found["results"][address] for name, address in FORMS.items()} == {
        name: {"states": ["open"]} for name in FORMS
    }
    assert found["hits"] >= len(FORMS)


def test_default_policy_refuses_every_form_and_the_trap_sees_nothing(trap: Namespace) -> None:
    """Out of the box, every form is refused as loopback, naming 127.0.0.1, and no handshake is made."""
    found = probe_all(trap, [], OPERATOR_NAT64)
    for name, address in FORMS.items():
        outcome = found["results"][address]
        assert outcome.get("refused") == "loopback", name
        assert " form of 127.0.0.1. 127.0.0.1 is a loopback address" in outcome["message"], name
    assert found["hits"] == 0


def test_a_loopback_allow_list_still_refuses_every_wrapped_form(trap: Namespace) -> None:
    """Allowing 127.0.0.0/8 and ::1 (as tests do) opens none of the IPv6 wrappers of 127.0.0.1."""
    found = probe_all(trap, ["127.0.0.0/8", "::1/128"], OPERATOR_NAT64)
    for name, address in FORMS.items():
        assert "refused" in found["results"][address], name
    assert found["hits"] == 0
