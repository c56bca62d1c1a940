"""Name resolution for probes: A and AAAA side by side, and the SRV record a service uses (Minecraft's
``_minecraft._tcp.<name>``), with dnspython's asyncio resolver. CNAME chains are followed (the recursive server
sends them with the answer); the name they end at is kept, so a refusal can say where a name led.

Every failure a user can meet becomes a :class:`~probes.errors.ResolveError` with a plain sentence. Names are
never completed with the machine's search domains: "mc" must not quietly become "mc.corp.internal".
"""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import dataclass
from typing import TYPE_CHECKING

from probes.errors import RefusedTarget, ResolveError
from probes.policy import IPAddress

if TYPE_CHECKING:
    import dns.asyncresolver

# dnspython (~60 ms to import) and idna load on the first lookup, not with the engine: `portbot probe` for an
# address never resolves anything, and its whole run should take about what nmap's does.

_RETRY_AFTER = 1.0  # per-try timeout: a lost UDP packet is asked again once within the lifetime


@dataclass(frozen=True, slots=True)
class Resolution:
    """Where a name points. ``addresses`` holds IPv4 then IPv6, each sorted, without duplicates."""

    name: str  # the name whose addresses these are (the SRV target when an SRV record was followed)
    addresses: tuple[IPAddress, ...]
    srv_port: int | None = None  # the port an SRV record named, when one was followed
    canonical: str | None = None  # where ``name``'s CNAME chain ends, when it has one


class Resolver:
    """Looks names up. ``nameservers`` entries are ``ip``, ``ip:port`` or ``[v6]:port``; empty means the
    machine's configured resolvers (never used by the tests, which start their own DNS server)."""

    def __init__(self, nameservers: tuple[str, ...] = (), *, timeout: float = 3.0) -> None:
        self._servers = tuple(_parse_nameserver(entry) for entry in nameservers)
        self._timeout = timeout
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _dns(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            import dns.asyncresolver
            import dns.nameserver
            import dns.resolver

            # Built on first use: reading /etc/resolv.conf at construction would fail where it's missing.
            try:
                resolver = dns.asyncresolver.Resolver(configure=not self._servers)
            except dns.resolver.NoResolverConfiguration:
                raise ResolveError(
                    "This bot has no DNS servers configured, so it can't look names up."
                ) from None
            if self._servers:
                resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in self._servers]
            resolver.lifetime = self._timeout
            resolver.timeout = min(self._timeout, _RETRY_AFTER)
            resolver.cache = None
            self._resolver = resolver
        return self._resolver

    async def resolve(self, name: str, *, srv_service: str | None = None) -> Resolution:
        """Addresses for ``name``; with ``srv_service`` (e.g. ``"_minecraft._tcp"``), follow its SRV record
        first, as the game's own client does. Raises :class:`ResolveError`."""
        if srv_service is None:
            return await self._lookup(name)
        # Both at once: the name's own addresses are the fallback when there is no SRV record.
        qname = f"{srv_service}.{name}"
        srv_task = asyncio.ensure_future(self.srv(qname))
        plain_task = asyncio.ensure_future(self._lookup(name))
        try:
            srv = await srv_task
            if srv is None:
                return await plain_task
        finally:
            for task in (srv_task, plain_task):
                task.cancel()
            await asyncio.gather(srv_task, plain_task, return_exceptions=True)
        target, port = srv
        if port == 0:
            # Nothing listens on port 0 and connecting to it means something else to some stacks: refused,
            # never "fixed" by guessing a port.
            raise RefusedTarget(
                f"The SRV record {_show(qname)} says port 0, which no server can listen on, so there's "
                "nothing to check.",
                category="srv-port",
                hint="Fix the port in that SRV record (Minecraft's usual port is 25565), or remove the record.",
            )
        try:
            found = await self._lookup(target)
        except ResolveError:
            raise ResolveError(
                f"{_show(name)} has an SRV record pointing to {_show(target)}, but that name has no address.",
                hint="Fix the SRV record's target, or give the target an A or AAAA record.",
            ) from None
        return Resolution(target, found.addresses, srv_port=port, canonical=found.canonical)

    async def addresses(self, name: str) -> tuple[IPAddress, ...]:
        """The IPv4 and IPv6 addresses of ``name``, asked for at the same time."""
        return (await self._lookup(name)).addresses

    async def _lookup(self, name: str) -> Resolution:
        answers = await asyncio.gather(
            self._query(name, "A"), self._query(name, "AAAA"), return_exceptions=True
        )
        found: list[IPAddress] = []
        canonical: str | None = None
        for answer in answers:
            if isinstance(answer, tuple):
                end, addresses = answer
                found.extend(a for a in addresses if a not in found)
                if end is not None and end != name.lower().rstrip("."):
                    canonical = canonical or end
        if found:
            ordered = tuple(sorted(found, key=lambda a: (a.version, int(a))))  # a stable order for reports
            return Resolution(name, ordered, canonical=canonical)
        errors = [a for a in answers if isinstance(a, BaseException)]
        import dns.exception

        for err in errors:
            if not isinstance(err, dns.exception.DNSException):
                raise err
        raise _explain(name, errors)

    async def srv(self, qname: str) -> tuple[str, int] | None:
        """The (target, port) of the preferred SRV record at ``qname``, or None when there is none usable."""
        import dns.exception
        import dns.rdatatype

        try:
            answer = await self._dns().resolve(qname, "SRV", search=False, raise_on_no_answer=False)
        except dns.exception.DNSException:
            return None  # no SRV record (or no answer about one): connect to the name itself, as clients do
        records = [r for r in answer if r.rdtype == dns.rdatatype.SRV]
        if not records:
            return None
        best = min(records, key=lambda r: (r.priority, -r.weight))
        target = best.target.to_text(omit_final_dot=True).lower()
        if target in ("", "."):
            return None  # "." means: this service is deliberately not offered here
        return target, int(best.port)

    async def _query(self, name: str, rdtype: str) -> tuple[str | None, tuple[IPAddress, ...]]:
        """(where the name's CNAME chain ended, the addresses found there)."""
        answer = await self._dns().resolve(name, rdtype, search=False, raise_on_no_answer=False)
        if answer.rrset is None:
            return None, ()
        end = answer.canonical_name.to_text(omit_final_dot=True).lower()
        return end, tuple(ipaddress.ip_address(r.address) for r in answer.rrset)


def _explain(name: str, errors: list[BaseException]) -> ResolveError:
    import dns.exception
    import dns.resolver

    shown = _show(name)
    if any(isinstance(e, dns.resolver.NXDOMAIN) for e in errors):
        return ResolveError(
            f"I couldn't find {shown}: DNS says that name doesn't exist.",
            hint="Check the spelling. A name created a few minutes ago can take a while to show up.",
        )
    if any(isinstance(e, dns.exception.Timeout) for e in errors):
        return ResolveError(
            f"The DNS servers didn't answer in time when I looked up {shown}.",
            hint="Try again in a minute. If it keeps happening, the name's DNS servers may be down.",
        )
    if any(isinstance(e, dns.resolver.NoNameservers) for e in errors):
        return ResolveError(
            f"Looking up {shown} fails: its DNS servers answer with errors.",
            hint="The domain's DNS set-up is broken (often an expired domain or a DNSSEC mistake).",
        )
    if not errors:
        return ResolveError(
            f"{shown} exists in DNS but has no address (no A or AAAA record).",
            hint="Add an A record (IPv4) or an AAAA record (IPv6) that points at your server.",
        )
    return ResolveError(f"I couldn't look up {shown} in DNS.")


def show_name(name: str) -> str:
    """The name as people wrote it, in backticks: internationalised labels in their own script."""
    return _show(name)


def _show(name: str) -> str:
    """The name as people wrote it: internationalised labels in their own script."""
    import idna

    try:
        shown = idna.decode(name)
    except (idna.IDNAError, UnicodeError):
        shown = name
    return f"`{shown}`"


def _parse_nameserver(entry: str) -> tuple[str, int]:
    text = entry.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            port = int(rest.removeprefix(":"))
    elif text.count(":") == 1:
        host, port_text = text.split(":")
        port = int(port_text)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"DNS server {entry!r} must be an IP address, optionally with :port") from None
    if not 1 <= port <= 65535:
        raise ValueError(f"DNS server {entry!r} has a port outside 1-65535")
    return host, port
