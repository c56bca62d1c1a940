"""``portbot knowledge update [--from FILE_OR_URL] [--ipv4-special-from …] [--ipv6-special-from …]`` and
``portbot knowledge build``.

With no source at all, ``update`` refreshes the port registry and both special-purpose address registries from
IANA. Naming a source updates just the registries named.
"""

from __future__ import annotations

import sys
from pathlib import Path


def run(
    action: str, data_dir: Path, source: str | None = None, ipv4: str | None = None, ipv6: str | None = None
) -> int:
    from knowledge import KnowledgeBase, KnowledgeError

    try:
        if action == "update":
            from knowledge.update import IANA_URL, update_iana, update_special_registries

            everything = source is None and ipv4 is None and ipv6 is None
            if everything:
                from probes._special import IPV4_URL, IPV6_URL

                ipv4, ipv6 = IPV4_URL, IPV6_URL
            # The address registries first: they matter for safety, and checking them is quick.
            if ipv4 is not None or ipv6 is not None:
                print(update_special_registries(ipv4, ipv6, data_dir).format())
            if everything or source is not None:
                print(update_iana(source or IANA_URL, data_dir).format())
        kb = KnowledgeBase.load(data_dir, rebuild=action == "build")
    except KnowledgeError as err:
        print(f"portbot: {err}", file=sys.stderr)
        return err.exit_code
    print(
        f"Knowledge index ready: {kb.iana_records:,} IANA records, {len(kb.services)} curated services, "
        f"{len(kb.topics)} topics."
    )
    return 0
