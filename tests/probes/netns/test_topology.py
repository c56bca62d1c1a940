"""The namespace harness itself: it builds what it promises and leaves nothing behind."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.probes.netns.conftest import SKIP_REASON
from tests.probes.netns.topology import (
    PREFIX,
    NetnsUnavailable,
    build_internet,
    list_namespaces,
    remove_stale_namespaces,
    unavailable_reason,
)

pytestmark = pytest.mark.netns


@pytest.fixture(autouse=True)
def _needs_netns() -> None:
    reason = unavailable_reason()
    if reason:
        pytest.skip(f"{SKIP_REASON}: {reason}")


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_every_namespace_is_removed_on_exit_even_after_an_error() -> None:
    """Leaving the context manager by an exception still deletes all four namespaces and their processes."""
    with pytest.raises(RuntimeError, match=r"^boom$"), build_internet() as net:
        names = {ns.name for ns in net.namespaces}
        helper = net.start(
            net.home, [sys.executable, "-c", "import time; print('ready', flush=True); time.sleep(60)"]
        )
        assert names <= set(list_namespaces())
        raise RuntimeError("boom")
    assert not names & set(list_namespaces())
    assert helper.proc.returncode is not None


def test_stale_namespace_of_a_dead_run_is_removed() -> None:
    """A namespace left by a run whose process is gone is deleted by the next clean-up."""
    name = f"{PREFIX}{_dead_pid()}-0-prober"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        assert name in remove_stale_namespaces()
        assert name not in list_namespaces()
    finally:
        subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def test_namespace_of_a_live_run_is_kept() -> None:
    """Clean-up never touches the namespaces of a run that is still going (like a parallel test run)."""
    with build_internet() as net:
        remove_stale_namespaces()
        assert {ns.name for ns in net.namespaces} <= set(list_namespaces())


def test_unavailable_machine_raises_with_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without root the harness refuses to start and says why, so the fixtures can skip with that reason."""
    monkeypatch.setattr("os.geteuid", lambda: 1000)
    with pytest.raises(NetnsUnavailable, match=r"^not running as root$"), build_internet():
        pass
