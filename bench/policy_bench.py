"""Address-policy benchmark: what deciding from IANA's registries costs a cold ``portbot probe`` and each check.

    .venv/bin/python bench/policy_bench.py [--runs 21] [--checks 20000]

Cold: fresh interpreters (``python -c``), median of ``--runs``, timed inside the interpreter: ``import
probes.policy``, then the first ``check_address`` (which reads and compiles both registry CSVs); and the whole
``portbot probe 127.0.0.1 9`` process (refused). Bytecode is cached in a temporary folder, as in an install.

Warm: ``check_address`` in one process, ``--checks`` calls per kind of address (public IPv4, public IPv6, a
refused private IPv4, a refused NAT64 wrapper, a Teredo address), mean per call.

Prints a markdown table and writes it to bench/results/policy.md.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import load_average, machine

ROOT = Path(__file__).resolve().parents[1]

# Timed inside a fresh interpreter (process start-up left out: it only adds noise on a shared machine).
COLD = (
    "import time\nt0 = time.perf_counter()\nimport ipaddress\nimport probes.policy as policy\n"
    "t1 = time.perf_counter()\npolicy.SafetyPolicy().check_address(ipaddress.ip_address('8.8.8.8'))\n"
    "t2 = time.perf_counter()\nprint((t1 - t0) * 1000, (t2 - t1) * 1000)"
)

WARM = {
    "public IPv4 8.8.8.8": "8.8.8.8",
    "public IPv6 2606:4700::1111": "2606:4700::1111",
    "refused IPv4 192.168.1.1": "192.168.1.1",
    "refused NAT64 64:ff9b::7f00:1": "64:ff9b::7f00:1",
    "refused Teredo": "2001:0:4136:e378:8000:63bf:80ff:fffe",
}


def _env(cache: str) -> dict[str, str]:
    """Bytecode cached (in a temporary folder) as in a normal install, whatever the shell says."""
    env = {
        k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE" and not k.startswith("PORTBOT_")
    }
    env.update(PYTHONPYCACHEPREFIX=cache, PORTBOT_DATA_DIR=os.path.join(cache, "data"))
    return env


def cold(runs: int, env: dict[str, str]) -> tuple[float, float]:
    """Median ms of ``import probes.policy`` and of the first check, each in a fresh interpreter."""
    imports, firsts = [], []
    subprocess.run(
        [sys.executable, "-c", COLD], check=True, cwd=ROOT, env=env, capture_output=True
    )  # warm-up
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", COLD], check=True, cwd=ROOT, env=env, capture_output=True, text=True
        )
        first_import, first_check = map(float, out.stdout.split())
        imports.append(first_import)
        firsts.append(first_check)
    return statistics.median(imports), statistics.median(firsts)


def refused_probe(runs: int, env: dict[str, str]) -> float:
    """Median wall ms of ``portbot probe 127.0.0.1 9`` (refused: exit 2), process start-up included."""
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-m", "bot", "probe", "127.0.0.1", "9"], cwd=ROOT, env=env, capture_output=True
        )
        times.append((time.perf_counter() - started) * 1000)
        assert done.returncode == 2, done.stderr
    return statistics.median(times)


def warm(text: str, checks: int) -> float:
    """Mean microseconds per check_address call."""
    from probes.errors import RefusedTarget
    from probes.policy import SafetyPolicy

    policy = SafetyPolicy()
    address = ipaddress.ip_address(text)
    started = time.perf_counter()
    for _ in range(checks):
        try:  # noqa: SIM105 - contextlib.suppress would add its own cost to every timed call
            policy.check_address(address)
        except RefusedTarget:
            pass
    return (time.perf_counter() - started) / checks * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--checks", type=int, default=20_000)
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    load_before = load_average()
    with tempfile.TemporaryDirectory() as cache:
        env = _env(cache)
        import_ms, first_ms = cold(args.runs, env)
        probe_ms = refused_probe(args.runs, env)
    warm_us = {name: warm(text, args.checks) for name, text in WARM.items()}
    lines = [
        "# Address-policy benchmark",
        "",
        "Written by `bench/policy_bench.py`; rerun it to refresh.",
        "",
        f"Machine: {machine()}. Load average before the run: {load_before} (a shared machine). Cold "
        f"figures are medians of {args.runs} fresh interpreters; warm figures are means over {args.checks:,} calls.",
        "",
        "| cold start, in a fresh interpreter | median |",
        "| --- | ---: |",
        f"| `import probes.policy` (with ipaddress, probes.errors, probes._special) | {import_ms:.1f} ms |",
        f"| first `check_address` (reads and compiles both registries) | {first_ms:.1f} ms |",
        f"| `portbot probe 127.0.0.1 9`, refused, whole process | {probe_ms:.0f} ms |",
        "",
        "| warm `check_address` | mean per call |",
        "| --- | ---: |",
        *(f"| {name} | {us:.1f} µs |" for name, us in warm_us.items()),
        "",
        "The first check reads both registry CSVs (about 5 KB) with the csv module and compiles them to integer "
        "masks; later checks are a short loop of integer ands over about 26 blocks per family.",
        "",
    ]
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results" / "policy.md").write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
