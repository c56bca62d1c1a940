"""Rate-limit windows for tests that count to an exact limit.

The sliding-window counter (limits' arithmetic, probes/_window.py) rounds the previous window's weighted count
down, so just after a window boundary one more hit fits than a test counting to the limit expects. A test that
takes a few seconds starts once enough of the current window is left.
"""

from __future__ import annotations

import time


def start_inside_one_window(expiry: int, needed: float) -> None:
    """Return once at least ``needed`` seconds are left in the current window of ``expiry`` seconds (windows
    are numbered from the Unix epoch, as limits numbers them)."""
    left = expiry - time.time() % expiry
    if left < needed:
        time.sleep(left + 0.01)
