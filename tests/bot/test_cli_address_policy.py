"""The address policy through the ``portbot`` command: wrapped forms of loopback never reach a listener,
PORTBOT_NAT64_PREFIXES is checked, and `portbot knowledge update` refreshes the address registries."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from probes.auth import sign
from tests.bot.test_cli import ROOT, portbot

DATA = Path(__file__).resolve().parents[2] / "knowledge" / "data"
LOOPBACK_ALLOWED = {
    "PORTBOT_ALLOW_NETWORKS": "127.0.0.0/8,::1/128",
    "PORTBOT_NAT64_PREFIXES": "2001:db8:64::/96",
}


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    """A TCP listener on 127.0.0.1 (the kernel completes handshakes; we never accept)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    sock.setblocking(False)
    yield sock
    sock.close()


@pytest.mark.parametrize(
    ("target", "env", "start"),
    [
        (
            "::ffff:0:7f00:1",
            {},
            "portbot: ::ffff:0:7f00:1 is the SIIT (IPv4-translated) IPv6 form of 127.0.0.1. ",
        ),
        ("64:ff9b::7f00:1", {}, "portbot: 64:ff9b::7f00:1 is the NAT64 IPv6 form of 127.0.0.1. "),
        ("[2002:7f00:1::1]", {}, "portbot: 2002:7f00:1::1 is the 6to4 IPv6 form of 127.0.0.1. "),
        (
            "2001:db8:64::7f00:1",
            {"PORTBOT_NAT64_PREFIXES": "2001:db8:64::/96"},
            "portbot: 2001:db8:64::7f00:1 is the NAT64 IPv6 form of 127.0.0.1. ",
        ),
        (
            "::ffff:0:7f00:1",
            LOOPBACK_ALLOWED,
            "portbot: ::ffff:0:7f00:1 is the SIIT (IPv4-translated) IPv6 form",
        ),
        (
            "64:ff9b::7f00:1",
            LOOPBACK_ALLOWED,
            "portbot: 64:ff9b::7f00:1 is the NAT64 IPv6 form of 127.0.0.1, ",
        ),
        ("2002:7f00:1::1", LOOPBACK_ALLOWED, "portbot: 2002:7f00:1::1 is the 6to4 IPv6 form of 127.0.0.1: "),
        ("2001:db8:64::7f00:1", LOOPBACK_ALLOWED, "portbot: 2001:db8:64::7f00:1 is from a range set aside"),
    ],
)
def test_probe_refuses_wrapped_loopback_without_connecting(
    listener: socket.socket, target: str, env: dict[str, str], start: str
) -> None:
    """`portbot probe` refuses each IPv6 form of 127.0.0.1 (even with loopback allowed) in one line, and the
    listener on 127.0.0.1 never sees a connection."""
    port = listener.getsockname()[1]
    result = portbot("probe", target, str(port), env=env)
    assert result.returncode == 2, result.stdout + result.stderr
    assert result.stderr.startswith(start)
    assert len(result.stderr.strip().splitlines()) == 1
    with pytest.raises(BlockingIOError):
        listener.accept()


def test_a_bad_nat64_prefix_stops_doctor_naming_the_variable() -> None:
    """`portbot doctor` with a malformed PORTBOT_NAT64_PREFIXES says which variable and why, in one line."""
    result = portbot("doctor", env={"PORTBOT_NAT64_PREFIXES": "64:ff9b::/95"})
    assert result.returncode == 1
    assert result.stdout.splitlines()[0] == (
        "✘ PORTBOT_NAT64_PREFIXES: '64:ff9b::/95' has length /95; a NAT64 prefix is /32, /40, /48, /56, "
        "/64 or /96 (RFC 6052) (set in the environment)"
    )


def test_doctor_reports_the_address_policy() -> None:
    """`portbot doctor` says which registries the policy decides from and which NAT64 prefixes it unwraps."""
    result = portbot("doctor", env={"PORTBOT_NAT64_PREFIXES": "2001:db8:64::/96"})
    assert (
        "✔ Address policy: IANA special-purpose registries from the packaged copies (26 IPv4 and 25 IPv6 "
        "blocks); NAT64 prefixes 2001:db8:64::/96\n"
    ) in result.stdout


def test_knowledge_update_installs_the_address_registries(tmp_path: Path) -> None:
    """`portbot knowledge update --ipv4-special-from F --ipv6-special-from G` checks and installs both, dated."""
    v4, v6 = tmp_path / "v4.csv", tmp_path / "v6.csv"
    v4.write_bytes((DATA / "iana-ipv4-special-registry-1.csv").read_bytes())
    v6.write_bytes((DATA / "iana-ipv6-special-registry-1.csv").read_bytes())
    result = portbot("knowledge", "update", "--ipv4-special-from", str(v4), "--ipv6-special-from", str(v6))
    assert result.returncode == 0, result.stderr
    assert f"Updated iana-ipv4-special-registry-1.csv from {v4}: 26 address blocks" in result.stdout
    data_dir = Path(os.environ["PORTBOT_DATA_DIR"])
    meta = json.loads((data_dir / "special-registry-meta.json").read_text())
    assert meta["iana-ipv6-special-registry-1.csv"]["source"] == str(v6)
    doctor = portbot("doctor")
    assert "✔ Address policy: IANA special-purpose registries from updated copies" in doctor.stdout


def test_knowledge_update_refuses_a_bad_address_registry(tmp_path: Path) -> None:
    """A file that is not the registry exits 2 with the reason, and nothing is installed."""
    bad = tmp_path / "bad.csv"
    bad.write_text("Address Block,Name\n10.0.0.0/8,Private-Use\n")
    result = portbot("knowledge", "update", "--ipv6-special-from", str(bad))
    assert result.returncode == 2
    assert result.stderr.startswith(
        "portbot: This is not IANA's IPv6 Special-Purpose Address Registry CSV: expected the columns"
    )
    assert not (Path(os.environ["PORTBOT_DATA_DIR"]) / "iana-ipv6-special-registry-1.csv").exists()


def test_the_worker_judges_the_operators_nat64_prefix(listener: socket.socket) -> None:
    """`portbot worker` builds its policy from PORTBOT_NAT64_PREFIXES: a signed probe of 127.0.0.1 inside that
    prefix is refused (422, loopback) and the listener never sees a connection."""
    secret = "w" * 32
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
    env.update(
        PORTBOT_DATA_DIR=os.environ["PORTBOT_DATA_DIR"],
        PORTBOT_WORKER_SECRET=secret,
        PORTBOT_NAT64_PREFIXES="2001:db8:64::/96",
        PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [sys.executable, "-m", "bot", "worker", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert worker.stdout is not None
        url = worker.stdout.readline().rsplit(" ", 1)[-1].strip()  # "... listening on http://127.0.0.1:PORT"
        assert url.startswith("http://127.0.0.1:"), url
        body = json.dumps(
            {"target": "2001:db8:64::7f00:1", "ports": [listener.getsockname()[1]], "protocol": "tcp"}
        ).encode()
        response = httpx.post(f"{url}/v1/probe", content=body, headers=sign(secret, body), timeout=10)
    finally:
        worker.terminate()
        worker.wait(10)
        if worker.stdout is not None:
            worker.stdout.close()
    assert response.status_code == 422
    assert (response.json()["category"], response.json()["address"]) == ("loopback", "2001:db8:64::7f00:1")
    with pytest.raises(BlockingIOError):
        listener.accept()
