"""Portbot's probes: is a port reachable, and what answers there.

The public names below are imported on first use, so that ``import probes.models`` (which the chat
front ends need) stays light: the engine pulls in dnspython, idna, mcstatus and python-a2s.

- :class:`ProbeEngine`, :class:`EngineConfig` (probes/engine.py): probe one request.
- :func:`parse_target`, :class:`Target` (probes/targets.py): read a target as people type it.
- :class:`Resolver`, :class:`Resolution` (probes/resolve.py): A/AAAA (and Minecraft SRV) lookups.
- :func:`probe_tcp`, :class:`RttTracker` (probes/tcp.py), :func:`probe_udp` (probes/udp.py): one port.
- :func:`identify_tcp`, :func:`identify_a2s` (probes/identify.py): what answers on an open port.
- :func:`describe_reason`, :func:`is_rejection` (probes/reasons.py): reasons in plain words.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from probes.engine import EngineConfig, ProbeEngine
    from probes.identify import identify_a2s, identify_tcp
    from probes.reasons import describe as describe_reason
    from probes.reasons import is_rejection
    from probes.resolve import Resolution, Resolver
    from probes.targets import Target, parse_target
    from probes.tcp import RttTracker, probe_tcp
    from probes.udp import probe_udp

_EXPORTS = {
    "EngineConfig": ("probes.engine", "EngineConfig"),
    "ProbeEngine": ("probes.engine", "ProbeEngine"),
    "identify_a2s": ("probes.identify", "identify_a2s"),
    "identify_tcp": ("probes.identify", "identify_tcp"),
    "describe_reason": ("probes.reasons", "describe"),
    "is_rejection": ("probes.reasons", "is_rejection"),
    "Resolution": ("probes.resolve", "Resolution"),
    "Resolver": ("probes.resolve", "Resolver"),
    "Target": ("probes.targets", "Target"),
    "parse_target": ("probes.targets", "parse_target"),
    "RttTracker": ("probes.tcp", "RttTracker"),
    "probe_tcp": ("probes.tcp", "probe_tcp"),
    "probe_udp": ("probes.udp", "probe_udp"),
}

__all__ = [
    "EngineConfig",
    "ProbeEngine",
    "Resolution",
    "Resolver",
    "RttTracker",
    "Target",
    "describe_reason",
    "identify_a2s",
    "identify_tcp",
    "is_rejection",
    "parse_target",
    "probe_tcp",
    "probe_udp",
]


def __getattr__(name: str) -> Any:
    try:
        module, attribute = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'probes' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), attribute)
