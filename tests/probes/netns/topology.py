"""A small test internet in network namespaces, built and torn down by the tests themselves.

::

    prober ─────────────── isp ────────────────────── router ──────────────── home
      │ far20 / far200: tun delay lines (20 ms, 200 ms) ─▶ isp: "the internet" before the ISP hop
    198.51.100.10/24       198.51.100.1/24 (gw)       WAN 203.0.113.20/24     192.168.77.10/24
    2001:db8:100::10/64    198.51.100.53 resolver     WAN 2001:db8:113::20    2001:db8:77::10/64
    (the probe worker)     203.0.113.1/24 (gw)        LAN 192.168.77.1/24     (the home server)
                           2001:db8:100::1, :113::1   LAN 2001:db8:77::1/64
                           192.0.2.0/24, 2001:db8:    v4: port forwards (DNAT),
                             dead::/48: no route        firewall, MASQUERADE
                             (ICMP unreachable)       v6: no NAT, FORWARD rules
                           203.0.113.21 ─ tun delay line (``latency`` s) ─▶ router (same forwards)
                           203.0.113.23 ─ the same, TCP only (its pings go direct)
                                                      WAN 203.0.113.22: same forwards, ignores pings
                           203.0.113.24 ─ the delay line ─▶ router, ignoring pings
    prober ─ far20 ─▶ isp ─▶ 203.0.113.25, far200 ─▶ isp ─▶ 203.0.113.26: the router ignoring pings, 20 ms or
                           200 ms away with the ISP's hop right before it (its time-exceeded comes from there)

Only the documentation ranges play the internet and 192.168.77.0/24 plays the home LAN (its IPv6 twin
2001:db8:77::/64 is global, as home IPv6 prefixes are), so nothing here can
ever leave the machine. Every name carries the creating process id (``pb-<pid>-<n>-<role>``); namespaces
left behind by a run that died are removed, with their processes, the next time a topology is built.

Traps: listeners on TCP :data:`TRAP_PORT` that Portbot must never reach, each counted by an iptables rule
commented ``trap`` (:meth:`Internet.trap_packets`): on the home server's LAN address and on
:data:`NAT64_HOME` (the NAT64 form of that address, which the home server owns here), both reachable from the
internet side through an isp route and a router rule, as a bot hosted next to them would reach them; and on the
prober's own loopback. Names in :data:`TRAP_NAMES` lead to them through CNAMEs, SRV records and wrapped IPv6
forms.

The router behaves like a consumer router: WAN input policy DROP, forwards by DNAT, FORWARD policy DROP
with ``ctstate DNAT`` accepted, MASQUERADE on the way out. The port plan is in :data:`FORWARDS`, :data:`WAN_RULES`
and, for IPv6, :data:`HOME6_RULES`.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import itertools
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
PREFIX = "pb-"

# Addresses of the test internet. Documentation ranges only (RFC 5737), plus a private home LAN.
PROBER = "198.51.100.10"
ISP_PROBER_SIDE = "198.51.100.1"
RESOLVER = "198.51.100.53"
ISP_HOME_SIDE = "203.0.113.1"
ROUTER_WAN = "203.0.113.20"
ROUTER_WAN_SLOW = "203.0.113.21"  # the same router, reached through the delay line
ROUTER_WAN_NOPING = "203.0.113.22"  # the same router, dropping pings (as many home routers do)
ROUTER_WAN_TCP_SLOW = "203.0.113.23"  # the same router: TCP through the delay line, pings answered at once
# The same router dropping pings behind the delay line: its TCP is ``latency`` behind the ISP hop's
# time-exceeded (which the ISP sends before the delay line), a misleadingly fast router on the way.
ROUTER_WAN_NOPING_SLOW = "203.0.113.24"
# The same router dropping pings, with the delay ("the internet") between the prober and the ISP hop, as on a
# real path: the ISP's time-exceeded comes back about as late as the router's own answers would.
ROUTER_WAN_FAR20 = "203.0.113.25"
ROUTER_WAN_FAR200 = "203.0.113.26"
FAR_PATHS = {ROUTER_WAN_FAR20: 0.02, ROUTER_WAN_FAR200: 0.2}  # one-way delay on the way out, seconds
NO_PING = (ROUTER_WAN_NOPING, ROUTER_WAN_NOPING_SLOW, ROUTER_WAN_FAR20, ROUTER_WAN_FAR200)
ROUTER_LAN = "192.168.77.1"
HOME = "192.168.77.10"
GHOST = "192.168.77.99"  # a LAN address nobody has: a forward to a device that is switched off
NO_ROUTE_NET = "192.0.2.0/24"  # the isp answers ICMP host unreachable for all of it
NO_ROUTE = "192.0.2.1"

# IPv6 side by side, in the documentation prefix (RFC 3849). No NAT: the home server has its own global
# address and the router's ip6tables FORWARD chain decides what reaches it.
PROBER6 = "2001:db8:100::10"
ISP6_PROBER_SIDE = "2001:db8:100::1"
ISP6_HOME_SIDE = "2001:db8:113::1"
ROUTER_WAN6 = "2001:db8:113::20"
ROUTER_LAN6 = "2001:db8:77::1"
HOME_NET6 = "2001:db8:77::/64"
HOME6 = "2001:db8:77::10"
NO_ROUTE_NET6 = "2001:db8:dead::/48"  # the isp answers ICMPv6 "no route" for all of it
NO_ROUTE6 = "2001:db8:dead::1"

# The traps (see the module docstring): a port nothing legitimate uses, and the home server's address in the
# NAT64 well-known prefix (64:ff9b::192.168.77.10).
TRAP_PORT = 25570
NAT64_HOME = "64:ff9b::c0a8:4d0a"
TRAP_COUNTER = "trap"

# Allow-list that lets the safety policy treat the documentation ranges as the internet.
INTERNET_ALLOW = ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
OFFNET_COUNTER = "offnet"


@dataclass(frozen=True)
class Forward:
    """A port forward on the router's WAN side: ``protocol``/``port`` to ``host``:``to_port`` on the LAN."""

    protocol: str
    port: int
    host: str
    to_port: int
    why: str


FORWARDS: tuple[Forward, ...] = (
    Forward("tcp", 25565, HOME, 25565, "open: a Minecraft Java server behind the forward"),
    Forward("tcp", 25566, HOME, 25566, "closed: forwarded, but nothing listens (home answers RST)"),
    Forward("tcp", 25569, GHOST, 25569, "forward to a LAN device that is off (router ARPs, then ICMP)"),
    Forward("tcp", 8080, HOME, 8080, "open: an HTTP server behind the forward"),
    Forward("udp", 19132, HOME, 19132, "open: Minecraft Bedrock answers unconnected pings"),
    Forward("udp", 27015, HOME, 27015, "open: a Source (A2S) game server"),
    Forward("udp", 40000, HOME, 40000, "closed: forwarded, nothing listens (ICMP port unreachable)"),
)

# Rules for traffic aimed at the router itself, before the WAN's default DROP.
WAN_RULES: tuple[str, ...] = (
    "-A INPUT -p tcp --dport 25567 -j DROP",  # filtered: silence (explicit; the policy would too)
    "-A INPUT -p tcp --dport 25568 -j REJECT --reject-with icmp-admin-prohibited",  # filtered: ICMP 3/13
    "-A INPUT -p udp --dport 40002 -j REJECT --reject-with icmp-admin-prohibited",
)

# What the home server's own IPv6 address lets through, by port (ip6tables FORWARD on the router).
HOME6_RULES: tuple[str, ...] = (
    f"-A FORWARD -i wan -d {HOME6} -p tcp --dport 25565 -j ACCEPT",  # open
    f"-A FORWARD -i wan -d {HOME6} -p tcp --dport 25566 -j ACCEPT",  # closed: allowed, nothing listens
    f"-A FORWARD -i wan -d {HOME6} -p tcp --dport 25568 -j REJECT --reject-with icmp6-adm-prohibited",
    f"-A FORWARD -i wan -d {HOME6} -p udp --dport 19132 -j ACCEPT",  # Bedrock
    # 25567 and everything else: the FORWARD policy drops it (filtered, silence)
)

# Names the test resolver (on the isp, at RESOLVER:53) answers; anything else is NXDOMAIN.
NAMES: tuple[tuple[str, str], ...] = (
    ("mc.example.com", ROUTER_WAN),
    ("mc6.example.com", HOME6),
)

# Names that lead to the traps, or to many addresses (tests/probes/netns/test_names.py). Values are what the
# test resolver's command line takes: an address, or TYPE:rdata.
TRAP_NAMES: tuple[tuple[str, str], ...] = (
    ("lan.example.net", HOME),
    ("loop.example.net", "127.0.0.1"),
    ("lan-alias.example.com", "CNAME:lan.example.net."),
    ("alias-chain.example.com", "CNAME:lan-alias.example.com."),
    ("srv-lan.example.com", ROUTER_WAN),
    ("_minecraft._tcp.srv-lan.example.com", f"SRV:0 5 {TRAP_PORT} lan.example.net."),
    ("srv-loop.example.com", ROUTER_WAN),
    ("_minecraft._tcp.srv-loop.example.com", f"SRV:0 5 {TRAP_PORT} loop.example.net."),
    ("srv-zero.example.com", ROUTER_WAN),
    ("_minecraft._tcp.srv-zero.example.com", "SRV:0 5 0 mc.example.com."),
    ("nat64.example.com", NAT64_HOME),
    ("mapped.example.com", "::ffff:c0a8:4d0a"),
    ("srv-nat64.example.com", ROUTER_WAN),
    ("_minecraft._tcp.srv-nat64.example.com", f"SRV:0 5 {TRAP_PORT} nat64.example.com."),
    # Six addresses: the LAN one is refused, then the first public IPv4 and IPv6 ones (sorted) are probed.
    ("many.example.com", ROUTER_WAN_NOPING),
    ("many.example.com", HOME),
    ("many.example.com", ROUTER_WAN_SLOW),
    ("many.example.com", ROUTER_WAN),
    ("many.example.com", ROUTER_WAN6),
    ("many.example.com", HOME6),
)

# The forwards and rules above, by verdict, for tests and benchmarks.
TCP_OPEN = 25565
TCP_CLOSED = 25566
TCP_DROP = 25567
TCP_REJECT = 25568
TCP_GHOST = 25569
TCP_HTTP = 8080
UDP_BEDROCK = 19132
UDP_A2S = 27015
UDP_CLOSED = 40000
UDP_DROP = 40001  # no rule: the WAN policy drops it
UDP_REJECT = 40002


class HarnessError(RuntimeError):
    """A command that builds or drives the test internet failed."""


class NetnsUnavailable(HarnessError):
    """This machine cannot build network namespaces at all (not root, iproute2 or iptables missing, ...)."""


def unavailable_reason() -> str | None:
    """Why namespaces cannot be built here, or None when they can."""
    if sys.platform != "linux":
        return "not Linux"
    if os.geteuid() != 0:
        return "not running as root"
    tools = ("ip", "iptables", "iptables-restore", "ip6tables-restore", "iptables-save", "ip6tables-save")
    missing = [tool for tool in tools if shutil.which(tool) is None]
    if missing:
        return "missing " + ", ".join(missing)
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun (needed for the latency link)"
    return None


def _run(argv: Sequence[str], *, input: str | None = None, error: type[HarnessError] = HarnessError) -> str:
    proc = subprocess.run(list(argv), input=input, capture_output=True, text=True, check=False, cwd=REPO_ROOT)
    if proc.returncode != 0:
        raise error(f"`{' '.join(argv)}` failed: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc.stdout


def _set_parent_death_signal() -> None:
    # Runs in the child before exec: if the test process dies, its servers die too instead of pinning the
    # namespace (PR_SET_PDEATHSIG survives exec, including the exec that `ip netns exec` does).
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    libc.prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG


@dataclass(frozen=True)
class Namespace:
    """One network namespace, by name."""

    name: str

    def argv(self, *command: str) -> list[str]:
        return ["ip", "netns", "exec", self.name, *command]

    def run(self, *command: str, input: str | None = None) -> str:
        """Run ``command`` inside the namespace; raise with its stderr if it fails."""
        return _run(self.argv(*command), input=input)

    def sysctl(self, key: str, value: str | int) -> None:
        self.run("sysctl", "-qw", f"{key}={value}")

    def popen(self, command: Sequence[str], **kwargs: object) -> subprocess.Popen[str]:
        """Start ``command`` inside the namespace, from the repository root."""
        return subprocess.Popen(  # type: ignore[call-overload, no-any-return]
            self.argv(*command),
            cwd=REPO_ROOT,
            text=True,
            preexec_fn=_set_parent_death_signal,
            **kwargs,
        )


class ServerProcess:
    """A helper process inside a namespace that prints ``ready`` once it serves.

    Constructing it only spawns the process; :meth:`wait_ready` waits for the line (so several can start
    side by side), :meth:`stop` ends it.
    """

    def __init__(self, ns: Namespace, command: Sequence[str], *, stdin: int = subprocess.DEVNULL) -> None:
        self.command = list(command)
        self._log = tempfile.TemporaryFile(mode="w+")  # noqa: SIM115 - lives as long as the process
        self.proc = ns.popen(command, stdout=subprocess.PIPE, stderr=self._log, stdin=stdin)

    def wait_ready(self, timeout: float = 15.0) -> None:
        """Return once the process printed ``ready``; raise HarnessError if it exits or stays silent."""
        assert self.proc.stdout is not None
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as sel:
            sel.register(self.proc.stdout, selectors.EVENT_READ)
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or not sel.select(left):
                    raise HarnessError(f"{self.command} did not print 'ready': {self.stderr()}")
                line = self.proc.stdout.readline()
                if line.strip() == "ready":
                    return
                if not line:
                    raise HarnessError(f"{self.command} exited before 'ready': {self.stderr()}")

    def stderr(self) -> str:
        self._log.seek(0)
        return self._log.read()[-2000:]

    def terminate(self) -> None:
        """Ask the process to stop (closing its stdin too), without waiting."""
        if self.proc.stdin is not None and not self.proc.stdin.closed:
            self.proc.stdin.close()
        if self.proc.poll() is None:
            self.proc.terminate()

    def stop(self) -> None:
        """Stop the process (killed if it ignores SIGTERM for 5 s) and release its pipes."""
        self.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def server_command(kind: str, host: str, port: int, *extra: str) -> list[str]:
    """The command line for one of the shared fake servers in ``tests/probes/servers.py``."""
    return [sys.executable, "-m", "tests.probes.servers", kind, host, str(port), *extra]


@dataclass
class Internet:
    """A built topology. Namespaces are reachable as attributes; helpers start processes inside them."""

    prober: Namespace
    isp: Namespace
    router: Namespace
    home: Namespace
    latency: float
    _processes: list[ServerProcess] = field(default_factory=list)

    @property
    def namespaces(self) -> tuple[Namespace, ...]:
        return (self.prober, self.isp, self.router, self.home)

    def start(
        self, ns: Namespace, command: Sequence[str], *, stdin: int = subprocess.DEVNULL
    ) -> ServerProcess:
        """Start a process that prints ``ready`` inside ``ns``; it is stopped with the topology."""
        return self.start_all([(ns, command)], stdin=stdin)[0]

    def start_all(
        self, commands: Sequence[tuple[Namespace, Sequence[str]]], *, stdin: int = subprocess.DEVNULL
    ) -> list[ServerProcess]:
        """Start several such processes side by side and wait until every one is ready."""
        servers = []
        for ns, command in commands:
            servers.append(ServerProcess(ns, command, stdin=stdin))
            self._processes.append(servers[-1])
        for server in servers:
            server.wait_ready()
        return servers

    def start_services(self) -> None:
        """Start what listens behind the forwards (see FORWARDS) and the resolver serving NAMES."""
        names = (f"{name}={addr}" for name, addr in (*NAMES, *TRAP_NAMES))
        self.start_all(
            [
                (self.home, server_command("tcp-open", HOME, TRAP_PORT)),
                (self.home, server_command("tcp-open", NAT64_HOME, TRAP_PORT)),
                (self.home, server_command("tcp-open", HOME6, TRAP_PORT)),
                (self.prober, server_command("tcp-open", "127.0.0.1", TRAP_PORT)),
                (self.prober, server_command("tcp-open", "::1", TRAP_PORT)),
                (self.home, server_command("minecraft", HOME, TCP_OPEN)),
                (self.home, server_command("http", HOME, TCP_HTTP)),
                (self.home, server_command("bedrock", HOME, UDP_BEDROCK)),
                (self.home, server_command("a2s", HOME, UDP_A2S)),
                (self.home, server_command("minecraft", HOME6, TCP_OPEN)),
                (self.home, server_command("bedrock", HOME6, UDP_BEDROCK)),
                (self.isp, server_command("dns", RESOLVER, 53, *names)),
            ]
        )

    def offnet_packets(self) -> int:
        """Packets the prober has sent anywhere outside the documentation ranges (should stay 0)."""
        total = 0
        for save in ("iptables-save", "ip6tables-save"):
            lines = self.prober.run(save, "-c", "-t", "filter").splitlines()
            counters = [line for line in lines if f"--comment {OFFNET_COUNTER}" in line]
            if len(counters) != 1:
                raise HarnessError(f"the prober's off-net counter rule is missing from {save}")
            total += int(counters[0][1:].split(":", 1)[0])
        return total

    def counted(self, ns: Namespace, comment: str) -> int:
        """Packets matched by the iptables and ip6tables rules commented ``comment`` in ``ns``."""
        total = 0
        for save in ("iptables-save", "ip6tables-save"):
            for line in ns.run(save, "-c", "-t", "filter").splitlines():
                if line.endswith(f"--comment {comment}") or f"--comment {comment} " in line:
                    total += int(line[1:].split(":", 1)[0])
        return total

    def trap_packets(self) -> int:
        """Packets that reached a trap listener's port (see the module docstring): should stay 0."""
        return self.counted(self.home, TRAP_COUNTER) + self.counted(self.prober, TRAP_COUNTER)

    def close(self) -> None:
        for server in self._processes:
            server.terminate()
        for server in self._processes:
            server.stop()
        self._processes.clear()
        for ns in self.namespaces:
            _delete_namespace(ns.name)


_counter = itertools.count()
_NAME = re.compile(rf"^{PREFIX}(\d+)-\d+-[a-z]+$")


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _delete_namespace(name: str) -> None:
    # Processes pin a namespace after its name is gone, so end the ones still inside it first.
    pids = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True, check=False)
    for pid in pids.stdout.split():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    subprocess.run(["ip", "netns", "delete", name], capture_output=True, check=False)


def list_namespaces() -> list[str]:
    """Names of all namespaces this harness ever created that still exist."""
    out = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return [line.split()[0] for line in out.splitlines() if line.startswith(PREFIX)]


def remove_stale_namespaces() -> list[str]:
    """Delete ``pb-<pid>-…`` namespaces whose creating process is gone. Returns their names."""
    stale = []
    for name in list_namespaces():
        match = _NAME.match(name)
        if match and not _pid_alive(int(match.group(1))):
            _delete_namespace(name)
            stale.append(name)
    return stale


def _router_rules() -> str:
    nat = [
        f"-A PREROUTING -i wan -p {f.protocol} --dport {f.port} -j DNAT --to-destination {f.host}:{f.to_port}"
        for f in FORWARDS
    ]
    return "\n".join(
        [
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            *nat,
            "-A POSTROUTING -o wan -j MASQUERADE",
            "COMMIT",
            "*filter",
            ":INPUT DROP [0:0]",
            ":FORWARD DROP [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            "-A INPUT -i lo -j ACCEPT",
            "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "-A INPUT -i lan -j ACCEPT",
            *(f"-A INPUT -d {address} -p icmp --icmp-type echo-request -j DROP" for address in NO_PING),
            "-A INPUT -p icmp --icmp-type echo-request -j ACCEPT",
            *WAN_RULES,
            "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "-A FORWARD -i lan -o wan -j ACCEPT",
            "-A FORWARD -i wan -o lan -m conntrack --ctstate DNAT -j ACCEPT",
            f"-A FORWARD -i wan -o lan -d {HOME} -p tcp --dport {TRAP_PORT} -j ACCEPT",  # the trap
            "COMMIT",
            "",
        ]
    )


def _prober_rules(version: int) -> str:
    # Counts (never blocks) every packet the prober sends outside the test internet: the tests assert it
    # stays at zero, e.g. after the safety policy refuses a private target. Link-local and multicast
    # IPv6 (neighbour discovery) are the link's own business.
    allowed = [net for net in INTERNET_ALLOW if (":" in net) == (version == 6)]
    if version == 6:
        allowed += ["fe80::/10", "ff00::/8"]
    return "\n".join(
        [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":FORWARD ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            f"-A OUTPUT -o lo -p tcp --dport {TRAP_PORT} -m comment --comment {TRAP_COUNTER}",
            "-A OUTPUT -o lo -j ACCEPT",
            *(f"-A OUTPUT -d {net} -j ACCEPT" for net in allowed),
            f"-A OUTPUT -m comment --comment {OFFNET_COUNTER}",
            "COMMIT",
            "",
        ]
    )


def _router_rules6() -> str:
    # A home router's IPv6 firewall: ICMPv6 always passes (neighbour discovery, path MTU, errors; RFC 4890),
    # inbound connections only where a rule opens the way.
    return "\n".join(
        [
            "*filter",
            ":INPUT DROP [0:0]",
            ":FORWARD DROP [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            "-A INPUT -i lo -j ACCEPT",
            "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "-A INPUT -p ipv6-icmp -j ACCEPT",
            "-A INPUT -i lan -j ACCEPT",
            "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            "-A FORWARD -p ipv6-icmp -j ACCEPT",
            "-A FORWARD -i lan -o wan -j ACCEPT",
            *HOME6_RULES,
            f"-A FORWARD -i wan -d {NAT64_HOME} -p tcp --dport {TRAP_PORT} -j ACCEPT",  # the trap
            f"-A FORWARD -i wan -d {HOME6} -p tcp --dport {TRAP_PORT} -j ACCEPT",  # the traps' positive control
            "COMMIT",
            "",
        ]
    )


def _home_rules() -> str:
    # Counts (never blocks) what reaches the trap port on the home server, over IPv4 or IPv6.
    return "\n".join(
        [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":FORWARD ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            f"-A INPUT -p tcp --dport {TRAP_PORT} -m comment --comment {TRAP_COUNTER}",
            "COMMIT",
            "",
        ]
    )


def _link(a: Namespace, a_if: str, b: Namespace, b_if: str) -> None:
    # Both ends are created directly inside their namespaces, so no interface ever sits in the host's
    # namespace (nothing to leak there if a run is killed half-way).
    _run(["ip", "link", "add", a_if, "netns", a.name, "type", "veth", "peer", b_if, "netns", b.name])


def _build(internet: Internet) -> None:
    prober, isp, router, home = internet.namespaces
    for ns in internet.namespaces:
        # The first thing that needs privileges: failing here means this machine cannot do it at all.
        _run(["ip", "netns", "add", ns.name], error=NetnsUnavailable)
        # Before any interface exists, so none of them holds its IPv6 addresses "tentative" for a second.
        ns.sysctl("net.ipv6.conf.default.accept_dad", 0)
        ns.sysctl("net.ipv6.conf.all.accept_dad", 0)
    _link(prober, "eth0", isp, "down0")
    _link(isp, "down1", router, "wan")
    _link(router, "lan", home, "eth0")
    batches = {
        prober: [
            f"addr add {PROBER}/24 dev eth0",
            "link set lo up",
            "link set eth0 up",
            f"route add default via {ISP_PROBER_SIDE}",
            f"addr add {PROBER6}/64 dev eth0",
            f"route add default via {ISP6_PROBER_SIDE}",
        ],
        isp: [
            f"addr add {ISP_PROBER_SIDE}/24 dev down0",
            f"addr add {RESOLVER}/24 dev down0",
            f"addr add {ISP_HOME_SIDE}/24 dev down1",
            "link set lo up",
            "link set down0 up",
            "link set down1 up",
            f"route add unreachable {NO_ROUTE_NET}",
            f"addr add {ISP6_PROBER_SIDE}/64 dev down0",
            f"addr add {ISP6_HOME_SIDE}/64 dev down1",
            f"route add {HOME_NET6} via {ROUTER_WAN6}",
            f"route add unreachable {NO_ROUTE_NET6}",
            # The traps' routes: the home LAN and the NAT64 prefix lead to the router (see the docstring).
            f"route add 192.168.77.0/24 via {ROUTER_WAN}",
            f"route add 64:ff9b::/96 via {ROUTER_WAN6}",
        ],
        router: [
            f"addr add {ROUTER_WAN}/24 dev wan",
            f"addr add {ROUTER_WAN_SLOW}/32 dev wan",
            f"addr add {ROUTER_WAN_NOPING}/32 dev wan",
            f"addr add {ROUTER_WAN_TCP_SLOW}/32 dev wan",
            f"addr add {ROUTER_WAN_NOPING_SLOW}/32 dev wan",
            *(f"addr add {address}/32 dev wan" for address in FAR_PATHS),
            f"addr add {ROUTER_LAN}/24 dev lan",
            "link set lo up",
            "link set wan up",
            "link set lan up",
            f"route add default via {ISP_HOME_SIDE}",
            f"addr add {ROUTER_WAN6}/64 dev wan",
            f"addr add {ROUTER_LAN6}/64 dev lan",
            f"route add default via {ISP6_HOME_SIDE}",
            f"route add 64:ff9b::/96 via {HOME6}",
        ],
        home: [
            f"addr add {HOME}/24 dev eth0",
            "link set lo up",
            "link set eth0 up",
            f"route add default via {ROUTER_LAN}",
            f"addr add {HOME6}/64 dev eth0",
            f"addr add {NAT64_HOME}/128 dev eth0",
            f"route add default via {ROUTER_LAN6}",
        ],
    }
    for ns, lines in batches.items():
        _run(["ip", "-n", ns.name, "-batch", "-"], input="\n".join(lines) + "\n")
    for ns in (isp, router):
        ns.sysctl("net.ipv4.ip_forward", 1)
        ns.sysctl("net.ipv6.conf.all.forwarding", 1)
    # Let the prober ping without root, as most distributions let any user: the engine then uses the
    # unprivileged ICMP datagram socket, as it would when deployed (tests/probes/test_ping.py covers raw ones).
    prober.sysctl("net.ipv4.ping_group_range", "0 2147483647")
    for ns in internet.namespaces:
        # The kernel rate-limits ICMP errors per destination (a burst of 6, then one a second). Real routers
        # do too, but here it would turn the later of many closed/REJECT probes into silence.
        ns.sysctl("net.ipv4.icmp_ratelimit", 0)
        ns.sysctl("net.ipv6.icmp.ratelimit", 0)
    router.run("iptables-restore", input=_router_rules())
    router.run("ip6tables-restore", input=_router_rules6())
    prober.run("iptables-restore", input=_prober_rules(4))
    prober.run("ip6tables-restore", input=_prober_rules(6))
    home.run("iptables-restore", input=_home_rules())
    home.run("ip6tables-restore", input=_home_rules())
    _start_delay_line(internet)


def _delay_line(tun: str, out: str, mac: str, delay: float) -> list[str]:
    return [
        sys.executable,
        "-m",
        "tests.probes.netns._delayline",
        *("--tun", tun, "--out", out, "--mac", mac, "--delay", str(delay)),
    ]


def _start_delay_line(internet: Internet) -> None:
    # netem is the usual tool for latency but many kernels (this CI's included) are built without it; a tun
    # device whose reader holds every packet for ``latency`` seconds works on any kernel with tun.
    router_mac = _run(["ip", "-n", internet.router.name, "-br", "link", "show", "wan"]).split()[2]
    isp_mac = _run(["ip", "-n", internet.isp.name, "-br", "link", "show", "down0"]).split()[2]
    far = {f"far{round(delay * 1000)}": (address, delay) for address, delay in FAR_PATHS.items()}
    internet.start_all(
        [
            (internet.isp, _delay_line("slow", "down1", router_mac, internet.latency)),
            *((internet.prober, _delay_line(tun, "eth0", isp_mac, d)) for tun, (_a, d) in far.items()),
        ]
    )
    # The far paths' answers come straight back on eth0, not through the tun they left by.
    for key in ("all", "default", "eth0"):
        internet.prober.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)
    _run(
        ["ip", "-n", internet.prober.name, "-batch", "-"],
        input="".join(
            f"link set {tun} up\nroute add {address}/32 dev {tun} src {PROBER}\n"
            for tun, (address, _d) in far.items()
        ),
    )
    _run(
        ["ip", "-n", internet.isp.name, "-batch", "-"],
        input=(
            "link set slow up\n"
            f"route add {ROUTER_WAN_SLOW}/32 dev slow\n"
            f"route add {ROUTER_WAN_NOPING_SLOW}/32 dev slow\n"
            # TCP to ROUTER_WAN_TCP_SLOW takes the delay line, ICMP the direct link: a host whose pings
            # answer far sooner than its SYN-ACKs, which must not make a slow but open port look filtered.
            f"route add {ROUTER_WAN_TCP_SLOW}/32 dev slow table 100\n"
            f"rule add to {ROUTER_WAN_TCP_SLOW}/32 ipproto tcp lookup 100\n"
        ),
    )


@contextlib.contextmanager
def build_internet(*, latency: float = 0.2) -> Iterator[Internet]:
    """Build the test internet, yield it, and always remove every namespace and process it made.

    Raises :class:`NetnsUnavailable` (with the reason) when this machine cannot build it.
    """
    reason = unavailable_reason()
    if reason:
        raise NetnsUnavailable(reason)
    remove_stale_namespaces()
    n = next(_counter)
    prober, isp, router, home = (
        Namespace(f"{PREFIX}{os.getpid()}-{n}-{role}") for role in ("prober", "isp", "router", "home")
    )
    internet = Internet(prober=prober, isp=isp, router=router, home=home, latency=latency)
    try:
        _build(internet)
        yield internet
    finally:
        internet.close()
