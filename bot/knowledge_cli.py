"""``portbot knowledge update [--from FILE_OR_URL]`` and ``portbot knowledge build``."""

from __future__ import annotations

import sys
from pathlib import Path


def run(action: str, source: str | None, data_dir: Path) -> int:
    from knowledge import KnowledgeBase, KnowledgeError

    try:
        if action == "update":
            from knowledge.update import IANA_URL, update_iana

            print(update_iana(source or IANA_URL, data_dir).format())
        kb = KnowledgeBase.load(data_dir, rebuild=action == "build")
    except KnowledgeError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return 2
    print(
        f"Knowledge index ready: {kb.iana_records:,} IANA records, {len(kb.services)} curated services, "
        f"{len(kb.topics)} topics."
    )
    return 0
