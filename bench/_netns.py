"""Shared by the probe benchmarks: the test internet from the netns tests, root check, results file."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from tests.probes.netns.topology import unavailable_reason  # noqa: E402

RESULTS = REPO_ROOT / "bench" / "results" / "probes.md"
_HEADER = "# Probe benchmarks\n\nWritten by `bench/probe_bench.py` and `bench/probe_memory.py`; rerun them to refresh.\n"


def require_netns() -> None:
    """Exit with a clear line when this machine cannot build the test internet."""
    reason = unavailable_reason()
    if reason:
        sys.exit(f"this benchmark builds network namespaces and needs root, iproute2 and iptables: {reason}")


def tool_version(argv: list[str]) -> str:
    out = subprocess.run(argv, capture_output=True, text=True, check=False)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def write_section(name: str, body: str) -> Path:
    """Replace this benchmark's section of bench/results/probes.md, keeping the other benchmark's."""
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = RESULTS.read_text() if RESULTS.exists() else _HEADER
    start, end = f"<!-- {name} -->", f"<!-- /{name} -->"
    block = f"{start}\n{body.rstrip()}\n{end}"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    text = (
        pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    )
    RESULTS.write_text(text)
    return RESULTS
