"""How fast a one-time link's filtered verdict comes, with and without the visit's own TCP_INFO RTT.

Run as root from the repository root (builds and removes its own network namespaces, the self-check lab of
tests/probes/netns/selfcheck_lab.py; sends nothing outside them):

    sudo .venv/bin/python bench/selfcheck_speed_bench.py              # 3 runs per case, writes bench/results/selfcheck.md
    sudo .venv/bin/python bench/selfcheck_speed_bench.py --runs 5 --print-only

For each one-way path delay (worker → home; the home router drops pings, the ISP hop in front of it answers
"time exceeded" as late as the router would), the real worker is started afresh for every run and the link,
for a port the router drops, is opened from the home machine. The time is the visit's wall time, from the
request until the page with the verdict arrived (so it includes the page's own round trips). Two engines:

- "no other RTT": ``ttl_rtt`` off, so with pings dropped nothing but the visit can give the path's RTT;
- "deployed defaults": ``ttl_rtt`` on too (TTL-limited SYNs learn the RTT from the ISP hop's time-exceeded).

Each with the visit's RTT used (``rtt_memory`` on, as deployed) and ignored (off). Then a server 200 ms
further than the visitor (``slow_lan``) is checked through a link, to show it stays open.
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

import _common
import _netns

from tests.probes.netns.selfcheck_lab import FORWARDED, HOME, NOT_FORWARDED, Lab, build_lab
from tests.probes.netns.topology import ServerProcess, server_command

RESULTS = _netns.REPO_ROOT / "bench" / "results" / "selfcheck.md"
DELAYS = (0.02, 0.05, 0.15)
SLOW_LAN = 0.2
BASE: dict[str, object] = {"timeout": 3.0, "identify": False, "icmp_rtt": True}
NOTES = """\
Reading: with an RTT R the engine calls a silent port filtered 2·R + 100 ms + min(4·R + 250 ms, R + 300 ms) after
its first SYN (probes/tcp.py);
the page adds its own round trips. With nothing else to learn R from (pings dropped, no time-exceeded), the
visit's TCP_INFO RTT turns the 3 s timeout into that schedule: 0.17-0.35x. With the deployed defaults, the ISP
hop's time-exceeded already gives about the same R (here it sits right in front of the router, behind the whole
path delay) but never a verdict before 0.8 s: the visit's RTT then gains only on short paths (under ~75 ms RTT),
and on longer ones both give the same. The visit's RTT never made a verdict slower here; the slow server
stayed open (its SYN-ACK came well before that schedule gave up)."""
ENGINES = {"no other RTT": {**BASE, "ttl_rtt": False}, "deployed defaults": {**BASE, "ttl_rtt": True}}


def visit(lab: Lab, engine: dict[str, object], port: int) -> tuple[str, float, float | None]:
    """(state, seconds for the page, the result's rtt_ms) for one link on a fresh worker."""
    lab.restart_worker(engine)
    link = lab.create_link_data(port)
    status, seconds = lab.visit(str(link["url"]))
    if status != 200:
        raise SystemExit(f"the link page answered {status}")
    outcome: dict[str, object] = lab.link_result(str(link["id"]))
    result = outcome["result"]["report"]["results"][0]  # type: ignore[index]
    return str(result["state"]), seconds, result.get("rtt_ms")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--print-only", action="store_true")
    args = parser.parse_args()
    _netns.require_netns()
    rows = []
    opens = []
    for delay in DELAYS:
        with build_lab("plain", delay=delay, slow_lan=SLOW_LAN) as lab:
            for name, engine in ENGINES.items():
                times: dict[bool, list[float]] = {True: [], False: []}
                states: set[str] = set()
                for _ in range(args.runs):
                    for learns in (False, True):
                        state, seconds, _rtt = visit(lab, {**engine, "rtt_memory": learns}, NOT_FORWARDED)
                        states.add(state)
                        times[learns].append(seconds)
                used, ignored = statistics.median(times[True]), statistics.median(times[False])
                rows.append((delay, name, "/".join(sorted(states)), used, ignored))
                print(
                    f"{delay * 1000:.0f} ms, {name}: {used:.3f} s with the visit's RTT, {ignored:.3f} s without"
                )
            server = ServerProcess(lab.home, server_command("tcp-open", HOME, FORWARDED))
            try:
                server.wait_ready()
                state, _seconds, rtt = visit(
                    lab, {**ENGINES["deployed defaults"], "rtt_memory": True}, FORWARDED
                )
            finally:
                server.stop()
            opens.append((delay, state, rtt))
            if lab.offnet_packets():
                raise SystemExit("packets left the lab")
    body = [
        "# Self-check links: how fast a filtered verdict comes",
        "",
        "Written by `bench/selfcheck_speed_bench.py`; rerun it to refresh.",
        "",
        f"Machine: {_common.machine()}; load {_common.load_average()}. Median of {args.runs} runs; each run a",
        "fresh worker (nothing remembered) and one link for a port the home router drops (pings dropped too),",
        "opened from the home machine; time = the visit's request until its page with the verdict arrived.",
        "",
        "| one-way delay | engine | verdict | with the visit's RTT | without | ratio |",
        "|---:|---|---|---:|---:|---:|",
    ]
    for delay, name, states, used, ignored in rows:
        body.append(
            f"| {delay * 1000:.0f} ms | {name} | {states} | {used * 1000:,.0f} ms | {ignored * 1000:,.0f} ms "
            f"| {used / ignored:.2f} |"
        )
    body += [
        "",
        f"A server {SLOW_LAN * 1000:.0f} ms further than the visitor (the router's forward to it delayed), "
        "checked through a link with the visit's RTT:",
        "",
    ]
    body += [f"- {d * 1000:.0f} ms path: {state}, SYN-ACK after {rtt} ms" for d, state, rtt in opens]
    body += ["", NOTES]
    text = "\n".join(body) + "\n"
    print(text)
    if not args.print_only:
        RESULTS.write_text(text)
        print(f"wrote {Path(RESULTS).relative_to(_netns.REPO_ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
