"""Shared by the benchmarks: one percentile, and one line each on the machine and its load for results files.

Run as scripts (``python bench/NAME.py``), the benchmarks find this module beside them.
"""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Sequence


def percentile(samples: Sequence[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0 < q ≤ 1) of ``samples``: always a value that was measured, never an
    interpolation between two (the p99 of 100 samples is the 99th smallest)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    return ordered[min(len(ordered), max(1, math.ceil(q * len(ordered)))) - 1]


def machine() -> str:
    """Where the numbers came from: OS, CPU count, Python."""
    return (
        f"{platform.system()} {platform.release()} ({platform.machine()}), {os.cpu_count()} CPUs, "
        f"Python {platform.python_version()}"
    )


def load_average() -> str:
    """The load averages now: the machine is shared, so a results file says how busy it was."""
    try:
        return " / ".join(f"{x:.2f}" for x in os.getloadavg()) + " (1 / 5 / 15 min)"
    except OSError:
        return "n/a"
