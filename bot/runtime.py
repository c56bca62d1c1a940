"""Garbage-collector settings for a long-running bot process (``portbot discord``, ``portbot slack``, ...),
applied by probes/runtime.py's :func:`settle_gc`, which the probe worker uses too.

In a chat bot the collector's full pass walks all of discord.py, aiohttp and the loaded knowledge base: about
55 ms on the 2-CPU bench machine, longer than a burst of 200 ``/port`` answers may take in all, and passes came
every few hundred interactions.

Only a process that says it is a long-running bot gets this: the CLI calls :func:`long_running` before it
starts the chat platforms, and an adapter calls :func:`started` once it is ready. Tests, benchmarks of parts
and anything importing the adapters as a library keep the interpreter's defaults.
"""

from __future__ import annotations

from probes.runtime import settle_gc

#: Allocations (net) before a young-generation pass; CPython's default is 700.
YOUNG_THRESHOLD = 5000

_long_running = False
_settled = False


def long_running() -> None:
    """Declare this process a long-running bot; :func:`started` then tunes the collector."""
    global _long_running
    _long_running = True


def started() -> None:
    """Start-up is over (knowledge loaded, connections open): freeze what exists, collect young objects less
    often. Only once per process, and only after :func:`long_running`."""
    global _settled
    if not _long_running or _settled:
        return
    _settled = True
    settle_gc(YOUNG_THRESHOLD)
