"""The UDP protocols the engine speaks, one module each (as mcstatus keeps its wire protocols in ``_protocol/``).

Adding a UDP game or service is one new module here that builds a :class:`UdpProtocol` called ``PROTOCOL``
(its ports, the words of a service hint that name it, ``request()`` and ``parse()``), plus its name in the
list below. Everything else (which protocol "auto" picks for a port, what a hint means, what is sent and how
the answer is read) is looked up in :data:`REGISTRY`.

The modules are small and import only the standard library at the top (dnspython and mcstatus load when a
DNS or Bedrock answer is read), so the registry costs a one-shot ``portbot probe`` well under a millisecond.
"""

from __future__ import annotations

from probes._protocols import a2s, bedrock, dns, generic, ntp, stun
from probes._protocols._base import Registry, UdpProtocol

__all__ = ["REGISTRY", "Registry", "UdpProtocol"]

#: In hint order: the first protocol whose words a hint holds names it ("Minecraft Bedrock" → bedrock).
REGISTRY = Registry(
    (bedrock.PROTOCOL, a2s.PROTOCOL, stun.PROTOCOL, ntp.PROTOCOL, dns.PROTOCOL), fallback=generic.PROTOCOL
)
