"""Knowledge benchmark: in-process lookup latency, and the cold start of ``portbot ask`` beside ``whatportis``.

    .venv/bin/python bench/knowledge_bench.py [--iterations 200] [--runs 20] [--no-whatportis]

In-process: the knowledge base is loaded from its cache, then a fixed mixed query set (numbers, names, typos,
questions, unknown and invalid input) is looked up ``--iterations`` times; every call is timed.

Cold start: ``.venv/bin/portbot ask 25565`` as a subprocess (stdout a pipe, not a TTY), median of ``--runs``,
next to ``whatportis 25565`` installed in its own venv (bench/.venv-whatportis, created on first use). Its
TinyDB database is built offline from our packaged IANA CSV: the download function is replaced by a read of
that file, so whatportis never touches the network. Both get a private HOME / data directory under
bench/.venv-whatportis so nothing lands in the real home directory.

Prints a markdown table and writes it to bench/results/knowledge.md.
"""

from __future__ import annotations

import argparse
import functools
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

from _common import load_average, machine, percentile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bot.core.knowledge_replies import knowledge_reply  # noqa: E402
from knowledge import KnowledgeBase  # noqa: E402
from knowledge._paths import IANA_FILE, PACKAGED  # noqa: E402

PORTBOT = ROOT / ".venv" / "bin" / "portbot"
WP_VENV = ROOT / "bench" / ".venv-whatportis"
WP_HOME = WP_VENV / "home"
RESULTS = ROOT / "bench" / "results" / "knowledge.md"

#: The fixed query set: (category, query).
QUERIES: tuple[tuple[str, str], ...] = (
    ("number", "25565"),
    ("number", "443"),
    ("number", "443/tcp"),
    ("number", "udp 53"),
    ("number", "port 8080"),
    ("number", "7777"),
    ("number", "2456"),
    ("number", "0"),
    ("number", "3389"),
    ("number", "27015"),
    ("name", "minecraft"),
    ("name", "valheim"),
    ("name", "plex"),
    ("name", "ssh"),
    ("name", "rdp"),
    ("name", "teamspeak"),
    ("name", "postgres"),
    ("name", "kerberos"),
    ("name", "ldaps"),
    ("name", "xmpp-client"),
    ("name", "ephemeral"),
    ("name", "well-known"),
    ("typo", "minecarft"),
    ("typo", "valhiem"),
    ("typo", "teamspek"),
    ("typo", "postgress"),
    ("typo", "kerbros"),
    ("question", "what is cgnat"),
    ("question", "tcp vs udp"),
    ("question", "why can't ping test a port"),
    ("question", "address already in use"),
    ("question", "why can't my friends join my valheim server"),
    ("question", "is 25565 open"),
    ("question", "what are ephemeral ports"),
    ("question", "how do i port forward for minecraft"),
    ("question", "which ports do i forward for valheim"),
    ("question", "valheim server, tcp or udp?"),
    ("question", "should i forward 3389 to reach my pc"),
    ("question", "our redis port is open to the internet, how bad is it"),
    ("question", "can i use port 99999"),
    ("question", "my router's wan ip is 100.64.3.2"),
    ("question", "xbox nat type strict"),
    ("question", "how do i turn on port forwarding"),
    ("unknown", "qwertyuiop"),
    ("unknown", "plexiglass"),
    ("invalid", "65536"),
    ("invalid", "1e3"),
    ("invalid", ""),
)
PREFIXES = ("m", "mine", "val", "255", "22", "kerb", "eph", "what", "7", "teamsp")


def timed(call: Callable[[], object], repeat: int) -> list[float]:
    """Milliseconds per call."""
    out = []
    for _ in range(repeat):
        start = time.perf_counter_ns()
        call()
        out.append((time.perf_counter_ns() - start) / 1e6)
    return out


def in_process(iterations: int, data_dir: Path) -> dict[str, list[float]]:
    KnowledgeBase.load(data_dir)  # make sure the cache exists
    results: dict[str, list[float]] = {
        "load (cache hit)": timed(lambda: KnowledgeBase.load(data_dir), 30),
        "compile (no cache)": timed(lambda: KnowledgeBase.load(data_dir, rebuild=True), 5),
    }
    kb = KnowledgeBase.load(data_dir)
    for _, query in QUERIES:  # warm-up: builds the lazy parts (fuzzy matcher import, name table)
        knowledge_reply(kb.lookup(query))
        kb.suggest(query)
    by_category: dict[str, list[float]] = {}
    everything: list[float] = []
    with_reply: list[float] = []
    for _ in range(iterations):
        for category, query in QUERIES:
            start = time.perf_counter_ns()
            answer = kb.lookup(query)
            middle = time.perf_counter_ns()
            knowledge_reply(answer)
            end = time.perf_counter_ns()
            by_category.setdefault(category, []).append((middle - start) / 1e6)
            everything.append((middle - start) / 1e6)
            with_reply.append((end - start) / 1e6)
    results["lookup, all queries"] = everything
    results.update({f"lookup, {c}": v for c, v in by_category.items()})
    results["lookup + knowledge_reply"] = with_reply
    # The same lookups timed by this thread's CPU clock: what the code costs when nothing else preempts it.
    cpu: list[float] = []
    for _ in range(iterations):
        for _, query in QUERIES:
            start = time.thread_time_ns()
            kb.lookup(query)
            cpu.append((time.thread_time_ns() - start) / 1e6)
    results["lookup, all queries (thread CPU time)"] = cpu
    suggest: list[float] = []
    for _ in range(iterations):
        for prefix in PREFIXES:
            suggest += timed(functools.partial(kb.suggest, prefix), 1)
    results["suggest (autocomplete)"] = suggest
    return results


class Cold(NamedTuple):
    """One cold-start measurement: medians over the runs (None when the command is unavailable)."""

    tool: str
    query: str
    wall_ms: float | None
    cpu_ms: float | None  # user + system time of the process: what contention on a shared machine hides
    first_line: str


class Spec(NamedTuple):
    """One command to time from a cold start."""

    tool: str
    query: str
    command: Sequence[str]
    env: dict[str, str]


def cold_starts(specs: Sequence[Spec], runs: int) -> list[Cold]:
    """Run each command once untimed (bytecode and caches warm up), then ``runs`` rounds timing each in turn.

    Taking turns, rather than all runs of one tool and then all of the next, means a change in the machine's
    load during the benchmark affects every tool alike, so the ratios stay fair.
    """
    firsts: dict[int, subprocess.CompletedProcess[str] | None] = {}
    for number, spec in enumerate(specs):
        try:
            firsts[number] = subprocess.run(
                spec.command, env=spec.env, capture_output=True, text=True, timeout=60, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            firsts[number] = None
    usable = [n for n, first in firsts.items() if first is not None and first.returncode == 0]
    walls: dict[int, list[float]] = {n: [] for n in usable}
    cpus: dict[int, list[float]] = {n: [] for n in usable}
    for _ in range(runs):
        for number in usable:
            spec = specs[number]
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(
                spec.command,
                env=spec.env,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                check=True,
                timeout=60,
            )
            walls[number].append((time.perf_counter() - start) * 1000)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpus[number].append((after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime) * 1000)
    results = []
    for number, spec in enumerate(specs):
        first = firsts[number]
        if first is None:
            results.append(Cold(spec.tool, spec.query, None, None, ""))
        elif first.returncode != 0:
            results.append(
                Cold(spec.tool, spec.query, None, None, (first.stderr.strip().splitlines() or [""])[-1])
            )
        else:
            line = next((ln for ln in first.stdout.splitlines() if ln.strip()), "")
            results.append(
                Cold(
                    spec.tool,
                    spec.query,
                    statistics.median(walls[number]),
                    statistics.median(cpus[number]),
                    line.strip(),
                )
            )
    return results


def prepare_whatportis() -> Path | None:
    """The whatportis executable, installed in its own venv, with its database built from our CSV."""
    executable = WP_VENV / "bin" / "whatportis"
    if not executable.exists():
        print("installing whatportis into bench/.venv-whatportis ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(WP_VENV)], check=True)
        pip = [
            str(WP_VENV / "bin" / "python"),
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
        ]
        if subprocess.run([*pip, "whatportis"], check=False).returncode != 0:
            return None
    database = WP_HOME / ".whatportis_db.json"
    if not database.exists():
        WP_HOME.mkdir(parents=True, exist_ok=True)
        # whatportis downloads the CSV with requests.get inside populate_db; hand it our file instead.
        builder = (
            "import pathlib, sys\n"
            "from whatportis import cli\n"
            "class Offline:\n"
            "    content = pathlib.Path(sys.argv[1]).read_bytes()\n"
            "def no_network(url, *args, **kwargs):\n"
            "    return Offline()\n"
            "cli.requests.get = no_network\n"
            "cli.populate_db()\n"
        )
        subprocess.run(
            [str(WP_VENV / "bin" / "python"), "-c", builder, str(PACKAGED / IANA_FILE)],
            env={**os.environ, "HOME": str(WP_HOME)},
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not database.exists():
        # Without its database whatportis would try to download the registry: never run it then.
        print("whatportis database missing; skipping whatportis", file=sys.stderr)
        return None
    return executable


def render(stats: dict[str, list[float]], cold: list[Cold], iterations: int, runs: int) -> str:
    lines = [
        "# Knowledge benchmark",
        "",
        f"Run {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')} on {machine()}, load average {load_average()} "
        "at the end "
        "(other work shared the machine: read ratios, not absolutes).",
        "",
        f"## In-process (`KnowledgeBase` from its cache; {len(QUERIES)} queries × {iterations} iterations)",
        "",
        "| measure | calls | p50 ms | p90 ms | p99 ms | max ms |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for name, samples in stats.items():
        lines.append(
            f"| {name} | {len(samples):,} | {percentile(samples, 0.5):.3f} | {percentile(samples, 0.9):.3f} | "
            f"{percentile(samples, 0.99):.3f} | {max(samples):.3f} |"
        )
    lines += [
        "",
        f"## Cold start (subprocess, stdout not a TTY, median of {runs} runs after one warm-up; "
        "the commands take turns, so load changes hit them alike)",
        "",
        "Both tools run with bytecode caches (as installed software does) and a warm index / TinyDB file. "
        "CPU is the process's user + system time, which other load on the machine disturbs far less than "
        "wall time.",
        "",
        "| query | `portbot ask` wall ms | `whatportis` wall ms | ratio | `portbot ask` CPU ms "
        "| `whatportis` CPU ms | ratio |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    ours = {c.query: c for c in cold if c.tool == "portbot"}
    theirs = {c.query: c for c in cold if c.tool == "whatportis"}
    for query in dict.fromkeys([*ours, *theirs]):
        a, b = ours.get(query), theirs.get(query)
        lines.append(
            f"| `{query}` | {_ms(a and a.wall_ms)} | {_ms(b and b.wall_ms)} | {_ratio(a and a.wall_ms, b and b.wall_ms)} "
            f"| {_ms(a and a.cpu_ms)} | {_ms(b and b.cpu_ms)} | {_ratio(a and a.cpu_ms, b and b.cpu_ms)} |"
        )
    extra = [c for c in cold if c.tool not in ("portbot", "whatportis")]
    if extra:
        lines += ["", "For scale (same conditions):", ""]
        lines += [f"- {c.tool}: {_ms(c.wall_ms)} ms wall, {_ms(c.cpu_ms)} ms CPU" for c in extra]
    lines += ["", "First output lines:", ""]
    lines += [f"- {c.tool} `{c.query}`: {c.first_line or '(none)'}" for c in cold]
    return "\n".join(lines) + "\n"


def _ratio(ours: float | None, theirs: float | None) -> str:
    """How many times longer whatportis takes."""
    return f"{theirs / ours:.1f}×" if ours and theirs else "n/a"


def _ms(value: float | None) -> str:
    return "not run" if value is None else f"{value:.0f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-whatportis", action="store_true")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="portbot-bench-") as scratch:
        data_dir = Path(scratch)
        stats = in_process(args.iterations, data_dir)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTBOT_", "DISCORD_", "SLACK_"))}
        env["PORTBOT_DATA_DIR"] = str(data_dir)
        # Installed software runs from bytecode caches: let both tools write theirs (into the scratch
        # directory, not the source tree), even where the shell says PYTHONDONTWRITEBYTECODE.
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(data_dir / "pycache")
        # A question builds the topic scorer too: the slowest start `portbot ask` has (whatportis can't answer it).
        asked = ("25565", "443", "which ports do i forward for valheim")
        specs = [Spec("portbot", q, [str(PORTBOT), "ask", q], env) for q in asked]
        whatportis = None if args.no_whatportis else prepare_whatportis()
        if whatportis is not None:
            wp_env = {**env, "HOME": str(WP_HOME)}
            specs += [Spec("whatportis", q, [str(whatportis), q], wp_env) for q in ("25565", "443")]
        python = str(ROOT / ".venv" / "bin" / "python")
        engine = "from knowledge import KnowledgeBase; KnowledgeBase.load().lookup('25565')"
        specs.append(Spec("python -c pass", "-", [python, "-c", "pass"], env))
        specs.append(
            Spec("knowledge engine alone (import, load, lookup)", "25565", [python, "-c", engine], env)
        )
        cold = cold_starts(specs, args.runs)

    report = render(stats, cold, args.iterations, args.runs)
    print(report)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(report, encoding="utf-8")
    print(f"written to {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
