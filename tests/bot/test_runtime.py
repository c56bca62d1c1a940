"""Collector settings for long-running bots: applied once the bot has started, and only when asked for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _gc_after(code: str) -> str:
    """Run ``code`` in a fresh interpreter (the collector is process-wide) and report its collector state."""
    script = (
        f"import gc\nfrom bot import runtime\n{code}\n"
        "print(gc.get_threshold()[0], gc.get_freeze_count() > 0, gc.isenabled())"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    return result.stdout.strip()


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("runtime.started()", "700 False True"),  # tests and library users keep the defaults
        ("runtime.long_running()", "700 False True"),  # nothing happens before start-up is over
        ("runtime.long_running(); runtime.started()", "5000 True True"),
        ("runtime.long_running(); runtime.started(); gc.unfreeze(); runtime.started()", "5000 False True"),
    ],
)
def test_the_collector_is_tuned_only_for_a_started_long_running_bot(code: str, expected: str) -> None:
    """Start-up objects are frozen and young passes spaced out once, and only in a long-running bot."""
    assert _gc_after(code) == expected
