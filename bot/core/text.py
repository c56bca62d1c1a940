"""What every renderer does to reply text the same way, before its own platform's escaping.

Reply text is Portbot's light markup (``**bold**``, ``` `code` ```) with strings from users and servers inside
it (bot/core/reply.py). Two things are the same on every platform, so they are decided here once:

- the characters that never leave Portbot: C0 and C1 controls other than tab and newline, DEL, and the bidi
  embeddings, overrides and isolates (they could move a terminal's cursor, retitle its window, or make text
  read differently from what it is);
- what the markup is, and how it comes off where a platform shows plain text.

What must be escaped after that differs by platform and stays with each renderer: Discord's mentions, masked
links and line-start markdown (bot/discord/render.py), Slack's three entities (bot/slack/render.py); a terminal
needs nothing more (bot/terminal_render.py).
"""

from __future__ import annotations

import re

UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)
CODE = re.compile(r"`([^`]+)`")


def drop_unsafe(text: str) -> str:
    """``text`` without the characters that never leave Portbot (tabs and newlines stay)."""
    return UNSAFE.sub("", text)


def unmarked(text: str) -> str:
    """``text`` with Portbot's markup taken off: ``**bold**`` and ``` `code` ``` become their words."""
    return CODE.sub(r"\1", BOLD.sub(r"\1", text))
