"""Peak memory of 10,000 concurrent filtered probes (target: under 300 MB RSS), inside the test internet.

Run as root from the repository root (builds and removes its own network namespaces; sends nothing
outside them):

    sudo .venv/bin/python bench/probe_memory.py                  # 10,000 probes, writes bench/results/probes.md
    sudo .venv/bin/python bench/probe_memory.py --count 2000 --print-only

Every probe aims at the router's DROP rule (tcp/25567) on its address that drops pings, so no echo reply
shortens the wait (``icmp_rtt`` stays on, as deployed; ``ttl_rtt`` is turned off, or the ISP hop's
time-exceeded would call silence at 0.8 s) and every socket waits for its whole deadline: the worst case
for memory. The probes run in one process inside the ``prober`` namespace, with RLIMIT_NOFILE
raised to fit them; that process is given ``--limit`` seconds before it is killed. The router's counter for
the DROP rule is reported too (first SYNs plus the kernel's retries), to show the probes really went out.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import resource
import subprocess
import sys
import time

import _common
import _netns

from tests.probes.netns.topology import INTERNET_ALLOW, ROUTER_WAN_NOPING, TCP_DROP, Internet, build_internet


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def _inner(count: int, timeout: float) -> dict[str, object]:
    from probes.engine import EngineConfig, ProbeEngine
    from probes.models import ProbeRequest
    from probes.policy import SafetyPolicy

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = count + 1024
    if soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, max(hard, wanted)))
    engine = ProbeEngine(
        SafetyPolicy.from_strings(allow=INTERNET_ALLOW),
        EngineConfig(timeout=timeout, identify=False, ttl_rtt=False),
    )
    request = ProbeRequest(target=ROUTER_WAN_NOPING, ports=(TCP_DROP,), protocol="tcp")
    baseline = _rss_mb()
    peak_fds = 0
    done = asyncio.Event()

    async def watch_fds() -> None:
        nonlocal peak_fds
        while not done.is_set():
            peak_fds = max(peak_fds, len(os.listdir("/proc/self/fd")))
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch_fds())
    start = time.perf_counter()
    outcomes = await asyncio.gather(*(engine.probe(request) for _ in range(count)), return_exceptions=True)
    elapsed = time.perf_counter() - start
    done.set()
    await watcher
    states: collections.Counter[str] = collections.Counter()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            states[f"error: {type(outcome).__name__}: {outcome}"[:120]] += 1
        else:
            states.update(str(r.state) for r in outcome.results)
    return {
        "count": count,
        "timeout": timeout,
        "elapsed_s": elapsed,
        "baseline_rss_mb": baseline,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "peak_fds": peak_fds,
        "states": dict(states),
    }


def _dropped_syns(internet: Internet) -> int:
    """Packets the router's DROP rule for tcp/25567 has eaten: proof the probes really went out."""
    out = internet.router.run("iptables", "-L", "INPUT", "-v", "-x", "-n")
    for line in out.splitlines():
        if "DROP" in line and f"dpt:{TCP_DROP}" in line:
            return int(line.split()[0])
    raise RuntimeError("the router's DROP rule is missing")


def render(result: dict[str, object]) -> str:
    peak = float(result["peak_rss_mb"])  # type: ignore[arg-type]
    states = ", ".join(f"{n} × {s}" for s, n in result["states"].items())  # type: ignore[attr-defined]
    return "\n".join(
        [
            f"## Memory: {result['count']:,} concurrent filtered probes",
            "",
            f"Machine: {_common.machine()}. Target: tcp/{TCP_DROP} on the router (DROP) at its address that "
            "drops pings, "
            f"EngineConfig(timeout={result['timeout']}, identify=False, ttl_rtt=False), one process, one event loop.",
            "",
            "| probes | wall time | RSS before | peak RSS | peak open fds | SYNs the router dropped | verdicts "
            "| target < 300 MB |",
            "|---:|---:|---:|---:|---:|---:|---|---|",
            f"| {result['count']:,} | {float(result['elapsed_s']):.1f} s | "  # type: ignore[arg-type]
            f"{float(result['baseline_rss_mb']):.0f} MB | {peak:.0f} MB | {result['peak_fds']} | "
            f"{result['router_drops']:,} | "  # type: ignore[arg-type]
            f"{states} | {'met' if peak < 300 else 'MISSED'} |",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Peak RSS of many concurrent filtered probes.")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=3.0, help="EngineConfig.timeout for every probe")
    parser.add_argument(
        "--limit", type=float, default=300, help="seconds before the probing process is killed"
    )
    parser.add_argument("--print-only", action="store_true", help="print the table, do not write the results")
    parser.add_argument("--inner", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inner:
        print(json.dumps(asyncio.run(_inner(args.count, args.timeout))))
        return
    _netns.require_netns()
    with build_internet() as internet:
        before = _dropped_syns(internet)
        command = [sys.executable, "bench/probe_memory.py", "--inner", "--count", str(args.count)]
        command += ["--timeout", str(args.timeout)]
        proc = subprocess.run(
            internet.prober.argv(*command),
            cwd=_netns.REPO_ROOT,
            capture_output=True,
            text=True,
            timeout=args.limit,
            check=False,
        )
        dropped = _dropped_syns(internet) - before
    if proc.returncode != 0:
        sys.exit(f"the probing process failed:\n{proc.stderr[-3000:]}")
    table = render({**json.loads(proc.stdout), "router_drops": dropped})
    print(table)
    if not args.print_only:
        print(f"written to {_netns.write_section('probe_memory', table)}", file=sys.stderr)


if __name__ == "__main__":
    main()
