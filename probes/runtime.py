"""Garbage-collector settings for a long-running process: a chat bot (bot/runtime.py) or a probe worker
(probes/worker.py). Tests, benchmarks of parts and library users keep the interpreter's defaults: only those
two call :func:`settle_gc`, once their start-up is over.

CPython's collector walks every live container object on each full pass: in a started bot or worker that is
tens of thousands of objects (discord.py, aiohttp, the knowledge base, the engine), 20-60 ms a pass on the
2-CPU bench machine, and passes came every second or two under load. What exists once start-up is over lives as
long as the process, so it is moved out of the collector's reach; and since a request's objects die by
reference counting rather than in cycles, young passes mostly rescan live in-flight objects, so they are
spaced out (each caller says how far, from its own bench).
"""

from __future__ import annotations

import gc


def settle_gc(young_threshold: int) -> None:
    """Collect start-up's garbage, freeze what is left (kept out of every later pass), and run a young pass
    every ``young_threshold`` net allocations instead of CPython's 700. The older generations keep theirs."""
    gc.collect()  # garbage frozen now would never be freed
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
