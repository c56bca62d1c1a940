"""Fixtures for the network-namespace tests: one test internet per session, with its services running."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.probes.netns.prober import Prober
from tests.probes.netns.topology import Internet, NetnsUnavailable, build_internet

SKIP_REASON = "network-namespace tests need root, iproute2 and iptables"


@pytest.fixture(scope="session")
def internet() -> Iterator[Internet]:
    """The test internet (see topology.py) with every service behind the router started."""
    try:
        with build_internet() as net:
            net.start_services()
            yield net
            # The HARD network rule, checked: nothing the tests made Portbot do left the test internet.
            assert net.offnet_packets() == 0, "the prober sent packets outside the documentation ranges"
    except NetnsUnavailable as err:
        pytest.skip(f"{SKIP_REASON}: {err}")


@pytest.fixture(scope="session")
def prober(internet: Internet) -> Prober:
    """Portbot's probe engine running in the prober namespace."""
    return Prober(internet)
