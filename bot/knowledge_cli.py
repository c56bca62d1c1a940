"""``portbot knowledge update [--from FILE_OR_URL]`` and ``portbot knowledge build``."""

from __future__ import annotations

import sys


def run(action: str, source: str | None) -> int:
    from knowledge import KnowledgeBase, KnowledgeError

    try:
        if action == "update":
            from knowledge.update import IANA_URL, update_iana

            print(update_iana(source or IANA_URL).format())
        kb = KnowledgeBase.load(rebuild=action == "build")
    except KnowledgeError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return 2
    print(
        f"Knowledge index ready: {kb.iana_records:,} IANA records, {len(kb.services)} curated services, "
        f"{len(kb.topics)} topics."
    )
    return 0
