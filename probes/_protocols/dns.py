"""DNS: a query for the root's name servers, built and read by dnspython (imported only when used)."""

from __future__ import annotations

from probes._protocols._base import UdpProtocol
from probes.models import ServiceInfo


def request() -> bytes:
    import dns.message

    return dns.message.make_query(".", "NS").to_wire()


def parse(data: bytes, rtt_ms: float | None) -> ServiceInfo | None:
    import dns.flags
    import dns.message
    import dns.rcode

    message = dns.message.from_wire(data)
    if not message.flags & dns.flags.QR:
        return None
    rcode = dns.rcode.to_text(message.rcode())
    recursion = bool(message.flags & dns.flags.RA)
    extra = ", recursion available" if recursion else ""
    return ServiceInfo(
        "dns",
        f"DNS server (answered {rcode}{extra})",
        {
            "rcode": rcode,
            "recursion_available": recursion,
            "authoritative": bool(message.flags & dns.flags.AA),
        },
    )


PROTOCOL = UdpProtocol(
    kind="dns",
    request=request,
    parse=parse,
    ports=frozenset({53}),
    tcp_ports=frozenset({53}),  # DNS answers over both
    hints=("dns", "domain"),
    hint_tcp=True,
)
