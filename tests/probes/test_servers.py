"""The shared fake servers' command line, which the network-namespace harness relies on."""

from __future__ import annotations

import ipaddress
import selectors
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from probes.resolve import Resolver
from tests.probes.servers import KINDS

pytestmark = pytest.mark.usefixtures("no_loop_errors")


def free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def running(*args: str) -> Iterator[subprocess.Popen[str]]:
    """``python -m tests.probes.servers ARGS``, once it has printed "ready"; stopped with SIGTERM after."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.probes.servers", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        with selectors.DefaultSelector() as sel:
            sel.register(proc.stdout, selectors.EVENT_READ)
            assert sel.select(15), "no output within 15 s"
        assert proc.stdout.readline() == "ready\n"
        yield proc
    finally:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def test_command_line_dns_server_answers_records_from_its_arguments() -> None:
    """``dns HOST PORT name=addr ...`` prints exactly "ready", then answers A and AAAA from its arguments."""
    port = free_udp_port()
    with running("dns", "127.0.0.1", str(port), "mc.test=192.0.2.7", "mc.test=2001:db8::7") as proc:
        found = await Resolver((f"127.0.0.1:{port}",), timeout=2.0).addresses("mc.test")
    assert found == (ipaddress.ip_address("192.0.2.7"), ipaddress.ip_address("2001:db8::7"))
    assert proc.returncode == 0  # SIGTERM is a clean stop


def test_command_line_rejects_an_unknown_kind() -> None:
    """An unknown kind exits with status 2 and the list of kinds."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.probes.servers", "gopher", "127.0.0.1", "0"],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 2
    assert all(kind in done.stderr for kind in KINDS)
