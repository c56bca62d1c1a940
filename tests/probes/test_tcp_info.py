"""Reading a connection's RTT from the kernel (TCP_INFO), on real loopback sockets."""

from __future__ import annotations

import socket
import sys

import pytest

from probes._tcp_info import tcp_rtt

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="TCP_INFO's layout is Linux's")


def test_a_connected_tcp_socket_has_a_small_positive_rtt() -> None:
    """A loopback connection's smoothed RTT is above 0 and well under a second."""
    with (
        socket.create_server(("127.0.0.1", 0)) as server,
        socket.create_connection(server.getsockname()),
    ):
        accepted, _ = server.accept()
        with accepted:
            rtt = tcp_rtt(accepted)
    assert rtt is not None and 0 < rtt < 0.5


@pytest.mark.parametrize("kind", [socket.SOCK_DGRAM, None])
def test_no_rtt_without_a_tcp_connection(kind: socket.SocketKind | None) -> None:
    """A UDP socket, or no socket at all, gives None."""
    if kind is None:
        assert tcp_rtt(None) is None
        return
    with socket.socket(socket.AF_INET, kind) as sock:
        assert tcp_rtt(sock) is None
