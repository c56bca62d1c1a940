"""The probe engine: one request in, one :class:`~probes.models.ProbeReport` out, from this machine.

    engine = ProbeEngine(SafetyPolicy(), EngineConfig(timeout=3.0))
    report = await engine.probe(ProbeRequest("mc.example.com", (25565,)))

Order of work for one request:

1. Parse the target (probes/targets.py) and check the ports with the safety policy.
2. An address literal is checked by the policy at once. A name is resolved (A and AAAA side by side,
   following CNAMEs, and Minecraft's SRV record when port 25565 is asked for without an explicit port; an SRV
   record naming port 0 is refused), then EVERY address is checked. Refused addresses are skipped; if all
   are refused, the probe is refused with a sentence saying which name (the one typed, its CNAME target, the
   SRV record's target) led to which kind of address (not the address: the bot's DNS view may be private). We connect to exactly the checked addresses: no second
   lookup happens anywhere later (no DNS rebinding), identification included.
3. Of the allowed addresses, the first IPv4 and the first IPv6 one (in the resolver's sorted order, so the
   same ones each time) are probed; the report's ``address_count`` says how many the name had, so replies
   can say the rest were left alone. ``admit`` (the service's per-target rate limit) is called with them
   before any packet is sent, and may stop the probe.
4. Every chosen address × port × protocol is probed concurrently, at most ``max_concurrency`` at once. TCP
   probes to one address share its round-trip time to decide "filtered" early (probes/tcp.py), learnt from
   the first TCP answer or, while a port stays silent, from an ICMP echo to that same address (``icmp_rtt``),
   from TTL-limited SYNs to that address and port (``ttl_rtt``), or from a recent probe to the same /24 or /48.
5. Open ports are identified (probes/identify.py) within ``identify_timeout``; that never changes a verdict.

The whole request runs under one deadline. Cancelling ``probe()`` closes every socket it opened.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Coroutine, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from probes import _ports
from probes import _protocols as udp_protocols
from probes._rtt_memory import RttMemory
from probes.errors import PortbotError, ProbeError, RefusedTarget
from probes.models import PortResult, ProbeReport, ProbeRequest, Protocol, State
from probes.policy import IPAddress, SafetyPolicy
from probes.resolve import Resolution, Resolver, show_name
from probes.targets import Target, parse_target
from probes.tcp import RttTracker, probe_tcp
from probes.udp import probe_udp

if TYPE_CHECKING:
    from probes.service import Admit

log = logging.getLogger(__name__)

LOCAL_VANTAGE = "this bot's own network"


@dataclass(frozen=True)
class EngineConfig:
    """How the engine probes. Times are in seconds."""

    timeout: float = (
        3.0  # longest wait for an answer per port (TCP handshake, UDP reply); also per DNS lookup
    )
    identify: bool = True  # identify the service on open ports
    dns_servers: tuple[str, ...] = ()  # "ip" or "ip:port"; empty: this machine's resolvers
    identify_timeout: float = 2.0  # time box for identifying one open port
    max_concurrency: int = 16  # probes in flight at once within one request
    deadline: float | None = None  # the whole request; None: the sum of the stages' own limits, plus a margin
    rtt_reference_port: int | None = None  # see below
    tls_ca_file: str | None = None  # trust these CAs instead of the system's when checking certificates
    icmp_rtt: bool = True  # see below
    ttl_rtt: bool = True  # see below
    rtt_memory: bool = (
        True  # start from an RTT remembered for the address's /24 or /48 (probes/_rtt_memory.py)
    )

    # rtt_reference_port: a TCP port on the same address to connect to, alongside the requested ports, only to
    # learn the round-trip time so a silent port can be called filtered early (probes/tcp.py). Off by default:
    # it's a connection the user didn't ask for. Requested ports that answer give the same benefit anyway.
    #
    # icmp_rtt: when a TCP port stays silent for 50 ms, send the same address one ICMP echo (two at most, 1 s
    # apart) and let its round-trip time bring the "filtered" verdict forward (probes/tcp.py says why that
    # can't call a slow but open port filtered). Needs an unprivileged ICMP socket (our group inside
    # net.ipv4.ping_group_range) or root; without one, or without a reply, silence waits the full timeout.
    # Turn it off if targets sit more than ~250 ms behind whatever answers their pings.
    #
    # ttl_rtt: at the same moment, send the same address and port SYNs with IP TTLs 1, 2, 4 and 8 (four
    # packets, once per address per request) and learn the RTT to the routers on the way from their ICMP
    # "time exceeded" (probes/_hops.py; no privilege needed). Used only without a better RTT, and never
    # giving up before 0.8 s (probes/tcp.py says why). Turn it off if targets sit ~0.7 s or more behind the
    # last router that answers traceroutes.


class ProbeEngine:
    """Probes targets from this machine, inside the limits of a :class:`SafetyPolicy`."""

    def __init__(self, policy: SafetyPolicy, config: EngineConfig = EngineConfig()) -> None:
        self.policy = policy
        self.config = config
        self._resolver = Resolver(config.dns_servers, timeout=config.timeout)
        self._rtts = RttMemory()

    def learn_rtt(self, address: IPAddress, seconds: float) -> None:
        """Remember a path RTT measured elsewhere (a link visit's own TCP connection, probes/_tcp_info.py), so
        a silent port on ``address`` is called filtered as soon as with an RTT of the request's own."""
        if self.config.rtt_memory:
            self._rtts.remember(address, seconds)

    async def probe(
        self,
        request: ProbeRequest,
        *,
        vantage: str = LOCAL_VANTAGE,
        local: bool = True,
        admit: Admit | None = None,
    ) -> ProbeReport:
        """Probe ``request``. Raises InputError (bad target or ports), RefusedTarget (the policy said no),
        ResolveError (the name doesn't resolve), RateLimited (``admit`` said no) or ProbeError (this machine
        couldn't run the probe). ``admit`` gets the addresses about to be probed before any packet is sent."""
        try:
            async with asyncio.timeout(self._deadline()):
                return await self._probe(request, vantage, local, admit)
        except TimeoutError:
            raise ProbeError(
                "The check took too long and was stopped.", hint="Try again in a minute."
            ) from None

    async def check_target(self, target: str, ports: tuple[int, ...], hint: str | None = None) -> None:
        """Resolve ``target`` and judge its addresses as :meth:`probe` would, sending nothing to it: raises the
        same RefusedTarget (or InputError, ResolveError) a probe would. For ``portbot watch add``."""
        parsed = parse_target(target)
        self.policy.check_ports(ports)
        self._chosen(parsed, await self._addresses(parsed, ports, hint))

    async def aclose(self) -> None:
        """Release resources. The engine keeps none between probes; this exists so owners can always call it."""

    def _deadline(self) -> float:
        if self.config.deadline is not None:
            return self.config.deadline
        resolve = 2 * self.config.timeout  # an SRV record, then its target's addresses
        identify = self.config.identify_timeout if self.config.identify else 0.0
        return resolve + self.config.timeout + identify + 1.0

    async def _probe(
        self, request: ProbeRequest, vantage: str, local: bool, admit: Admit | None
    ) -> ProbeReport:
        target = parse_target(request.target)
        ports = tuple(dict.fromkeys(request.ports)) or ((target.port,) if target.port is not None else ())
        self.policy.check_ports(ports)
        hint = request.service_hint or target.scheme
        resolution = await self._addresses(target, ports, hint)
        addresses = self._chosen(target, resolution)
        if admit is not None:
            await admit(addresses)
        if resolution.srv_port is not None:
            ports = tuple(
                dict.fromkeys(resolution.srv_port if p == _ports.MINECRAFT_PORT else p for p in ports)
            )

        # The port an SRV record named is Minecraft's, whatever its number.
        hints = {port: hint for port in ports}
        if resolution.srv_port is not None:
            hints[resolution.srv_port] = _ports.MINECRAFT
        plan = [
            (address, port, protocol)
            for port in ports
            for protocol in self._protocols(request, port, hints[port])
            for address in addresses
        ]
        host = target.host
        trackers = {address: self._tracker(address) for address in addresses}
        gate = asyncio.Semaphore(self.config.max_concurrency)
        results = await self._run(  # in plan order: by port as asked, TCP before UDP, IPv4 before IPv6
            [self._one(gate, a, p, proto, host, hints[p], trackers[a]) for a, p, proto in plan],
            self._references(addresses, ports, trackers),
            trackers.values(),
        )
        for address, tracker in trackers.items():
            if tracker.rtt is not None and not tracker.from_hops and tracker.learned:
                self._rtts.remember(address, tracker.rtt)
        srv_target = None
        if resolution.srv_port is not None:
            srv_target = f"{resolution.name}:{resolution.srv_port}"
        return ProbeReport(
            target=request.target,
            host=host,
            vantage=vantage,
            results=tuple(results),
            local=local,
            srv_target=srv_target,
            address_count=0 if target.is_address else len(resolution.addresses),
        )

    def _tracker(self, address: IPAddress) -> RttTracker:
        remembered = self._rtts.recall(address) if self.config.rtt_memory else None
        return RttTracker(rtt=remembered, echo=self.config.icmp_rtt, hops=self.config.ttl_rtt)

    async def _addresses(self, target: Target, ports: tuple[int, ...], hint: str | None) -> Resolution:
        if target.address is not None:
            return Resolution(target.host, (target.address,))
        # Like the game's client: an explicit "name:port" means no SRV lookup.
        srv = _ports.MINECRAFT_SRV if target.port is None and _ports.uses_minecraft_srv(ports, hint) else None
        return await self._resolver.resolve(target.host, srv_service=srv)

    def _chosen(self, target: Target, resolution: Resolution) -> list[IPAddress]:
        """The first allowed IPv4 and the first allowed IPv6 address. Raises the first refusal, explained by
        the names that led to it, if the policy allows none."""
        first: dict[int, IPAddress] = {}
        refusal: RefusedTarget | None = None
        for address in resolution.addresses:
            try:
                self.policy.check_address(address)
            except RefusedTarget as err:
                refusal = refusal or err
                log.debug("skipping a refused address (%s)", err.category)
                continue
            first.setdefault(address.version, address)
        if not first:
            assert refusal is not None
            if target.is_address:
                raise refusal
            raise _explained(target.host, resolution, refusal, len(resolution.addresses))
        return [first[v] for v in (4, 6) if v in first]

    def _protocols(self, request: ProbeRequest, port: int, hint: str | None) -> tuple[Protocol, ...]:
        return _ports.protocols_for(request.protocol, port, hint)

    async def _one(
        self,
        gate: asyncio.Semaphore,
        address: IPAddress,
        port: int,
        protocol: Protocol,
        host: str,
        hint: str | None,
        tracker: RttTracker,
    ) -> PortResult:
        config = self.config
        async with gate:
            if protocol == "tcp":
                result = await probe_tcp(address, port, max_wait=config.timeout, tracker=tracker)
            else:
                kind = _ports.udp_kind(port, hint)
                result = await probe_udp(address, port, kind=kind, max_wait=config.timeout)
            if not config.identify or result.state is not State.OPEN:
                return result
            if protocol == "tcp":
                # Imported on the first open port only: a closed or filtered verdict needs none of it.
                from probes.identify import identify_tcp

                service = await identify_tcp(
                    address,
                    port,
                    host=host,
                    hint=hint,
                    time_box=config.identify_timeout,
                    tls_ca_file=config.tls_ca_file,
                )
            else:
                # Some UDP protocols' first answer says little (A2S: a challenge); theirs ask for more.
                details = udp_protocols.REGISTRY.kind(kind).details if result.service is not None else None
                service = await details(address, port, config.identify_timeout) if details else None
        return result if service is None else dataclasses.replace(result, service=service)

    def _references(
        self,
        addresses: list[IPAddress],
        ports: tuple[int, ...],
        trackers: dict[IPAddress, RttTracker],
    ) -> list[asyncio.Future[PortResult]]:
        reference = self.config.rtt_reference_port
        if reference is None or reference in ports:
            return []
        return [
            asyncio.ensure_future(probe_tcp(a, reference, max_wait=self.config.timeout, tracker=trackers[a]))
            for a in addresses
        ]

    async def _run(
        self,
        probes: list[Coroutine[Any, Any, PortResult]],
        references: list[asyncio.Future[PortResult]],
        trackers: Iterable[RttTracker],
    ) -> list[PortResult]:
        """Run the probes together; the RTT reference connections and echoes only live as long as they do."""
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(p) for p in probes]
        except BaseExceptionGroup as group_error:
            for err in group_error.exceptions:
                if isinstance(err, PortbotError):
                    raise err from None
            raise
        finally:
            for ref in references:
                ref.cancel()
            await asyncio.gather(*references, *(t.aclose() for t in trackers), return_exceptions=True)
        return [t.result() for t in tasks]


# What a refused address is, by the policy's category, for refusals of names: the bot may see a DNS view (a
# company's internal resolver, say) that the asker doesn't, so the sentence names the kind of address, never
# the address itself. The audit log keeps the address (RefusedTarget.address).
_KINDS = {
    "private": "a LAN (private) address",
    "loopback": "a loopback address (the bot's own machine)",
    "link-local": "a link-local address",
    "cloud-metadata": "the cloud metadata service",
    "cgnat": "a carrier-grade NAT (CGNAT) address",
    "multicast": "a multicast address",
    "broadcast": "the broadcast address",
    "unspecified": "the unspecified address",
    "reserved": "a reserved address",
    "documentation": "an address set aside for documentation",
    "benchmarking": "an address set aside for benchmarking labs",
    "site-local": "an old IPv6 site-local address",
    "denied": "an address on this bot's deny list",
}
_NOT_PUBLIC = "an address that isn't on the public internet"


def _explained(host: str, resolution: Resolution, refusal: RefusedTarget, refused: int) -> RefusedTarget:
    """``refusal`` (about one of the ``refused`` addresses a name led to) told as where the name led."""
    alias = None
    if resolution.canonical is not None:
        alias = f"an alias (CNAME) for {show_name(resolution.canonical)}"
    hint = refusal.hint
    if resolution.srv_port is not None:
        via = f", {alias}," if alias else ","
        chain = f"its SRV record points to {show_name(resolution.name)}{via} which resolves"
        hint = (
            f"Check the SRV record for {show_name(host)}: its target must be a name with your server's public "
            "address. Or remove the record and give the name an A or AAAA record."
        )
    elif alias:
        chain = f"it is {alias}, which resolves"
    else:
        chain = "it resolves"
    kind = _KINDS.get(refusal.category, _NOT_PUBLIC)
    end = f"only to {kind}" if refused == 1 else f"only to addresses I don't check, the first of them {kind}"
    message = f"I won't check {show_name(host)}: {chain} {end}."
    return RefusedTarget(message, category=refusal.category, address=refusal.address, hint=hint)
