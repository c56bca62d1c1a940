"""Text a server sent us, made safe to show (a web page's title, a certificate's name, a game's MOTD)."""

from __future__ import annotations


def clean(text: str, limit: int = 120) -> str:
    """No control characters, one line, bounded length."""
    text = "".join(ch if ch.isprintable() else " " for ch in text)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
