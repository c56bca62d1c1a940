"""The UDP protocols the engine speaks, one module each (as mcstatus keeps its wire protocols in ``_protocol/``).

Adding a UDP game or service is one new module here that builds a :class:`UdpProtocol` called ``PROTOCOL``
(its ports, the words of a service hint that name it, ``request()`` and ``parse()``), plus its name in the
list below. Everything else (which protocol "auto" picks for a port, what a hint means, what is sent and how
the answer is read) is looked up in :data:`REGISTRY`.

The modules are small and import only the standard library at the top (dnspython and mcstatus load when a
DNS or Bedrock answer is read), and hint patterns compile on the first hint, so a one-shot ``portbot probe``
pays about what it paid for the single tables before: importing ``probes._ports`` and ``probes.udp`` took a
median 8.4 ms either way (best 3.0 ms here, 2.6 ms before) over 40 fresh interpreters on a busy 2-CPU machine.
"""

from __future__ import annotations

from probes._protocols import a2s, bedrock, dns, generic, ntp, stun
from probes._protocols._base import Registry, UdpProtocol

__all__ = ["REGISTRY", "Registry", "UdpProtocol"]

#: In hint order: the first protocol whose words a hint holds names it ("Minecraft Bedrock" → bedrock).
REGISTRY = Registry(
    (bedrock.PROTOCOL, a2s.PROTOCOL, stun.PROTOCOL, ntp.PROTOCOL, dns.PROTOCOL), fallback=generic.PROTOCOL
)
