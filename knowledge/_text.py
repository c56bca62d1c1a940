"""Turning what people type into something comparable: cleaning, folding and splitting into words."""

from __future__ import annotations

import re
import unicodedata

#: Longest input we look at. Nothing anyone asks about a port needs more, and it bounds the work per lookup.
MAX_INPUT = 300

_TOKEN = re.compile(r"[^\W_]+(?:\.[^\W_]+)*")
_APOSTROPHES = re.compile(r"['’ʼ`´]")
_SPACES = re.compile(r"\s+")
#: Terminal escape sequences (colours, cursor moves) pasted along with text: dropped whole, not just the ESC.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-_]")


def clean(text: str) -> str:
    """Strip control and format characters, normalise Unicode (full-width digits become ASCII), cap length."""
    text = unicodedata.normalize("NFKC", _ANSI.sub("", text[: MAX_INPUT * 2]))
    kept = "".join(
        " " if ch.isspace() else ch for ch in text if unicodedata.category(ch)[0] != "C" or ch.isspace()
    )
    return _SPACES.sub(" ", kept).strip()[:MAX_INPUT].strip()


def fold(text: str) -> str:
    """Lower case, apostrophes dropped (``can't`` → ``cant``), punctuation turned into single spaces."""
    return " ".join(words(text))


def words(text: str) -> list[str]:
    """The words of ``text`` after folding; dotted numbers like ``100.64`` stay one word."""
    return _TOKEN.findall(_APOSTROPHES.sub("", text.casefold()))


def compact(text: str) -> str:
    """Folded with the spaces removed, so ``team speak 3`` and ``teamspeak3`` meet."""
    return "".join(words(text))
