"""Homes for "check my own server": one NAT router running miniupnpd, CGNAT, double NAT.

::

    worker ──────────── isp ─────────────── [front] ─────────────── router ──────────────── home
    198.51.100.10/24    198.51.100.1/24     plain: none             WAN (per lab, below)    192.168.77.10/24
    (the real probe     203.0.113.1/24      cgnat: ISP NAT          LAN 192.168.77.1/24     runs `portbot
     worker, :8471)                           203.0.113.30 outside  MASQUERADE, a forward     listen`
                                              100.64.0.1/10 inside    of FORWARDED to home
                                            double: provider box    miniupnpd (UPnP IGD,
                                              203.0.113.40 outside    NAT-PMP, PCP) on the LAN,
                                              192.168.1.1/24 inside   STUN responder on WAN

    lab      router WAN       public address (what the worker sees)
    plain    203.0.113.20     203.0.113.20
    cgnat    100.64.0.20      203.0.113.30 (the ISP's NAT)
    double   192.168.1.20     203.0.113.40 (the provider box's NAT)

Only documentation ranges play the internet, 100.64.0.0/10 the ISP's CGNAT side and private ranges the LANs.
miniupnpd treats every reserved WAN address as "not public" and reports none, unless it learns one over STUN;
a STUN responder bound to the router's own WAN address makes it report exactly that address
(/work/shared/notes/miniupnpd-in-netns.md). The worker's and the home's OUTPUT are counted off-net, as the
main topology does for the prober: the tests assert nothing left the lab. Names carry the pid, as in
topology.py, and everything is removed afterwards.

For timing, a lab can add latency with tun delay lines (tests/probes/netns/_delayline.py): ``delay`` holds
every packet the worker sends towards the homes (203.0.113.0/24) that long, "the internet" between them, so
the ISP's time-exceeded comes back as late as the router's own answers would; ``slow_lan`` holds the
router's forwarded TCP to the home machine's FORWARDED port that much longer again, a server on a slower LAN
segment than the device that opens the link. The home router drops pings (WAN input policy DROP).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from tests.probes.netns.topology import (
    INTERNET_ALLOW,
    OFFNET_COUNTER,
    PREFIX,
    HarnessError,
    Namespace,
    NetnsUnavailable,
    ServerProcess,
    _delay_line,
    _delete_namespace,
    _link,
    _prober_rules,
    _run,
    remove_stale_namespaces,
    unavailable_reason,
)

WORKER = "198.51.100.10"
WORKER_PORT = 8471
ISP_WORKER_SIDE = "198.51.100.1"
ISP_HOME_SIDE = "203.0.113.1"
ROUTER_LAN = "192.168.77.1"
HOME = "192.168.77.10"
FORWARDED = 25565  # the router forwards it to the home machine
NOT_FORWARDED = 25566  # no forward anywhere
SSDP = "239.255.255.250"
HOMES = "203.0.113.0/24"  # every lab's public side, behind ``delay`` when a lab has one


@dataclass(frozen=True)
class Plan:
    """One lab: the router's WAN address and, with a front NAT, its outside and inside addresses."""

    name: str
    router_wan: str
    router_prefix: int
    router_gateway: str
    public: str
    front: tuple[str, str, int] | None = None  # (outside address, inside address, inside prefix)


PLANS = {
    "plain": Plan("plain", "203.0.113.20", 24, ISP_HOME_SIDE, "203.0.113.20"),
    "cgnat": Plan(
        "cgnat", "100.64.0.20", 10, "100.64.0.1", "203.0.113.30", ("203.0.113.30", "100.64.0.1", 10)
    ),
    "double": Plan(
        "double", "192.168.1.20", 24, "192.168.1.1", "203.0.113.40", ("203.0.113.40", "192.168.1.1", 24)
    ),
}


def lab_unavailable_reason() -> str | None:
    """Why the labs can't run here, or None."""
    reason = unavailable_reason()
    if reason:
        return reason
    if shutil.which("miniupnpd") is None:
        return "miniupnpd is not installed (scripts/install-system-deps.sh miniupnpd miniupnpc)"
    return None


@dataclass
class Lab:
    plan: Plan
    worker: Namespace
    isp: Namespace
    front: Namespace | None
    router: Namespace
    home: Namespace
    workdir: Path
    secret: str = "lab-secret-for-selfcheck"
    delay: float | None = None  # one-way, worker → homes (see the module docstring)
    slow_lan: float | None = None  # one-way, router → home machine, for TCP to FORWARDED only
    engine: dict[str, object] | None = None  # the worker's EngineConfig fields; None: _lab_worker's FAST
    _worker: ServerProcess | None = None
    _servers: list[ServerProcess] = field(default_factory=list)
    _daemons: list[subprocess.Popen[str]] = field(default_factory=list)

    @property
    def namespaces(self) -> tuple[Namespace, ...]:
        return tuple(
            ns for ns in (self.worker, self.isp, self.front, self.router, self.home) if ns is not None
        )

    @property
    def worker_url(self) -> str:
        return f"http://{WORKER}:{WORKER_PORT}"

    def create_link(self, *ports: int) -> str:
        """A one-time link from the worker's signed API, asked from inside the worker namespace."""
        code = (
            "import json, sys, uuid, httpx\n"
            "from probes.auth import sign\n"
            "body = json.dumps({'ports': [int(p) for p in sys.argv[3:]], 'protocol': 'tcp',"
            " 'requester': {'platform': 'discord', 'user_id': '1'}, 'request_id': uuid.uuid4().hex}).encode()\n"
            "r = httpx.post(sys.argv[2] + '/v1/links', content=body, headers=sign(sys.argv[1], body), timeout=10)\n"
            "r.raise_for_status(); print(r.json()['url'])\n"
        )
        out = self.worker.run(sys.executable, "-c", code, self.secret, self.worker_url, *map(str, ports))
        return out.strip()

    def create_link_data(self, *ports: int) -> dict[str, object]:
        """Like :meth:`create_link`, the whole link (``id``, ``url``, …) as the worker returned it."""
        code = (
            "import json, sys, uuid, httpx\n"
            "from probes.auth import sign\n"
            "body = json.dumps({'ports': [int(p) for p in sys.argv[3:]], 'protocol': 'tcp',"
            " 'requester': {'platform': 'discord', 'user_id': '1'}, 'request_id': uuid.uuid4().hex}).encode()\n"
            "r = httpx.post(sys.argv[2] + '/v1/links', content=body, headers=sign(sys.argv[1], body), timeout=10)\n"
            "r.raise_for_status(); print(json.dumps(r.json()))\n"
        )
        out = self.worker.run(sys.executable, "-c", code, self.secret, self.worker_url, *map(str, ports))
        return dict(json.loads(out))

    def visit(self, url: str) -> tuple[int, float]:
        """Open ``url`` from the home machine as a browser would: (HTTP status, seconds until the page came)."""
        code = (
            "import sys, time, urllib.request, urllib.error\n"
            "t = time.perf_counter()\n"
            "try:\n    status = urllib.request.urlopen(sys.argv[1], timeout=30).status\n"
            "except urllib.error.HTTPError as err:\n    status = err.code\n"
            "print(status, time.perf_counter() - t)\n"
        )
        status, seconds = self.home.run(sys.executable, "-c", code, url).split()
        return int(status), float(seconds)

    def link_result(self, link_id: str) -> dict[str, object]:
        """The worker's result for a visited link (its signed status API, asked from the worker namespace)."""
        code = (
            "import json, sys, uuid, httpx\n"
            "from probes.auth import sign\n"
            "path = f'/v1/links/{sys.argv[3]}?wait=0&n={uuid.uuid4().hex}'\n"
            "r = httpx.get(sys.argv[2] + path, headers=sign(sys.argv[1], path.encode()), timeout=10)\n"
            "r.raise_for_status(); print(json.dumps(r.json()))\n"
        )
        out = self.worker.run(sys.executable, "-c", code, self.secret, self.worker_url, link_id)
        return dict(json.loads(out))

    def restart_worker(self, engine: dict[str, object] | None = None) -> None:
        """Start the worker afresh (nothing remembered), with ``engine`` as its EngineConfig fields."""
        self.engine = engine
        if self._worker is not None:
            self._worker.stop()
            self._servers.remove(self._worker)
        command = [
            sys.executable,
            "-m",
            "tests.probes.netns._lab_worker",
            self.secret,
            WORKER,
            str(WORKER_PORT),
        ]
        if engine is not None:
            command.append(json.dumps(engine))
        self._worker = ServerProcess(self.worker, command)
        self._servers.append(self._worker)
        self._worker.wait_ready()

    def listen(self, *args: str, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
        """``portbot listen ARGS`` on the home machine."""
        return subprocess.run(
            self.home.argv(sys.executable, "-m", "bot", "listen", *args),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
            cwd=Path(__file__).resolve().parents[3],
            env={k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))},
        )

    def miniupnpd_log(self) -> str:
        """What miniupnpd wrote so far (it logs each NAT-PMP and PCP request, and each mapping)."""
        return (self.workdir / "miniupnpd.log").read_text(errors="replace")

    def offnet_packets(self) -> int:
        """Packets the worker or the home machine sent outside the lab's ranges (should stay 0)."""
        total = 0
        for ns in (self.worker, self.home):
            lines = ns.run("iptables-save", "-c", "-t", "filter").splitlines()
            counters = [line for line in lines if f"--comment {OFFNET_COUNTER}" in line]
            if len(counters) != 1:
                raise HarnessError(f"the off-net counter is missing in {ns.name}")
            total += int(counters[0][1:].split(":", 1)[0])
        return total

    def close(self) -> None:
        for daemon in self._daemons:
            if daemon.poll() is None:
                daemon.terminate()
                try:
                    daemon.wait(5)
                except subprocess.TimeoutExpired:
                    daemon.kill()
                    daemon.wait()
            if daemon.stdout is not None:
                daemon.stdout.close()
        for server in self._servers:
            server.stop()
        for ns in self.namespaces:
            _delete_namespace(ns.name)
        shutil.rmtree(self.workdir, ignore_errors=True)


def _nat_rules(outside: str, *, forward: tuple[int, str] | None) -> str:
    dnat = (
        [f"-A PREROUTING -i {outside} -p tcp --dport {forward[0]} -j DNAT --to-destination {forward[1]}"]
        if forward
        else []
    )
    inside = "lan" if outside == "wan" else "in0"
    return "\n".join(
        [
            "*nat",
            ":PREROUTING ACCEPT [0:0]",
            ":INPUT ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            ":POSTROUTING ACCEPT [0:0]",
            *dnat,
            f"-A POSTROUTING -o {outside} -j MASQUERADE",
            "COMMIT",
            "*filter",
            ":INPUT DROP [0:0]",
            ":FORWARD DROP [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            "-A INPUT -i lo -j ACCEPT",
            "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            f"-A INPUT -i {inside} -j ACCEPT",
            "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
            f"-A FORWARD -i {inside} -o {outside} -j ACCEPT",
            f"-A FORWARD -i {outside} -o {inside} -m conntrack --ctstate DNAT -j ACCEPT",
            "COMMIT",
            "",
        ]
    )


def _home_rules() -> str:
    # Counts (never blocks) what the home machine sends outside its LAN, the documentation ranges and the
    # SSDP multicast group that a UPnP search uses on the LAN.
    allowed = ["192.168.77.0/24", SSDP, *(n for n in INTERNET_ALLOW if ":" not in n)]
    return "\n".join(
        [
            "*filter",
            ":INPUT ACCEPT [0:0]",
            ":FORWARD ACCEPT [0:0]",
            ":OUTPUT ACCEPT [0:0]",
            "-A OUTPUT -o lo -j ACCEPT",
            *(f"-A OUTPUT -d {net} -j ACCEPT" for net in allowed),
            f"-A OUTPUT -m comment --comment {OFFNET_COUNTER}",
            "COMMIT",
            "",
        ]
    )


def _miniupnpd_conf(lab: Lab) -> str:
    wan = lab.plan.router_wan
    return "\n".join(
        [
            "ext_ifname=wan",
            "listening_ip=lan",
            "http_port=5000",
            "enable_upnp=yes",
            "enable_natpmp=yes",
            "secure_mode=yes",
            # Reserved WAN addresses are reported only when learnt over STUN (see the module docstring).
            "ext_perform_stun=yes",
            f"ext_stun_host={wan}",
            "ext_stun_port=3478",
            "upnp_table_name=miniupnpd",
            "upnp_nat_table_name=miniupnpd",
            f"minissdpdsocket={lab.workdir / 'minissdpd.sock'}",
            "uuid=3d3cec3a-8cf0-11e0-98ee-001a6bd2d07b",
            "allow 1024-65535 192.168.77.0/24 1024-65535",
            "deny 0-65535 0.0.0.0/0 0-65535",
            "",
        ]
    )


# miniupnpd's nftables backend adds its port mappings (a PCP MAP's, a UPnP AddPortMapping's) to chains it
# expects to exist (Debian's /etc/miniupnpd/nft_init.sh makes them). Here they sit in a table of their own
# whose base chains accept: the lab's iptables rules above still decide what passes.
_MINIUPNPD_NFT = """
table inet miniupnpd {
    chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
    chain miniupnpd { }
    chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
    chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
    chain prerouting_miniupnpd { }
    chain postrouting_miniupnpd { }
}
"""


def _build(lab: Lab) -> None:
    plan = lab.plan
    for ns in lab.namespaces:
        _run(["ip", "netns", "add", ns.name], error=NetnsUnavailable)
    _link(lab.worker, "eth0", lab.isp, "down0")
    batches: dict[Namespace, list[str]] = {
        lab.worker: [
            f"addr add {WORKER}/24 dev eth0",
            "link set lo up",
            "link set eth0 up",
            f"route add default via {ISP_WORKER_SIDE}",
        ],
        lab.isp: [
            f"addr add {ISP_WORKER_SIDE}/24 dev down0",
            f"addr add {ISP_HOME_SIDE}/24 dev down1",
            "link set lo up",
            "link set down0 up",
            "link set down1 up",
        ],
        lab.router: [
            f"addr add {plan.router_wan}/{plan.router_prefix} dev wan",
            f"addr add {ROUTER_LAN}/24 dev lan",
            "link set lo up",
            "link set wan up",
            "link set lan up",
            f"route add default via {plan.router_gateway}",
        ],
        lab.home: [
            f"addr add {HOME}/24 dev eth0",
            "link set lo up",
            "link set eth0 up",
            f"route add default via {ROUTER_LAN}",
        ],
    }
    if lab.front is not None and plan.front is not None:
        outside, inside, prefix = plan.front
        _link(lab.isp, "down1", lab.front, "out0")
        _link(lab.front, "in0", lab.router, "wan")
        batches[lab.front] = [
            f"addr add {outside}/24 dev out0",
            f"addr add {inside}/{prefix} dev in0",
            "link set lo up",
            "link set out0 up",
            "link set in0 up",
            f"route add default via {ISP_HOME_SIDE}",
        ]
    else:
        _link(lab.isp, "down1", lab.router, "wan")
    _link(lab.router, "lan", lab.home, "eth0")
    for ns, lines in batches.items():
        _run(["ip", "-n", ns.name, "-batch", "-"], input="\n".join(lines) + "\n")
    for forwarder in (lab.isp, lab.front, lab.router):
        if forwarder is not None:
            forwarder.sysctl("net.ipv4.ip_forward", 1)
    lab.router.run("iptables-restore", input=_nat_rules("wan", forward=(FORWARDED, f"{HOME}:{FORWARDED}")))
    if lab.front is not None:
        lab.front.run("iptables-restore", input=_nat_rules("out0", forward=None))
    lab.router.run("nft", "-f", "-", input=_MINIUPNPD_NFT)
    lab.worker.run("iptables-restore", input=_prober_rules(4))
    lab.home.run("iptables-restore", input=_home_rules())


def _start(lab: Lab) -> None:
    plan = lab.plan
    stun = ServerProcess(lab.router, [sys.executable, "-m", "tests.probes.netns._stun", plan.router_wan])
    lab._servers.append(stun)
    stun.wait_ready()
    _start_delay_lines(lab)
    lab.restart_worker(lab.engine)
    conf = lab.workdir / "miniupnpd.conf"
    conf.write_text(_miniupnpd_conf(lab), encoding="ascii")
    log = (lab.workdir / "miniupnpd.log").open("w")
    lab._daemons.append(
        lab.router.popen(
            ["miniupnpd", "-d", "-f", str(conf), "-P", str(lab.workdir / "miniupnpd.pid")],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    log.close()
    _wait_for_natpmp(lab)


def _start_delay_lines(lab: Lab) -> None:
    if lab.delay is not None:
        isp_mac = _run(["ip", "-n", lab.isp.name, "-br", "link", "show", "down0"]).split()[2]
        line = ServerProcess(lab.worker, _delay_line("late", "eth0", isp_mac, lab.delay))
        lab._servers.append(line)
        line.wait_ready()
        # The homes' answers come straight back on eth0, not through the tun the worker's packets left by.
        for key in ("all", "default", "eth0"):
            lab.worker.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)
        _run(
            ["ip", "-n", lab.worker.name, "-batch", "-"],
            input=f"link set late up\nroute add {HOMES} dev late src {WORKER}\n",
        )
    if lab.slow_lan is not None:
        home_mac = _run(["ip", "-n", lab.home.name, "-br", "link", "show", "eth0"]).split()[2]
        line = ServerProcess(lab.router, _delay_line("slowlan", "lan", home_mac, lab.slow_lan))
        lab._servers.append(line)
        line.wait_ready()
        # After the forward's DNAT, TCP to FORWARDED takes the delay line; its answers come back on lan.
        for key in ("all", "default", "lan"):
            lab.router.sysctl(f"net.ipv4.conf.{key}.rp_filter", 0)
        _run(
            ["ip", "-n", lab.router.name, "-batch", "-"],
            input=(
                "link set slowlan up\n"
                f"route add {HOME}/32 dev slowlan table 100\n"
                f"rule add to {HOME}/32 ipproto tcp dport {FORWARDED} lookup 100\n"
            ),
        )
        lab.router.run(
            "iptables",
            "-A",
            "FORWARD",
            "-i",
            "wan",
            "-o",
            "slowlan",
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "-j",
            "ACCEPT",
        )


def _wait_for_natpmp(lab: Lab, timeout: float = 20.0) -> None:
    # miniupnpd answers NAT-PMP only after its STUN round (about 3 s): ask until it reports the WAN address.
    code = (
        "import sys\nfrom probes.listen_standalone import natpmp_external_address as q\n"
        "print(q(sys.argv[1], timeout=1.0) or '')"
    )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if lab.home.run(sys.executable, "-c", code, ROUTER_LAN).strip() == lab.plan.router_wan:
            return
    log = lab.miniupnpd_log()[-2000:]
    raise HarnessError(f"miniupnpd never reported {lab.plan.router_wan} over NAT-PMP: {log}")


_counter = itertools.count()


@contextlib.contextmanager
def build_lab(
    name: str,
    *,
    delay: float | None = None,
    slow_lan: float | None = None,
    engine: dict[str, object] | None = None,
) -> Iterator[Lab]:
    """Build one lab (see PLANS), yield it, and always remove every namespace and process it made.

    ``delay``, ``slow_lan`` and ``engine``: see :class:`Lab` and the module docstring."""
    reason = lab_unavailable_reason()
    if reason:
        raise NetnsUnavailable(reason)
    remove_stale_namespaces()
    plan = PLANS[name]
    n = next(_counter)

    def ns(role: str) -> Namespace:
        # "lab" keeps these apart from the test internet's pb-<pid>-<n>-<role>, built in the same process with a
        # counter of its own: a clash made a lab skip and then remove the internet's namespaces on its way out.
        return Namespace(f"{PREFIX}{os.getpid()}-lab{n}-{role}")

    lab = Lab(
        plan=plan,
        worker=ns("worker"),
        isp=ns("isp"),
        front=ns("front") if plan.front else None,
        router=ns("router"),
        home=ns("home"),
        workdir=Path(tempfile.mkdtemp(prefix="portbot-lab-")),
        delay=delay,
        slow_lan=slow_lan,
        engine=engine,
    )
    try:
        _build(lab)
        _start(lab)
        yield lab
    finally:
        lab.close()
