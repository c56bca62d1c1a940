"""The knowledge package stays light: `portbot ask` starts through it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("discord", "slack_bolt", "httpx", "aiohttp", "pydantic", "rich", "rapidfuzz")


def _loaded_after(code: str) -> list[str]:
    script = f"import sys\n{code}\nprint(','.join(m for m in {HEAVY!r} if m in sys.modules))"
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT
    )
    return [m for m in result.stdout.strip().split(",") if m]


def test_exact_lookups_import_nothing_heavy() -> None:
    """Loading and answering a port, a name and a question pulls in no chat, HTTP, settings or fuzzy library."""
    code = (
        "from knowledge import KnowledgeBase\n"
        "kb = KnowledgeBase.load()\n"
        "for q in ('25565', 'valheim', 'what is cgnat', 'ephemeral', '65536'): kb.lookup(q)\n"
    )
    assert _loaded_after(code) == []


def test_typos_load_the_fuzzy_matcher_on_demand() -> None:
    """rapidfuzz arrives with the first typo, and only then."""
    code = "from knowledge import KnowledgeBase\nKnowledgeBase.load().lookup('valhiem')\n"
    assert _loaded_after(code) == ["rapidfuzz"]
