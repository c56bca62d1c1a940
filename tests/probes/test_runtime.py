"""The collector settings long-running processes (the bot, the worker) apply once their start-up is over."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import gc, weakref
from probes.runtime import settle_gc

class Node:
    pass

cycle = Node(); cycle.me = cycle
gone = weakref.ref(cycle)
del cycle
settle_gc(10_000)
print(gc.get_threshold(), gc.get_freeze_count() > 0, gone() is None)
"""


def test_settling_collects_start_ups_garbage_then_freezes_the_rest() -> None:
    """Garbage made during start-up is freed, not frozen forever; what lives is frozen; young passes spaced out."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "(10000, 10, 10) True True"
