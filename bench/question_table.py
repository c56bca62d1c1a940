"""How many questions of the question table a checkout answers with all their facts.

    .venv/bin/python bench/question_table.py [--root PATH] [--show-failures]

``--root`` is another checkout of Portbot (for example the main branch, to measure "before"): its own code and
data answer this checkout's tests/knowledge/questions.toml, exactly as tests/bot/test_questions.py checks them
(parsed as `/port` text; every fact in the reply's title, summary or fields; the entity in the title).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TABLE = ROOT / "tests" / "knowledge" / "questions.toml"

#: Runs inside the measured checkout, so only its own modules are imported.
_PROBE = r"""
import json, sys, tomllib
from pathlib import Path
from bot.core import intents
from bot.core.commands import Portbot
from knowledge import KnowledgeBase

data = tomllib.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
questions = []
for facet in data["facet"]:
    for entity in data["entity"]:
        if entity["kind"] in facet["kinds"]:
            for template in facet["questions"]:
                text = template.replace("{x}", entity["name"])
                questions.append((text, [*entity["facts"], *facet["facts"]], entity["title"]))
questions += [(q["q"], q["facts"], q.get("title")) for q in data["question"]]
bot = Portbot(knowledge=KnowledgeBase.load(Path(sys.argv[2])))
failures = []
for text, facts, title in questions:
    intent = intents.parse(text)
    if not isinstance(intent, intents.Lookup):
        failures.append((text, "taken for " + type(intent).__name__))
        continue
    reply = bot.lookup(intent.query)
    seen = "\n".join([reply.title, reply.summary, *(f.name + "\n" + f.value for f in reply.fields)]).casefold()
    missing = [f for f in facts if f.casefold() not in seen]
    if title and title.casefold() not in reply.title.casefold():
        missing.append("title " + title)
    if missing:
        failures.append((text, reply.title + " lacks " + ", ".join(missing)))
print(json.dumps({"total": len(questions), "failures": failures}))
"""


def score(root: Path) -> dict[str, object]:
    with tempfile.TemporaryDirectory(prefix="portbot-questions-") as data_dir:
        result = subprocess.run(
            [sys.executable, "-c", _PROBE, str(TABLE), data_dir],
            cwd=root,
            env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
            capture_output=True,
            text=True,
            check=True,
        )
    outcome: dict[str, object] = json.loads(result.stdout)
    return outcome


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT)
    parser.add_argument("--show-failures", action="store_true")
    args = parser.parse_args(argv)
    outcome = score(args.root.resolve())
    failures = outcome["failures"]
    assert isinstance(failures, list) and isinstance(outcome["total"], int)
    print(
        f"{args.root}: {outcome['total'] - len(failures)} of {outcome['total']} questions answered with all facts"
    )
    if args.show_failures:
        for text, why in failures:
            print(f"  {text!r}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
